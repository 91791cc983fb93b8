package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// bundle is one integration test's world: a simulator, a fresh
// ClickHouse database, a fresh Redis namespace, an engine and a worker.
type bundle struct {
	sim    *vendorsim.Server
	srv    *httptest.Server
	cfg    *config.Config
	wh     *warehouse.Warehouse
	rdb    *redis.Client
	engine *jobs.Engine
	reg    *connectors.Registry
	log    *slog.Logger
	stop   func() // stops the worker (drains)
}

// newEngine returns another engine on the same world, as another process
// would build it.
func (b *bundle) newEngine() *jobs.Engine { return jobs.NewEngine(b.cfg, b.wh, b.rdb, b.reg, b.log) }

type setupOpts struct {
	members   int
	dmhub     vendorsim.DMHubOptions
	sourceYML string // extra YAML lines for the dmhub source
	secret    string // app_secret; default the simulator's
	noWorker  bool
	extra     string // more sources (YAML list items); %[1]s is the simulator URL
	top       string // more top-level YAML (e.g. pii_key)
	shared    bool   // zvcms customers share their DM Hub member's mobile (vendorsim ShareMobiles)
	worker    string // the worker settings (a YAML flow mapping); default below
	rateLimit int    // acme-dmhub's rate_limit; default 500
	pageSize  int    // acme-dmhub's page_size; default 50
}

func setup(t testing.TB, o setupOpts) *bundle {
	t.Helper()
	chCfg, wh := warehousetest.ClickHouse(t)
	rCfg, rdb := warehousetest.Redis(t)
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 7, Members: o.members, DMHub: o.dmhub, ShareMobiles: o.shared})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	secret := o.secret
	if secret == "" {
		secret = "sim-dmhub-secret"
	}
	worker := o.worker
	if worker == "" {
		worker = "{concurrency: 4, pages_per_task: 3, max_retry: 3, shutdown_timeout: 5s}"
	}
	rate := o.rateLimit
	if rate == 0 {
		rate = 500
	}
	pageSize := o.pageSize
	if pageSize == 0 {
		pageSize = 50
	}
	yml := fmt.Sprintf(`
redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
worker: %s
%s
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: %d
    page_size: %d
    credentials: {app_id: sim-dmhub-app, app_secret: %q}
%s
%s`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, worker, o.top, srv.URL, rate, pageSize, secret, o.sourceYML,
		strings.ReplaceAll(o.extra, "{{sim}}", srv.URL))
	cfg, err := config.Parse("test.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	b := &bundle{sim: sim, srv: srv, cfg: cfg, wh: wh, rdb: rdb, engine: jobs.NewEngine(cfg, wh, rdb, reg, log), reg: reg, log: log, stop: func() {}}
	if !o.noWorker {
		b.startWorker(t)
	}
	return b
}

func (b *bundle) startWorker(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.engine.RunWorker(ctx, b.rdb) }()
	stopped := false
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	t.Cleanup(b.stop)
}

// sync starts a run of the streams of acme-dmhub and waits for it to end.
func (b *bundle) sync(t *testing.T, mode connectors.Mode, streams ...string) []warehouse.Run {
	t.Helper()
	return b.syncSource(t, "acme-dmhub", mode, streams...)
}

// syncSource starts a run of the streams of a source and waits for it.
func (b *bundle) syncSource(t *testing.T, source string, mode connectors.Mode, streams ...string) []warehouse.Run {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	refs, err := b.engine.StartSync(ctx, source, streams, mode)
	if err != nil {
		t.Fatalf("StartSync: %v", err)
	}
	runs, err := b.engine.Wait(ctx, refs, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("Wait: %v (runs %+v)", err, runs)
	}
	return runs
}

func (b *bundle) count(t *testing.T, q string, args ...any) uint64 {
	t.Helper()
	var n uint64
	if err := b.wh.Conn().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (b *bundle) q(table string) string { return b.wh.Q(table) }
