package warehouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// latestCase builds rows of one entity table: key is the record key (the
// table's last ORDER BY column), val a value column the test reads back.
type latestCase struct {
	table     warehouse.Table
	keyCol    string
	valCol    string
	deletable bool
	row       func(c warehouse.Common, key, val string) warehouse.Row
}

var latestCases = []latestCase{
	{warehouse.Members, "member_id", "name", true, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.Member{Common: c, MemberID: k, Name: v, CustomAttrs: "{}"}
	}},
	{warehouse.MemberIdentities, "value", "name", true, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.Identity{Common: c, MemberID: "m1", Type: "mobile", Value: k, Name: v}
	}},
	{warehouse.PointsLedger, "entry_id", "remark", false, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.PointEntry{Common: c, EntryID: k, MemberID: "m1", Delta: 5, Remark: v}
	}},
	{warehouse.ExperienceLedger, "entry_id", "remark", false, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.ExpEntry{Common: c, EntryID: k, MemberID: "m1", Delta: 5, Remark: v}
	}},
	{warehouse.Coupons, "coupon_id", "name", false, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.Coupon{Common: c, CouponID: k, Name: v}
	}},
	{warehouse.MemberCoupons, "coupon_code", "coupon_name", true, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.MemberCoupon{Common: c, CouponCode: k, MemberID: "m1", CouponName: v, Status: warehouse.CouponUnused}
	}},
	{warehouse.Levels, "level_id", "name", false, func(c warehouse.Common, k, v string) warehouse.Row {
		return warehouse.Level{Common: c, LevelID: k, Name: v}
	}},
}

// TestLatestViews: after three loads of every key (and, for the tables
// that carry is_deleted, a full scan that no longer saw key "c"), each
// <table>_latest view holds exactly one row per live key, with the newest
// version's values, and none for the deleted key; the same key of
// another source is its own row. A reload revives the deleted key.
func TestLatestViews(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range latestCases {
		t.Run(tc.table.Name, func(t *testing.T) {
			var rows []warehouse.Row
			for load := 1; load <= 3; load++ {
				at := t0.Add(time.Duration(load) * time.Minute)
				c := warehouse.Common{Source: "s", SyncedAt: at, Ver: uint64(at.UnixNano())}
				for _, k := range []string{"a", "b", "c"} {
					rows = append(rows, tc.row(c, k, fmt.Sprintf("%s-v%d", k, load)))
				}
				rows = append(rows, tc.row(warehouse.Common{Source: "other", SyncedAt: at, Ver: uint64(at.UnixNano())}, "a", fmt.Sprintf("o-v%d", load)))
			}
			// one load per version, so versions sit in separate parts
			for i := 0; i < len(rows); i += 4 {
				if err := wh.Load(ctx, rows[i:i+4]); err != nil {
					t.Fatal(err)
				}
			}
			want := "other/a/o-v3,s/a/a-v3,s/b/b-v3,s/c/c-v3"
			if tc.deletable {
				// a full scan after t0+1h saw a and b again, not c
				cut := t0.Add(time.Hour)
				at := cut.Add(time.Minute)
				c := warehouse.Common{Source: "s", SyncedAt: at, Ver: uint64(at.UnixNano())}
				if err := wh.Load(ctx, []warehouse.Row{tc.row(c, "a", "a-v4"), tc.row(c, "b", "b-v4")}); err != nil {
					t.Fatal(err)
				}
				if n, err := wh.MarkDeleted(ctx, tc.table, "s", tc.table.Name, cut); err != nil || n != 1 {
					t.Fatalf("MarkDeleted = %d, %v; want 1", n, err)
				}
				want = "other/a/o-v3,s/a/a-v4,s/b/b-v4"
			}
			if got := latestRows(t, wh, tc); got != want {
				t.Errorf("%s_latest = %s, want %s", tc.table.Name, got, want)
			}
			if !tc.deletable {
				return
			}
			if err := wh.Load(ctx, []warehouse.Row{tc.row(warehouse.Common{Source: "s"}, "c", "c-v5")}); err != nil {
				t.Fatal(err)
			}
			if got, want := latestRows(t, wh, tc), "other/a/o-v3,s/a/a-v4,s/b/b-v4,s/c/c-v5"; got != want {
				t.Errorf("after reloading c: %s_latest = %s, want %s", tc.table.Name, got, want)
			}
		})
	}
}

