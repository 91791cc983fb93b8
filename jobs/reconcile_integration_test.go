package jobs_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs"
)

func (b *bundle) reconcile(t *testing.T, source string, opts jobs.ReconcileOptions) jobs.ReconcileReport {
	t.Helper()
	rep, err := b.engine.Reconcile(context.Background(), source, opts)
	if err != nil {
		t.Fatalf("Reconcile %s: %v", source, err)
	}
	for _, s := range rep.Streams {
		if s.Error != "" {
			t.Errorf("%s %s: %s", source, s.Stream, s.Error)
		}
	}
	return rep
}

// drifts lists a report's drift as "stream key check warehouse vendor".
func drifts(rep jobs.ReconcileReport) []string {
	var out []string
	for _, s := range rep.Streams {
		for _, d := range s.Drift {
			out = append(out, fmt.Sprintf("%s %s %s %d %d", s.Stream, d.Key, d.Check, d.Warehouse, d.Vendor))
		}
	}
	slices.Sort(out)
	return out
}

func checked(rep jobs.ReconcileReport) map[string]int {
	out := map[string]int{}
	for _, s := range rep.Streams {
		out[s.Stream] = s.Checked
	}
	return out
}

// TestReconcileDMHub: after a clean full sync every comparison agrees (and
// every stream with a vendor total was compared, member by member); after
// the simulator gives a member points and another a coupon behind the
// warehouse's back, reconcile reports exactly those drifts, with both
// numbers, and reconcile_runs records every run per stream.
func TestReconcileDMHub(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 30})
	b.sync(t, connectors.Full)
	sim := b.sim.DMHub
	members := sim.Members()
	nMembers := len(members)

	rep := b.reconcile(t, "acme-dmhub", jobs.ReconcileOptions{})
	if d := drifts(rep); len(d) != 0 {
		t.Fatalf("drift after a clean sync: %v", d)
	}
	// members: the list total + one point per member; points: count and sum
	// per member; coupons: the list total
	want := map[string]int{"members": 1 + nMembers, "points": 2 * nMembers, "experience": nMembers, "member_coupons": nMembers,
		"coupons": 1, "levels": 0, "identities": 0}
	for s, n := range want {
		if got := checked(rep)[s]; got != n {
			t.Errorf("clean sync: %s checked %d, want %d", s, got, n)
		}
	}

	m1, m2 := members[3].ID, members[7].ID
	wp, ok := sim.Member(m1)
	if !ok {
		t.Fatal("no member", m1)
	}
	nPoints, nCoupons := len(sim.PointRecords(m1)), len(sim.MemberCoupons(m2))
	if _, err := sim.AddPointRecord(m1, 25, 4); err != nil {
		t.Fatal(err)
	}
	if _, err := sim.DrawCoupon(m2); err != nil {
		t.Fatal(err)
	}
	rep2 := b.reconcile(t, "acme-dmhub", jobs.ReconcileOptions{})
	wantDrift := []string{
		fmt.Sprintf("member_coupons %s records %d %d", m2, nCoupons, nCoupons+1),
		fmt.Sprintf("members %s point %d %d", m1, wp.Point, wp.Point+25),
		fmt.Sprintf("points %s point vs ledger sum %d %d", m1, wp.Point, wp.Point+25),
		fmt.Sprintf("points %s records %d %d", m1, nPoints, nPoints+1),
	}
	if got := drifts(rep2); strings.Join(got, "\n") != strings.Join(wantDrift, "\n") {
		t.Errorf("injected drift:\n got %q\nwant %q", got, wantDrift)
	}
	if rep2.Drifted() != 4 {
		t.Errorf("Drifted = %d, want 4", rep2.Drifted())
	}

	// a sample checks that many members per per-member stream
	rep3 := b.reconcile(t, "acme-dmhub", jobs.ReconcileOptions{Streams: []string{"experience", "coupons"}, Sample: 5})
	if c := checked(rep3); len(rep3.Streams) != 2 || c["experience"] != 5 || c["coupons"] != 1 {
		t.Errorf("sample of 5: checked %v", c)
	}

	var rows, drifted uint64
	var detail string
	if err := b.wh.Conn().QueryRow(context.Background(), "SELECT count(), sum(drifted), anyIf(detail, stream = 'points' AND drifted > 0) FROM "+
		b.q("reconcile_runs")+" WHERE source = 'acme-dmhub'").Scan(&rows, &drifted, &detail); err != nil {
		t.Fatal(err)
	}
	if rows != uint64(len(rep.Streams)+len(rep2.Streams)+2) || drifted != 4 ||
		!strings.Contains(detail, fmt.Sprintf(`{"key":"%s","check":"records","warehouse":%d,"vendor":%d}`, m1, nPoints, nPoints+1)) {
		t.Errorf("reconcile_runs: %d rows, %d drifted, points detail %s", rows, drifted, detail)
	}
	if _, err := b.engine.Reconcile(context.Background(), "acme-dmhub", jobs.ReconcileOptions{Streams: []string{"orders"}}); err == nil {
		t.Error("an unknown stream was accepted")
	}
}

// TestReconcileLookedUpVendors: Houcaller and zvcms have no totals; each
// member key is read again and compared, and a clean sync shows no drift.
// When the Houcaller simulator issues a coupon to one member and books
// points for another behind the warehouse's back, exactly those two
// members drift, with both numbers.
func TestReconcileLookedUpVendors(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 20, extra: threeVendors})
	b.sync(t, connectors.Full, "members")
	for _, src := range []string{"acme-houcaller", "acme-zvcms"} {
		b.syncSource(t, src, connectors.Full)
		rep := b.reconcile(t, src, jobs.ReconcileOptions{})
		if d := drifts(rep); len(d) != 0 {
			t.Errorf("%s: drift after a clean sync: %v", src, d)
		}
		for _, s := range rep.Streams {
			if s.Skipped == "" && s.Checked == 0 {
				t.Errorf("%s %s: nothing checked", src, s.Stream)
			}
		}
		if c := checked(rep); c["member_coupons"] == 0 || c["points"] == 0 {
			t.Errorf("%s: checked %v", src, c)
		}
		if c := checked(rep); src == "acme-houcaller" && c["coupons"] != 1 {
			t.Errorf("%s: coupons checked %d, want the list once", src, c["coupons"])
		}
	}

	h := b.sim.Houcaller
	ms := h.Members()
	if len(ms) < 2 {
		t.Fatalf("houcaller has %d members", len(ms))
	}
	m1, m2 := ms[0].ID, ms[1].ID
	// the points stream reads a window of months: count the member's
	// entries the sync loaded, not the whole history
	nCoupons, nScores := len(h.Coupons(m1)), b.count(t, "SELECT count() FROM "+b.q("points_ledger_latest")+" WHERE source = 'acme-houcaller' AND member_id = ?", m2)
	if _, err := h.IssueCoupon(m1); err != nil {
		t.Fatal(err)
	}
	if _, err := h.AddScore(m2, 30); err != nil {
		t.Fatal(err)
	}
	want := []string{
		fmt.Sprintf("member_coupons %s records %d %d", m1, nCoupons, nCoupons+1),
		fmt.Sprintf("points %s records %d %d", m2, nScores, nScores+1),
	}
	if got := drifts(b.reconcile(t, "acme-houcaller", jobs.ReconcileOptions{Streams: []string{"member_coupons", "points"}})); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("houcaller injected drift:\n got %q\nwant %q", got, want)
	}
}
