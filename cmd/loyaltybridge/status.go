package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
	"github.com/robfig/cron/v3"
	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// streamStatus is one line of `status`.
type streamStatus struct {
	Source     string         `json:"source"`
	Stream     string         `json:"stream"`
	Cursor     string         `json:"cursor,omitempty"`
	LagSeconds *int64         `json:"lag_seconds,omitempty"`
	LastRun    *warehouse.Run `json:"last_run,omitempty"`
	InProgress string         `json:"in_progress_run,omitempty"`
	Errors24h  uint64         `json:"errors_24h"`
	// Rejected counts the stream's records in rejected_records.
	Rejected uint64 `json:"rejected"`
}

type queueStatus struct {
	Queue     string `json:"queue"`
	Pending   int    `json:"pending"`
	Active    int    `json:"active"`
	Scheduled int    `json:"scheduled"`
	Retry     int    `json:"retry"`
	Archived  int    `json:"archived"`
	// Stuck counts active tasks past their deadline or orphaned.
	Stuck int `json:"stuck"`
}

type scheduleStatus struct {
	Source   string    `json:"source"`
	Schedule string    `json:"schedule"`
	Next     time.Time `json:"next"`
}

type statusReport struct {
	Streams   []streamStatus   `json:"streams"`
	Queues    []queueStatus    `json:"queues"`
	Schedules []scheduleStatus `json:"schedules"`
	Outbound  []outboundStatus `json:"outbound"`
	Webhooks  []webhookStatus  `json:"webhooks,omitempty"` // webhooks.go
}

// outboundStatus counts a source's outbound writes in one state.
type outboundStatus struct {
	Source string `json:"source"`
	State  string `json:"state"`
	Writes uint64 `json:"writes"`
}

func newStatusCmd(g *globals) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each stream's cursor, last run, rows, lag and errors; queue depths; next scheduled runs",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.openMigrated(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			rep, err := buildStatus(cmd.Context(), a, time.Now())
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				return enc.Encode(rep)
			}
			printStatus(cmd.OutOrStdout(), rep)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func buildStatus(ctx context.Context, a *app, now time.Time) (*statusReport, error) {
	cps, err := a.wh.Checkpoints(ctx)
	if err != nil {
		return nil, err
	}
	runs, err := a.wh.LastRuns(ctx)
	if err != nil {
		return nil, err
	}
	errs, err := a.wh.RunErrors(ctx, now.Add(-24*time.Hour))
	if err != nil {
		return nil, err
	}
	rejected, err := a.wh.RejectedCounts(ctx)
	if err != nil {
		return nil, err
	}
	type key struct{ source, stream string }
	cursor, inProgress := map[key]warehouse.Checkpoint{}, map[key]string{}
	for _, cp := range cps {
		k := key{cp.Source, cp.Stream}
		switch cp.Partition {
		case warehouse.Committed:
			cursor[k] = cp
		case warehouse.InProgress:
			if st, err := jobs.DecodeRunState(cp.Cursor); err == nil && st.Status == warehouse.RunRunning {
				inProgress[k] = cp.RunID + " (" + cp.Mode + ")"
			}
		}
	}
	last := map[key]*warehouse.Run{}
	for i := range runs {
		last[key{runs[i].Source, runs[i].Stream}] = &runs[i]
	}
	rep := &statusReport{}
	for _, src := range a.cfg.Sources {
		for _, st := range src.EnabledStreams() {
			k := key{src.Name, st}
			s := streamStatus{Source: src.Name, Stream: st, LastRun: last[k], InProgress: inProgress[k], Errors24h: errs[[2]string{src.Name, st}],
				Rejected: rejected[[2]string{src.Name, st}]}
			if cp, ok := cursor[k]; ok {
				s.Cursor = cp.Cursor
				var c struct {
					LastUpdated time.Time `json:"last_updated"`
				}
				if json.Unmarshal([]byte(cp.Cursor), &c) == nil && !c.LastUpdated.IsZero() {
					lag := int64(now.Sub(c.LastUpdated).Seconds())
					s.LagSeconds = &lag
				}
			}
			rep.Streams = append(rep.Streams, s)
		}
		if src.Schedule != "" {
			if sch, err := cron.ParseStandard(src.Schedule); err == nil {
				rep.Schedules = append(rep.Schedules, scheduleStatus{Source: src.Name, Schedule: src.Schedule, Next: sch.Next(now)})
			}
		}
	}
	insp := asynq.NewInspectorFromRedisClient(a.rdb)
	queues, err := insp.Queues()
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	for _, q := range jobs.QueueNames(a.cfg.Redis.Namespace) {
		if !slices.Contains(queues, q) { // no task was ever enqueued
			rep.Queues = append(rep.Queues, queueStatus{Queue: q})
			continue
		}
		qi, err := insp.GetQueueInfo(q)
		if err != nil {
			return nil, fmt.Errorf("queue %s: %w", q, err)
		}
		stuck, err := ops.StuckTasks(insp, q, qi.Active, now)
		if err != nil {
			return nil, err
		}
		rep.Queues = append(rep.Queues, queueStatus{Queue: q, Pending: qi.Pending, Active: qi.Active, Scheduled: qi.Scheduled, Retry: qi.Retry,
			Archived: qi.Archived, Stuck: stuck})
	}
	ob, err := a.wh.OutboundStates(ctx)
	if err != nil {
		return nil, err
	}
	for _, c := range ob {
		rep.Outbound = append(rep.Outbound, outboundStatus{Source: c.Source, State: c.State, Writes: c.Writes})
	}
	if rep.Webhooks, err = buildWebhookStatus(ctx, a, now); err != nil {
		return nil, err
	}
	return rep, nil
}

