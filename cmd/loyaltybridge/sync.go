package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

func newSyncCmd(g *globals) *cobra.Command {
	var (
		streams []string
		full    bool
		wait    bool
	)
	cmd := &cobra.Command{
		Use:   "sync SOURCE",
		Short: "Enqueue a sync of a source (incremental; --full re-reads everything)",
		Long: "Enqueue a sync of SOURCE's streams (all enabled streams unless --stream is given).\n" +
			"A run of the same mode still in progress is resumed from its ClickHouse checkpoint; concurrent\n" +
			"syncs of a stream (other sync commands, the scheduler) share its one run. A run whose task was\n" +
			"archived is marked failed and continued in a new run.\n" +
			"With --wait, show progress and exit non-zero if any stream's run failed or is stuck (no task).\n" +
			"A running `loyaltybridge worker` does the work.\n\n" + connectors.StreamHelp(builtin.Kinds()),
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := g.openMigrated(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			mode := connectors.Incremental
			if full {
				mode = connectors.Full
			}
			refs, err := a.engine.StartSync(cmd.Context(), args[0], streams, mode)
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			out := cmd.OutOrStdout()
			for _, r := range refs {
				verb := "started"
				if r.Resumed {
					verb = "resumed"
				}
				fmt.Fprintf(out, "%s/%s: %s %s run %s\n", r.Source, r.Stream, verb, r.Mode, r.RunID)
			}
			if !wait {
				return nil
			}
			return waitRuns(cmd.Context(), a.engine, refs, cmd.ErrOrStderr(), out)
		},
	}
	cmd.Flags().StringArrayVar(&streams, "stream", nil, "stream to sync (repeatable; default: all enabled streams)")
	cmd.Flags().BoolVar(&full, "full", false, "re-read everything (backfill); the incremental cursor moves only when it completes")
	cmd.Flags().BoolVar(&wait, "wait", false, "show progress until the runs finish; exit non-zero if one failed")
	return cmd
}

// waitRuns shows progress until the runs end and reports failures.
func waitRuns(ctx context.Context, e *jobs.Engine, refs []jobs.RunRef, progressOut, out io.Writer) error {
	p := newProgress(progressOut)
	runs, err := e.Wait(ctx, refs, 500*time.Millisecond, p.update)
	p.finish()
	if err != nil {
		return err
	}
	var failed []string
	for _, r := range runs {
		elapsed := time.Duration(0)
		if r.FinishedAt != nil {
			elapsed = r.FinishedAt.Sub(r.StartedAt)
		}
		line := fmt.Sprintf("%s/%s: %s in %s: %d pages, %d rows, %d requests", r.Source, r.Stream, r.Status,
			elapsed.Round(time.Second), r.Pages, r.Rows, r.Requests)
		if r.Rejected > 0 {
			line += fmt.Sprintf(", %d rejected records (see rejected_records)", r.Rejected)
		}
		fmt.Fprintln(out, line)
		if r.Status != warehouse.RunSucceeded {
			failed = append(failed, fmt.Sprintf("%s/%s: %s", r.Source, r.Stream, r.Error))
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("sync failed:\n  %s", strings.Join(failed, "\n  "))
	}
	return nil
}

// progress renders run progress: a live bar on a terminal, a line every
// few seconds otherwise (CI logs).
type progress struct {
	w       io.Writer
	tty     bool
	bar     *progressbar.ProgressBar
	max     int64
	start   time.Time
	lastLog time.Time
}

func newProgress(w io.Writer) *progress {
	p := &progress{w: w, start: time.Now()}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	return p
}

func (p *progress) update(runs []warehouse.Run) {
	var items, total, rows, pages uint64
	var parts []string
	for _, r := range runs {
		items += r.Items
		total += r.Total
		rows += r.Rows
		pages += r.Pages
		s := fmt.Sprintf("%s %d rows", r.Stream, r.Rows)
		if r.Status != warehouse.RunRunning {
			s += " " + r.Status
		} else if r.Error != "" {
			s += " (retrying)"
		}
		parts = append(parts, s)
	}
	desc := strings.Join(parts, ", ")
	elapsed := time.Since(p.start)
	if p.tty {
		max := int64(-1)
		if total > 0 {
			max = int64(total)
		}
		if p.bar == nil || max != p.max {
			if p.bar != nil {
				_ = p.bar.Finish()
			}
			p.max = max
			p.bar = progressbar.NewOptions64(max, progressbar.OptionSetWriter(p.w), progressbar.OptionShowCount(),
				progressbar.OptionSetItsString("items"), progressbar.OptionShowIts(), progressbar.OptionSetPredictTime(true),
				progressbar.OptionThrottle(200*time.Millisecond), progressbar.OptionSetWidth(24), progressbar.OptionFullWidth())
		}
		p.bar.Describe(desc)
		_ = p.bar.Set64(int64(items))
		return
	}
	if time.Since(p.lastLog) < 3*time.Second {
		return
	}
	p.lastLog = time.Now()
	rate := float64(rows) / max(elapsed.Seconds(), 0.001)
	line := fmt.Sprintf("progress: %s | %d pages | %.0f rows/s | %s elapsed", desc, pages, rate, elapsed.Round(time.Second))
	if total > 0 && items > 0 && items < total {
		eta := time.Duration(float64(elapsed) * float64(total-items) / float64(items))
		line += fmt.Sprintf(" | %d/%d items (%.0f%%), ETA %s", items, total, 100*float64(items)/float64(total), eta.Round(time.Second))
	}
	fmt.Fprintln(p.w, line)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		fmt.Fprintln(p.w)
	}
}
