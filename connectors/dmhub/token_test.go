package dmhub_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestTokenStoreSingleFlight: many callers (standing in for many worker
// processes: they share only Redis) get one token from one fetch.
func TestTokenStoreSingleFlight(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	var fetches atomic.Int32
	fetch := func(ctx context.Context) (string, time.Duration, error) {
		n := fetches.Add(1)
		time.Sleep(100 * time.Millisecond) // a slow vendor
		return "tok-" + string(rune('0'+n)), 7200 * time.Second, nil
	}
	var wg sync.WaitGroup
	got := make([]string, 20)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// a separate store per caller: nothing shared but Redis
			s := dmhub.NewTokenStore(rdb, cfg.Namespace+":dmhub:app", fetch)
			tok, err := s.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = tok
		}()
	}
	wg.Wait()
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d token fetches, want 1", n)
	}
	for i, tok := range got {
		if tok != "tok-1" {
			t.Errorf("caller %d got %q, want tok-1", i, tok)
		}
	}
}

func TestTokenStoreRefreshAndInvalidate(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var fetches atomic.Int32
	s := dmhub.NewTokenStore(rdb, cfg.Namespace+":dmhub:app", func(ctx context.Context) (string, time.Duration, error) {
		return "tok-" + string(rune('0'+fetches.Add(1))), 7200 * time.Second, nil
	})
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	tok := func() string {
		v, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := tok(); v != "tok-1" {
		t.Fatalf("first token %q", v)
	}
	now = now.Add(7200*time.Second - 6*time.Minute) // still valid for longer than the 5m margin
	if v := tok(); v != "tok-1" {
		t.Errorf("token refreshed too early: %q", v)
	}
	now = now.Add(2 * time.Minute) // inside the margin: refresh before expiry
	if v := tok(); v != "tok-2" {
		t.Errorf("token not refreshed before expiry: %q", v)
	}
	// a stale rejection (of tok-1, already replaced) must not drop tok-2
	if err := s.Invalidate(ctx, "tok-1"); err != nil {
		t.Fatal(err)
	}
	if v := tok(); v != "tok-2" {
		t.Errorf("stale invalidation dropped the current token: %q", v)
	}
	if err := s.Invalidate(ctx, "tok-2"); err != nil {
		t.Fatal(err)
	}
	if v := tok(); v != "tok-3" {
		t.Errorf("after invalidating the current token: %q, want tok-3", v)
	}
}
