package httpapi_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestRedisLimiterIsShared: two limiters on one key (two worker
// processes) share one budget.
func TestRedisLimiterIsShared(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	key := cfg.Namespace + ":ratelimit:src"
	a := httpapi.NewRedisLimiter(rdb, key, 20)
	b := httpapi.NewRedisLimiter(rdb, key, 20)
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range []*httpapi.RedisLimiter{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 15 {
				if err := l.Wait(context.Background()); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	// 30 requests at 20/s, evenly spaced: at least 29 intervals of 50ms
	if el := time.Since(start); el < 1400*time.Millisecond {
		t.Errorf("30 requests took %s: the two limiters did not share the 20/s budget", el)
	}
}

// TestRedisLimiterReservesEvenSlots: consecutive reservations get send
// times one interval apart, whenever the callers wake up: lateness is not
// carried into the next slot (a GCRA with burst 1 asked again after each
// wait and lost it every interval: 0.92-0.95 of the rate).
func TestRedisLimiterReservesEvenSlots(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	l := httpapi.NewRedisLimiter(rdb, cfg.Namespace+":rl", 10) // 100ms apart
	start := time.Now()
	for i := range 5 {
		d, err := l.Reserve(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		// slot i is i intervals after the first, minus the time spent since
		want := time.Duration(i)*100*time.Millisecond - time.Since(start)
		if d < want-20*time.Millisecond || d > want+20*time.Millisecond {
			t.Fatalf("reservation %d waits %s, want about %s", i, d, want)
		}
	}
}

// TestRedisLimiterKeepsTheRate: four callers, each busy 30ms per request
// (more demand than the limit), reach the limit and never exceed it.
func TestRedisLimiterKeepsTheRate(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	const perSecond = 50
	l := httpapi.NewRedisLimiter(rdb, cfg.Namespace+":rl", perSecond)
	var mu sync.Mutex
	var sent []time.Time
	var wg sync.WaitGroup
	stop := time.Now().Add(3 * time.Second)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if err := l.Wait(context.Background()); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				sent = append(sent, time.Now())
				mu.Unlock()
				time.Sleep(30 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	got := float64(len(sent)-1) / sent[len(sent)-1].Sub(sent[0]).Seconds() / perSecond
	if got < 0.95 || got > 1.05 {
		t.Fatalf("%d requests: %.3f of the rate, want 0.95..1.05", len(sent), got)
	}
	t.Logf("%d requests: %.3f of the rate", len(sent), got)
}

func TestRedisLimiterHonoursContext(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	l := httpapi.NewRedisLimiter(rdb, cfg.Namespace+":rl", 0.1) // one per 10s
	if err := l.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); err == nil {
		t.Fatal("Wait returned nil while the budget was spent and the context expired")
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"7", 7 * time.Second},
		{"0", httpapi.DefaultRetryAfter},
		{"", httpapi.DefaultRetryAfter},
		{"soon", httpapi.DefaultRetryAfter},
		{"Thu, 01 Jan 2026 00:00:30 GMT", 30 * time.Second},
		{"99999", 10 * time.Minute},
	}
	for _, tt := range tests {
		if got := httpapi.ParseRetryAfter(tt.in, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
