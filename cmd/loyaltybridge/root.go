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
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/houcaller"
	"github.com/loyaltybridge/loyaltybridge/connectors/zvcms"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

type globals struct {
	configPath string
	logLevel   string
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
	root.AddCommand(newMigrateCmd(g), newWorkerCmd(g), newSyncCmd(g), newStatusCmd(g), newVendorsimCmd(g), newDemoCmd(g),
		newPushCmd(g), newServeCmd(g))
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
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: lvl}))
}

// app is what the commands share: config, connections and the engine.
type app struct {
	cfg    *config.Config
	log    *slog.Logger
	wh     *warehouse.Warehouse
	rdb    redis.UniversalClient
	engine *jobs.Engine
}

func (g *globals) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(g.configPath)
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
	ropt, err := redisOptions(cfg.Redis)
	if err != nil {
		return nil, err
	}
	rdb := redis.NewClient(ropt)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := rdb.Ping(pctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, errors.New("redis " + ropt.Addr + ": " + err.Error())
	}
	wh, err := warehouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		_ = rdb.Close()
		return nil, err
	}
	reg, err := newRegistry()
	if err != nil {
		return nil, err
	}
	e := jobs.NewEngine(cfg, wh, rdb, reg, log)
	a := &app{cfg: cfg, log: log, wh: wh, rdb: rdb, engine: e}
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

// newRegistry registers every connector kind explicitly.
func newRegistry() (*connectors.Registry, error) {
	reg := connectors.NewRegistry()
	for kind, f := range map[config.Kind]connectors.Factory{
		config.DMHub:     dmhub.Factory,
		config.Houcaller: houcaller.Factory,
		config.Zvcms:     zvcms.Factory,
	} {
		if err := reg.Register(kind, f); err != nil {
			return nil, err
		}
	}
	return reg, nil
}
