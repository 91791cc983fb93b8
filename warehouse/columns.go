package warehouse

import "slices"

// column declares one column of the table a row type R fills: its name in
// ClickHouse and how a row gives its value.
type colDecl[R any] struct {
	name string
	get  func(*R) any
}

// col declares column name of a row type R.
func col[R any](name string, get func(*R) any) colDecl[R] { return colDecl[R]{name: name, get: get} }

// rowTable is the one column declaration of a row type: its Table (name
// and column list, for the INSERT) and its Values come from it, so the
// column order cannot differ between them. The columns of Common (source,
// synced_at, ver) come first in every table.
type rowTable[R any] struct {
	table Table
	cols  []colDecl[R]
}

// declare builds the declaration of table name, filled by rows of type R;
// common gives a row's Common.
func declare[R any](name string, common func(*R) *Common, cols ...colDecl[R]) *rowTable[R] {
	all := append([]colDecl[R]{
		col("source", func(r *R) any { return common(r).Source }),
		col("synced_at", func(r *R) any { return common(r).SyncedAt }),
		col("ver", func(r *R) any { return common(r).Ver }),
	}, cols...)
	names := make([]string, len(all))
	for i, c := range all {
		names[i] = c.name
	}
	return &rowTable[R]{table: Table{Name: name, Columns: names}, cols: all}
}

// values is the row's values in the order of the table's Columns.
func (d *rowTable[R]) values(r *R) []any {
	v := make([]any, len(d.cols))
	for i, c := range d.cols {
		v[i] = c.get(r)
	}
	return v
}

// Col is the index of column name in t.Columns, -1 if t has none.
func (t Table) Col(name string) int { return slices.Index(t.Columns, name) }

// commonColumns is the number of columns of Common, which every table
// starts with.
const commonColumns = 3

// OwnValues is r's values without those of Common (source, synced_at,
// ver): the record's own columns, in the table's order.
func OwnValues(r Row) []any { return r.Values()[commonColumns:] }
