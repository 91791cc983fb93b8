package main

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

func newWorkerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the queue worker until SIGTERM/SIGINT, then drain gracefully",
		Long: "Run the queue worker. At start it applies missing schema migrations, one worker at a time\n" +
			"(behind a Redis lock), and resumes the runs in progress.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			if err := migrateLocked(cmd.Context(), a); err != nil {
				return err
			}
			_, stopOps, err := a.startOps(cmd.Context(), a.cfg.Worker.MetricsAddr) // ops.go
			if err != nil {
				return err
			}
			defer stopOps()
			a.log.Info("worker started", "queues", a.engine.ServerConfig().Queues, "concurrency", a.cfg.Worker.Concurrency,
				"sources", len(a.cfg.Sources))
			return a.engine.RunWorker(cmd.Context(), a.rdb)
		},
	}
}

// migrateLocked applies missing migrations at worker start, behind a
// Redis lock so that replicas starting together do not race on DDL.
func migrateLocked(ctx context.Context, a *app) error {
	var nm *warehouse.NotMigratedError
	err := a.wh.CheckSchema(ctx)
	if err == nil || !errors.As(err, &nm) {
		return err
	}
	key := a.cfg.Redis.Namespace + ":lock:migrate"
	deadline := time.Now().Add(5 * time.Minute)
	for {
		ok, err := a.rdb.SetNX(ctx, key, "worker", 5*time.Minute).Result()
		if err != nil {
			return fmt.Errorf("migrate lock: %w", err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("migrate lock %s still held after 5m: %w", key, nm)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	defer func() {
		if err := a.rdb.Del(context.WithoutCancel(ctx), key).Err(); err != nil && !errors.Is(err, redis.Nil) {
			a.log.Warn("release the migrate lock", "err", err)
		}
	}()
	applied, err := a.wh.Migrate(ctx)
	if len(applied) > 0 {
		a.log.Info("applied migrations", "database", a.wh.Database(), "versions", applied)
	}
	return err
}
