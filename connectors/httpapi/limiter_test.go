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
	// 30 requests at 20/s with burst 1: at least 29 intervals of 50ms
	if el := time.Since(start); el < 1400*time.Millisecond {
		t.Errorf("30 requests took %s: the two limiters did not share the 20/s budget", el)
	}
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