func printStatus(w io.Writer, rep *statusReport) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tSTREAM\tCURSOR\tLAG\tLAST RUN\tROWS\tREJECTED\tERRORS 24H")
	for _, s := range rep.Streams {
		cur, lag, run, rows := "-", "-", "never", "-"
		if s.Cursor != "" {
			cur = s.Cursor
		}
		if s.LagSeconds != nil {
			lag = (time.Duration(*s.LagSeconds) * time.Second).String()
		}
		if r := s.LastRun; r != nil {
			run = fmt.Sprintf("%s %s %s", r.Status, r.Mode, r.StartedAt.UTC().Format("2006-01-02 15:04:05Z"))
			if r.FinishedAt != nil {
				run += fmt.Sprintf(" (%s)", r.FinishedAt.Sub(r.StartedAt).Round(time.Second))
			}
			rows = fmt.Sprint(r.Rows)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\n", s.Source, s.Stream, cur, lag, run, rows, s.Rejected, s.Errors24h)
	}
	_ = tw.Flush()
	for _, s := range rep.Streams {
		if s.InProgress != "" {
			fmt.Fprintf(w, "in progress: %s/%s run %s\n", s.Source, s.Stream, s.InProgress)
		}
		if r := s.LastRun; r != nil && r.Error != "" {
			fmt.Fprintf(w, "last error: %s/%s: %s\n", s.Source, s.Stream, r.Error)
		}
	}
	for _, q := range rep.Queues {
		fmt.Fprintf(w, "queue %s: pending %d, active %d (stuck %d), scheduled %d, retry %d, archived (dead) %d\n",
			q.Queue, q.Pending, q.Active, q.Stuck, q.Scheduled, q.Retry, q.Archived)
	}
	for _, o := range rep.Outbound {
		fmt.Fprintf(w, "outbound %s: %s %d\n", o.Source, o.State, o.Writes)
	}
	printWebhookStatus(w, rep.Webhooks)
	for _, s := range rep.Schedules {
		fmt.Fprintf(w, "schedule %s: %q, next run %s\n", s.Source, s.Schedule, s.Next.UTC().Format(time.RFC3339))
	}
}
