package jobs_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// strings of query results, sorted, for set comparison
func (b *bundle) set(t *testing.T, q string, args ...any) []string {
	t.Helper()
	rows, err := b.wh.Conn().Query(context.Background(), q, args...)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string { sort.Strings(s); return s }

func diffSets(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(want) == 0 {
		t.Errorf("%s: the simulator has none: the check proves nothing", what)
	}
	if strings.Join(got, "\n") == strings.Join(want, "\n") {
		return
	}
	g := map[string]bool{}
	for _, x := range got {
		g[x] = true
	}
	w := map[string]bool{}
	for _, x := range want {
		w[x] = true
	}
	n := 0
	for _, x := range want {
		if !g[x] && n < 5 {
			t.Errorf("%s: missing %s", what, x)
			n++
		}
	}
	for _, x := range got {
		if !w[x] && n < 10 {
			t.Errorf("%s: unexpected %s", what, x)
			n++
		}
	}
	t.Errorf("%s: %d rows, simulator has %d", what, len(got), len(want))
}

var dmCouponStatus = map[string]string{"notStarted": "not_started", "normal": "unused", "used": "used"}

// equalDMHub compares every DM Hub table with the simulator, row by row on
// the normalized fields.
func equalDMHub(t *testing.T, b *bundle) {
	t.Helper()
	equalMembers(t, b)
	sim := b.sim.DMHub
	var points, exps, coupons, idents []string
	for _, m := range sim.Members() {
		for _, r := range sim.PointRecords(m.ID) {
			points = append(points, fmt.Sprintf("%s %s %d %d %d>%d %s", r.ID, m.ID, r.Delta, r.Pattern, r.OldPoint, r.NewPoint,
				r.Date.UTC().Format(time.RFC3339)))
		}
		for _, r := range sim.ExpRecords(m.ID) {
			exps = append(exps, fmt.Sprintf("%s %s %d %d>%d", r.ID, m.ID, r.ExpValue, r.OldExp, r.NewExp))
		}
		for _, c := range sim.MemberCoupons(m.ID) {
			st, ok := dmCouponStatus[c.Status]
			if !ok {
				st = "unknown"
			}
			coupons = append(coupons, fmt.Sprintf("%s %s %s %s %s %s %s", c.Code, m.ID, c.CouponID, st, c.Status, c.StartDate,
				strings.TrimSpace(c.UUID)))
		}
		// identity_keys are the members' mobiles: a member found by its
		// mobile identity comes back with all its identities
		found := false
		for _, id := range sim.Identities(m.ID) {
			found = found || (m.Mobile != "" && id.Type == "mobile" && id.Value == m.Mobile)
		}
		for _, id := range sim.Identities(m.ID) {
			if found {
				idents = append(idents, fmt.Sprintf("%s %s %s", m.ID, id.Type, id.Value))
			}
		}
	}
	q := func(table, expr string) []string {
		return b.set(t, "SELECT "+expr+" FROM "+b.q(table)+" FINAL WHERE source = 'acme-dmhub'")
	}
	diffSets(t, "points_ledger", q("points_ledger", "concat(entry_id, ' ', member_id, ' ', toString(delta), ' ', pattern, ' ', "+
		"toString(assumeNotNull(old_point)), '>', toString(assumeNotNull(new_point)), ' ', formatDateTime(assumeNotNull(occurred_at), '%Y-%m-%dT%H:%M:%SZ'))"), sorted(points))
	diffSets(t, "experience_ledger", q("experience_ledger", "concat(entry_id, ' ', member_id, ' ', toString(delta), ' ', "+
		"toString(assumeNotNull(old_exp)), '>', toString(assumeNotNull(new_exp)))"), sorted(exps))
	diffSets(t, "member_coupons", q("member_coupons", "concat(coupon_code, ' ', member_id, ' ', coupon_id, ' ', status, ' ', vendor_status, ' ', start_date, ' ', uuid)"), sorted(coupons))
	diffSets(t, "member_identities", q("member_identities", "concat(member_id, ' ', type, ' ', value)"), sorted(idents))
	var defs, lvls []string
	for _, c := range sim.Coupons() {
		defs = append(defs, fmt.Sprintf("%s %s %d", c.ID, c.Name, c.Type))
	}
	for _, l := range sim.Levels() {
		lvls = append(lvls, fmt.Sprintf("%s %s %d", l.ID, l.Name, l.Priority))
	}
	diffSets(t, "coupons", q("coupons", "concat(coupon_id, ' ', name, ' ', coupon_type)"), sorted(defs))
	diffSets(t, "levels", q("levels", "concat(level_id, ' ', name, ' ', toString(priority))"), sorted(lvls))
}

func totalRequests(m map[string]int64) int64 {
	var n int64
	for k, v := range m {
		if k != "token" {
			n += v
		}
	}
	return n
}

// TestDMHubEveryStreamFullThenIncremental is issue 3's judge: a full sync
// of every stream equals the simulator table by table; after the vendor
// changes members, ledgers and coupons, an incremental sync brings exactly
// the changes with far fewer requests; the periodic full sweep catches the
// coupon changes that do not touch the member; nothing is duplicated.
func TestDMHubEveryStreamFullThenIncremental(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 150, sourceYML: `    concurrency: 8
    full_sweep_every: 1h
    identity_keys: {from_source: acme-dmhub, field: mobile, type: mobile}`})
	for _, r := range b.sync(t, connectors.Full) {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("full %s: %s %s", r.Stream, r.Status, r.Error)
		}
	}
	equalDMHub(t, b)
	full := totalRequests(b.sim.DMHub.Requests())
	b.sim.DMHub.ResetRequests()

	ms := b.sim.DMHub.Members()
	for i := 0; i < 4; i++ {
		if _, err := b.sim.DMHub.UpdateMember(ms[i].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := b.sim.DMHub.AddPointRecord(ms[10+i].ID, int64(5+i), 2); err != nil {
			t.Fatal(err)
		}
		if _, err := b.sim.DMHub.AddPointRecord(ms[20+i].ID, int64(-3-i), 4); err != nil {
			t.Fatal(err)
		}
	}
	created := b.sim.DMHub.CreateMembers(2)
	if _, err := b.sim.DMHub.AddPointRecord(created[0].ID, 50, 1); err != nil {
		t.Fatal(err)
	}
	for _, r := range b.sync(t, connectors.Incremental) {
		if r.Status != warehouse.RunSucceeded || r.Mode != "incremental" {
			t.Fatalf("incremental %s: %s %s %s", r.Stream, r.Mode, r.Status, r.Error)
		}
	}
	equalDMHub(t, b)
	inc := totalRequests(b.sim.DMHub.Requests())
	t.Logf("vendor requests: full %d, incremental %d (%.1f%%)", full, inc, 100*float64(inc)/float64(full))
	if inc*5 > full {
		t.Errorf("incremental sync made %d requests, full %d: want at most a fifth", inc, full)
	}

	// coupons drawn and redeemed without touching the member: an
	// incremental pass cannot see them; the periodic full sweep does
	drawn, err := b.sim.DMHub.DrawCoupon(ms[50].ID)
	if err != nil {
		t.Fatal(err)
	}
	b.sync(t, connectors.Incremental, "member_coupons")
	if n := b.count(t, "SELECT count() FROM "+b.q("member_coupons")+" FINAL WHERE coupon_code = ?", drawn.Code); n != 0 {
		t.Fatalf("an incremental pass saw a coupon change that did not touch the member (%d): the test premise is wrong", n)
	}
	b.cfg.Sources[0].FullSweepEvery = time.Millisecond // the last full run is now "old"
	runs := b.sync(t, connectors.Incremental, "member_coupons")
	if runs[0].Mode != "full" || runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("sweep run = %+v, want a full run", runs[0])
	}
	equalDMHub(t, b)

	// no duplicates after FINAL: every sorting key appears once
	for table, key := range map[string]string{"members": "member_id", "points_ledger": "member_id, entry_id",
		"experience_ledger": "member_id, entry_id", "member_coupons": "coupon_code", "coupons": "coupon_id",
		"levels": "level_id", "member_identities": "type, value"} {
		var final, keys uint64
		if err := b.wh.Conn().QueryRow(context.Background(), "SELECT count(), uniqExact("+key+") FROM "+b.q(table)+" FINAL").Scan(&final, &keys); err != nil {
			t.Fatal(err)
		}
		if final != keys || final == 0 {
			t.Errorf("%s: %d rows after FINAL for %d keys", table, final, keys)
		}
	}
}

