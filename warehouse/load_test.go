package warehouse_test

import (
	"context"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestLoadIsOnePartPerTable: a load of more rows than one Native block
// holds is still one INSERT per table, stored as one part (the server
// squashes the blocks), and every row arrives with its values: ClickHouse
// advises few large inserts, and a sync's insert must not turn into one
// part per block.
func TestLoadIsOnePartPerTable(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	const n = 7_321 // several blocks and a partial one
	rows := make([]warehouse.Row, 0, n+n/10)
	var wantRaw, wantPoint int64
	for i := 0; i < n; i++ {
		m := benchMember(i)
		if i%7 == 0 {
			m.Balance, m.DateJoin, m.LevelPriority = nil, nil, nil // NULLs among the values
		}
		wantRaw += int64(len(m.Raw))
		wantPoint += m.Point
		rows = append(rows, m)
		if i%10 == 0 {
			rows = append(rows, warehouse.Identity{Common: warehouse.Common{Source: "bench"}, MemberID: m.MemberID, Type: "mobile",
				Value: m.Mobile})
		}
	}
	if err := wh.Load(ctx, rows); err != nil {
		t.Fatal(err)
	}
	var count, nulls uint64
	var raw, point int64
	if err := wh.Conn().QueryRow(ctx, "SELECT count(), toInt64(sum(length(raw))), sum(point), countIf(balance IS NULL) FROM "+wh.Q("members")).
		Scan(&count, &raw, &point, &nulls); err != nil {
		t.Fatal(err)
	}
	if count != n || raw != wantRaw || point != wantPoint || nulls != (n+6)/7 {
		t.Fatalf("members: count %d raw bytes %d point sum %d NULL balances %d; want %d %d %d %d", count, raw, point, nulls,
			n, wantRaw, wantPoint, (n+6)/7)
	}
	var m1 warehouse.Member
	if err := wh.Conn().QueryRow(ctx, "SELECT member_id, name, raw FROM "+wh.Q("members")+" WHERE member_id = 'm000000001'").
		Scan(&m1.MemberID, &m1.Name, &m1.Raw); err != nil {
		t.Fatal(err)
	}
	if want := benchMember(1); m1.Name != want.Name || m1.Raw != want.Raw {
		t.Fatalf("member 1 = %q %q, want %q %q", m1.Name, m1.Raw, want.Name, want.Raw)
	}
	for table, want := range map[string]uint64{"members": n, "member_identities": (n + 9) / 10} {
		// level 0 parts, active or already merged away: the parts the
		// inserts wrote
		var parts, rows uint64
		if err := wh.Conn().QueryRow(ctx, "SELECT count(), sum(rows) FROM system.parts WHERE database = ? AND table = ? AND level = 0",
			wh.Database(), table).Scan(&parts, &rows); err != nil {
			t.Fatal(err)
		}
		if parts != 1 || rows != want {
			t.Errorf("%s: the load wrote %d parts of %d rows in all; want 1 part of %d rows", table, parts, rows, want)
		}
	}
}

// TestLoadBlockBoundaries loads row counts around the block size: every
// row arrives once.
func TestLoadBlockBoundaries(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	next := 0
	for _, n := range []int{1, 1_999, 2_000, 2_001, 4_000} {
		rows := make([]warehouse.Row, n)
		for i := range rows {
			rows[i] = benchMember(next + i)
		}
		next += n
		if err := wh.Load(ctx, rows); err != nil {
			t.Fatalf("load %d rows: %v", n, err)
		}
		var count, distinct uint64
		if err := wh.Conn().QueryRow(ctx, "SELECT count(), uniqExact(member_id) FROM "+wh.Q("members")).Scan(&count, &distinct); err != nil {
			t.Fatal(err)
		}
		if count != uint64(next) || distinct != uint64(next) {
			t.Fatalf("after a load of %d rows: %d rows, %d distinct; want %d", n, count, distinct, next)
		}
	}
}
