package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/goccy/go-json"
	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

// pushChunkBytes bounds the bytes of the lines push holds at a time.
const pushChunkBytes = 8 << 20

func newPushCmd(g *globals) *cobra.Command {
	var source, file string
	cmd := &cobra.Command{
		Use:   "push KIND --source SOURCE [--file F]",
		Short: "Enqueue outbound writes from JSON Lines (stdin without --file)",
		Long: "Validate and store outbound writes of KIND for SOURCE, one per JSON line (the vendor's own request\n" +
			"body, optionally with \"idempotencyKey\"), and enqueue them for a running worker.\n" +
			"Prints one write id per accepted line (stdout) and one error per rejected line (stderr: line, field,\n" +
			"cause); nothing is stored for a rejected line, and the exit status is 1 when any line was rejected.\n" +
			"Lines are read and stored " + fmt.Sprint(outbound.PushChunk) + " at a time, so any number of lines runs in bounded memory.\n" +
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
			a, err := g.openMigrated(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			ob := a.engine.NewOutbound(a.rdb)
			defer ob.Store.Close()
			lr := newLineReader(in)
			var total, rejected int
			for {
				lines, bad, rerr := lr.chunk(outbound.PushChunk, pushChunkBytes)
				// the lines read before a read error are still handled
				res, err := ob.Accept(cmd.Context(), source, args[0], lines)
				var re *outbound.RequestError
				if errors.As(err, &re) {
					return &exitError{code: 2, err: fmt.Errorf("push: %s", re.Msg)}
				}
				if err != nil {
					from := lr.n
					if len(lines) > 0 {
						from = lines[0].N
					}
					return fmt.Errorf("push: nothing from line %d on was acknowledged: %w", from, err)
				}
				res = append(res, bad...)
				slices.SortFunc(res, func(a, b outbound.Result) int { return a.Line - b.Line })
				total += len(res)
				rejected += printResults(cmd.OutOrStdout(), cmd.ErrOrStderr(), res)
				if rerr != nil {
					return &exitError{code: 2, err: fmt.Errorf("push: reading line %d: %w (the lines before it were handled as printed)", lr.n, rerr)}
				}
				if lr.eof {
					break
				}
			}
			if rejected > 0 {
				return &exitError{code: 1, err: fmt.Errorf("push: %d of %d lines rejected (nothing stored for them)", rejected, total)}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the configured source to write to (required)")
	cmd.Flags().StringVar(&file, "file", "", "JSON Lines file (default: stdin)")
	cmd.AddCommand(newPushListCmd(g), newPushReplayCmd(g))
	return cmd
}

// lineReader reads JSON Lines, numbered from 1, skipping blank lines; a
// line longer than outbound.MaxLineBytes is rejected by number without
// being held in memory.
type lineReader struct {
	br  *bufio.Reader
	n   int  // the number of the last line read
	eof bool // the input is exhausted
}

func newLineReader(r io.Reader) *lineReader { return &lineReader{br: bufio.NewReaderSize(r, 64<<10)} }

// chunk reads up to maxLines lines (accepted or rejected) and about
// maxBytes bytes of them.
func (lr *lineReader) chunk(maxLines, maxBytes int) (lines []outbound.Line, bad []outbound.Result, err error) {
	size := 0
	for !lr.eof && len(lines)+len(bad) < maxLines && size < maxBytes {
		buf, long, err := lr.line()
		if err != nil {
			return lines, bad, err
		}
		switch {
		case long > 0:
			bad = append(bad, outbound.Result{Line: lr.n,
				Error: fmt.Sprintf("line of %d bytes is longer than %d bytes", long, outbound.MaxLineBytes)})
		case len(bytes.TrimSpace(buf)) > 0:
			lines = append(lines, outbound.Line{N: lr.n, Body: buf})
			size += len(buf)
		}
	}
	return lines, bad, nil
}

// line reads the next line; long is its length when it is longer than
// outbound.MaxLineBytes (buf is then nil).
func (lr *lineReader) line() (buf []byte, long int, err error) {
	read := false
	for {
		chunk, isPrefix, err := lr.br.ReadLine()
		if err == io.EOF {
			lr.eof = true
			if read {
				break
			}
			return nil, 0, nil
		}
		if err != nil {
			return nil, 0, err
		}
		if !read {
			lr.n++
			read = true
		}
		switch {
		case long > 0:
			long += len(chunk)
		case len(buf)+len(chunk) > outbound.MaxLineBytes:
			long, buf = len(buf)+len(chunk), nil
		default:
			buf = append(buf, chunk...)
		}
		if !isPrefix {
			break
		}
	}
	return buf, long, nil
}

// printResults prints ids on out and errors on errw, in line order; it
// returns the number of rejected lines.
func printResults(out, errw io.Writer, res []outbound.Result) int {
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
	return rejected
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