// TestIdentitiesIncremental: an incremental identities run resolves only
// the keys of members loaded since the last complete run started, minus
// the lookback, and the table still equals the simulator's identities.
func TestIdentitiesIncremental(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 150, sourceYML: `    lookback: 1ms
    identity_keys: {from_source: acme-dmhub, field: mobile, type: mobile}`})
	lookups := func() int64 { return b.sim.DMHub.Requests()["identity.list"] }
	sync := func(what string, mode connectors.Mode) warehouse.Run {
		t.Helper()
		b.sim.DMHub.ResetRequests()
		var ident warehouse.Run
		for _, r := range b.sync(t, mode, "members", "identities") {
			if r.Status != warehouse.RunSucceeded {
				t.Fatalf("%s %s: %s %s", what, r.Stream, r.Status, r.Error)
			}
			if r.Stream == "identities" {
				ident = r
			}
		}
		return ident
	}
	full := sync("full", connectors.Full)
	if got := lookups(); got != 3 || full.Items < 100 {
		t.Fatalf("full: %d keys in %d look-ups, want every member's mobile in 3", full.Items, got)
	}
	// Each run's bound is the previous run's start minus the lookback,
	// in whole seconds (synced_at's precision), so the members loaded
	// just before it (here: all of them) are resolved once more. After
	// 1.2s, the first incremental run starts at least one whole second
	// after the full load: the second one no longer sees that load.
	time.Sleep(1200 * time.Millisecond)
	sync("first incremental", connectors.Incremental)
	// Only the member at the members cursor (re-read: closed bound) was
	// loaded since.
	if r := sync("incremental without changes", connectors.Incremental); r.Items > 2 {
		t.Errorf("no member changed: %d keys resolved (%d look-ups), want at most the one at the members cursor", r.Items, lookups())
	}
	ms := b.sim.DMHub.Members()
	for i := 0; i < 4; i++ {
		if _, err := b.sim.DMHub.UpdateMember(ms[i].ID); err != nil {
			t.Fatal(err)
		}
	}
	created := b.sim.DMHub.CreateMembers(2)
	r := sync("incremental", connectors.Incremental)
	if got := lookups(); got != 1 || r.Items < 4 || r.Items > 10 {
		t.Errorf("after 6 member changes: %d keys in %d look-ups; want the changed members' keys in 1", r.Items, got)
	}
	for _, m := range created {
		if n := b.count(t, "SELECT count() FROM "+b.q("member_identities")+" FINAL WHERE member_id = ?", m.ID); n == 0 && m.Mobile != "" {
			t.Errorf("new member %s: no identities after the incremental run", m.ID)
		}
	}
	var want []string
	for _, m := range b.sim.DMHub.Members() {
		found := false
		for _, id := range b.sim.DMHub.Identities(m.ID) {
			found = found || (m.Mobile != "" && id.Type == "mobile" && id.Value == m.Mobile)
		}
		for _, id := range b.sim.DMHub.Identities(m.ID) {
			if found {
				want = append(want, fmt.Sprintf("%s %s %s", m.ID, id.Type, id.Value))
			}
		}
	}
	diffSets(t, "member_identities", b.set(t, "SELECT concat(member_id, ' ', type, ' ', value) FROM "+b.q("member_identities")+
		" FINAL WHERE source = 'acme-dmhub'"), sorted(want))
}
