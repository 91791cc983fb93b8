package main

import (
	"context"
	"fmt"
	"net/http"

	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
)

// logFormatFlag is the --log-format value: json (default) or text.
type logFormatFlag string

func (f *logFormatFlag) String() string {
	if *f == "" {
		return ops.LogJSON
	}
	return string(*f)
}

func (f *logFormatFlag) Set(s string) error {
	if s != ops.LogJSON && s != ops.LogText {
		return fmt.Errorf("want %s or %s", ops.LogJSON, ops.LogText)
	}
	*f = logFormatFlag(s)
	return nil
}

func (f *logFormatFlag) Type() string { return "format" }

// opsHandler is the /healthz, /readyz and /metrics handler of a role:
// readiness pings Redis and ClickHouse, and /metrics adds the queue and
// warehouse state read at scrape time to the process's metrics. The serve
// command mounts it next to its own routes.
func (a *app) opsHandler(m *ops.Metrics) http.Handler {
	m.Registry.MustRegister(&ops.StateCollector{
		Inspector:  asynq.NewInspectorFromRedisClient(a.rdb),
		Namespace:  a.cfg.Redis.Namespace,
		ClickHouse: a.wh.Conn(),
		Database:   a.wh.Database(),
		Log:        a.log,
	})
	return ops.NewHandler(ops.Deps{
		Gatherer: m.Registry,
		Checks:   []ops.Check{ops.RedisCheck(a.rdb), ops.ClickHouseCheck(a.wh.Conn())},
		Log:      a.log,
	})
}

// startOps serves the ops handler of the process's metrics (openApp made
// them) on addr ("" serves nothing). stop shuts the listener down.
func (a *app) startOps(ctx context.Context, addr string) (m *ops.Metrics, stop func(), err error) {
	m = a.metrics
	if addr == "" {
		return m, func() {}, nil
	}
	stop, err = ops.Serve(ctx, addr, a.opsHandler(m), a.log)
	if err != nil {
		return nil, nil, err
	}
	return m, stop, nil
}
