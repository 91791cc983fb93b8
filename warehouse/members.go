package warehouse

import (
	"context"
	"fmt"
	"time"
)

// MemberSnap is a member's change signal: its id, last_updated and point.
type MemberSnap struct {
	ID          string
	LastUpdated *time.Time
	Point       int64
}

// liveMembers selects the members of source (bound first) with ids above
// a bound (second), newest version, deleted ones left out. is_deleted is
// tested outside FINAL: a condition ClickHouse moves to PREWHERE would
// drop a tombstone before the merge and revive the version it replaced.
func (w *Warehouse) liveMembers() string {
	return "SELECT member_id, last_updated, point FROM (SELECT member_id, last_updated, point, is_deleted FROM " + w.Q("members") +
		" FINAL WHERE source = ? AND member_id > ?) WHERE is_deleted = 0"
}

// MemberSnaps returns up to limit members of source with ids above after,
// in id order (a full pass). Each call reads every member above after
// (18.16 cannot read in key order): a pass should use MemberPage.
func (w *Warehouse) MemberSnaps(ctx context.Context, source, after string, limit int) ([]MemberSnap, error) {
	return w.snaps(ctx, w.liveMembers()+" ORDER BY member_id LIMIT ?", source, after, limit)
}

// MemberPage returns the next up to limit members of a pass over source
// in id order: every live member, or (changedFor != "") those that stream
// must re-read (see ChangedMembers). The first call (cursor "") copies
// them into a key snapshot in one query; each call then reads one range of
// it, so a pass costs O(N) ClickHouse work (see newSnapshot). next is ""
// after the last page. A cursor of another form (an older release's)
// starts the pass again.
func (w *Warehouse) MemberPage(ctx context.Context, source, changedFor, cursor string, limit int) ([]MemberSnap, string, error) {
	if limit <= 0 {
		return nil, "", fmt.Errorf("members: limit %d", limit)
	}
	create := func() (string, error) {
		if changedFor == "" {
			return w.newSnapshot(ctx, "k, a, b", "SELECT member_id AS k, last_updated AS a, point AS b FROM ("+w.liveMembers()+
				") ORDER BY member_id", source, "")
		}
		return w.newSnapshot(ctx, "k, a, b", w.changedQuery("member_id AS k, last_updated AS a, point AS b", " ORDER BY member_id"),
			source, "", source, changedFor)
	}
	var out []MemberSnap
	next, err := w.pageSnapshot(ctx, cursor, limit, create, "k, a, b", func(scan func(...any) error) error {
		var m MemberSnap
		if err := scan(&m.ID, &m.LastUpdated, &m.Point); err != nil {
			return err
		}
		out = append(out, m)
		return nil
	})
	if err != nil {
		return nil, "", fmt.Errorf("members of %s: %w", source, err)
	}
	return out, next, nil
}

// changedQuery selects the members whose (last_updated, point) differ from
// what stream saw when it last read them, or that it never read.
func (w *Warehouse) changedQuery(sel, tail string) string {
	return "SELECT " + sel + " FROM (" + w.liveMembers() + ") AS m ANY LEFT JOIN (SELECT member_id, last_updated AS s_updated, point AS s_point, 1 AS seen FROM " +
		w.Q("member_sync_state") + " FINAL WHERE source = ? AND stream = ?) AS s USING member_id" +
		" WHERE seen = 0 OR ifNull(toString(last_updated), '') != ifNull(toString(s_updated), '') OR point != s_point" + tail
}

// ChangedMembers returns up to limit members (ids above after, id order)
// that stream must re-read. Each call reads every member above after: a
// pass should use MemberPage.
func (w *Warehouse) ChangedMembers(ctx context.Context, source, stream, after string, limit int) ([]MemberSnap, error) {
	return w.snaps(ctx, w.changedQuery("member_id, last_updated, point", " ORDER BY member_id LIMIT ?"), source, after, source, stream, limit)
}

// CountMembers counts the members of a full pass, or (changedFor != "")
// the changed members of an incremental pass of that stream.
func (w *Warehouse) CountMembers(ctx context.Context, source, changedFor string) (uint64, error) {
	var n uint64
	var err error
	if changedFor == "" {
		err = w.conn.QueryRow(ctx, "SELECT count() FROM ("+w.liveMembers()+")", source, "").Scan(&n)
	} else {
		err = w.conn.QueryRow(ctx, w.changedQuery("count()", ""), source, "", source, changedFor).Scan(&n)
	}
	if err != nil {
		return 0, fmt.Errorf("count members of %s: %w", source, err)
	}
	return n, nil
}

func (w *Warehouse) snaps(ctx context.Context, q string, args ...any) ([]MemberSnap, error) {
	rows, err := w.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("members: %w", err)
	}
	defer rows.Close()
	var out []MemberSnap
	for rows.Next() {
		var s MemberSnap
		if err := rows.Scan(&s.ID, &s.LastUpdated, &s.Point); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// KnownEntries returns, per member, the entry ids already loaded into a
// ledger table.
func (w *Warehouse) KnownEntries(ctx context.Context, t Table, source string, members []string) (map[string]map[string]bool, error) {
	out := map[string]map[string]bool{}
	if len(members) == 0 {
		return out, nil
	}
	rows, err := w.conn.Query(ctx, "SELECT member_id, entry_id FROM "+w.Q(t.Name)+" WHERE source = ? AND has(?, member_id)", source, members)
	if err != nil {
		return nil, fmt.Errorf("known entries of %s: %w", t.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var m, e string
		if err := rows.Scan(&m, &e); err != nil {
			return nil, err
		}
		if out[m] == nil {
			out[m] = map[string]bool{}
		}
		out[m][e] = true
	}
	return out, rows.Err()
}

// LastFullSuccess is when the last successful full run of a stream ended
// (zero when there was none).
func (w *Warehouse) LastFullSuccess(ctx context.Context, source, stream string) (time.Time, error) {
	var t *time.Time
	err := w.conn.QueryRow(ctx, "SELECT max(finished_at) FROM "+w.Q("sync_runs")+
		" FINAL WHERE source = ? AND stream = ? AND mode = 'full' AND status = 'succeeded'", source, stream).Scan(&t)
	if err != nil {
		return time.Time{}, fmt.Errorf("sync_runs: %w", err)
	}
	if t == nil || t.Unix() <= 0 {
		return time.Time{}, nil
	}
	return *t, nil
}
