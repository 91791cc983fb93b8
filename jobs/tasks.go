package jobs

import (
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
)

// Task types. They are a wire format: never rename them.
const (
	// TypeSyncStream reads one bounded group of pages of one stream of a
	// run, loads it, checkpoints, and enqueues the next group.
	TypeSyncStream = "sync:stream"
)

// SyncPayload is the payload of a sync:stream task. It carries no
// secrets: credentials are resolved from the worker's config.
type SyncPayload struct {
	Source string `json:"source"`
	Stream string `json:"stream"`
	RunID  string `json:"run_id"`
	Mode   string `json:"mode"`
	Seq    int    `json:"seq"` // number of groups of this run already loaded
}

// taskTimeout bounds one task; a group of pages is far smaller.
const taskTimeout = 30 * time.Minute

func (e *Engine) syncQueue() string { return e.Config.Redis.Namespace + ":sync" }

// newSyncTask builds the task for one group. The task id makes a second
// enqueue of the same group a no-op while the first is still known.
func (e *Engine) newSyncTask(p SyncPayload) (*asynq.Task, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeSyncStream, b,
		asynq.Queue(e.syncQueue()),
		asynq.MaxRetry(e.Config.Worker.MaxRetry),
		asynq.Timeout(taskTimeout),
		asynq.TaskID(fmt.Sprintf("sync:%s:%s:%s:%d", p.Source, p.Stream, p.RunID, p.Seq)),
	), nil
}
