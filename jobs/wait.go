package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// A running run may have no live task for a moment: between the write of
// its state and the enqueue of its task, which may wait for a slow
// ClickHouse insert. Wait gives up on it only after missingStrikes polls
// in a row over at least missingGrace.
const (
	missingStrikes = 3
	missingGrace   = 10 * time.Second
)

// StuckRunError is returned by Wait for a run that cannot end by itself:
// it is running with no live task, or waiting for a members run that is
// gone.
type StuckRunError struct {
	Source, Stream, RunID string
	Reason                string
}

func (e *StuckRunError) Error() string {
	return fmt.Sprintf("%s/%s: run %s is stuck: %s; run `loyaltybridge sync %s` again to resume or restart it",
		e.Source, e.Stream, e.RunID, e.Reason, e.Source)
}

// Wait polls the runs of refs every interval, calling progress with their
// latest rows, until every run has finished (succeeded or failed) or ctx
// ends. It returns the final rows, with Rejected filled from the runs'
// state. A run that cannot end (see StuckRunError) makes it return an
// error instead of waiting forever.
func (e *Engine) Wait(ctx context.Context, refs []RunRef, interval time.Duration, progress func([]warehouse.Run)) ([]warehouse.Run, error) {
	bySource := map[string][]string{}
	for _, r := range refs {
		bySource[r.Source] = append(bySource[r.Source], r.RunID)
	}
	strikes := map[string]int{}
	since := map[string]time.Time{}
	rejected := map[string]uint64{}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var all []warehouse.Run
		for src, ids := range bySource {
			runs, err := e.wh.RunsByID(ctx, src, ids)
			if err != nil {
				return nil, err
			}
			all = append(all, runs...)
		}
		done := len(all) == len(refs)
		for i := range all {
			r := &all[i]
			if r.Status == warehouse.RunSucceeded || r.Status == warehouse.RunFailed {
				r.Rejected = rejected[r.RunID]
				continue
			}
			done = false
			stuck, definite, n, err := e.stuck(ctx, *r)
			if err != nil {
				return all, err
			}
			rejected[r.RunID] = n
			r.Rejected = n
			if stuck == "" {
				strikes[r.RunID] = 0
				continue
			}
			if strikes[r.RunID] == 0 {
				since[r.RunID] = time.Now()
			}
			if strikes[r.RunID]++; definite || strikes[r.RunID] >= missingStrikes && time.Since(since[r.RunID]) >= missingGrace {
				return all, &StuckRunError{Source: r.Source, Stream: r.Stream, RunID: r.RunID, Reason: stuck}
			}
		}
		if progress != nil {
			progress(all)
		}
		if done {
			for i := range all {
				r := &all[i]
				n, err := e.wh.RejectedSince(ctx, r.Source, r.Stream, r.StartedAt)
				if err != nil {
					return all, err
				}
				r.Rejected = max(r.Rejected, n)
			}
			return all, nil
		}
		select {
		case <-ctx.Done():
			return all, ctx.Err()
		case <-t.C:
		}
	}
}

// stuck returns why an unfinished run row cannot end by itself ("" when
// it can), whether that is definite (an archived task) rather than
// possibly a passing moment, and the run's rejected count.
func (e *Engine) stuck(ctx context.Context, row warehouse.Run) (reason string, definite bool, rejected uint64, err error) {
	r, found, err := e.loadRun(ctx, row.Source, row.Stream)
	if err != nil {
		return "", false, 0, err
	}
	if !found || r.id != row.RunID {
		// finished between the two reads, or replaced
		again, err := e.wh.RunsByID(ctx, row.Source, []string{row.RunID})
		if err != nil {
			return "", false, 0, err
		}
		if len(again) == 1 && (again[0].Status == warehouse.RunSucceeded || again[0].Status == warehouse.RunFailed) {
			return "", false, 0, nil
		}
		return "it is no longer the run in progress of its stream", false, 0, nil
	}
	switch r.st.Status {
	case warehouse.RunWaiting:
		m, ok, err := e.loadRun(ctx, row.Source, e.membersStreamOf(row.Source))
		if err != nil {
			return "", false, r.st.Rejected, err
		}
		if !ok || m.id != r.st.WaitFor || !m.st.Live() {
			return "it waits for members run " + r.st.WaitFor + ", which is no longer in progress", false, r.st.Rejected, nil
		}
		return "", false, r.st.Rejected, nil
	case warehouse.RunRunning:
		lv, err := e.checkTask(ctx, r)
		if err != nil {
			return "", false, r.st.Rejected, err
		}
		if lv.health == taskLive || lv.health == failurePending {
			return "", false, r.st.Rejected, nil
		}
		return lv.reason, lv.health == taskArchived, r.st.Rejected, nil
	}
	return "", false, r.st.Rejected, nil // failed: its row follows
}
