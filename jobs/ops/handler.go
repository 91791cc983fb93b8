package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
)

// Check is one readiness dependency: Func returns nil when it is reachable.
type Check struct {
	Name string
	Func func(ctx context.Context) error
}

// Pinger is anything with a context-aware Ping, e.g. a clickhouse-go
// driver.Conn.
type Pinger interface {
	Ping(ctx context.Context) error
}

// RedisCheck checks Redis with PING.
func RedisCheck(rdb redis.UniversalClient) Check {
	return Check{Name: "redis", Func: func(ctx context.Context) error { return rdb.Ping(ctx).Err() }}
}

// ClickHouseCheck checks ClickHouse with Ping.
func ClickHouseCheck(p Pinger) Check {
	return Check{Name: "clickhouse", Func: p.Ping}
}

// Deps is what NewHandler serves.
type Deps struct {
	// Gatherer is served at /metrics, normally Metrics.Registry.
	Gatherer prometheus.Gatherer
	// Checks must all pass for /readyz to answer 200.
	Checks []Check
	// CheckTimeout bounds each check; default 2s.
	CheckTimeout time.Duration
	// Log receives failed checks and metric errors (optional).
	Log *slog.Logger
}

// NewHandler serves /healthz (200 while the process runs), /readyz (200
// when every check passes within its timeout, else 503 naming the failed
// dependency and why) and /metrics (Prometheus text format). The serve
// command mounts it next to its own routes.
func NewHandler(d Deps) http.Handler {
	if d.CheckTimeout <= 0 {
		d.CheckTimeout = 2 * time.Second
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		var failed []string
		for _, c := range d.Checks {
			ctx, cancel := context.WithTimeout(r.Context(), d.CheckTimeout)
			err := c.Func(ctx)
			cancel()
			if err != nil {
				failed = append(failed, fmt.Sprintf("%s: %v", c.Name, err))
				if d.Log != nil {
					d.Log.Warn("not ready", "dependency", c.Name, "err", err)
				}
			}
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(failed) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("not ready: " + strings.Join(failed, "; ") + "\n"))
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	if d.Gatherer != nil {
		opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
		if d.Log != nil {
			opts.ErrorLog = slog.NewLogLogger(d.Log.Handler(), slog.LevelWarn)
		}
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.Gatherer, opts))
	}
	return mux
}

// Serve listens on addr and serves h until ctx is cancelled, then shuts
// the server down (5s grace). A listen error is returned at once; stop
// shuts the server down early and waits until it has stopped.
func Serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("ops listen %s: %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("ops server", "addr", addr, "err", err)
		}
	}()
	log.Info("serving /healthz, /readyz, /metrics", "addr", ln.Addr().String())
	stopped := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(stopped) })
		<-done
	}, nil
}
