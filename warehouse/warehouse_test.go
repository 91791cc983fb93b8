package warehouse_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

func ptr[T any](v T) *T { return &v }

func TestMigrateIsIdempotent(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t) // migrated once
	ctx := context.Background()
	applied, err := wh.Migrate(ctx)
	if err != nil || len(applied) != 0 {
		t.Fatalf("second Migrate = %v, %v; want nothing applied", applied, err)
	}
	migs, err := warehouse.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var names0 string
	if err := wh.Conn().QueryRow(ctx, "SELECT arrayStringConcat(groupArray(name), ',') FROM (SELECT name FROM system.tables WHERE database = ? ORDER BY name)",
		wh.Database()).Scan(&names0); err != nil {
		t.Fatal(err)
	}
	// every CONTRACT.md table, plus checkpoints, member_sync_state and schema_migrations,
	// the outbound log (0004: outbound_events, outbound_orders and their views)
	want := "checkpoints,coupons,experience_ledger,levels,member_coupons,member_identities,member_sync_state,members," +
		"outbound_events,outbound_orders,outbound_orders_from_events,outbound_writes,outbound_writes_from_events," +
		"points_ledger,rejected_records,schema_migrations,sync_runs," +
		// 0003: deletions and O(N) key listing; *_latest views (CONTRACT.md)
		"key_snapshots,coupons_latest,experience_ledger_latest,levels_latest,member_coupons_latest,member_identities_latest," +
		"members_latest,points_ledger_latest," +
		// 0005: reconcile runs and the freshness view (docs/analytics.md)
		"reconcile_runs,freshness," +
		// 0006: pushed events (docs/webhooks.md)
		"webhook_events,webhook_events_latest"
	for _, name := range strings.Split(want, ",") {
		if !slices.Contains(strings.Split(names0, ","), name) {
			t.Errorf("table %s is missing: tables = %s", name, names0)
		}
	}
	if len(migs) == 0 || len(migs[0].Statements) != 11 {
		t.Errorf("migration 0001 has %d statements", len(migs[0].Statements))
	}
}

func TestReloadDoesNotDuplicate(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	lu := time.Date(2024, 3, 1, 2, 3, 4, 0, time.UTC)
	rows := []warehouse.Row{
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "1", Name: "李雷", Birthday: "1968-11-09", LastUpdated: &lu,
			Balance: ptr(decimal.RequireFromString("12.34")), CustomAttrs: "{}", Raw: `{"id":1}`},
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "2", Name: "韩梅梅", CustomAttrs: "{}", Raw: `{"id":2}`},
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "p1", MemberID: "1", Delta: -5, Pattern: "3"},
	}
	for i := 0; i < 3; i++ {
		if err := wh.Load(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	for table, want := range map[string]uint64{"members": 2, "points_ledger": 1} {
		var n uint64
		if err := wh.Conn().QueryRow(ctx, "SELECT count() FROM "+wh.Q(table)+" FINAL").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("%s FINAL = %d rows after 3 loads, want %d", table, n, want)
		}
	}
	var bday, bal string
	if err := wh.Conn().QueryRow(ctx, "SELECT birthday, toString(balance) FROM "+wh.Q("members")+" FINAL WHERE member_id = '1'").Scan(&bday, &bal); err != nil {
		t.Fatal(err)
	}
	if bday != "1968-11-09" || bal != "12.34" {
		t.Errorf("birthday %q balance %q", bday, bal)
	}
}

