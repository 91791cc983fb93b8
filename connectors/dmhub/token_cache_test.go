package dmhub_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestTokenStoreProcessCache: a process keeps its token in memory until
// the refresh-ahead point (no Redis read per call), and a vendor rejection
// of that token drops it, so the next call reads the token another
// process stored in Redis instead of fetching one more.
func TestTokenStoreProcessCache(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	key := cfg.Namespace + ":dmhub:app"
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var fetches atomic.Int32
	s := dmhub.NewTokenStore(rdb, key, func(ctx context.Context) (string, time.Duration, error) {
		return fmt.Sprintf("tok-%d", fetches.Add(1)), 7200 * time.Second, nil
	})
	s.Now = func() time.Time { return now }
	ctx := context.Background()
	tok := func() string {
		t.Helper()
		v, err := s.Token(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if v := tok(); v != "tok-1" {
		t.Fatalf("first token %q", v)
	}
	// another process replaced the token in Redis (its own refresh)
	other := fmt.Sprintf(`{"token":"tok-other","issued_at":%q,"expires_at":%q}`,
		now.Format(time.RFC3339Nano), now.Add(7200*time.Second).Format(time.RFC3339Nano))
	if err := rdb.Set(ctx, key+":token", other, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if v := tok(); v != "tok-1" {
		t.Errorf("token read from Redis again before its refresh-ahead point: %q, want the cached tok-1", v)
	}
	// the vendor rejected tok-1: the next call takes the stored token
	if err := s.Invalidate(ctx, "tok-1"); err != nil {
		t.Fatal(err)
	}
	if v := tok(); v != "tok-other" {
		t.Errorf("after the rejection of the cached token: %q, want tok-other from Redis", v)
	}
	// past the refresh-ahead point the cache is not used either
	now = now.Add(7200*time.Second - 4*time.Minute)
	if v := tok(); v != "tok-2" {
		t.Errorf("inside the refresh margin: %q, want a fresh tok-2", v)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d fetches, want 2", n)
	}
}
