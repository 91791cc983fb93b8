package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
)

// Handlers registers task handlers on a mux. The engine is one (sync
// runs); outbound writes and other roles plug in beside it on the same
// mux (Mux, RunWorker).
type Handlers interface {
	Register(mux *asynq.ServeMux)
}

// Register implements Handlers: the sync:stream and run:fail handlers.
func (e *Engine) Register(mux *asynq.ServeMux) {
	mux.Handle(TypeSyncStream, groupHandler{e})
	mux.Handle(TypeRecordFailure, failureHandler{e})
}

// Mux builds the worker's mux: the engine's handlers and extra, behind
// one middleware that sets the task's logger, maps error classes to asynq
// (retry.go) and logs each failure once.
func (e *Engine) Mux(extra ...Handlers) *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(e.mws...)
	mux.Use(e.classifyAndLog)
	// per-source caps (sources[].max_tasks) inside the classification: a
	// capped task is rate-limited, retried without counting as a failure
	mux.Use((&SourceCap{Config: e.cfg, Redis: e.rdb}).Middleware)
	e.Register(mux)
	for _, h := range extra {
		h.Register(mux)
	}
	return mux
}

// classifyAndLog is the handler boundary. A final failure of a sync task
// that cannot be recorded on its run (ClickHouse down) is handed to a
// run:fail task, which asynq retries until it is recorded.
func (e *Engine) classifyAndLog(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		log := taskLogger(ctx, e.log, t)
		ctx = withLogger(ctx, log)
		err := classifyForQueue(chargeRateLimit(ctx, rateLimitLedger{rdb: e.deps.Redis,
			prefix: e.deps.Namespace + ":ratelimit-waits:", budget: e.cfg.Worker.RateLimitBudget}, next.ProcessTask(ctx, t)))
		if err == nil || errors.Is(err, context.Canceled) {
			return err
		}
		if errors.Is(err, outbound.ErrWaiting) {
			log.Debug("task waits", "err", err)
			return err
		}
		final := finalFailure(ctx, err)
		log.Warn("task failed", "final", final, "elapsed", time.Since(start).Round(time.Millisecond), "err", err)
		rctx := context.WithoutCancel(ctx)
		if rerr := e.recordFailure(rctx, t, err, final); rerr != nil {
			log.Error("could not record the run's failure: handing it to a run:fail task", "err", rerr)
			if herr := e.handOverFailure(rctx, t, err); herr != nil {
				log.Error("could not enqueue the run:fail task; the run is failed at the next start or worker start", "err", herr)
			}
		}
		return err
	})
}

// ServerConfig is the asynq server configuration of a worker: every queue
// of Queues, with its priority.
func (e *Engine) ServerConfig() asynq.Config {
	w := e.cfg.Worker
	return asynq.Config{
		Concurrency: w.Concurrency,
		// a run hands over from task to task: poll an empty queue often
		// (asynq's default is 1s of idle per hand-over)
		TaskCheckInterval: 50 * time.Millisecond,
		Queues:            Queues(e.cfg.Redis.Namespace),
		IsFailure:         isFailure,
		RetryDelayFunc:    retryDelay,
		ShutdownTimeout:   w.ShutdownTimeout,
		// pushed events are aggregated per source into batch tasks
		// (webhook.go; jobs/webhooks): only they use groups
		GroupAggregator:  asynq.GroupAggregatorFunc(webhooks.Aggregate),
		GroupGracePeriod: webhooks.GroupGracePeriod,
		GroupMaxDelay:    webhooks.GroupMaxDelay,
		GroupMaxSize:     webhooks.GroupMaxSize,
		Logger:           slogAdapter{e.log},
		LogLevel:         asynq.WarnLevel,
	}
}

// RunWorker processes tasks of the engine and of extra until ctx is
// cancelled (SIGTERM/SIGINT), then stops taking new tasks and drains the
// running ones for up to worker.shutdown_timeout; unfinished tasks go
// back to the queue. At start it resumes the runs in progress (Resume).
func (e *Engine) RunWorker(ctx context.Context, rdb redis.UniversalClient, extra ...Handlers) error {
	srv := asynq.NewServerFromRedisClient(rdb, e.ServerConfig())
	mux := e.Mux(extra...)
	stopOutbound := e.startOutbound(ctx, rdb, mux)
	defer stopOutbound()
	stopWebhooks := e.startWebhooks(ctx, rdb, mux) // webhook.go
	defer stopWebhooks()
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if n, err := e.Resume(ctx); err != nil {
		e.log.Warn("resume in-progress runs", "err", err)
	} else if n > 0 {
		e.log.Info("resumed in-progress runs", "runs", n)
	}
	<-ctx.Done()
	e.log.Info("shutting down: draining running tasks", "timeout", e.cfg.Worker.ShutdownTimeout)
	srv.Shutdown()
	return nil
}

// repairEvery runs repair at once and then every interval, in the
// background, until ctx ends or the returned stop is called: the
// re-enqueueing from ClickHouse of what Redis lost (outbound writes,
// pushed events). A run that re-enqueued n > 0 items is logged as msg with
// n under unit.
func (e *Engine) repairEvery(ctx context.Context, msg, unit string, every time.Duration, repair func(context.Context) (int, error)) (stop func()) {
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			if n, err := repair(rctx); err != nil && rctx.Err() == nil {
				e.log.Warn(msg+": failed", "err", err)
			} else if n > 0 {
				e.log.Info(msg, unit, n)
			}
			select {
			case <-rctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return func() {
		cancel()
		<-done
	}
}
