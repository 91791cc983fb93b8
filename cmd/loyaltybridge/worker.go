package main

import (
	"github.com/spf13/cobra"
)

func newWorkerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the queue worker until SIGTERM/SIGINT, then drain gracefully",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			if _, err := a.wh.Migrate(cmd.Context()); err != nil {
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
