package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

type globals struct {
	configPath string
	logLevel   string
	logFormat  logFormatFlag // ops.go
}

func newRootCmd() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "loyaltybridge",
		Short:         "Sync Chinese CRM/loyalty vendors (DM Hub, Houcaller, zvcms) into ClickHouse",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	def := "./loyaltybridge.yaml"
	if v := os.Getenv("LOYALTYBRIDGE_CONFIG"); v != "" {
		def = v
	}
	root.PersistentFlags().StringVar(&g.configPath, "config", def, "config file (env LOYALTYBRIDGE_CONFIG)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().Var(&g.logFormat, "log-format", "log format: json or text")
	root.AddCommand(newMigrateCmd(g), newWorkerCmd(g), newSchedulerCmd(g), newSyncCmd(g), newStatusCmd(g), newVendorsimCmd(g), newDemoCmd(g),
		newPushCmd(g), newServeCmd(g), newReconcileCmd(g))
	return root
}

// exitError carries a specific exit code (e.g. 2 for usage errors).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return 1
}

func (g *globals) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	// JSON by default; access_token values redacted (openApp adds the
	// configured secrets)
	log, err := ops.NewLogger(os.Stderr, g.logFormat.String(), lvl, nil)
	if err != nil { // the flag accepts only json and text
		log, _ = ops.NewLogger(os.Stderr, ops.LogJSON, lvl, nil)
	}
	return log
}

// app is what the commands share: config, connections and the engine.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	wh     *warehouse.Warehouse
	rdb    redis.UniversalClient
	engine *jobs.Engine
	// metrics is the process's own Prometheus registry: vendor requests
	// (httpapi observer), loads, task outcomes; served by startOps.
	metrics *ops.Metrics
}

func (g *globals) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(g.configPath, builtin.Kinds())
	if err != nil {
		return nil, &exitError{code: 2, err: err}
	}
	return cfg, nil
}

// open loads the config and connects to Redis and ClickHouse.
func (g *globals) open(ctx context.Context) (*app, error) {
	cfg, err := g.loadConfig()
	if err != nil {
		return nil, err
	}
	return openApp(ctx, cfg, g.logger())
}

func openApp(ctx context.Context, cfg *config.Config, log *slog.Logger) (*app, error) {
	log = slog.New(ops.NewRedactor(log.Handler(), cfg.Secrets()))
	rdb, where, err := newRedisClient(cfg.Redis) // redis.go
	if err != nil {
		return nil, err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, errors.New("redis " + where + ": " + err.Error())
	}
	wh, err := warehouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	reg, err := builtin.Registry()
	if err != nil {
		return nil, err
	}
	m := ops.NewMetrics()
	wh.SetLoadObserver(m)
	e := jobs.NewEngine(cfg, wh, rdb, reg, log, jobs.WithObserver(m), jobs.WithMiddleware(m.TaskMiddleware),
		jobs.WithWebhookMetrics(webhooks.NewMetrics(m.Registry)))
	a := &app{cfg: cfg, log: log, wh: wh, rdb: rdb, engine: e, metrics: m}
	return a, nil
}

// openMigrated is open for the commands that read and write but never run
// DDL (sync, status, push; serve checks its token first): it fails with warehouse's
// NotMigratedError ("run `loyaltybridge migrate`") when the schema is
// behind.
func (g *globals) openMigrated(ctx context.Context) (*app, error) {
	a, err := g.open(ctx)
	if err != nil {
		return nil, err
	}
	if err := a.wh.CheckSchema(ctx); err != nil {
		a.close()
		return nil, err
	}
	return a, nil
}

func (a *app) close() {
	_ = a.wh.Close()
	_ = a.rdb.Close()
}

func redisOptions(r config.Redis) (*redis.Options, error) {
	if r.URL != "" {
		o, err := redis.ParseURL(r.URL)
		if err != nil {
			return nil, errors.New("config: redis.url: not a valid redis URL")
		}
		return o, nil
	}
	return &redis.Options{Addr: r.Addr, Password: r.Password.Reveal(), DB: r.DB}, nil
}

func openWarehouse(ctx context.Context, cfg *config.Config) (*warehouse.Warehouse, error) {
	return warehouse.Open(ctx, cfg.ClickHouse)
}
