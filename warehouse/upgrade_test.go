package warehouse_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// releaseStatements reads the statements of a previous release's
// migrations (testdata/<release>), split as Migrations splits them.
func releaseStatements(t *testing.T, release string) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", release, "*.sql"))
	if err != nil || len(files) == 0 {
		t.Fatalf("testdata/%s: %v", release, err)
	}
	out := map[string][]string{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(strings.TrimSpace(l), "--") {
				lines = append(lines, l)
			}
		}
		for _, st := range strings.Split(strings.Join(lines, "\n"), ";\n") {
			if st = strings.TrimSuffix(strings.TrimSpace(st), ";"); st != "" {
				out[strings.TrimSuffix(filepath.Base(f), ".sql")] = append(out[strings.TrimSuffix(filepath.Base(f), ".sql")], st)
			}
		}
	}
	return out
}

// TestMigrateUpgradesPreviousRelease: a database created and filled by
// the previous release is upgraded in place by today's Migrate: the new
// columns appear with their defaults on old rows, old "incr:2" patterns
// become the vendor's number, the views work, and the rows are kept. An
// ADD COLUMN that finds its column (an interrupted earlier upgrade) is
// not an error.
func TestMigrateUpgradesPreviousRelease(t *testing.T) {
	t.Parallel()
	base, _ := warehousetest.ClickHouse(t) // only for the server address
	cfg := config.ClickHouse{Addr: base.Addr, Database: "lbtest_up_" + warehousetest.Suffix(), Username: base.Username, DialTimeout: base.DialTimeout}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = wh.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS `"+cfg.Database+"`")
		_ = wh.Close()
	})
	// the previous release's migrate, by hand
	db := "`" + cfg.Database + "`"
	exec := func(q string) {
		t.Helper()
		if err := wh.Conn().Exec(ctx, q); err != nil {
			t.Fatalf("%.80s: %v", q, err)
		}
	}
	exec("CREATE DATABASE " + db)
	exec("CREATE TABLE " + db + ".schema_migrations (version String, applied_at DateTime) ENGINE = ReplacingMergeTree ORDER BY version")
	old := releaseStatements(t, "release1")
	versions := make([]string, 0, len(old))
	for v := range old {
		versions = append(versions, v)
	}
	slices.Sort(versions)
	for _, v := range versions {
		for _, st := range old[v] {
			q := strings.ReplaceAll(st, "{db}", db)
			if err := wh.Conn().Exec(lowCardinality(ctx, wh), q); err != nil {
				t.Fatalf("release1 %s: %v", v, err)
			}
		}
		b, err := wh.Conn().PrepareBatch(ctx, "INSERT INTO "+db+".schema_migrations (version, applied_at)")
		if err != nil {
			t.Fatal(err)
		}
		if err := b.Append(v, time.Now().UTC().Truncate(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := b.Send(); err != nil {
			t.Fatal(err)
		}
	}
	// rows as the previous release wrote them
	lu := time.Date(2024, 3, 1, 2, 3, 4, 0, time.UTC)
	if err := wh.Load(ctx, []warehouse.Row{
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "1", Name: "李雷", LastUpdated: &lu, CustomAttrs: "{}", Raw: `{"id":1}`},
		warehouse.Member{Common: warehouse.Common{Source: "s"}, MemberID: "2", Name: "韩梅梅", CustomAttrs: "{}", Raw: `{"id":2}`},
		warehouse.MemberCoupon{Common: warehouse.Common{Source: "s"}, CouponCode: "c1", MemberID: "1", Status: warehouse.CouponUnused},
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "p1", MemberID: "1", Delta: 5, Pattern: "incr:2"},
		warehouse.PointEntry{Common: warehouse.Common{Source: "s"}, EntryID: "p2", MemberID: "1", Delta: -3, Pattern: "decr:6"},
		warehouse.PointEntry{Common: warehouse.Common{Source: "z"}, EntryID: "p3", MemberID: "9", Delta: -4, Pattern: "type:3:7"},
		warehouse.PointEntry{Common: warehouse.Common{Source: "z"}, EntryID: "p4", MemberID: "9", Delta: 1, Pattern: "incr"},
		warehouse.PointEntry{Common: warehouse.Common{Source: "h"}, EntryID: "p5", MemberID: "8", Delta: 1, Pattern: "5"},
	}); err != nil {
		t.Fatalf("load into the previous release's tables: %v", err)
	}
	// an earlier upgrade was interrupted after its first statement
	exec("ALTER TABLE " + db + ".members ADD COLUMN is_deleted UInt8 DEFAULT 0")

	applied, err := wh.Migrate(ctx)
	if err != nil {
		t.Fatalf("Migrate over the previous release: %v", err)
	}
	if !slices.Contains(applied, "0003_data_shape") || slices.Contains(applied, "0001_init") {
		t.Errorf("applied %v, want 0003_data_shape and nothing of the previous release", applied)
	}
	if again, err := wh.Migrate(ctx); err != nil || len(again) != 0 {
		t.Errorf("second Migrate = %v, %v", again, err)
	}
	var live, coupons uint64
	if err := wh.Conn().QueryRow(ctx, "SELECT (SELECT count() FROM "+db+".members_latest), (SELECT countIf(is_deleted = 0) FROM "+db+
		".member_coupons FINAL)").Scan(&live, &coupons); err != nil {
		t.Fatal(err)
	}
	if live != 2 || coupons != 1 {
		t.Errorf("members_latest %d, live coupons %d: want 2 and 1", live, coupons)
	}
	// the pattern rewrite is a mutation: wait for it
	want := "p1=2 p2=6 p3=7 p4= p5=5"
	var got string
	for deadline := time.Now().Add(30 * time.Second); ; {
		if err := wh.Conn().QueryRow(ctx, "SELECT arrayStringConcat(groupArray(concat(entry_id, '=', pattern)), ' ') FROM (SELECT entry_id, pattern FROM "+
			db+".points_ledger FINAL ORDER BY entry_id)").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got == want || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got != want {
		t.Errorf("patterns after the upgrade: %s\nwant %s", got, want)
	}
}

// lowCardinality allows LowCardinality columns on servers before 19.x,
// as Migrate does.
func lowCardinality(ctx context.Context, wh *warehouse.Warehouse) context.Context {
	if v, err := wh.Conn().ServerVersion(); err == nil && v.Version.Major < 19 {
		return clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	}
	return ctx
}
