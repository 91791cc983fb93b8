package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
)

// recordFailure stores a sync task's error on its run: as the run's last
// error while it is retried, and as its end (failed) when the task gives
// up (final). An error is returned only when a final failure could not be
// written.
func (e *Engine) recordFailure(ctx context.Context, t *asynq.Task, taskErr error, final bool) error {
	if t.Type() != TypeSyncStream {
		return nil
	}
	var p SyncPayload
	if json.Unmarshal(t.Payload(), &p) != nil {
		return nil
	}
	return e.failRun(ctx, p.Source, p.Stream, p.RunID, taskErr.Error(), final)
}

// failRun records reason on the run if it is still the running run of
// its stream (final: the run ends failed).
func (e *Engine) failRun(ctx context.Context, source, stream, runID, reason string, final bool) error {
	r, found, err := e.loadRun(ctx, source, stream)
	if err != nil {
		if final {
			return err
		}
		return nil
	}
	if !found || r.id != runID || !isRunning(r) {
		return nil
	}
	if !final {
		r.st.Error = reason
		if err := e.save(ctx, &r); err != nil {
			loggerFrom(ctx, e.log).Warn("record the error of a retried task", "err", err)
		}
		return nil
	}
	return e.fail(ctx, &r, reason)
}

// handOverFailure enqueues a run:fail task for a final failure that could
// not be recorded: asynq retries it until ClickHouse takes the record.
func (e *Engine) handOverFailure(ctx context.Context, t *asynq.Task, taskErr error) error {
	var p SyncPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return err
	}
	ft, err := e.newFailureTask(FailurePayload{Source: p.Source, Stream: p.Stream, RunID: p.RunID, Error: taskErr.Error()})
	if err != nil {
		return err
	}
	_, err = e.queue.EnqueueContext(ctx, ft)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	return err
}

// failureHandler handles run:fail tasks.
type failureHandler struct{ e *Engine }

// ProcessTask implements asynq.Handler.
func (h failureHandler) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p FailurePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("run:fail payload: %v: %w", err, asynq.SkipRetry)
	}
	if err := h.e.failRun(ctx, p.Source, p.Stream, p.RunID, p.Error, true); err != nil {
		return fmt.Errorf("record the failure of run %s of %s/%s: %w", p.RunID, p.Source, p.Stream, err)
	}
	return nil
}
