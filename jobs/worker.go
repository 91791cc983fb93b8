package jobs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Mux registers every task handler explicitly, with the error
// classification and logging middleware.
func (e *Engine) Mux() *asynq.ServeMux {
	mux := asynq.NewServeMux()
	mux.Use(e.classifyAndLog)
	mux.HandleFunc(TypeSyncStream, e.HandleSync)
	return mux
}

// classifyAndLog is the handler boundary: it maps error classes to asynq
// (retry.go) and logs each failure once.
func (e *Engine) classifyAndLog(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := classifyForQueue(next.ProcessTask(ctx, t))
		if err != nil && !errors.Is(err, context.Canceled) {
			final := finalFailure(ctx, err)
			e.Log.Warn("task failed", "type", t.Type(), "final", final, "elapsed", time.Since(start).Round(time.Millisecond), "err", err)
			e.recordFailure(context.WithoutCancel(ctx), t, err, final)
		}
		return err
	})
}

// ServerConfig is the asynq server configuration of a worker.
func (e *Engine) ServerConfig() asynq.Config {
	w := e.Config.Worker
	return asynq.Config{
		Concurrency: w.Concurrency,
		// a run hands over from task to task: poll an empty queue often
		// (asynq's default is 1s of idle per hand-over)
		TaskCheckInterval: 50 * time.Millisecond,
		Queues:            map[string]int{e.OutboundQueue(): 2, e.syncQueue(): 1},
		IsFailure:         isFailure,
		RetryDelayFunc:    retryDelay,
		ShutdownTimeout:   w.ShutdownTimeout,
		Logger:            slogAdapter{e.Log},
		LogLevel:          asynq.WarnLevel,
	}
}

// RunWorker processes tasks until ctx is cancelled (SIGTERM/SIGINT), then
// stops taking new tasks and drains the running ones for up to
// worker.shutdown_timeout; unfinished tasks go back to the queue.
func (e *Engine) RunWorker(ctx context.Context, rdb redis.UniversalClient) error {
	srv := asynq.NewServerFromRedisClient(rdb, e.ServerConfig())
	mux := e.Mux()
	stopOutbound := e.startOutbound(ctx, rdb, mux)
	defer stopOutbound()
	if err := srv.Start(mux); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	if n, err := e.Resume(ctx); err != nil {
		e.Log.Warn("resume in-progress runs", "err", err)
	} else if n > 0 {
		e.Log.Info("resumed in-progress runs", "runs", n)
	}
	<-ctx.Done()
	e.Log.Info("shutting down: draining running tasks", "timeout", e.Config.Worker.ShutdownTimeout)
	srv.Shutdown()
	return nil
}
