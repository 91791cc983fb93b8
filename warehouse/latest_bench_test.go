package warehouse_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// BenchmarkLatestMembers compares the two ways to read the latest state of
// members on 100k members (152k stored rows: half the members loaded
// twice, 2% of them then deleted by a tombstone version), unmerged parts
// as after a day of loads:
//
//   - final: the members_latest view as migration 0003 creates it,
//     SELECT * FROM (SELECT * FROM members FINAL) WHERE is_deleted = 0;
//   - argmax: a view over argMax(column, ver) per (source, member_id)
//     with HAVING argMax(is_deleted, ver) = 0.
//
// Each iteration runs the query on both views, alternating which goes
// first, so both see the same machine load (the box is shared); it
// reports final_ms/op, argmax_ms/op and their ratio argmax/final. Three
// analyst queries: a whole-table aggregate (count, sum of points), points
// by level (GROUP BY), and one member by id. docs/analytics.md quotes:
//
//	go test -run '^$' -bench BenchmarkLatestMembers -benchtime 10x -count 3 ./warehouse/
func BenchmarkLatestMembers(b *testing.B) {
	wh := latestBenchData(b)
	ctx := context.Background()
	queries := []struct{ name, q string }{
		{"aggregate", "SELECT count(), sum(point) FROM %s"},
		{"by_level", "SELECT level_name, count(), sum(point) FROM %s GROUP BY level_name ORDER BY level_name"},
		{"one_member", "SELECT name, point FROM %s WHERE source = 'bench' AND member_id = 'm0049999'"},
	}
	run := func(b *testing.B, q string) time.Duration {
		start := time.Now()
		rows, err := wh.Conn().Query(ctx, q)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
		}
		rows.Close()
		if err := rows.Err(); err != nil || n == 0 {
			b.Fatalf("%s: %d rows, %v", q, n, err)
		}
		return time.Since(start)
	}
	for _, q := range queries {
		final, argmax := fmt.Sprintf(q.q, wh.Q("members_latest")), fmt.Sprintf(q.q, wh.Q("members_latest_argmax"))
		b.Run(q.name, func(b *testing.B) {
			var tf, ta time.Duration
			i := 0
			for b.Loop() {
				if i%2 == 0 {
					tf += run(b, final)
					ta += run(b, argmax)
				} else {
					ta += run(b, argmax)
					tf += run(b, final)
				}
				i++
			}
			b.ReportMetric(float64(tf.Milliseconds())/float64(i), "final_ms/op")
			b.ReportMetric(float64(ta.Milliseconds())/float64(i), "argmax_ms/op")
			b.ReportMetric(float64(ta)/float64(tf), "argmax/final")
		})
	}
}

// latestBenchMembers is the member count of BenchmarkLatestMembers.
const latestBenchMembers = 100_000

// latestBenchData loads the benchmark's members into a fresh database
// (each -count round loads its own) and creates the argMax form of the
// view beside members_latest; it checks that both forms agree (same live
// count and point sum) before timing.
func latestBenchData(b *testing.B) *warehouse.Warehouse {
	b.Helper()
	_, wh := warehousetest.ClickHouse(b)
	if err := loadLatestBench(wh); err != nil {
		b.Fatal(err)
	}
	return wh
}

func loadLatestBench(wh *warehouse.Warehouse) error {
	ctx := context.Background()
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	levels := []string{"Bronze", "Silver", "Gold", "Platinum"}
	raw := `{"id":%d,"name":"member %d","mobile":"138%08d","level":{"priority":%d,"name":"%s"},"point":%d,"c_channel":"wechat","c_note":"` +
		strings.Repeat("x", 200) + `"}`
	batch := make([]warehouse.Row, 0, 50_000)
	flush := func() error {
		err := wh.Load(ctx, batch)
		batch = batch[:0]
		return err
	}
	add := func(version, i int) error {
		at := t0.Add(time.Duration(version) * time.Hour)
		lvl := levels[i%len(levels)]
		m := warehouse.Member{Common: warehouse.Common{Source: "bench", SyncedAt: at, Ver: uint64(at.UnixNano())},
			MemberID: fmt.Sprintf("m%07d", i), Name: fmt.Sprintf("member %d v%d", i, version), Mobile: fmt.Sprintf("138%08d", i),
			LevelID: lvl, LevelName: lvl, Point: int64(i%1000 + version), LastUpdated: &at, CustomAttrs: `{"c_channel":"wechat"}`,
			Raw: fmt.Sprintf(raw, i, i, i, i%len(levels), lvl, i%1000)}
		batch = append(batch, m)
		if len(batch) == cap(batch) {
			return flush()
		}
		return nil
	}
	for i := 0; i < latestBenchMembers; i++ {
		if err := add(1, i); err != nil {
			return err
		}
	}
	for i := 0; i < latestBenchMembers; i += 2 {
		if err := add(2, i); err != nil {
			return err
		}
	}
	if err := flush(); err != nil {
		return err
	}
	// 2% deleted: a tombstone version, as a full scan writes it (every
	// 50th member is even, so its newest version is the second)
	if err := wh.Conn().Exec(ctx, "INSERT INTO "+wh.Q("members")+" (source, synced_at, ver, member_id, name, level_name, point, custom_attrs, is_deleted) "+
		"SELECT source, synced_at, ver + 1, member_id, name, level_name, point, custom_attrs, toUInt8(1) FROM "+wh.Q("members")+
		" WHERE ver = ? AND modulo(toUInt64(substring(member_id, 2)), 50) = 0", uint64(t0.Add(2*time.Hour).UnixNano())); err != nil {
		return err
	}
	rows, err := wh.Conn().Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = 'members'", wh.Database())
	if err != nil {
		return err
	}
	var sel []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		if c != "source" && c != "member_id" {
			sel = append(sel, fmt.Sprintf("argMax(`%s`, _v) AS `%s`", c, c))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	// the argMax form: ver itself is max(ver); is_deleted is tested on
	// the newest version, in HAVING. The version is read as _v: an alias
	// `ver` would otherwise nest max(ver) in every argMax.
	for i, s := range sel {
		if s == "argMax(`ver`, _v) AS `ver`" {
			sel[i] = "max(_v) AS `ver`"
		}
	}
	// 18.16 checks the view's LowCardinality columns as a CREATE TABLE
	ddl := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	if err := wh.Conn().Exec(ddl, "CREATE VIEW "+wh.Q("members_latest_argmax")+" AS SELECT source, member_id, "+strings.Join(sel, ", ")+
		" FROM (SELECT *, ver AS _v FROM "+wh.Q("members")+") GROUP BY source, member_id HAVING is_deleted = 0"); err != nil {
		return err
	}
	var n1, n2 uint64
	var p1, p2 int64
	if err := wh.Conn().QueryRow(ctx, "SELECT count(), sum(point) FROM "+wh.Q("members_latest")).Scan(&n1, &p1); err != nil {
		return err
	}
	if err := wh.Conn().QueryRow(ctx, "SELECT count(), sum(point) FROM "+wh.Q("members_latest_argmax")).Scan(&n2, &p2); err != nil {
		return err
	}
	if want := uint64(latestBenchMembers - latestBenchMembers/50); n1 != want || n1 != n2 || p1 != p2 {
		return fmt.Errorf("the two forms disagree: FINAL %d members / %d points, argMax %d / %d; want %d members", n1, p1, n2, p2, want)
	}
	return nil
}
