package warehouse

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// BenchmarkRowValues measures what the loader does per row before the
// batch Append: Values (the column declaration), its size estimate and
// the value checks.
func BenchmarkRowValues(b *testing.B) {
	ts := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	bal := decimal.RequireFromString("12.50")
	prio := int32(2)
	old, nw := int64(10), int64(25)
	rows := []Row{
		Member{Common: Common{Source: "s", SyncedAt: ts, Ver: 1}, MemberID: "m1", Name: "Li Lei", Mobile: "13800138000", Gender: "m",
			Birthday: "1990-01-02", LevelID: "l1", LevelName: "Gold", LevelPriority: &prio, Point: 100, Balance: &bal,
			DateJoin: &ts, LastUpdated: &ts, CustomAttrs: "{}", Raw: `{"id":"m1"}`},
		PointEntry{Common: Common{Source: "s", SyncedAt: ts, Ver: 1}, EntryID: "e1", MemberID: "m1", Delta: 15, OldPoint: &old, NewPoint: &nw,
			OccurredAt: &ts, Raw: `{"id":"e1"}`},
	}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		r := rows[i%len(rows)]
		v := r.Values()
		if err := checkValues(r.Table(), v); err != nil {
			b.Fatal(err)
		}
		stamp(r.Table(), v, ts, 1, false)
		_ = rowBytes(r)
	}
}
