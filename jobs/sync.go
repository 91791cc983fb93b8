package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// HandleSync processes a sync:stream task: it reads one group of pages from
// the run's checkpointed cursor, loads the rows, and only then advances the
// checkpoint and enqueues the next group. A crash at any point repeats at
// most this group, and the load is idempotent (ReplacingMergeTree).
func (e *Engine) HandleSync(ctx context.Context, t *asynq.Task) error {
	var p SyncPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("sync task payload: %v: %w", err, asynq.SkipRetry)
	}
	src, conn, err := e.connector(p.Source)
	if err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	stream, _, err := e.resolve(src, conn, p.Stream)
	if err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	cp, ok, err := e.WH.LoadCheckpoint(ctx, p.Source, p.Stream, warehouse.InProgress)
	if err != nil {
		return err
	}
	if !ok || cp.RunID != p.RunID {
		e.Log.Info("stale task: its run is no longer in progress", "source", p.Source, "stream", p.Stream, "run", p.RunID)
		return nil
	}
	var st runState
	if err := json.Unmarshal([]byte(cp.Cursor), &st); err != nil {
		return fmt.Errorf("run checkpoint of %s/%s: %v: %w", p.Source, p.Stream, err, asynq.SkipRetry)
	}
	switch {
	case st.Status != warehouse.RunRunning:
		return nil
	case st.Seq > p.Seq:
		// this group was loaded and checkpointed; the crash came before
		// the next task was enqueued
		return e.enqueue(ctx, SyncPayload{Source: p.Source, Stream: p.Stream, RunID: p.RunID, Mode: p.Mode, Seq: st.Seq})
	case st.Seq < p.Seq:
		e.Log.Warn("task ahead of its checkpoint; ignored", "source", p.Source, "stream", p.Stream, "run", p.RunID, "seq", p.Seq, "checkpoint", st.Seq)
		return nil
	}
	var since json.RawMessage
	if c, ok, err := e.WH.LoadCheckpoint(ctx, p.Source, p.Stream, warehouse.Committed); err != nil {
		return err
	} else if ok {
		since = json.RawMessage(c.Cursor)
	}
	b, err := stream.Fetch(ctx, connectors.Request{Mode: connectors.Mode(p.Mode), Cursor: st.Cursor, Since: since,
		Pages: e.Config.Worker.PagesPerTask, RunStarted: st.StartedAt, Log: e.Log.With("run", p.RunID)})
	if err != nil {
		return err
	}
	if b.Fallback {
		e.Log.Warn("the vendor ignored the requested sort order; this run falls back to a full id-ordered scan",
			"source", p.Source, "stream", p.Stream, "run", p.RunID)
	}
	if err := e.WH.Load(ctx, b.Rows); err != nil {
		return err
	}
	st.Seq++
	st.Cursor = b.Next
	st.Pages += uint64(b.Pages)
	st.Rows += uint64(len(b.Rows))
	st.Requests += uint64(b.Requests)
	st.Items += uint64(b.Items)
	if b.Total > 0 {
		st.Total = uint64(b.Total)
	}
	st.Error = ""
	if b.Done {
		return e.finish(ctx, p, st, b.Commit)
	}
	if err := e.saveState(ctx, p.Source, p.Stream, p.RunID, p.Mode, st); err != nil {
		return err
	}
	if err := e.WH.SaveRun(ctx, e.runRow(p.Source, p.Stream, p.RunID, p.Mode, st)); err != nil {
		return err
	}
	return e.enqueue(ctx, SyncPayload{Source: p.Source, Stream: p.Stream, RunID: p.RunID, Mode: p.Mode, Seq: st.Seq})
}

// finish commits the new incremental cursor, then closes the run. If it
// crashes in between, the task repeats the last group and commits again.
func (e *Engine) finish(ctx context.Context, p SyncPayload, st runState, commit json.RawMessage) error {
	if err := e.markDeleted(ctx, p.Source, p.Stream, p.Mode, st.StartedAt); err != nil {
		return err
	}
	if commit != nil {
		if err := e.WH.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: p.Source, Stream: p.Stream,
			Partition: warehouse.Committed, Cursor: string(commit), RunID: p.RunID, Mode: p.Mode}); err != nil {
			return err
		}
	}
	now := e.now().UTC()
	st.Status = warehouse.RunSucceeded
	r := e.runRow(p.Source, p.Stream, p.RunID, p.Mode, st)
	r.FinishedAt = &now
	if err := e.WH.SaveRun(ctx, r); err != nil {
		return err
	}
	// Start the runs waiting for this members run before the in-progress
	// checkpoint goes: a crash in between repeats this task, and a
	// released run is no longer waiting, so it is not started twice.
	if p.Stream == "members" {
		if err := e.settleWaiting(ctx, p.Source, p.RunID, true, ""); err != nil {
			return err
		}
	}
	// clear the in-progress checkpoint last
	if err := e.WH.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: p.Source, Stream: p.Stream,
		Partition: warehouse.InProgress, Cursor: "", RunID: p.RunID, Mode: p.Mode}); err != nil {
		return err
	}
	e.Log.Info("sync finished", "source", p.Source, "stream", p.Stream, "run", p.RunID, "mode", p.Mode,
		"pages", st.Pages, "rows", st.Rows, "elapsed", now.Sub(st.StartedAt).Round(time.Millisecond))
	return nil
}

// recordFailure stores a task error on the run: as the run's last error
// while it is retried, and as its end when the task gives up.
func (e *Engine) recordFailure(ctx context.Context, t *asynq.Task, err error, final bool) {
	if t.Type() != TypeSyncStream {
		return
	}
	var p SyncPayload
	if json.Unmarshal(t.Payload(), &p) != nil {
		return
	}
	cp, ok, lerr := e.WH.LoadCheckpoint(ctx, p.Source, p.Stream, warehouse.InProgress)
	if lerr != nil || !ok || cp.RunID != p.RunID {
		return
	}
	var st runState
	if json.Unmarshal([]byte(cp.Cursor), &st) != nil || st.Status != warehouse.RunRunning {
		return
	}
	st.Error = err.Error()
	r := e.runRow(p.Source, p.Stream, p.RunID, p.Mode, st)
	if final {
		st.Status = warehouse.RunFailed
		now := e.now().UTC()
		r.Status, r.FinishedAt = warehouse.RunFailed, &now
		if serr := e.saveState(ctx, p.Source, p.Stream, p.RunID, p.Mode, st); serr != nil {
			e.Log.Error("save failed run state", "source", p.Source, "stream", p.Stream, "err", serr)
		}
		if p.Stream == "members" {
			if serr := e.settleWaiting(ctx, p.Source, p.RunID, false, "not started: the members run it waited for failed"); serr != nil {
				e.Log.Error("fail waiting runs", "source", p.Source, "err", serr)
			}
		}
	}
	if serr := e.WH.SaveRun(ctx, r); serr != nil {
		e.Log.Error("save run", "source", p.Source, "stream", p.Stream, "err", serr)
	}
}
