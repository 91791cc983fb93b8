package jobs

import (
	"context"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Wait polls the runs of refs every interval, calling progress with their
// latest rows, until every run has finished (succeeded or failed) or ctx
// ends. It returns the final rows.
func (e *Engine) Wait(ctx context.Context, refs []RunRef, interval time.Duration, progress func([]warehouse.Run)) ([]warehouse.Run, error) {
	bySource := map[string][]string{}
	for _, r := range refs {
		bySource[r.Source] = append(bySource[r.Source], r.RunID)
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		var all []warehouse.Run
		for src, ids := range bySource {
			runs, err := e.WH.RunsByID(ctx, src, ids)
			if err != nil {
				return nil, err
			}
			all = append(all, runs...)
		}
		if progress != nil {
			progress(all)
		}
		done := len(all) == len(refs)
		for _, r := range all {
			if r.Status != warehouse.RunSucceeded && r.Status != warehouse.RunFailed {
				done = false
			}
		}
		if done {
			return all, nil
		}
		select {
		case <-ctx.Done():
			return all, ctx.Err()
		case <-t.C:
		}
	}
}
