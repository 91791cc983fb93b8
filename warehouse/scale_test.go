package warehouse_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// queryCost runs fn with every ClickHouse query logged (log_queries=1, so
// system.query_log has them on 18.16) and returns how many queries naming
// the test's database finished and the rows they read. The database is
// fresh per test, and fn's calls are the only ones in its window.
func queryCost(t *testing.T, wh *warehouse.Warehouse, fn func(ctx context.Context)) (queries, readRows uint64) {
	t.Helper()
	bg := context.Background()
	var start time.Time
	if err := wh.Conn().QueryRow(bg, "SELECT now()").Scan(&start); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // event_time has whole seconds
	ctx := clickhouse.Context(bg, clickhouse.WithSettings(clickhouse.Settings{"log_queries": 1}))
	fn(ctx)
	if err := wh.Conn().Exec(bg, "SYSTEM FLUSH LOGS"); err != nil {
		t.Fatal(err)
	}
	if err := wh.Conn().QueryRow(bg, "SELECT count(), sum(read_rows) FROM system.query_log WHERE type = 2 AND event_time > ? "+
		"AND position(query, ?) > 0 AND position(query, 'query_log') = 0", start, wh.Database()).Scan(&queries, &readRows); err != nil {
		t.Fatal(err)
	}
	return queries, readRows
}

// TestKeyListingIsLinear: listing 10k member keys (from_source, a custom
// attribute, and a query) and paging the members of a DM Hub pass (all,
// and changed) costs one query per batch plus a constant, and O(N) rows
// read in total. The previous release re-ran a DISTINCT over the whole
// members table per batch of 50: 200 batches × 10k rows.
func TestKeyListingIsLinear(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	const n, limit = 10_000, 50
	rows := make([]warehouse.Row, 0, n)
	for i := 0; i < n; i++ {
		rows = append(rows, warehouse.Member{Common: warehouse.Common{Source: "dm"}, MemberID: fmt.Sprintf("m%05d", i),
			Mobile: fmt.Sprintf("138%08d", i), CustomAttrs: fmt.Sprintf(`{"c_houcaller_id":"H%05d"}`, i)})
	}
	if err := wh.Load(ctx, rows); err != nil {
		t.Fatal(err)
	}
	k := wh.Keys("")
	specs := []config.KeySource{
		{FromSource: "dm", Field: "c_houcaller_id"},
		{FromSource: "dm", Field: "member_id"},
		{Query: "SELECT mobile FROM " + wh.Q("members") + " WHERE source = 'dm'"},
	}
	for _, spec := range specs {
		t.Run(fmt.Sprintf("%+v", spec), func(t *testing.T) {
			var keys []string
			var calls uint64
			q, read := queryCost(t, wh, func(ctx context.Context) {
				cursor := ""
				for {
					got, next, err := k.ListKeys(ctx, &spec, cursor, limit)
					if err != nil {
						t.Fatal(err)
					}
					calls++
					keys = append(keys, got...)
					if next == "" {
						return
					}
					cursor = next
				}
			})
			checkCost(t, len(keys), calls, q, read, n, limit)
		})
	}
	for _, changed := range []string{"", "points"} {
		t.Run("members pass "+changed, func(t *testing.T) {
			var got int
			var calls uint64
			q, read := queryCost(t, wh, func(ctx context.Context) {
				cursor := ""
				for {
					page, next, err := wh.MemberPage(ctx, "dm", changed, cursor, limit)
					if err != nil {
						t.Fatal(err)
					}
					calls++
					got += len(page)
					if next == "" {
						return
					}
					cursor = next
				}
			})
			keys := make([]string, got)
			checkCost(t, len(keys), calls, q, read, n, limit)
		})
	}
}

func checkCost(t *testing.T, keys int, calls, queries, read uint64, n, limit int) {
	t.Helper()
	if keys != n {
		t.Fatalf("listed %d keys, want %d", keys, n)
	}
	// one query per batch, plus the snapshot, its housekeeping and the
	// partition drop
	if queries > calls+5 || calls > uint64(n/limit+1) {
		t.Errorf("%d queries for %d batches, want at most one per batch plus 5", queries, calls)
	}
	// the snapshot reads the members once (FINAL reads each row once) and
	// the sorted keys once; each batch reads at most 2 granules of 64
	if max := uint64(4*n) + calls*128; read > max {
		t.Errorf("read %d rows for %d keys: want O(N), at most %d", read, n, max)
	}
	t.Logf("%d keys: %d batches, %d queries, %d rows read (%.1f per key)", n, calls, queries, read, float64(read)/float64(n))
}

// TestSnapshotRetryNeverSkips: a task that read the last page of a pass
// (which drops the snapshot) and is retried with the same cursor does not
// find "no more keys": the snapshot is made again and the pass restarts
// (keys repeated, never skipped). An older release's cursor restarts too.
func TestSnapshotRetryNeverSkips(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	var rows []warehouse.Row
	for i := 0; i < 7; i++ {
		rows = append(rows, warehouse.Member{Common: warehouse.Common{Source: "dm"}, MemberID: fmt.Sprintf("m%d", i), CustomAttrs: "{}"})
	}
	if err := wh.Load(ctx, rows); err != nil {
		t.Fatal(err)
	}
	k := wh.Keys("")
	spec := &config.KeySource{FromSource: "dm", Field: "member_id"}
	first, cursor, err := k.ListKeys(ctx, spec, "", 5)
	if err != nil || len(first) != 5 || cursor == "" {
		t.Fatalf("first page %v next %q err %v", first, cursor, err)
	}
	for i := 0; i < 2; i++ { // the last page, then its retry
		last, next, err := k.ListKeys(ctx, spec, cursor, 5)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 && (fmt.Sprint(last) != "[m5 m6]" || next != "") {
			t.Fatalf("last page %v next %q, want [m5 m6] and the end", last, next)
		}
		if i == 1 && fmt.Sprint(last) != fmt.Sprint(first) {
			t.Errorf("retried last page = %v next %q; want the pass restarted at %v", last, next, first)
		}
	}
	if keys, _, err := k.ListKeys(ctx, spec, "m4", 5); err != nil || fmt.Sprint(keys) != fmt.Sprint(first) {
		t.Errorf("an older release's cursor: %v, %v; want the pass restarted", keys, err)
	}
	var snaps uint64
	if err := wh.Conn().QueryRow(ctx, "SELECT uniqExact(snap) FROM "+wh.Q("key_snapshots")).Scan(&snaps); err != nil || snaps > 2 {
		t.Errorf("%d snapshots left (%v): want only the unfinished restarted passes", snaps, err)
	}
}
