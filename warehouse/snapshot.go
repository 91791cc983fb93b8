package warehouse

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// A key snapshot is a numbered copy of a key list in key_snapshots, made
// by one INSERT … SELECT when a pass starts and paged by ranges of its
// number n: every page reads only its own granules (primary key (snap, n),
// index_granularity 64), so a pass over N keys costs O(N) ClickHouse work
// in total. Keyset paging with `WHERE k > ? ORDER BY k LIMIT ?` does not:
// ClickHouse 18.16 cannot read in key order, so every page would read the
// rest of the table (O(N²) for the pass). A snapshot's partition is
// dropped when its last page is read; snapshots of passes that never
// finished are dropped after snapshotTTL.
const snapshotTTL = 48 * time.Hour

// snapPrefix starts a snapshot cursor: "s1:<snap>:<next n>:<total>".
const snapPrefix = "s1:"

// newSnapshot fills a snapshot from inner, a query selecting the columns
// of cols (k first; any of a, b) in the order the keys are to be read,
// and returns its id.
func (w *Warehouse) newSnapshot(ctx context.Context, cols, inner string, args ...any) (string, error) {
	w.dropStaleSnapshots(ctx)
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	snap := strconv.FormatInt(w.now().Unix(), 36) + "-" + hex.EncodeToString(b[:])
	// rowNumberInAllBlocks over the single sorted stream of the inner
	// query numbers the rows 0..N-1 in its order
	q := "INSERT INTO " + w.Q("key_snapshots") + " (snap, n, " + cols + ", created) SELECT ?, rowNumberInAllBlocks(), " + cols +
		", toDateTime(?) FROM (" + inner + ")"
	if err := w.conn.Exec(ctx, q, append([]any{snap, w.now().UTC().Truncate(time.Second)}, args...)...); err != nil {
		return "", fmt.Errorf("key snapshot: %w", err)
	}
	return snap, nil
}

// dropStaleSnapshots drops the snapshots of passes that never finished.
// Failures are ignored: it is housekeeping, retried with the next pass.
func (w *Warehouse) dropStaleSnapshots(ctx context.Context) {
	rows, err := w.conn.Query(ctx, "SELECT DISTINCT snap FROM "+w.Q("key_snapshots")+" WHERE created < ?",
		w.now().UTC().Add(-snapshotTTL))
	if err != nil {
		return
	}
	var stale []string
	for rows.Next() {
		var s string
		if rows.Scan(&s) == nil {
			stale = append(stale, s)
		}
	}
	rows.Close()
	for _, s := range stale {
		w.dropSnapshot(ctx, s)
	}
}

// dropSnapshot drops a snapshot's partition (best effort: a leftover is
// dropped as stale later).
func (w *Warehouse) dropSnapshot(ctx context.Context, snap string) {
	_ = w.conn.Exec(ctx, "ALTER TABLE "+w.Q("key_snapshots")+" DROP PARTITION ?", snap)
}

// parseSnapCursor splits a snapshot cursor "s1:<snap>:<n>:<total>"; ok
// is false for any other cursor (one written by an older release: the
// pass restarts, which repeats keys but never skips one).
func parseSnapCursor(c string) (snap string, n, total uint64, ok bool) {
	rest, found := strings.CutPrefix(c, snapPrefix)
	if !found {
		return "", 0, 0, false
	}
	parts := strings.Split(rest, ":")
	if len(parts) != 3 || parts[0] == "" {
		return "", 0, 0, false
	}
	n, err1 := strconv.ParseUint(parts[1], 10, 64)
	total, err2 := strconv.ParseUint(parts[2], 10, 64)
	return parts[0], n, total, err1 == nil && err2 == nil && n <= total
}

// pageSnapshot reads the page of a pass at cursor: up to limit rows of
// its snapshot (cols, handed to scan), creating the snapshot with create
// when the cursor is not a snapshot cursor. next is "" after the last page,
// whose read also drops the snapshot. A snapshot that has vanished (a
// retried last page after the drop, or one older than snapshotTTL) is
// made again and the pass restarts from its first key: keys are repeated,
// never skipped.
func (w *Warehouse) pageSnapshot(ctx context.Context, cursor string, limit int, create func() (string, error), cols string,
	scan func(scan func(...any) error) error) (string, error) {
	snap, n, total, ok := parseSnapCursor(cursor)
	for attempt := 0; ; attempt++ {
		if !ok {
			var err error
			if snap, err = create(); err != nil {
				return "", err
			}
			if err := w.conn.QueryRow(ctx, "SELECT count() FROM "+w.Q("key_snapshots")+" WHERE snap = ?", snap).Scan(&total); err != nil {
				return "", fmt.Errorf("key snapshot: %w", err)
			}
			n = 0
		}
		want := min(uint64(limit), total-n)
		got, err := w.snapRead(ctx, snap, n, want, cols, scan)
		if err != nil {
			return "", err
		}
		switch {
		case got == 0 && want > 0 && attempt == 0:
			ok = false // vanished: make it again
			continue
		case got != want:
			return "", fmt.Errorf("key snapshot %s: %d rows at %d, want %d", snap, got, n, want)
		}
		if n+got >= total {
			w.dropSnapshot(ctx, snap)
			return "", nil
		}
		return snapPrefix + snap + ":" + strconv.FormatUint(n+got, 10) + ":" + strconv.FormatUint(total, 10), nil
	}
}

// snapRead reads the rows numbered n..n+count-1 of a snapshot.
func (w *Warehouse) snapRead(ctx context.Context, snap string, n, count uint64, cols string, scan func(scan func(...any) error) error) (uint64, error) {
	if count == 0 {
		return 0, nil
	}
	rows, err := w.conn.Query(ctx, "SELECT "+cols+" FROM "+w.Q("key_snapshots")+" WHERE snap = ? AND n >= ? AND n < ? ORDER BY n",
		snap, n, n+count)
	if err != nil {
		return 0, fmt.Errorf("key snapshot: %w", err)
	}
	defer rows.Close()
	var got uint64
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return 0, err
		}
		got++
	}
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("key snapshot: %w", err)
	}
	return got, nil
}
