package jobs_test

import (
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestDeletionsAfterFullRun: a member and a coupon removed at the vendor
// (and the member's identities, whose key is no longer looked up) are
// marked deleted (is_deleted = 1, left out of the *_latest views) by a
// full run, not by an incremental one; a member that reappears is live
// again after the next run that reads it.
func TestDeletionsAfterFullRun(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 40, sourceYML: `    lookback: 1s
    identity_keys: {from_source: acme-dmhub, field: mobile, type: mobile}`})
	sim := b.sim.DMHub
	syncOK := func(mode connectors.Mode) {
		t.Helper()
		time.Sleep(2100 * time.Millisecond) // synced_at has whole seconds; lookback 1s
		// members alone first: a per-member run created after its members
		// run already finished would wait for it forever (an engine race
		// outside this test's subject)
		for _, streams := range [][]string{{"members"}, {"member_coupons", "identities"}} {
			for _, r := range b.sync(t, mode, streams...) {
				if r.Status != warehouse.RunSucceeded {
					t.Fatalf("%s %s: %s %s", mode, r.Stream, r.Status, r.Error)
				}
			}
		}
	}
	deleted := func(table, key, id string) uint64 {
		t.Helper()
		return b.count(t, "SELECT count() FROM (SELECT is_deleted FROM "+b.q(table)+" FINAL WHERE source = 'acme-dmhub' AND "+key+" = ?) WHERE is_deleted = 1", id)
	}
	syncOK(connectors.Full)
	coupons := sim.AllMemberCoupons()
	if len(coupons) < 2 {
		t.Fatalf("the simulator has %d member coupons", len(coupons))
	}
	gone := sim.Members()[3].ID
	restore, err := sim.DeleteMember(gone)
	if err != nil {
		t.Fatal(err)
	}
	var recalled string
	for _, c := range coupons {
		if c.MemberID != gone {
			recalled = c.Code
			break
		}
	}
	if err := sim.DeleteMemberCoupon(recalled); err != nil {
		t.Fatal(err)
	}
	goneCoupons := 0
	for _, c := range coupons {
		if c.MemberID == gone {
			goneCoupons++
		}
	}

	syncOK(connectors.Incremental)
	if n := b.count(t, "SELECT count() FROM "+b.q("members")+" WHERE is_deleted = 1") +
		b.count(t, "SELECT count() FROM "+b.q("member_coupons")+" WHERE is_deleted = 1"); n != 0 {
		t.Errorf("an incremental run marked %d rows deleted; it proves nothing about rows it did not read", n)
	}

	syncOK(connectors.Full)
	if deleted("members", "member_id", gone) != 1 || deleted("member_coupons", "coupon_code", recalled) != 1 {
		t.Errorf("after a full run: member %s deleted %d, coupon %s deleted %d; want both marked", gone,
			deleted("members", "member_id", gone), recalled, deleted("member_coupons", "coupon_code", recalled))
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("member_coupons")+" FINAL WHERE member_id = ? AND is_deleted = 1", gone); n != uint64(goneCoupons) {
		t.Errorf("%d of the deleted member's %d coupons marked deleted", n, goneCoupons)
	}
	if n := b.count(t, "SELECT count() FROM (SELECT is_deleted FROM "+b.q("member_identities")+" FINAL WHERE member_id = ?) WHERE is_deleted = 1", gone); n == 0 {
		t.Errorf("no identity of the deleted member marked deleted")
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("member_identities_latest")+" WHERE member_id = ?", gone); n != 0 {
		t.Errorf("member_identities_latest still has %d identities of the deleted member", n)
	}
	live := uint64(len(sim.Members()))
	if n := b.count(t, "SELECT count() FROM "+b.q("members_latest")); n != live {
		t.Errorf("members_latest = %d, the vendor has %d", n, live)
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("member_coupons_latest")); n != uint64(len(sim.AllMemberCoupons())) {
		t.Errorf("member_coupons_latest = %d, the vendor has %d", n, len(sim.AllMemberCoupons()))
	}
	// a second full run adds no tombstones
	before := b.count(t, "SELECT count() FROM "+b.q("members")+" WHERE is_deleted = 1")
	syncOK(connectors.Full)
	if after := b.count(t, "SELECT count() FROM "+b.q("members")+" WHERE is_deleted = 1"); after != before {
		t.Errorf("a repeated full run inserted %d more tombstones", after-before)
	}

	restore()
	syncOK(connectors.Full)
	if deleted("members", "member_id", gone) != 0 || b.count(t, "SELECT count() FROM "+b.q("members_latest")+" WHERE member_id = ?", gone) != 1 {
		t.Errorf("member %s reappeared at the vendor but is not live again", gone)
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("member_identities_latest")+" WHERE member_id = ?", gone); n == 0 {
		t.Errorf("the reappeared member's identities are not live again")
	}
}
