package jobs

import (
	"context"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// RunRef names a run started or resumed by StartSync.
type RunRef struct {
	Source  string
	Stream  string
	RunID   string
	Mode    connectors.Mode
	Resumed bool
}

// StartSync starts a run of each stream of source (all enabled streams
// when streams is empty) and enqueues its first task. It is idempotent
// and safe to call from several processes at once (sync, scheduler): each
// (source, stream) is started under a Redis lock, so concurrent calls give
// one run, which every caller gets back.
//
// A run of the same mode still in progress is resumed (its task enqueued
// again if it was lost; failed visibly, then continued as a new run, if
// its task was archived); a failed one is continued from its checkpoint
// under a new run id; a run of the other mode is superseded.
//
// Runs that read the members synced into ClickHouse wait for the members
// run of the same call and start when it succeeds (policy.go). In
// incremental mode they are upgraded to a full sweep when their last full
// run is older than the source's full_sweep_every, and join a full run
// under way (sweepMode).
func (e *Engine) StartSync(ctx context.Context, source string, streams []string, mode connectors.Mode) ([]RunRef, error) {
	src, conn, err := e.connector(source)
	if err != nil {
		return nil, err
	}
	if len(streams) == 0 {
		streams = src.EnabledStreams()
	}
	for _, st := range streams {
		if !slices.Contains(src.EnabledStreams(), st) {
			return nil, fmt.Errorf("source %s (kind %s) does not sync stream %q (enabled: %v)", source, src.Kind, st, src.EnabledStreams())
		}
		if _, _, err := e.resolve(src, conn, st); err != nil {
			return nil, err
		}
	}
	waitFor := ""
	var refs []RunRef
	for _, st := range orderStreams(src, streams) {
		wf := ""
		if waitsForMembers(src, st) {
			wf = waitFor
		}
		ref, err := e.startStream(ctx, src, st, mode, wf)
		if err != nil {
			return refs, err
		}
		if isMembers(src, st) {
			waitFor = ref.RunID
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// startStream starts or resumes the run of one stream, under its lock.
func (e *Engine) startStream(ctx context.Context, src *config.Source, stream string, mode connectors.Mode, waitFor string) (RunRef, error) {
	unlock, err := e.lockStream(ctx, src.Name, stream)
	if err != nil {
		return RunRef{}, err
	}
	defer unlock()
	ref := RunRef{Source: src.Name, Stream: stream, Mode: mode}
	old, found, err := e.loadRun(ctx, src.Name, stream)
	if err != nil {
		return ref, err
	}
	if found && isRunning(old) {
		// a run whose last task is finishing has its row marked succeeded
		// before its state is cleared: it is over, start a new one (its
		// clear, of an older generation, cannot hide the new run's state)
		rows, err := e.wh.RunsByID(ctx, src.Name, []string{old.id})
		if err != nil {
			return ref, err
		}
		if len(rows) == 1 && rows[0].Status == warehouse.RunSucceeded {
			found = false
		}
	}
	if mode == connectors.Incremental && sweepsPeriodically(src, stream) {
		// decided here, under the lock and after the old run's end was
		// read: decided before, a start could read the last sweep's end
		// as not yet written, start a needless sweep right after it, and
		// the next start would supersede that one
		if mode, err = e.sweepMode(ctx, src, stream, old, found); err != nil {
			return ref, err
		}
		ref.Mode = mode
	}
	sameMode := found && old.mode == string(mode)
	if sameMode && isRunning(old) {
		lv, err := e.repair(ctx, &old)
		if err != nil {
			return ref, err
		}
		if lv.health != taskArchived && lv.health != failurePending {
			ref.RunID, ref.Resumed = old.id, true
			return ref, nil
		}
		// failed visibly just now: continue it below as a new run
	}
	st := RunState{}
	switch {
	case sameMode && old.st.Status == warehouse.RunWaiting:
		ref.RunID, ref.Resumed = old.id, true
		if waitFor != "" {
			if old.st.WaitFor == waitFor {
				return ref, nil
			}
			old.st.WaitFor = waitFor // now waits for this members run
			if err := e.saveState(ctx, &old); err != nil {
				return ref, err
			}
			return ref, e.settleIfMembersEnded(ctx, &old)
		}
		return ref, e.release(ctx, &old)
	case sameMode:
		// failed earlier: continue from its position as a new run
		ref.Resumed = true
		st = RunState{Seq: old.st.Seq, Cursor: old.st.Cursor}
	case found:
		if err := e.supersede(ctx, &old); err != nil {
			return ref, err
		}
	}
	st.StartedAt, st.Status, st.WaitFor = e.now().UTC(), warehouse.RunRunning, waitFor
	if waitFor != "" {
		st.Status = warehouse.RunWaiting
	}
	r := run{source: src.Name, stream: stream, id: uuid.NewString(), mode: string(mode), st: st, ver: nextGen(old.ver) - 1}
	ref.RunID = r.id
	// state first: a crash before the row leaves a run that the next
	// start resumes (its task missing), never a row without a state
	if err := e.save(ctx, &r); err != nil {
		return ref, err
	}
	if r.st.Status == warehouse.RunWaiting {
		return ref, e.settleIfMembersEnded(ctx, &r)
	}
	return ref, e.enqueue(ctx, SyncPayload{Source: r.source, Stream: stream, RunID: r.id, Mode: r.mode, Seq: r.st.Seq})
}

// sweepMode is the mode of an incremental start of a stream that is
// swept in full periodically: full when a full run is under way (a sweep
// or a backfill reads everything an incremental run would: it is joined,
// not superseded), or when the last full run succeeded longer than
// full_sweep_every ago; incremental otherwise. The caller holds the
// stream's lock.
func (e *Engine) sweepMode(ctx context.Context, src *config.Source, stream string, old run, found bool) (connectors.Mode, error) {
	if found && old.st.Live() && old.mode == string(connectors.Full) {
		return connectors.Full, nil
	}
	last, err := e.wh.LastFullSuccess(ctx, src.Name, stream)
	if err != nil {
		return "", err
	}
	if e.now().Sub(last) > src.FullSweepEvery {
		e.log.Info("periodic full sweep", "source", src.Name, "stream", stream, "last_full", last, "every", src.FullSweepEvery)
		return connectors.Full, nil
	}
	return connectors.Incremental, nil
}

// settleIfMembersEnded releases or fails a just-created waiting run whose
// members run already ended: that run's end settled the runs waiting for
// it before this one existed. The caller holds the stream's lock, so a
// members run ending now settles this run after us.
func (e *Engine) settleIfMembersEnded(ctx context.Context, r *run) error {
	m, found, err := e.loadRun(ctx, r.source, e.membersStreamOf(r.source))
	if err != nil {
		return err
	}
	rows, err := e.wh.RunsByID(ctx, r.source, []string{r.st.WaitFor})
	if err != nil {
		return err
	}
	// a members run whose row says succeeded has settled the waiting runs
	// that existed then, before its state is cleared: a run created in
	// between is released here, not left waiting
	ended := len(rows) == 1 && rows[0].Status == warehouse.RunSucceeded
	if found && m.id == r.st.WaitFor && m.st.Live() && !ended {
		return nil // still going: its end releases this run
	}
	if len(rows) == 1 && rows[0].Status == warehouse.RunSucceeded {
		return e.release(ctx, r)
	}
	return e.fail(ctx, r, "not started: the members run it waited for ended without success")
}

// release starts a waiting run. The caller holds the stream's lock.
func (e *Engine) release(ctx context.Context, r *run) error {
	r.st.Status, r.st.WaitFor, r.st.StartedAt = warehouse.RunRunning, "", e.now().UTC()
	if err := e.save(ctx, r); err != nil {
		return err
	}
	return e.enqueue(ctx, SyncPayload{Source: r.source, Stream: r.stream, RunID: r.id, Mode: r.mode, Seq: r.st.Seq})
}

// settleWaiting starts (ok) or fails the runs waiting for a members run,
// each under its stream's lock.
func (e *Engine) settleWaiting(ctx context.Context, source, membersRun string, ok bool, reason string) error {
	src, err := e.cfg.Source(source)
	if err != nil {
		return err
	}
	for _, stream := range src.EnabledStreams() {
		if isMembers(src, stream) {
			continue // never waits; its lock may be held by our caller
		}
		if err := e.settleOne(ctx, source, stream, membersRun, ok, reason); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) settleOne(ctx context.Context, source, stream, membersRun string, ok bool, reason string) error {
	unlock, err := e.lockStream(ctx, source, stream)
	if err != nil {
		return err
	}
	defer unlock()
	r, found, err := e.loadRun(ctx, source, stream)
	if err != nil || !found || r.st.Status != warehouse.RunWaiting || r.st.WaitFor != membersRun {
		return err
	}
	if ok {
		return e.release(ctx, &r)
	}
	return e.fail(ctx, &r, reason)
}

// supersede marks the old live run of the other mode failed; its
// remaining tasks see a different run id in the checkpoint and stop, and
// its versions are below the new run's, so a late write of one of its
// tasks cannot hide the new run.
func (e *Engine) supersede(ctx context.Context, r *run) error {
	if !r.st.Live() {
		return nil
	}
	other := connectors.Full
	if r.mode == string(connectors.Full) {
		other = connectors.Incremental
	}
	return e.fail(ctx, r, "superseded by a "+string(other)+" run")
}
