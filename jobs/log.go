package jobs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
)

// slogAdapter routes asynq's logs to slog.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...)) }
func (a slogAdapter) Info(args ...any)  { a.l.Info(fmt.Sprint(args...)) }
func (a slogAdapter) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...)) }
func (a slogAdapter) Error(args ...any) { a.l.Error(fmt.Sprint(args...)) }
func (a slogAdapter) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...)) }

type loggerKey struct{}

// withLogger returns ctx carrying log.
func withLogger(ctx context.Context, log *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, log)
}

// loggerFrom returns the logger of ctx (set by the task middleware, with
// the task's source, stream, run and task id), or def.
func loggerFrom(ctx context.Context, def *slog.Logger) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return def
}

// taskLogger is log with the attributes that identify a task: type and
// task id, and for run tasks source, stream and run id.
func taskLogger(ctx context.Context, log *slog.Logger, t *asynq.Task) *slog.Logger {
	l := log.With("type", t.Type())
	if id, ok := asynq.GetTaskID(ctx); ok {
		l = l.With("task", id)
	}
	var p struct {
		Source string `json:"source"`
		Stream string `json:"stream"`
		RunID  string `json:"run_id"`
	}
	if json.Unmarshal(t.Payload(), &p) == nil && p.Source != "" {
		l = l.With("source", p.Source, "stream", p.Stream, "run", p.RunID)
	}
	return l
}
