package warehouse

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

var (
	// decimalLimit bounds what a Decimal(18, 2) holds: |x| < 10^16.
	decimalLimit    = decimal.New(1, 16)
	decimalNegLimit = decimal.New(-1, 16)
	minDateTime     = time.Unix(0, 0)
	maxDateTime     = time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
)

// Load inserts rows, one batch per table, with an explicit column list
// (ClickHouse 18.16 needs one). SyncedAt and Ver are filled in when zero:
// ver is the load time in nanoseconds (corrected to the server's clock,
// verclock.go), so the newest load of a record wins after FINAL. A failed Send may still have inserted rows; loads are
// idempotent, so the caller may simply repeat them.
//
// Every row's values pass the PII policy (SetPrivacy, privacy.go) first.
//
// A row holding a value its column cannot store (a time outside
// DateTime's 1970..2105, which clickhouse-go would wrap silently; a
// decimal beyond Decimal(18, 2)) does not fail the batch: it is stored as
// a rejected_records row instead (stream = the table name, record_key =
// the row's first key column, raw = its raw column), and the other rows
// load. The normalizers check what they can first, with the stream's name.
func (w *Warehouse) Load(ctx context.Context, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	now := w.now().UTC()
	synced := now.Truncate(time.Second)
	ver := uint64(w.verNow(ctx).UnixNano()) // verclock.go: not this process's clock alone
	byTable := map[string][][]any{}
	tables := map[string]Table{}
	stamps := map[string]stampCols{}
	var order []string
	privacy := w.privacy.Load()
	for _, r := range rows {
		t := r.Table()
		v := r.Values()
		if len(v) != len(t.Columns) {
			return fmt.Errorf("load %s: row has %d values for %d columns", t.Name, len(v), len(t.Columns))
		}
		// the PII policy, on this row's own copy of its values: the
		// caller's rows stay as they are, so a repeated Load (a Batcher
		// retrying a failed flush) applies it once, not twice
		redact(privacy, t, v)
		sc, ok := stamps[t.Name]
		if !ok {
			sc = stampColsOf(t)
			stamps[t.Name] = sc
		}
		sc.stamp(v, synced, ver, false)
		if err := checkValues(t, v); err != nil {
			if t.Name == RejectedRecords.Name {
				return err
			}
			r := misfit(t, v, err)
			t, v = RejectedRecords, r.Values()
			stampColsOf(t).stamp(v, synced, ver, true)
		}
		if _, ok := byTable[t.Name]; !ok {
			order = append(order, t.Name)
			tables[t.Name] = t
		}
		byTable[t.Name] = append(byTable[t.Name], v)
	}
	for _, name := range order {
		if err := w.insert(ctx, tables[name], byTable[name]); err != nil {
			return err
		}
		w.observeLoad(name, len(byTable[name]))
	}
	return nil
}

// stampCols holds the indexes of a table's synced_at and ver columns
// (-1: none), found once per table and load rather than once per row.
type stampCols struct{ synced, ver int }

func stampColsOf(t Table) stampCols { return stampCols{synced: t.Col("synced_at"), ver: t.Col("ver")} }

// stamp sets the synced_at and ver values of v to synced and ver: always,
// or only where they are zero.
func (c stampCols) stamp(v []any, synced time.Time, ver uint64, always bool) {
	if i := c.synced; i >= 0 {
		if ts, ok := v[i].(time.Time); always || !ok || ts.IsZero() {
			v[i] = synced
		}
	}
	if i := c.ver; i >= 0 {
		if n, ok := v[i].(uint64); always || !ok || n == 0 {
			v[i] = ver
		}
	}
}

// stamp sets the synced_at and ver columns of the values v of a row of t
// (found by name) to synced and ver: always, or only where they are zero.
func stamp(t Table, v []any, synced time.Time, ver uint64, always bool) {
	stampColsOf(t).stamp(v, synced, ver, always)
}

// insertBlockRows is how many rows the loader encodes into one Native
// block before it sends the block on: the INSERT stays one statement (the
// server squashes its blocks into one part, up to
// min_insert_block_size_rows), while the client's column buffers stay the
// size of one block and are reused, instead of growing (and being copied
// again and again) to the size of the whole insert.
const insertBlockRows = 2_000

