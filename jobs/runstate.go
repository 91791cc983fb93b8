package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// RunState is the durable state of the run in progress of a (source,
// stream): the checkpoint row of partition warehouse.InProgress holds it
// as JSON in its cursor. It is a wire format (older workers read it):
// only add fields.
type RunState struct {
	// Seq is the number of tasks of this run already done (each loads one
	// or more groups of rows); task Seq is the next to run, or the one
	// running.
	Seq int `json:"seq"`
	// Cursor is the stream's position after the last group loaded (a
	// task checkpoints after each of its groups, and a per-member task
	// after the last member it finished).
	Cursor    json.RawMessage `json:"cursor,omitempty"`
	StartedAt time.Time       `json:"started_at"`
	// Status is warehouse.RunWaiting, RunRunning or RunFailed (a
	// succeeded run clears its state).
	Status   string `json:"status"`
	Pages    uint64 `json:"pages"`
	Rows     uint64 `json:"rows"`
	Requests uint64 `json:"requests"`
	Items    uint64 `json:"items"`
	Total    uint64 `json:"total"`
	// Rejected counts the records that went to rejected_records.
	Rejected uint64 `json:"rejected,omitempty"`
	Error    string `json:"error,omitempty"`
	// WaitFor is the members run a waiting per-member run starts after.
	WaitFor string `json:"wait_for,omitempty"`
}

// DecodeRunState decodes the cursor of an in-progress checkpoint.
func DecodeRunState(cursor string) (RunState, error) {
	var st RunState
	if err := json.Unmarshal([]byte(cursor), &st); err != nil {
		return RunState{}, fmt.Errorf("run state: %w", err)
	}
	return st, nil
}

// Live reports whether the run is waiting or running.
func (s RunState) Live() bool {
	return s.Status == warehouse.RunRunning || s.Status == warehouse.RunWaiting
}

// run is a run loaded from its checkpoint, with the version of the row it
// was read from.
//
// Versions: every row a run writes (its checkpoints and its sync_runs row)
// is versioned gen<<32 | step, where gen counts the runs of the (source,
// stream) and step counts the run's writes. A worker's clock never enters:
// a worker 10 minutes behind cannot hide a newer checkpoint, and a stale
// task of a superseded run (an older gen) can never overwrite the new
// run's state.
type run struct {
	source, stream string
	id, mode       string
	st             RunState
	ver            uint64
}

// genShift places the run generation above the write count.
const genShift = 32

// nextGen returns the first version of a new run after a checkpoint at ver.
func nextGen(ver uint64) uint64 { return (ver>>genShift + 1) << genShift }

// loadRun reads the run in progress of (source, stream). found is false
// when there is none (never written, cleared, or unreadable); r.ver is
// then still the version to write past.
func (e *Engine) loadRun(ctx context.Context, source, stream string) (r run, found bool, err error) {
	cp, ok, err := e.wh.LatestCheckpoint(ctx, source, stream, warehouse.InProgress)
	r = run{source: source, stream: stream, ver: cp.Ver}
	if err != nil || !ok || cp.Cursor == "" {
		return r, false, err
	}
	st, err := DecodeRunState(cp.Cursor)
	if err != nil {
		e.log.Warn("unreadable run state: starting over", "source", source, "stream", stream, "run", cp.RunID, "err", err)
		return r, false, nil
	}
	r.id, r.mode, r.st = cp.RunID, cp.Mode, st
	return r, true, nil
}

// Each step of a run (a save, a fail, a row update, a clear) takes the
// next version, and every row the step writes carries it: the state and
// the sync_runs row of one step share a version, so a later loader, which
// reads the version of the state, never reuses a version of either table.

// writeState writes the run's state at version r.ver.
func (e *Engine) writeState(ctx context.Context, r *run) error {
	b, err := json.Marshal(r.st)
	if err != nil {
		return err
	}
	return e.wh.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: r.source, Stream: r.stream, Partition: warehouse.InProgress,
		Cursor: string(b), RunID: r.id, Mode: r.mode, Ver: r.ver})
}

// writeRow writes the run's sync_runs row at version r.ver; finishedAt is
// set for an ended run.
func (e *Engine) writeRow(ctx context.Context, r *run, finishedAt *time.Time) error {
	st := r.st
	return e.wh.SaveRun(ctx, warehouse.Run{Source: r.source, RunID: r.id, Stream: r.stream, Mode: r.mode, StartedAt: st.StartedAt,
		FinishedAt: finishedAt, Status: st.Status, Pages: st.Pages, Rows: st.Rows, Requests: st.Requests, Items: st.Items,
		Total: st.Total, Error: st.Error, Rejected: st.Rejected, Ver: r.ver})
}

// saveState writes the run's state only (a new step).
func (e *Engine) saveState(ctx context.Context, r *run) error {
	r.ver++
	return e.writeState(ctx, r)
}

// save writes a live run (a new step): its state, then its row. A crash
// in between leaves the row behind the state; the next save catches it
// up.
func (e *Engine) save(ctx context.Context, r *run) error {
	r.ver++
	if err := e.writeState(ctx, r); err != nil {
		return err
	}
	return e.writeRow(ctx, r, nil)
}

// fail ends the run as failed with reason (a new step): its row first,
// then its state, so a crash in between leaves a run whose row already
// tells the truth and whose state a start or resume fails again
// (idempotent). Runs waiting for it (a members run) are failed too.
func (e *Engine) fail(ctx context.Context, r *run, reason string) error {
	now := e.now().UTC()
	r.st.Status, r.st.Error = warehouse.RunFailed, reason
	r.ver++
	if err := e.writeRow(ctx, r, &now); err != nil {
		return err
	}
	if err := e.writeState(ctx, r); err != nil {
		return err
	}
	if r.stream == e.membersStreamOf(r.source) {
		return e.settleWaiting(ctx, r.source, r.id, false, "not started: the members run it waited for failed: "+reason)
	}
	return nil
}

// clear removes the run's state (it succeeded).
func (e *Engine) clear(ctx context.Context, r *run) error {
	r.ver++
	return e.wh.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: r.source, Stream: r.stream, Partition: warehouse.InProgress,
		Cursor: "", RunID: r.id, Mode: r.mode, Ver: r.ver})
}
