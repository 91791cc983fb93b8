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

// snapPrefix starts a snapshot cursor: "s1:<snap>:<next n>".
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

// parseSnapCursor splits a snapshot cursor; ok is false for any other
// cursor (one written by an older release: the pass restarts, which
// repeats keys but never skips one).
func parseSnapCursor(c string) (snap string, n uint64, ok bool) {
	rest, found := strings.CutPrefix(c, snapPrefix)
	if !found {
		return "", 0, false
	}
	snap, num, found := strings.Cut(rest, ":")
	if !found || snap == "" {
		return "", 0, false
	}
	n, err := strconv.ParseUint(num, 10, 64)
	return snap, n, err == nil
}

// snapPage reads up to limit rows of a snapshot from n on, with scan
// reading the selected columns; next is "" after the last page (and the
// snapshot is then dropped).
func (w *Warehouse) snapPage(ctx context.Context, snap string, n uint64, limit int, cols string, scan func(scan func(...any) error) error) (string, int, error) {
	rows, err := w.conn.Query(ctx, "SELECT "+cols+" FROM "+w.Q("key_snapshots")+" WHERE snap = ? AND n >= ? AND n < ? ORDER BY n",
		snap, n, n+uint64(limit))
	if err != nil {
		return "", 0, fmt.Errorf("key snapshot: %w", err)
	}
	defer rows.Close()
	got := 0
	for rows.Next() {
		if err := scan(rows.Scan); err != nil {
			return "", 0, err
		}
		got++
	}
	if err := rows.Err(); err != nil {
		return "", 0, err
	}
	if got < limit {
		w.dropSnapshot(ctx, snap)
		return "", got, nil
	}
	return snapPrefix + snap + ":" + strconv.FormatUint(n+uint64(limit), 10), got, nil
}
