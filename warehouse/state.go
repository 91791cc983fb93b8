package warehouse

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"
)

// Checkpoint is a stream's durable position, kept in ClickHouse so it
// survives a Redis flush. Partition "" holds the committed incremental
// cursor; partition "run" holds the position of the run in progress. An
// empty Cursor means "none" (a cleared checkpoint).
type Checkpoint struct {
	Source    string
	Stream    string
	Partition string
	Cursor    string
	RunID     string
	Mode      string
	UpdatedAt time.Time
	// Ver is the row's version: the highest wins after FINAL. The jobs
	// package derives it from the run's sequence (see docs/runs.md); zero
	// means the writer's clock in nanoseconds.
	Ver uint64
}

// Checkpoint partitions.
const (
	Committed  = ""
	InProgress = "run"
)

// SaveCheckpoint writes a checkpoint (a new version of its row).
func (w *Warehouse) SaveCheckpoint(ctx context.Context, cp Checkpoint) error {
	now := w.now().UTC()
	ver := cp.Ver
	if ver == 0 {
		ver = uint64(now.UnixNano())
	}
	b, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.Q("checkpoints")+
		" (source, synced_at, ver, stream, partition, cursor, run_id, mode)")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := b.Append(cp.Source, now.Truncate(time.Second), ver, cp.Stream, cp.Partition,
		cp.Cursor, cp.RunID, cp.Mode); err != nil {
		_ = b.Abort()
		return fmt.Errorf("checkpoint: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("checkpoint %s/%s: %w", cp.Source, cp.Stream, err)
	}
	return nil
}

// LoadCheckpoint returns the checkpoint, ok false when there is none or
// it was cleared.
func (w *Warehouse) LoadCheckpoint(ctx context.Context, source, stream, partition string) (Checkpoint, bool, error) {
	cps, err := w.queryCheckpoints(ctx, "WHERE source = ? AND stream = ? AND partition = ?", source, stream, partition)
	if err != nil || len(cps) == 0 {
		return Checkpoint{}, false, err
	}
	return cps[0], true, nil
}

// LatestCheckpoint returns the newest row of a checkpoint, cleared or not
// (a cleared one has an empty Cursor), ok false when it was never written.
// Its Ver lets the next writer version past it.
func (w *Warehouse) LatestCheckpoint(ctx context.Context, source, stream, partition string) (Checkpoint, bool, error) {
	q := "SELECT source, stream, partition, cursor, run_id, mode, synced_at, ver FROM " + w.Q("checkpoints") +
		" FINAL WHERE source = ? AND stream = ? AND partition = ?"
	rows, err := w.conn.Query(ctx, q, source, stream, partition)
	if err != nil {
		return Checkpoint{}, false, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var c Checkpoint
	ok := false
	for rows.Next() {
		if err := rows.Scan(&c.Source, &c.Stream, &c.Partition, &c.Cursor, &c.RunID, &c.Mode, &c.UpdatedAt, &c.Ver); err != nil {
			return Checkpoint{}, false, fmt.Errorf("checkpoints: %w", err)
		}
		ok = true
	}
	return c, ok, rows.Err()
}

// Checkpoints returns every live checkpoint, by source, stream and
// partition.
func (w *Warehouse) Checkpoints(ctx context.Context) ([]Checkpoint, error) {
	return w.queryCheckpoints(ctx, "")
}

func (w *Warehouse) queryCheckpoints(ctx context.Context, where string, args ...any) ([]Checkpoint, error) {
	q := "SELECT source, stream, partition, cursor, run_id, mode, synced_at, ver FROM " + w.Q("checkpoints") +
		" FINAL " + where + " ORDER BY source, stream, partition"
	rows, err := w.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	defer rows.Close()
	var out []Checkpoint
	for rows.Next() {
		var c Checkpoint
		if err := rows.Scan(&c.Source, &c.Stream, &c.Partition, &c.Cursor, &c.RunID, &c.Mode, &c.UpdatedAt, &c.Ver); err != nil {
			return nil, err
		}
		if c.Cursor != "" {
			out = append(out, c)
		}
	}
	return out, rows.Err()
}

// Run is a row of sync_runs: one sync of one (source, stream).
type Run struct {
	Source     string     `json:"source"`
	RunID      string     `json:"run_id"`
	Stream     string     `json:"stream"`
	Mode       string     `json:"mode"`
	StartedAt  time.Time  `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at,omitempty"`
	Status     string     `json:"status"` // waiting, running, succeeded, failed
	Pages      uint64     `json:"pages"`
	Rows       uint64     `json:"rows"`
	Requests   uint64     `json:"requests"`
	Items      uint64     `json:"items"`
	Total      uint64     `json:"total"`
	Error      string     `json:"error,omitempty"`
	UpdatedAt  time.Time  `json:"updated_at"`
	// Rejected counts the records of the run that went to
	// rejected_records. It lives in the run's checkpoint state, not in
	// sync_runs: RunsByID and LastRuns leave it zero.
	Rejected uint64 `json:"-"`
	// Ver is the row's version (see Checkpoint.Ver); zero means the
	// writer's clock in nanoseconds.
	Ver uint64 `json:"-"`
}

// Run statuses.
const (
	RunWaiting   = "waiting" // a per-member run waiting for its members run
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
)

// SaveRun writes a new version of a run's row.
func (w *Warehouse) SaveRun(ctx context.Context, r Run) error {
	now := w.now().UTC()
	ver := r.Ver
	if ver == 0 {
		ver = uint64(now.UnixNano())
	}
	b, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.Q("sync_runs")+
		" (source, synced_at, ver, run_id, stream, mode, started_at, finished_at, status, pages, rows, requests, items, total, error)")
	if err != nil {
		return fmt.Errorf("sync_runs: %w", err)
	}
	if err := b.Append(r.Source, now.Truncate(time.Second), ver, r.RunID, r.Stream, r.Mode,
		r.StartedAt.UTC().Truncate(time.Second), r.FinishedAt, r.Status, r.Pages, r.Rows, r.Requests, r.Items, r.Total,
		r.Error); err != nil {
		_ = b.Abort()
		return fmt.Errorf("sync_runs: %w", err)
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("sync_runs %s/%s: %w", r.Source, r.Stream, err)
	}
	return nil
}

