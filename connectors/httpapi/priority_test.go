package httpapi_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// drive runs n goroutines taking tokens for d and returns how many each
// mode got.
func drive(t *testing.T, l httpapi.Limiter, d time.Duration, workers map[connectors.Mode]int) map[connectors.Mode]int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	counts := map[connectors.Mode]*atomic.Int64{}
	var wg sync.WaitGroup
	for mode, n := range workers {
		c := &atomic.Int64{}
		counts[mode] = c
		mctx := connectors.WithMode(ctx, mode)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for l.Wait(mctx) == nil {
					c.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	out := map[connectors.Mode]int64{}
	for m, c := range counts {
		out[m] = c.Load()
	}
	return out
}

// A backfill (four busy tasks) never starves an incremental sync (one
// task) of the source's rate: the incremental gets at least its
// (1 - share) part, and the two together stay within the rate.
func TestPriorityLimiterBackfillShare(t *testing.T) {
	t.Parallel()
	rc, rdb := warehousetest.Redis(t)
	const rate, share = 20.0, 0.5
	const d = 3 * time.Second
	tests := []struct {
		name    string
		workers map[connectors.Mode]int
		check   func(t *testing.T, got map[connectors.Mode]int64)
	}{
		{"backfill beside incremental", map[connectors.Mode]int{connectors.Full: 4, connectors.Incremental: 1}, func(t *testing.T, got map[connectors.Mode]int64) {
			inc, full := float64(got[connectors.Incremental])/d.Seconds(), float64(got[connectors.Full])/d.Seconds()
			if inc < (1-share)*rate*0.8 {
				t.Errorf("incremental got %.1f req/s beside a backfill, want at least %.1f", inc, (1-share)*rate)
			}
			if full > share*rate*1.2 {
				t.Errorf("backfill got %.1f req/s, want at most %.1f", full, share*rate)
			}
			if inc+full > rate*1.1 {
				t.Errorf("together %.1f req/s, above the rate %.0f", inc+full, rate)
			}
		}},
		{"incremental alone uses the whole rate", map[connectors.Mode]int{connectors.Incremental: 2}, func(t *testing.T, got map[connectors.Mode]int64) {
			if inc := float64(got[connectors.Incremental]) / d.Seconds(); inc < rate*0.8 {
				t.Errorf("incremental alone got %.1f req/s, want about %.0f", inc, rate)
			}
		}},
		{"backfill alone is capped at its share", map[connectors.Mode]int{connectors.Full: 3}, func(t *testing.T, got map[connectors.Mode]int64) {
			if full := float64(got[connectors.Full]) / d.Seconds(); full > share*rate*1.2 || full < share*rate*0.8 {
				t.Errorf("backfill alone got %.1f req/s, want about %.1f", full, share*rate)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			l := httpapi.NewPriorityLimiter(rdb, rc.Namespace+":ratelimit:"+tc.name, rate, share)
			got := drive(t, l, d, tc.workers)
			t.Logf("%s: %v in %s", tc.name, got, d)
			tc.check(t, got)
		})
	}
}
