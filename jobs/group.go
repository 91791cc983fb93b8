package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// groupHandler handles sync:stream tasks: it reads pages from the run's
// checkpointed cursor and loads their rows in groups (worker.insert_rows),
// each group checkpointed only after its load, reading on while a group
// loads (readGroups); its last group enqueues the next task. A crash at
// any point repeats at most the groups not yet checkpointed, and the load
// is idempotent (ReplacingMergeTree).
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
	return e.readGroups(ctx, stream, &r, p, since)
}

// fetchPages is the most pages one Fetch of a task reads: the rows of a
// Fetch are the unit the task hands to its load stage.
const fetchPages = 10

// readGroups reads the task's pages from the run's checkpointed cursor
// and loads them in groups of at least worker.insert_rows rows, each
// checkpointed right after its load: the task reads its next pages while
// the previous group loads (one group loading, one filling: memory is
// bounded by two groups and one Fetch). The checkpoint after a group
// always covers exactly the rows loaded before it, in order; a crash
// repeats at most the groups not yet checkpointed, and the load is
// idempotent (ReplacingMergeTree).
//
// The task ends after worker.pages_per_task pages (or Fetch calls), or
// when the engine's task budget is spent, or with the stream; its last
// group advances Seq and enqueues the next task (or finishes the run).
// Groups before it keep Seq: a retry of this task resumes from the last
// checkpointed cursor.
func (e *Engine) readGroups(ctx context.Context, stream connectors.Stream, r *run, p SyncPayload, since json.RawMessage) error {
	log := loggerFrom(ctx, e.log)
	start := e.now()
	perTask := e.cfg.Worker.PagesPerTask
	insertRows := e.cfg.Worker.InsertRows
	if insertRows <= 0 {
		insertRows = config.DefaultInsertRows
	}
	runStarted := r.st.StartedAt
	cursor := r.st.Cursor
	var loading loadStage
	defer loading.wait() // never leave a load behind (each return path has waited already)

	// flush loads g in the background once the previous group is loaded,
	// then checkpoints after it: with Seq advanced when it is the task's
	// last group, and not at all when it ends the run (finish does).
	flush := func(g connectors.Batch, last bool) error {
		return loading.start(func() error {
			if err := e.wh.Load(ctx, g.Rows); err != nil {
				return err
			}
			r.st.add(g)
			r.st.Cursor = g.Next
			r.st.Error = ""
			if last {
				r.st.Seq++
			}
			if g.Done {
				return nil
			}
			return e.save(ctx, r)
		})
	}
	// failed keeps what the task read before a failure (err): the rows
	// are loaded and checkpointed, with the error, so the retry of this
	// same task starts after them.
	failed := func(g connectors.Batch, err error) error {
		if werr := loading.wait(); werr != nil || g.Next == nil {
			return err
		}
		if lerr := e.wh.Load(ctx, g.Rows); lerr != nil {
			return err
		}
		r.st.add(g)
		r.st.Cursor, r.st.Error = g.Next, err.Error()
		if serr := e.save(ctx, r); serr != nil {
			log.Warn("checkpoint what was read before a failure", "err", serr)
		}
		return err
	}

	var g connectors.Batch // the group filling
	pages, fetches := 0, 0
	done := false
	var commit json.RawMessage
	for {
		b, err := stream.Fetch(ctx, connectors.Request{Mode: connectors.Mode(p.Mode), Cursor: cursor, Since: since,
			Pages: min(fetchPages, perTask-pages), RunStarted: runStarted, Log: log})
		fetches++
		var partial *partialError
		if errors.As(err, &partial) {
			// some members finished before one failed: keep them
			merge(&g, partial.batch)
			return failed(g, partial.err)
		}
		if err != nil {
			return failed(g, err)
		}
		if b.Fallback {
			log.Warn("the vendor ignored the requested sort order; this run falls back to a full id-ordered scan")
		}
		merge(&g, b)
		cursor = b.Next
		pages += b.Pages
		last := b.Done || pages >= perTask || fetches >= perTask || e.now().Sub(start) >= e.budget
		if !last && len(g.Rows) < insertRows {
			continue
		}
		if err := flush(g, last); err != nil {
			return err
		}
		g = connectors.Batch{}
		if last {
			done, commit = b.Done, b.Commit
			break
		}
	}
	if err := loading.wait(); err != nil {
		return err
	}
	if done {
		return e.finish(ctx, r, commit)
	}
	return e.enqueue(ctx, SyncPayload{Source: p.Source, Stream: p.Stream, RunID: p.RunID, Mode: p.Mode, Seq: r.st.Seq})
}

// merge adds batch b, read after the batches in g, to g.
func merge(g *connectors.Batch, b connectors.Batch) {
	g.Rows = append(g.Rows, b.Rows...)
	g.Next, g.Done, g.Commit = b.Next, b.Done, b.Commit
	g.Pages += b.Pages
	g.Items += b.Items
	g.Requests += b.Requests
	g.Clamped += b.Clamped
	g.Rejected += b.Rejected
	g.Fallback = g.Fallback || b.Fallback
	if b.Total > 0 {
		g.Total = b.Total
	}
}

// loadStage runs a task's loads one at a time, each in the background
// while the task reads on.
type loadStage struct {
	pending chan error // the result of the load in flight; nil when none
}

// start waits for the load in flight, then starts fn; the error of the
// load waited for is returned and fn does not start.
func (s *loadStage) start(fn func() error) error {
	if err := s.wait(); err != nil {
		return err
	}
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	s.pending = ch
	return nil
}

// wait waits for the load in flight, if any, and returns its error.
func (s *loadStage) wait() error {
	if s.pending == nil {
		return nil
	}
	err := <-s.pending
	s.pending = nil
	return err
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