// latestRows lists the view's rows as source/key/value, with a count
// per key so a duplicate shows.
func latestRows(t *testing.T, wh *warehouse.Warehouse, tc latestCase) string {
	t.Helper()
	q := fmt.Sprintf("SELECT arrayStringConcat(groupArray(r), ',') FROM (SELECT concat(source, '/', `%s`, '/', arrayStringConcat(groupArray(`%s`), '+')) AS r FROM %s GROUP BY source, `%s` ORDER BY r)",
		tc.keyCol, tc.valCol, wh.Q(tc.table.Name+"_latest"), tc.keyCol)
	var s string
	if err := wh.Conn().QueryRow(context.Background(), q).Scan(&s); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return s
}

// TestFreshness: the view reports, per source and stream, the last
// successful run, the newest record time of the stream's table, the lag
// and the rejected records since the last success started; a stream whose
// only run failed has no success and counts every rejection.
func TestFreshness(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	run := func(stream, id, status string, start, end int) {
		e := at(end)
		if err := wh.SaveRun(ctx, warehouse.Run{Source: "s", RunID: id, Stream: stream, Mode: "full", StartedAt: at(start), FinishedAt: &e, Status: status}); err != nil {
			t.Fatal(err)
		}
	}
	run("members", "r1", warehouse.RunSucceeded, 0, 5)
	run("members", "r2", warehouse.RunSucceeded, 10, 15)
	run("members", "r3", warehouse.RunFailed, 20, 25)
	run("points", "p1", warehouse.RunFailed, 0, 5)
	lu1, lu2, occ := at(-30), at(-20), at(-50)
	rej := func(stream, key string, m int) warehouse.Row {
		r := warehouse.NewRejected("s", stream, key, []byte(`{}`), fmt.Errorf("bad"))
		r.SyncedAt = at(m)
		return r
	}
	if err := wh.Load(ctx, []warehouse.Row{
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "1", LastUpdated: &lu1, CustomAttrs: "{}"},
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "2", LastUpdated: &lu2, CustomAttrs: "{}"},
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "e1", MemberID: "1", OccurredAt: &occ},
		rej("members", "x1", 3), rej("members", "x2", 11), rej("members", "x3", 21), rej("points", "y1", 1),
	}); err != nil {
		t.Fatal(err)
	}
	type fresh struct {
		lastOK   *time.Time
		okRun    string
		status   string
		newest   *time.Time
		col      string
		lag      *int64
		rejected uint64
	}
	rows, err := wh.Conn().Query(ctx, "SELECT stream, last_success_at, last_success_run, last_run_status, newest_record_at, newest_record_column, lag_seconds, rejected_since_success FROM "+
		wh.Q("freshness")+" WHERE source = 's'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]fresh{}
	for rows.Next() {
		var s string
		var f fresh
		if err := rows.Scan(&s, &f.lastOK, &f.okRun, &f.status, &f.newest, &f.col, &f.lag, &f.rejected); err != nil {
			t.Fatal(err)
		}
		got[s] = f
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	m, p := got["members"], got["points"]
	if len(got) != 2 || m.lastOK == nil || !m.lastOK.Equal(at(15)) || m.okRun != "r2" || m.status != warehouse.RunFailed ||
		m.newest == nil || !m.newest.Equal(lu2) || m.col != "members.last_updated" || m.rejected != 2 {
		t.Errorf("members freshness = %+v (of %d streams); want last success r2 at %s, newest %s, 2 rejected since", m, len(got), at(15), lu2)
	}
	if m.lag == nil || *m.lag < int64(time.Since(lu2).Seconds())-60 || *m.lag > int64(time.Since(lu2).Seconds())+60 {
		t.Errorf("members lag = %v, want about %.0f s", m.lag, time.Since(lu2).Seconds())
	}
	if p.lastOK != nil || p.okRun != "" || p.newest == nil || !p.newest.Equal(occ) || p.rejected != 1 {
		t.Errorf("points freshness = %+v; want no success, newest %s, 1 rejected", p, occ)
	}
}
