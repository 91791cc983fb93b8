package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

// maxPushLine bounds one JSON line of `push`.
const maxPushLine = 1 << 20

func newPushCmd(g *globals) *cobra.Command {
	var source, file string
	cmd := &cobra.Command{
		Use:   "push KIND --source SOURCE [--file F]",
		Short: "Enqueue outbound writes from JSON Lines (stdin without --file)",
		Long: "Validate and store outbound writes of KIND for SOURCE, one per JSON line (the vendor's own request\n" +
			"body, optionally with \"idempotencyKey\"), and enqueue them for a running worker.\n" +
			"Prints one write id per accepted line (stdout) and one error per rejected line (stderr: line, field,\n" +
			"cause); nothing is stored for a rejected line, and the exit status is 1 when any line was rejected.\n" +
			"KIND: " + strings.Join(dmhub.WriteKinds, ", ") + ". See docs/outbound.md.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" {
				return &exitError{code: 2, err: errors.New("push: --source is required")}
			}
			in := cmd.InOrStdin()
			if file != "" {
				f, err := os.Open(file)
				if err != nil {
					return &exitError{code: 2, err: fmt.Errorf("push: %w", err)}
				}
				defer f.Close()
				in = f
			}
			lines, bad, err := readLines(in)
			if err != nil {
				return &exitError{code: 2, err: fmt.Errorf("push: %w", err)}
			}
			a, err := g.openMigrated(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			ob := a.engine.NewOutbound(a.rdb)
			defer ob.Store.Close()
			res, err := ob.Accept(cmd.Context(), source, args[0], lines)
			var re *outbound.RequestError
			if errors.As(err, &re) {
				return &exitError{code: 2, err: fmt.Errorf("push: %s", re.Msg)}
			}
			if err != nil {
				return fmt.Errorf("push: nothing was acknowledged: %w", err)
			}
			res = append(res, bad...)
			return printResults(cmd.OutOrStdout(), cmd.ErrOrStderr(), res)
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the configured source to write to (required)")
	cmd.Flags().StringVar(&file, "file", "", "JSON Lines file (default: stdin)")
	cmd.AddCommand(newPushListCmd(g), newPushReplayCmd(g))
	return cmd
}

// readLines reads JSON Lines, skipping blank lines; a line longer than
// maxPushLine is rejected by number.
func readLines(r io.Reader) ([]outbound.Line, []outbound.Result, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	var lines []outbound.Line
	var bad []outbound.Result
	for n := 1; ; n++ {
		var buf []byte
		long := false
		for {
			chunk, isPrefix, err := br.ReadLine()
			if err == io.EOF {
				if len(buf) > 0 || long {
					break
				}
				return lines, bad, nil
			}
			if err != nil {
				return nil, nil, err
			}
			if !long {
				buf = append(buf, chunk...)
				if len(buf) > maxPushLine {
					long, buf = true, nil
				}
			}
			if !isPrefix {
				break
			}
		}
		switch {
		case long:
			bad = append(bad, outbound.Result{Line: n, Error: fmt.Sprintf("longer than %d bytes", maxPushLine)})
		case len(strings.TrimSpace(string(buf))) > 0:
			lines = append(lines, outbound.Line{N: n, Body: buf})
		}
	}
}

// printResults prints ids on out and errors on errw, in line order; it
// returns an exit error when any line was rejected.
func printResults(out, errw io.Writer, res []outbound.Result) error {
	rejected := 0
	for _, r := range res {
		switch {
		case r.ID != "" && r.Duplicate:
			fmt.Fprintf(out, "%s\n", r.ID)
			fmt.Fprintf(errw, "line %d: duplicate of write %s (same idempotency key): not stored again\n", r.Line, r.ID)
		case r.ID != "":
			fmt.Fprintf(out, "%s\n", r.ID)
		case r.Field != "":
			rejected++
			fmt.Fprintf(errw, "line %d: %s: %s\n", r.Line, r.Field, r.Error)
		default:
			rejected++
			fmt.Fprintf(errw, "line %d: %s\n", r.Line, r.Error)
		}
	}
	if rejected > 0 {
		return &exitError{code: 1, err: fmt.Errorf("push: %d of %d lines rejected (nothing stored for them)", rejected, len(res))}
	}
	return nil
}

func newPushListCmd(g *globals) *cobra.Command {
	var (
		state  string
		limit  int
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "list [--state pending|succeeded|failed|dead]",
		Short: "List outbound writes, oldest first",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch state {
			case "", outbound.StatePending, outbound.StateSucceeded, outbound.StateFailed, outbound.StateDead:
			default:
				return &exitError{code: 2, err: fmt.Errorf("push list: --state %q: want pending, succeeded, failed or dead", state)}
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			st := outbound.NewStore(a.wh)
			defer st.Close()
			evs, err := st.List(cmd.Context(), state, limit)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if asJSON {
				views := make([]outbound.WriteView, len(evs))
				for i, e := range evs {
					views[i] = outbound.View(e)
				}
				return json.NewEncoder(out).Encode(views)
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSOURCE\tKIND\tORDER\tSTATE\tATTEMPTS\tUPDATED\tLAST ERROR")
			for _, e := range evs {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", e.WriteID, e.Source, e.Kind, e.OrderNo, e.State, e.Attempts,
					e.UpdatedAt.Format(time.RFC3339), oneLine(e.LastError, 120))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&state, "state", "", "only writes in this state")
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most this many writes")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func newPushReplayCmd(g *globals) *cobra.Command {
	var allDead bool
	cmd := &cobra.Command{
		Use:   "replay ID... | --all-dead",
		Short: "Re-deliver dead outbound writes (same id and idempotency key)",
		RunE: func(cmd *cobra.Command, args []string) error {
			if allDead == (len(args) > 0) {
				return &exitError{code: 2, err: errors.New("push replay: give write ids or --all-dead (not both)")}
			}
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			ob := a.engine.NewOutbound(a.rdb)
			defer ob.Store.Close()
			var ids []string
			if allDead {
				ids, err = ob.ReplayAllDead(cmd.Context())
			} else {
				ids, err = ob.Replay(cmd.Context(), args)
			}
			for _, id := range ids {
				fmt.Fprintln(cmd.OutOrStdout(), id)
			}
			if err != nil {
				return fmt.Errorf("push replay: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "replayed %d writes\n", len(ids))
			return nil
		},
	}
	cmd.Flags().BoolVar(&allDead, "all-dead", false, "replay every dead write")
	return cmd
}
