package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// health is what the queue says about a running run's task.
type health int

const (
	// taskLive: the run's task is pending, scheduled, active or waiting
	// for a retry.
	taskLive health = iota
	// taskMissing: no task of the run is in the queue (lost with a Redis
	// flush, or never enqueued after a crash).
	taskMissing
	// taskArchived: the run's task gave up (it is a dead letter) and the
	// run was never marked failed.
	taskArchived
	// failurePending: the task gave up and a run:fail task is recording
	// the failure.
	failurePending
)

// liveness is a running run's health with a reason for the user.
type liveness struct {
	health health
	reason string
}

// checkTask looks up, with asynq's Inspector, the task of a running run
// by its task id (and, during a hand-over, the previous group's task).
func (e *Engine) checkTask(ctx context.Context, r run) (liveness, error) {
	ns := e.cfg.Redis.Namespace
	queues := []string{RunQueue(ns, connectors.Mode(r.mode))}
	if q := SyncQueue(ns); q != queues[0] {
		queues = append(queues, q) // full runs started before the backfill queue existed
	}
	p := SyncPayload{Source: r.source, Stream: r.stream, RunID: r.id, Mode: r.mode, Seq: r.st.Seq}
	info, err := e.findTask(ctx, queues, syncTaskID(p))
	if err != nil {
		return liveness{}, err
	}
	if info != nil && info.State != asynq.TaskStateArchived {
		return liveness{health: taskLive}, nil
	}
	if info == nil && r.st.Seq > 0 {
		// the previous group's task saves the state, then enqueues this one
		p.Seq--
		prev, err := e.findTask(ctx, queues, syncTaskID(p))
		if err != nil {
			return liveness{}, err
		}
		if prev != nil && prev.State != asynq.TaskStateArchived {
			return liveness{health: taskLive}, nil
		}
	}
	rec, err := e.findTask(ctx, []string{SyncQueue(ns)}, failureTaskID(r.id))
	if err != nil {
		return liveness{}, err
	}
	if info != nil {
		lv := liveness{health: taskArchived, reason: fmt.Sprintf("its task %s was archived after its last attempt: %s", info.ID, info.LastErr)}
		if rec != nil && rec.State != asynq.TaskStateArchived {
			lv.health = failurePending
		}
		return lv, nil
	}
	if rec != nil && rec.State != asynq.TaskStateArchived {
		return liveness{health: failurePending, reason: "its last task failed and the failure is being recorded"}, nil
	}
	return liveness{health: taskMissing, reason: fmt.Sprintf("no task of group %d is in queue %s", r.st.Seq, queues[0])}, nil
}

// findTask returns the task with id in the first of queues that has it,
// nil when none does.
func (e *Engine) findTask(_ context.Context, queues []string, id string) (*asynq.TaskInfo, error) {
	for _, q := range queues {
		info, err := e.insp.GetTaskInfo(q, id)
		switch {
		case errors.Is(err, asynq.ErrQueueNotFound), errors.Is(err, asynq.ErrTaskNotFound):
			continue
		case err != nil:
			return nil, fmt.Errorf("look up task %s: %w", id, err)
		}
		return info, nil
	}
	return nil, nil
}

// dropArchived deletes the archived task of a run that was just failed,
// so its id is free and the queue's dead letters show only unhandled ones.
func (e *Engine) dropArchived(r run) {
	ns := e.cfg.Redis.Namespace
	p := SyncPayload{Source: r.source, Stream: r.stream, RunID: r.id, Mode: r.mode, Seq: r.st.Seq}
	for _, q := range []string{RunQueue(ns, connectors.Mode(r.mode)), SyncQueue(ns)} {
		if err := e.insp.DeleteTask(q, syncTaskID(p)); err == nil {
			return
		}
	}
}

// repair acts on a running run whose task is not live: a missing task is
// enqueued again (the run continues), an archived one fails the run with
// the task's last error (also when a run:fail task is still trying to
// record it: that task then finds the run already failed). It reports the
// liveness it found. The caller holds the stream's lock.
func (e *Engine) repair(ctx context.Context, r *run) (liveness, error) {
	lv, err := e.checkTask(ctx, *r)
	if err != nil {
		return lv, err
	}
	switch lv.health {
	case taskMissing:
		e.log.Warn("run in progress had no task: enqueued it again", "source", r.source, "stream", r.stream, "run", r.id, "seq", r.st.Seq)
		return lv, e.enqueue(ctx, SyncPayload{Source: r.source, Stream: r.stream, RunID: r.id, Mode: r.mode, Seq: r.st.Seq})
	case taskArchived, failurePending:
		e.log.Warn("run in progress had an archived task: failing it", "source", r.source, "stream", r.stream, "run", r.id, "reason", lv.reason)
		if err := e.fail(ctx, r, lv.reason); err != nil {
			return lv, err
		}
		e.dropArchived(*r)
	}
	return lv, nil
}

// enqueue enqueues a sync task; a task with the same id already queued
// makes it a no-op.
func (e *Engine) enqueue(ctx context.Context, p SyncPayload) error {
	t, err := e.newSyncTask(p)
	if err != nil {
		return err
	}
	_, err = e.queue.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s/%s: %w", p.Source, p.Stream, err)
	}
	return nil
}

// isRunning reports a run whose state says it is running.
func isRunning(r run) bool { return r.st.Status == warehouse.RunRunning }
