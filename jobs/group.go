package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// groupHandler handles sync:stream tasks: it reads one group of pages
// from the run's checkpointed cursor, loads the rows, and only then
// advances the checkpoint and enqueues the next group. A crash at any
// point repeats at most this group, and the load is idempotent
// (ReplacingMergeTree).
type groupHandler struct{ e *Engine }

// ProcessTask implements asynq.Handler.
func (h groupHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	e := h.e
	var p SyncPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("sync task payload: %v: %w", err, asynq.SkipRetry)
	}
	ctx = connectors.WithMode(ctx, connectors.Mode(p.Mode)) // backfills keep within their rate share
	src, conn, err := e.connector(p.Source)
	if err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	stream, _, err := e.resolve(src, conn, p.Stream)
	if err != nil {
		return fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	log := loggerFrom(ctx, e.log)
	r, found, err := e.loadRun(ctx, p.Source, p.Stream)
	if err != nil {
		return err
	}
	if !found || r.id != p.RunID {
		log.Info("stale task: its run is no longer in progress")
		return nil
	}
	switch {
	case r.st.Status != warehouse.RunRunning:
		return nil
	case r.st.Seq > p.Seq:
		// this group was loaded and checkpointed; the crash came before
		// the next task was enqueued
		return e.enqueue(ctx, SyncPayload{Source: p.Source, Stream: p.Stream, RunID: p.RunID, Mode: p.Mode, Seq: r.st.Seq})
	case r.st.Seq < p.Seq:
		log.Warn("task ahead of its checkpoint; ignored", "seq", p.Seq, "checkpoint", r.st.Seq)
		return nil
	}
	var since json.RawMessage
	if c, ok, err := e.wh.LoadCheckpoint(ctx, p.Source, p.Stream, warehouse.Committed); err != nil {
		return err
	} else if ok {
		since = json.RawMessage(c.Cursor)
	}
	b, err := stream.Fetch(ctx, connectors.Request{Mode: connectors.Mode(p.Mode), Cursor: r.st.Cursor, Since: since,
		Pages: e.cfg.Worker.PagesPerTask, RunStarted: r.st.StartedAt, Log: loggerFrom(ctx, e.log)})
	var partial *partialError
	if errors.As(err, &partial) {
		// some members finished before one failed: keep them, and let the
		// retry of this same group start after them
		if lerr := e.wh.Load(ctx, partial.batch.Rows); lerr != nil {
			return err
		}
		r.st.add(partial.batch)
		r.st.Cursor, r.st.Error = partial.batch.Next, partial.err.Error()
		if serr := e.save(ctx, &r); serr != nil {
			log.Warn("checkpoint the members finished before a failure", "err", serr)
		}
		return err
	}
	if err != nil {
		return err
	}
	if b.Fallback {
		log.Warn("the vendor ignored the requested sort order; this run falls back to a full id-ordered scan")
	}
	if err := e.wh.Load(ctx, b.Rows); err != nil {
		return err
	}
	r.st.Seq++
	r.st.Cursor = b.Next
	r.st.add(b)
	r.st.Error = ""
	if b.Done {
		return e.finish(ctx, &r, b.Commit)
	}
	if err := e.save(ctx, &r); err != nil {
		return err
	}
	return e.enqueue(ctx, SyncPayload{Source: p.Source, Stream: p.Stream, RunID: p.RunID, Mode: p.Mode, Seq: r.st.Seq})
}

// add counts a loaded batch into the run's counters.
func (s *RunState) add(b connectors.Batch) {
	var rejected uint64
	for _, row := range b.Rows {
		if _, ok := row.(warehouse.RejectedRecord); ok {
			rejected++
		}
	}
	s.Pages += uint64(b.Pages)
	s.Rows += uint64(len(b.Rows)) - rejected
	s.Rejected += rejected
	s.Requests += uint64(b.Requests)
	s.Items += uint64(b.Items)
	if b.Total > 0 {
		s.Total = uint64(b.Total)
	}
}

// finish ends a run whose last group is loaded. Each step is idempotent:
// a crash anywhere repeats the last task, which loads and finishes again.
//
//  1. commit the new incremental cursor;
//  2. runSucceeded: the steps that need a complete read of the stream;
//  3. mark the run succeeded (its sync_runs row);
//  4. release the runs waiting for it (a members run): before the state
//     goes, so a crash repeats this, and a released run is no longer
//     waiting, so it is not started twice;
//  5. clear the in-progress state last.
func (e *Engine) finish(ctx context.Context, r *run, commit json.RawMessage) error {
	if commit != nil {
		r.ver++
		if err := e.wh.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: r.source, Stream: r.stream,
			Partition: warehouse.Committed, Cursor: string(commit), RunID: r.id, Mode: r.mode, Ver: r.ver}); err != nil {
			return err
		}
	}
	if err := e.runSucceeded(ctx, r); err != nil {
		return err
	}
	now := e.now().UTC()
	r.st.Status = warehouse.RunSucceeded
	r.ver++
	if err := e.writeRow(ctx, r, &now); err != nil {
		return err
	}
	if r.stream == e.membersStreamOf(r.source) {
		if err := e.settleWaiting(ctx, r.source, r.id, true, ""); err != nil {
			return err
		}
	}
	if err := e.clear(ctx, r); err != nil {
		return err
	}
	loggerFrom(ctx, e.log).Info("sync finished", "mode", r.mode,
		"pages", r.st.Pages, "rows", r.st.Rows, "rejected", r.st.Rejected, "elapsed", now.Sub(r.st.StartedAt).Round(time.Millisecond))
	return nil
}

// runSucceeded is the "run finished successfully" step: every group of
// the run is loaded and its cursor committed, and the run is not yet
// marked succeeded. Work that needs a complete read goes here (e.g. for a
// full run, marking the rows it did not see as deleted); it must be
// idempotent, as a crash after it repeats it.
func (e *Engine) runSucceeded(ctx context.Context, r *run) error {
	return e.markDeleted(ctx, r.source, r.stream, r.mode, r.st.StartedAt)
}
