package jobs

import (
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// Task types. They are a wire format: never rename them.
const (
	// TypeSyncStream reads one bounded group of pages of one stream of a
	// run, loads it, checkpoints, and enqueues the next group.
	TypeSyncStream = "sync:stream"
	// TypeRecordFailure records the end of a run whose last task failed
	// while its failure could not be written (ClickHouse down); it is
	// retried until the failure is recorded.
	TypeRecordFailure = "run:fail"
)

// SyncPayload is the payload of a sync:stream task. It carries no
// secrets: credentials are resolved from the worker's config.
type SyncPayload struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	RunID  string `json:"run_id"`
	Mode   string `json:"mode"`
	Seq    int    `json:"seq"` // number of tasks of this run already done
}

// FailurePayload is the payload of a run:fail task.
type FailurePayload struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	RunID  string `json:"run_id"`
	Error  string `json:"error"`
}

// taskTimeout bounds one task; a group of pages is far smaller, and a
// per-member task stops taking members after the engine's task budget.
const taskTimeout = 30 * time.Minute

// recordRetries bounds the retries of a run:fail task: with backoff
// capped at 5 minutes, about 8 hours of ClickHouse outage.
const recordRetries = 100

func syncTaskID(p SyncPayload) string {
	return fmt.Sprintf("sync:%s:%s:%s:%d", p.Source, p.Stream, p.RunID, p.Seq)
}

func failureTaskID(runID string) string { return "run:fail:" + runID }

// newSyncTask builds the task for one group. The task id makes a second
// enqueue of the same group a no-op while the first is still known.
func (e *Engine) newSyncTask(p SyncPayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeSyncStream, b,
		asynq.Queue(RunQueue(e.cfg.Redis.Namespace, connectors.Mode(p.Mode))),
		asynq.MaxRetry(e.cfg.Worker.MaxRetry),
		asynq.Timeout(taskTimeout),
		asynq.TaskID(syncTaskID(p)),
	), nil
}

func (e *Engine) newFailureTask(p FailurePayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeRecordFailure, b,
		asynq.Queue(SyncQueue(e.cfg.Redis.Namespace)),
		asynq.MaxRetry(recordRetries),
		asynq.Timeout(time.Minute),
		asynq.TaskID(failureTaskID(p.RunID)),
	), nil
}
