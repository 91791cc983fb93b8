package vendorsim

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestDMHubNeedTotalEveryList: with rows=1&needTotal=true every list that
// vendor-api.md §1.4/§1.5 documents with needTotal (members §1, coupon
// definitions §13.1, points §15, experience §16) answers one row plus
// `records` = the number of rows and `total` = the number of pages (rows
// of 1: the same); the member's coupon list (§13.6) carries them even
// without needTotal. reconcile relies on these totals.
func TestDMHubNeedTotalEveryList(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Members: 40, Seed: 3})
	tok := e.token(t)
	var m DMHubMember
	for _, x := range e.sim.Members() {
		if len(e.sim.PointRecords(x.ID)) > 1 && len(e.sim.ExpRecords(x.ID)) > 1 && len(e.sim.MemberCoupons(x.ID)) > 1 {
			m = x
			break
		}
	}
	if m.ID == "" {
		t.Fatal("no member with more than one record of each kind")
	}
	tests := []struct {
		path string
		want int
	}{
		{"/loyalty/v1/membership?rows=1&page=1&needTotal=true", len(e.sim.Members())},
		{"/loyalty/v1/coupon?rows=1&page=1&needTotal=true", len(e.sim.Coupons())},
		{"/loyalty/v1/membership/" + m.ID + "/point?rows=1&page=1&needTotal=true", len(e.sim.PointRecords(m.ID))},
		{"/loyalty/v1/membership/" + m.ID + "/exp/changeLogs?rows=1&page=1&needTotal=true", len(e.sim.ExpRecords(m.ID))},
		{"/loyalty/v1/membership/" + m.ID + "/coupon?rows=1&page=1&needTotal=true", len(e.sim.MemberCoupons(m.ID))},
		{"/loyalty/v1/membership/" + m.ID + "/coupon?rows=1&page=1", len(e.sim.MemberCoupons(m.ID))},
	}
	for _, tc := range tests {
		res := e.api(t, "GET", tok, tc.path, nil)
		v := res.decode(t)
		if res.status != 200 || len(rowsOf(t, v)) != 1 {
			t.Fatalf("%s: %d %s", tc.path, res.status, res.body)
		}
		if tc.want < 2 || v["records"] != json.Number(fmt.Sprint(tc.want)) || v["total"] != json.Number(fmt.Sprint(tc.want)) {
			t.Errorf("%s: records %v, total %v; want %d rows of 1 page each", tc.path, v["records"], v["total"], tc.want)
		}
	}
}
