package main

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/jobs"
)

func newSchedulerCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "scheduler",
		Short: "Start each source's scheduled incremental syncs; any number may run at once",
		Long: `Starts an incremental sync of every source with a schedule (5-field cron) at each slot.
Several schedulers may run at once: each slot is claimed in Redis and started once. A slot missed
while every scheduler was down runs once at start unless scheduler.catch_up is false. A sync still
running when its next slot comes is resumed, not started twice. Backfills are never scheduled.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			a, err := g.open(ctx)
			if err != nil {
				return err
			}
			defer a.close()
			m, stopOps, err := a.startOps(ctx, a.cfg.Scheduler.MetricsAddr)
			if err != nil {
				return err
			}
			defer stopOps()
			s, err := jobs.NewScheduler(a.cfg, a.rdb, a.engine, a.log, jobs.SchedulerOptions{
				CatchUp: a.cfg.Scheduler.CatchUpEnabled(),
				OnFire:  func(f jobs.Fire) { m.SlotFired(f.Source, f.Late) },
				OnSkip:  func(source string, _ time.Time) { m.SlotSkipped(source) },
				// a running backfill is left alone, not superseded
				Backfilling: a.engine.Backfilling,
			})
			if err != nil {
				return err
			}
			a.log.Info("scheduler started", "sources", s.Sources(), "catch_up", a.cfg.Scheduler.CatchUpEnabled())
			return s.Run(ctx)
		},
	}
}
