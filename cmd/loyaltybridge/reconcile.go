package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/jobs"
)

// Exit codes of reconcile: 1 when a check failed (the vendor or the
// warehouse could not answer), 3 when the drift is beyond --max-drift.
const exitDrift = 3

func newReconcileCmd(g *globals) *cobra.Command {
	var (
		streams  []string
		sample   int
		asJSON   bool
		maxDrift int
	)
	cmd := &cobra.Command{
		Use:   "reconcile SOURCE",
		Short: "Compare the warehouse with the vendor's own totals; write reconcile_runs; non-zero exit on drift",
		Long: "Compare SOURCE's warehouse rows with what the vendor can tell (docs/analytics.md, \"Reconciliation\"):\n" +
			"DM Hub: the needTotal record counts of the members and coupons lists and, per member, of its points,\n" +
			"experience and coupon lists, the member's point against the warehouse's members row and against the\n" +
			"sum of its points ledger. Houcaller, zvcms: each member key is read again in full and its records\n" +
			"are counted against the warehouse (Houcaller's coupon list is read whole). --sample N checks N random\n" +
			"members instead of every one.\n" +
			"Nothing is loaded; one reconcile_runs row per stream records the outcome.\n" +
			"Exit status: 0 when the drifted checks are at most --max-drift, 3 beyond it, 1 when a check failed.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if sample < 0 || maxDrift < 0 {
				return &exitError{code: 2, err: fmt.Errorf("reconcile: --sample and --max-drift must be 0 or more")}
			}
			a, err := g.openMigrated(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			rep, err := a.engine.Reconcile(cmd.Context(), args[0], jobs.ReconcileOptions{Streams: streams, Sample: sample})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printReconcile(out, rep)
			}
			switch {
			case rep.Failed():
				return &exitError{code: 1, err: fmt.Errorf("reconcile %s: a check failed (run %s)", rep.Source, rep.RunID)}
			case rep.Drifted() > maxDrift:
				return &exitError{code: exitDrift, err: fmt.Errorf("reconcile %s: %d drifted checks, more than --max-drift %d (run %s)",
					rep.Source, rep.Drifted(), maxDrift, rep.RunID)}
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&streams, "stream", nil, "stream to check (repeatable; default: all enabled streams)")
	cmd.Flags().IntVar(&sample, "sample", 0, "check this many random members per per-member stream (0: every member)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.Flags().IntVar(&maxDrift, "max-drift", 0, "drifted checks tolerated before exiting with status 3")
	return cmd
}

// printReconcile prints one line per stream, then each drift with both
// numbers.
func printReconcile(out io.Writer, rep jobs.ReconcileReport) {
	fmt.Fprintf(out, "reconcile %s run %s (sample %d)\n", rep.Source, rep.RunID, rep.Sample)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tCHECKED\tDRIFTED\tNOTE")
	for _, s := range rep.Streams {
		note := s.Skipped
		if s.Error != "" {
			note = "FAILED: " + s.Error
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\n", s.Stream, s.Checked, s.Drifted, note)
	}
	_ = tw.Flush()
	var n int
	for _, s := range rep.Streams {
		n += len(s.Drift)
	}
	if n == 0 {
		return
	}
	fmt.Fprintln(out)
	tw = tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STREAM\tKEY\tCHECK\tWAREHOUSE\tVENDOR")
	for _, s := range rep.Streams {
		for _, d := range s.Drift {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\n", s.Stream, d.Key, d.Check, d.Warehouse, d.Vendor)
		}
	}
	_ = tw.Flush()
}
