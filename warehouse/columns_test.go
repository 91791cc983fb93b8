package warehouse_test

import (
	"context"
	"slices"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestRowColumnsExistInSchema: every column a Row type declares exists in
// its migrated table, and every column of the table that no row declares
// is one the loader may leave to its default (is_deleted), so the SQL of
// the migrations and the Go declarations cannot drift apart.
func TestRowColumnsExistInSchema(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	undeclared := []string{"is_deleted"} // set by MarkDeleted, default 0
	for _, tb := range warehouse.RowTables() {
		rows, err := wh.Conn().Query(ctx, "SELECT name FROM system.columns WHERE database = ? AND table = ?",
			wh.Database(), tb.Name)
		if err != nil {
			t.Fatal(err)
		}
		var have []string
		for rows.Next() {
			var name string
			if err := rows.Scan(&name); err != nil {
				t.Fatal(err)
			}
			have = append(have, name)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		rows.Close()
		if len(have) == 0 {
			t.Errorf("table %s: not in the migrated schema", tb.Name)
			continue
		}
		for _, c := range tb.Columns {
			if !slices.Contains(have, c) {
				t.Errorf("table %s: declared column %s is not in the migrated table (columns %v)", tb.Name, c, have)
			}
		}
		for _, c := range have {
			if !slices.Contains(tb.Columns, c) && !slices.Contains(undeclared, c) {
				t.Errorf("table %s: column %s of the migrated table is declared by no row", tb.Name, c)
			}
		}
	}
}
