package warehouse

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Tables a complete full scan can prove stale carry is_deleted UInt8
// (migration 0003; CONTRACT.md): Members, MemberCoupons, MemberIdentities.
// The loader never writes the column, so every load stores 0 (its
// DEFAULT): a record that reappears is live again, with a newer ver.

// deletionKeys is, per table with is_deleted, the key column matched
// against rejected_records.record_key: a record rejected during the run
// was seen by the scan, so it is not marked deleted.
var deletionKeys = map[string]string{
	Members.Name:          "member_id",
	MemberCoupons.Name:    "coupon_code",
	MemberIdentities.Name: "value",
}

// ScanStart is when the full scan that a full run of stream completes
// began: the earliest start of the full runs of the stream since its last
// successful full run (a run resumed from a failed one's position, or one
// that superseded it, continues a scan those began), or started when that
// is later or there is none. Marking deletions from it never takes a row
// an earlier part of the scan loaded for unseen.
func (w *Warehouse) ScanStart(ctx context.Context, source, stream string, started time.Time) (time.Time, error) {
	// min over no rows is 1970-01-01 (18.16 has no -OrNull combinator)
	var n uint64
	var first time.Time
	err := w.conn.QueryRow(ctx, "SELECT count(), min(started_at) FROM "+w.Q("sync_runs")+" FINAL WHERE source = ? AND stream = ? AND mode = 'full'"+
		" AND started_at > (SELECT ifNull(max(finished_at), toDateTime(0)) FROM "+w.Q("sync_runs")+
		" FINAL WHERE source = ? AND stream = ? AND mode = 'full' AND status = 'succeeded')", source, stream, source, stream).Scan(&n, &first)
	if err != nil {
		return time.Time{}, fmt.Errorf("scan start of %s/%s: %w", source, stream, err)
	}
	if n > 0 && first.Before(started) {
		return first, nil
	}
	return started, nil
}

// MarkDeleted records that a complete full scan of stream, which
// (re)loaded every record of t it saw with synced_at at or after before,
// no longer saw the other live rows of source: it inserts a tombstone of
// each, a copy of its newest version with is_deleted = 1, a new synced_at
// and a newer ver, in one INSERT … SELECT (an Exec that works on 18.16).
// Records of stream stored in rejected_records since before are not
// marked: the scan saw them. It returns how many rows it marked. Rows
// already marked are skipped, so a repeat adds nothing. before must lie
// before the run's first load by more than the workers' clock skew (the
// caller passes the run's start minus the source's lookback).
//
// Analysts exclude deleted rows with `FROM (SELECT * FROM t FINAL) WHERE
// is_deleted = 0`, or the view <t>_latest; the filter must stay outside
// FINAL (docs/incremental.md "Deletions").
func (w *Warehouse) MarkDeleted(ctx context.Context, t Table, source, stream string, before time.Time) (uint64, error) {
	key, ok := deletionKeys[t.Name]
	if !ok {
		return 0, fmt.Errorf("mark deleted: table %s has no is_deleted column", t.Name)
	}
	now := w.now().UTC()
	sel := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		switch c {
		case "synced_at":
			sel[i] = "toDateTime(?) AS synced_at"
		case "ver":
			sel[i] = "toUInt64(?) AS ver"
		default:
			sel[i] = "`" + c + "`"
		}
	}
	cols := joinCols(t.Columns) + ", `is_deleted`"
	// the candidate rows: the newest version of each key, live, loaded
	// before the run, and not rejected by it
	live := "SELECT * FROM (SELECT * FROM " + w.Q(t.Name) + " FINAL WHERE source = ?) WHERE is_deleted = 0 AND synced_at < ?" +
		" AND `" + key + "` NOT IN (SELECT record_key FROM " + w.Q(RejectedRecords.Name) + " WHERE source = ? AND stream = ? AND synced_at >= ?)"
	b := before.UTC().Truncate(time.Second)
	args := []any{now.Truncate(time.Second), uint64(w.verNow(ctx).UnixNano()), source, b, source, stream, b}
	var n uint64
	if err := w.conn.QueryRow(ctx, "SELECT count() FROM ("+live+")", args[2:]...).Scan(&n); err != nil {
		return 0, fmt.Errorf("mark deleted in %s: %w", t.Name, err)
	}
	if n == 0 {
		return 0, nil
	}
	q := "INSERT INTO " + w.Q(t.Name) + " (" + cols + ") SELECT " + strings.Join(sel, ", ") + ", toUInt8(1) FROM (" + live + ")"
	if err := w.conn.Exec(ctx, q, args...); err != nil {
		return 0, fmt.Errorf("mark deleted in %s: %w", t.Name, err)
	}
	return n, nil
}
