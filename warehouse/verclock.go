package warehouse

import (
	"context"
	"sync"
	"time"
)

// Versions of entity rows (the ver column of the ReplacingMergeTree
// tables) are load times in nanoseconds: the newest load of a record must
// win after FINAL, whichever worker process made it. A worker whose clock
// is ahead would make its loads win over later loads by the others for as
// long as it is ahead (the reliability suite's worker 10 minutes ahead
// lost every update an incremental sync of the others loaded). So versions
// come from the process's clock corrected by its offset to the ClickHouse
// server's clock, measured at most once per verClockEvery. An offset under
// verClockSlack is taken as zero: the server's now() has whole seconds, and
// well-kept clocks (NTP) agree far better than that already. The price of
// whole seconds: a corrected version is within about half a second of the
// server's time, so two loads of one record by different processes less
// than a second apart may win either way (as with any clock-based
// version); minutes of skew no longer matter.
const (
	verClockEvery = time.Minute
	verClockSlack = 2 * time.Second
)

// verClock is the offset of this process's clock to the server's.
type verClock struct {
	mu       sync.Mutex
	offset   time.Duration
	measured time.Time // local time of the last measurement; zero: never
}

// verNow returns the time versions are taken from: w.now() plus the
// measured offset to the server's clock. When the server cannot be asked,
// the last offset (or none) is used: the load that follows fails anyway.
func (w *Warehouse) verNow(ctx context.Context) time.Time {
	now := w.now()
	c := &w.vc
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.measured.IsZero() || now.Sub(c.measured) >= verClockEvery || now.Before(c.measured) {
		var server time.Time
		if err := w.conn.QueryRow(ctx, "SELECT now()").Scan(&server); err == nil {
			after := w.now()
			mid := now.Add(after.Sub(now) / 2)
			// whole seconds: the server's time lies in [server, server+1s)
			off := server.Add(500 * time.Millisecond).Sub(mid)
			if off > -verClockSlack && off < verClockSlack {
				off = 0
			}
			c.offset, c.measured = off, now
		}
	}
	return now.Add(c.offset)
}