// TestLoadRejectsOutOfRangeValues: a row with a value its column cannot
// hold (clickhouse-go would wrap it silently) becomes a rejected_records
// row, and the rest of the batch loads; a reload stores it once.
func TestLoadRejectsOutOfRangeValues(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	old := time.Date(1968, 11, 9, 0, 0, 0, 0, time.UTC)
	rows := []warehouse.Row{
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "1", DateJoin: &old, Raw: `{"id":1}`},
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "2", Raw: `{"id":2}`},
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "3", Balance: ptr(decimal.RequireFromString("1e17")), Raw: `{"id":3}`},
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "p1", MemberID: "2", OccurredAt: ptr(time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC))},
	}
	for i := 0; i < 2; i++ {
		if err := wh.Load(ctx, rows); err != nil {
			t.Fatalf("load %d: %v; one misfit row must not fail the batch", i, err)
		}
	}
	var members, ledger uint64
	if err := wh.Conn().QueryRow(ctx, "SELECT (SELECT count() FROM "+wh.Q("members")+" FINAL), (SELECT count() FROM "+wh.Q("points_ledger")+" FINAL)").Scan(&members, &ledger); err != nil {
		t.Fatal(err)
	}
	if members != 1 || ledger != 0 {
		t.Errorf("members %d, points_ledger %d: want only member 2", members, ledger)
	}
	got := map[string]string{}
	rs, err := wh.Conn().Query(ctx, "SELECT stream, record_key, raw, error FROM "+wh.Q("rejected_records")+" FINAL WHERE source = 's' ORDER BY record_key")
	if err != nil {
		t.Fatal(err)
	}
	defer rs.Close()
	for rs.Next() {
		var stream, key, raw, msg string
		if err := rs.Scan(&stream, &key, &raw, &msg); err != nil {
			t.Fatal(err)
		}
		got[stream+"/"+key] = raw + " | " + msg
	}
	if len(got) != 3 || !strings.Contains(got["members/1"], `{"id":1} | `) || !strings.Contains(got["members/1"], "date_join") ||
		!strings.Contains(got["members/3"], "Decimal(18, 2)") || !strings.Contains(got["points_ledger/p1"], "occurred_at") {
		t.Errorf("rejected_records FINAL = %q, want members/1 (date_join), members/3 (balance), points_ledger/p1, once each", got)
	}
}

func TestCheckpoints(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	if _, ok, err := wh.LoadCheckpoint(ctx, "s", "members", warehouse.Committed); err != nil || ok {
		t.Fatalf("empty = %v %v", ok, err)
	}
	for _, c := range []string{`{"a":1}`, `{"a":2}`} {
		if err := wh.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: "s", Stream: "members", Cursor: c, RunID: "r"}); err != nil {
			t.Fatal(err)
		}
	}
	cp, ok, err := wh.LoadCheckpoint(ctx, "s", "members", warehouse.Committed)
	if err != nil || !ok || cp.Cursor != `{"a":2}` {
		t.Fatalf("checkpoint = %+v %v %v, want the latest", cp, ok, err)
	}
	if err := wh.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: "s", Stream: "members", Cursor: ""}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := wh.LoadCheckpoint(ctx, "s", "members", warehouse.Committed); ok {
		t.Error("a cleared checkpoint is still returned")
	}
}

func TestChangedMembersAndKnownEntries(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	t1 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	m := func(id string, lu *time.Time, point int64) warehouse.Member {
		return warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: id, LastUpdated: lu, Point: point, CustomAttrs: "{}"}
	}
	st := func(id string, lu *time.Time, point int64) warehouse.MemberState {
		return warehouse.MemberState{Common: warehouse.Common{Source: "s"}, Stream: "points", MemberID: id, LastUpdated: lu, Point: point}
	}
	if err := wh.Load(ctx, []warehouse.Row{
		m("a", &t1, 1), m("b", &t1, 2), m("c", &t2, 3), m("d", nil, 4), m("e", &t1, 5),
		st("a", &t1, 1), st("b", &t1, 9), st("c", &t1, 3), st("d", nil, 4), // e never read
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "x1", MemberID: "a"},
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "x2", MemberID: "c"},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := wh.ChangedMembers(ctx, "s", "points", "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, s := range got {
		ids = append(ids, s.ID)
	}
	// b: point changed; c: last_updated changed; e: never read
	if want := "b,c,e"; join(ids) != want {
		t.Errorf("changed = %s, want %s", join(ids), want)
	}
	if n, err := wh.CountMembers(ctx, "s", "points"); err != nil || n != 3 {
		t.Errorf("CountMembers(changed) = %d %v, want 3", n, err)
	}
	if n, err := wh.CountMembers(ctx, "s", ""); err != nil || n != 5 {
		t.Errorf("CountMembers(all) = %d %v, want 5", n, err)
	}
	page, err := wh.MemberSnaps(ctx, "s", "b", 2)
	if err != nil || len(page) != 2 || page[0].ID != "c" || page[1].ID != "d" {
		t.Errorf("MemberSnaps after b = %+v %v", page, err)
	}
	known, err := wh.KnownEntries(ctx, warehouse.PointsLedger, "s", []string{"a", "b", "c"})
	if err != nil || !known["a"]["x1"] || !known["c"]["x2"] || len(known["b"]) != 0 {
		t.Errorf("known = %v %v", known, err)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}