const runCols = "source, run_id, stream, mode, started_at, finished_at, status, pages, rows, requests, items, total, error, synced_at"

func (w *Warehouse) queryRuns(ctx context.Context, q string, args ...any) ([]Run, error) {
	rows, err := w.conn.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sync_runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		var r Run
		if err := rows.Scan(&r.Source, &r.RunID, &r.Stream, &r.Mode, &r.StartedAt, &r.FinishedAt, &r.Status,
			&r.Pages, &r.Rows, &r.Requests, &r.Items, &r.Total, &r.Error, &r.UpdatedAt); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// RunsByID returns the rows of the given run ids.
func (w *Warehouse) RunsByID(ctx context.Context, source string, runIDs []string) ([]Run, error) {
	return w.queryRuns(ctx, "SELECT "+runCols+" FROM "+w.Q("sync_runs")+" FINAL WHERE source = ? AND has(?, run_id) ORDER BY stream",
		source, runIDs)
}

// LastRuns returns the latest run of every (source, stream).
func (w *Warehouse) LastRuns(ctx context.Context) ([]Run, error) {
	return w.queryRuns(ctx, "SELECT "+runCols+" FROM "+w.Q("sync_runs")+
		" FINAL ORDER BY started_at DESC, synced_at DESC LIMIT 1 BY source, stream")
}

// RunErrors counts failed runs per (source, stream) since a time.
func (w *Warehouse) RunErrors(ctx context.Context, since time.Time) (map[[2]string]uint64, error) {
	return w.pairCounts(ctx, "sync_runs", "SELECT source, stream, count() FROM "+w.Q("sync_runs")+
		" FINAL WHERE status = 'failed' AND started_at >= ? GROUP BY source, stream", since.UTC())
}

// RejectedCounts counts the rows of rejected_records per (source, stream).
func (w *Warehouse) RejectedCounts(ctx context.Context) (map[[2]string]uint64, error) {
	return w.pairCounts(ctx, "rejected_records", "SELECT source, stream, count() FROM "+w.Q("rejected_records")+
		" FINAL GROUP BY source, stream")
}

// pairCounts runs query, which selects (String, String, count()) rows of
// table, and returns the counts keyed by the two strings.
func (w *Warehouse) pairCounts(ctx context.Context, table, query string, args ...any) (map[[2]string]uint64, error) {
	rows, err := w.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", table, err)
	}
	defer rows.Close()
	out := map[[2]string]uint64{}
	for rows.Next() {
		var a, b string
		var n uint64
		if err := rows.Scan(&a, &b, &n); err != nil {
			return nil, err
		}
		out[[2]string{a, b}] = n
	}
	return out, rows.Err()
}

// RejectedSince counts the rejected records of (source, stream) stored at
// or after since (whole seconds).
func (w *Warehouse) RejectedSince(ctx context.Context, source, stream string, since time.Time) (uint64, error) {
	var n uint64
	if err := w.conn.QueryRow(ctx, "SELECT count() FROM "+w.Q("rejected_records")+
		" FINAL WHERE source = ? AND stream = ? AND synced_at >= ?", source, stream, since.UTC().Truncate(time.Second)).Scan(&n); err != nil {
		return 0, fmt.Errorf("rejected_records: %w", err)
	}
	return n, nil
}

// OutboundCount is the number of a source's outbound writes in one state.
type OutboundCount struct {
	Source, State string
	Writes        uint64
}

// OutboundStates counts outbound writes by source and state (their latest
// state, outbound_writes after FINAL), ordered by source and state.
func (w *Warehouse) OutboundStates(ctx context.Context) ([]OutboundCount, error) {
	m, err := w.pairCounts(ctx, "outbound_writes", "SELECT source, state, count() FROM "+w.Q("outbound_writes")+" FINAL GROUP BY source, state")
	if err != nil {
		return nil, err
	}
	out := make([]OutboundCount, 0, len(m))
	for k, n := range m {
		out = append(out, OutboundCount{Source: k[0], State: k[1], Writes: n})
	}
	slices.SortFunc(out, func(a, b OutboundCount) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.State, b.State))
	})
	return out, nil
}