func (w *Warehouse) insert(ctx context.Context, t Table, rows [][]any) error {
	b, err := w.conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s (%s)", w.Q(t.Name), joinCols(t.Columns)))
	if err != nil {
		return fmt.Errorf("load %s: %w", t.Name, err)
	}
	for i, v := range rows {
		if err := b.Append(v...); err != nil {
			_ = b.Abort()
			return fmt.Errorf("load %s: %w", t.Name, err)
		}
		if (i+1)%insertBlockRows == 0 && i+1 < len(rows) {
			if err := b.Flush(); err != nil {
				_ = b.Abort()
				return fmt.Errorf("load %s (%d rows): %w", t.Name, len(rows), err)
			}
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("load %s (%d rows): %w", t.Name, len(rows), err)
	}
	return nil
}

func joinCols(cols []string) string {
	s := ""
	for i, c := range cols {
		if i > 0 {
			s += ", "
		}
		s += "`" + c + "`"
	}
	return s
}

// misfit is the rejected_records row of a row whose values do not fit
// their columns.
func misfit(t Table, v []any, err error) RejectedRecord {
	source := ""
	if i := t.Col("source"); i >= 0 {
		source, _ = v[i].(string)
	}
	key := ""
	if len(v) > commonColumns {
		// the first column after Common's: the record's key
		key = fmt.Sprint(deref(v[commonColumns]))
	}
	raw := ""
	if i := t.Col("raw"); i >= 0 {
		raw, _ = v[i].(string)
	}
	if raw == "" {
		// no raw column: keep the values, so the record is not lost
		vals := make([]string, len(v))
		for i, x := range v {
			vals[i] = t.Columns[i] + "=" + fmt.Sprint(deref(x))
		}
		raw = strings.Join(vals, " ")
	}
	r := NewRejected(source, t.Name, key, []byte(raw), err)
	return r
}

// deref returns the value a pointer points to (nil for a nil pointer).
func deref(x any) any {
	switch y := x.(type) {
	case *time.Time:
		if y == nil {
			return nil
		}
		return *y
	case *decimal.Decimal:
		if y == nil {
			return nil
		}
		return *y
	case *int64:
		if y == nil {
			return nil
		}
		return *y
	case *int32:
		if y == nil {
			return nil
		}
		return *y
	}
	return x
}

// checkValues rejects times a DateTime cannot hold and decimals a
// Decimal(18, 2) cannot hold, which clickhouse-go would wrap silently.
func checkValues(t Table, v []any) error {
	for i, x := range v {
		var ts *time.Time
		switch y := x.(type) {
		case time.Time:
			ts = &y
		case *time.Time:
			ts = y
		case *decimal.Decimal:
			if y != nil && (y.Cmp(decimalLimit) >= 0 || y.Cmp(decimalNegLimit) <= 0) {
				return fmt.Errorf("load %s: column %s: %s does not fit Decimal(18, 2)", t.Name, t.Columns[i], y)
			}
		}
		if ts != nil && (ts.Before(minDateTime) || ts.After(maxDateTime)) {
			return fmt.Errorf("load %s: column %s: %s: %w", t.Name, t.Columns[i], ts.Format(time.RFC3339), ErrOutOfRange)
		}
	}
	return nil
}

// Batcher buffers rows and loads them when MaxRows or MaxBytes is reached,
// when the oldest buffered row is older than MaxAge (checked on Add), or
// on Flush. It is safe for concurrent use.
type Batcher struct {
	w        *Warehouse
	MaxRows  int
	MaxBytes int
	MaxAge   time.Duration

	mu    sync.Mutex
	rows  []Row
	bytes int
	since time.Time
}

// NewBatcher returns a batcher with the defaults: 50,000 rows, 64 MiB or
// 5 s, whichever comes first (perf-facts: at least 50k rows per Send keeps
// the server's merge work low).
func (w *Warehouse) NewBatcher() *Batcher {
	return &Batcher{w: w, MaxRows: 50_000, MaxBytes: 64 << 20, MaxAge: 5 * time.Second}
}

// Add buffers rows, loading the buffer when a threshold is crossed.
func (b *Batcher) Add(ctx context.Context, rows ...Row) error {
	b.mu.Lock()
	if len(b.rows) == 0 {
		b.since = time.Now()
	}
	for _, r := range rows {
		b.rows = append(b.rows, r)
		b.bytes += rowBytes(r)
	}
	full := len(b.rows) >= b.MaxRows || b.bytes >= b.MaxBytes || time.Since(b.since) >= b.MaxAge
	b.mu.Unlock()
	if full {
		return b.Flush(ctx)
	}
	return nil
}

// Flush loads everything buffered. On error the rows stay buffered, so a
// later Flush retries them.
func (b *Batcher) Flush(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.rows) == 0 {
		return nil
	}
	if err := b.w.Load(ctx, b.rows); err != nil {
		return err
	}
	b.rows, b.bytes = nil, 0
	return nil
}

// Len is the number of buffered rows.
func (b *Batcher) Len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.rows)
}

func rowBytes(r Row) int {
	n := 0
	for _, v := range r.Values() {
		switch x := v.(type) {
		case string:
			n += len(x)
		default:
			n += 8
		}
	}
	return n
}