// TestMarkDeleted: the live rows of a source loaded before the bound get a
// tombstone; rows reloaded since, rows of other sources and records the
// run rejected (it saw them) do not; a repeat adds nothing; a reload
// revives a row.
func TestMarkDeleted(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	old := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cut := old.Add(time.Hour)
	m := func(src, id string, at time.Time) warehouse.Row {
		return warehouse.Member{Common: warehouse.Common{Source: src, SyncedAt: at, Ver: uint64(at.UnixNano())}, MemberID: id, CustomAttrs: "{}"}
	}
	rej := warehouse.NewRejected("s", "members", "3", []byte(`{"id":3}`), errors.New("bad"))
	rej.SyncedAt = cut.Add(time.Minute)
	if err := wh.Load(ctx, []warehouse.Row{m("s", "1", old), m("s", "2", old), m("s", "2", cut.Add(time.Second)), m("s", "3", old),
		m("other", "1", old), rej}); err != nil {
		t.Fatal(err)
	}
	live := func() string {
		var s string
		if err := wh.Conn().QueryRow(ctx, "SELECT arrayStringConcat(groupArray(concat(source, '/', member_id)), ',') FROM (SELECT source, member_id FROM "+
			wh.Q("members_latest")+" ORDER BY source, member_id)").Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	for i, want := range []uint64{1, 0} {
		n, err := wh.MarkDeleted(ctx, warehouse.Members, "s", "members", cut)
		if err != nil || n != want {
			t.Fatalf("MarkDeleted #%d = %d, %v; want %d", i+1, n, err, want)
		}
	}
	if got := live(); got != "other/1,s/2,s/3" {
		t.Errorf("members_latest = %s, want other/1,s/2,s/3", got)
	}
	if err := wh.Load(ctx, []warehouse.Row{warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "1", CustomAttrs: "{}"}}); err != nil {
		t.Fatal(err)
	}
	if got := live(); got != "other/1,s/1,s/2,s/3" {
		t.Errorf("after a reload: members_latest = %s, want s/1 live again", got)
	}
	if _, err := wh.MarkDeleted(ctx, warehouse.Levels, "s", "levels", cut); err == nil {
		t.Error("MarkDeleted on a table without is_deleted succeeded")
	}
}

// TestScanStart: a full run that continues a failed full run's scan
// dates the scan from the failed run's start; the runs before the last
// successful full run do not count; incremental runs never do.
func TestScanStart(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	run := func(id, mode, status string, start, end int) {
		r := warehouse.Run{Source: "s", RunID: id, Stream: "members", Mode: mode, StartedAt: at(start), Status: status}
		if end > 0 {
			e := at(end)
			r.FinishedAt = &e
		}
		if err := wh.SaveRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got := func(now int) time.Time {
		s, err := wh.ScanStart(ctx, "s", "members", at(now))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if s := got(1); !s.Equal(at(1)) {
		t.Errorf("no earlier run: %s, want the run's own start", s)
	}
	run("a", "full", warehouse.RunFailed, 1, 2)
	run("b", "full", warehouse.RunSucceeded, 3, 4)
	run("c", "full", warehouse.RunFailed, 5, 6)
	run("i", "incremental", warehouse.RunFailed, 5, 6)
	run("d", "full", warehouse.RunRunning, 7, 0)
	if s := got(7); !s.Equal(at(5)) {
		t.Errorf("resumed after a failed run: %s, want that run's start %s", s, at(5))
	}
}
