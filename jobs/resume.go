package jobs

import (
	"context"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Resume checks every run in progress according to ClickHouse at worker
// start: a run whose task was lost (a Redis flush) gets it back and
// continues; a run whose task was archived without its failure being
// recorded is failed, with the task's last error. It returns how many
// runs it re-enqueued or failed.
func (e *Engine) Resume(ctx context.Context) (int, error) {
	cps, err := e.wh.Checkpoints(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cp := range cps {
		if cp.Partition != warehouse.InProgress {
			continue
		}
		if _, err := e.cfg.Source(cp.Source); err != nil {
			continue // source no longer configured
		}
		st, err := DecodeRunState(cp.Cursor)
		if err != nil || st.Status != warehouse.RunRunning {
			continue
		}
		fixed, err := e.resumeOne(ctx, cp.Source, cp.Stream)
		if err != nil {
			return n, err
		}
		if fixed {
			n++
		}
	}
	return n, nil
}

func (e *Engine) resumeOne(ctx context.Context, source, stream string) (bool, error) {
	unlock, err := e.lockStream(ctx, source, stream)
	if err != nil {
		return false, err
	}
	defer unlock()
	r, found, err := e.loadRun(ctx, source, stream)
	if err != nil || !found || !isRunning(r) {
		return false, err
	}
	lv, err := e.repair(ctx, &r)
	return lv.health != taskLive, err
}
