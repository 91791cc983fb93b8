package claim

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

func TestClaimsTakeTurns(t *testing.T) {
	t.Parallel()
	rCfg, rdb := warehousetest.Redis(t)
	c := Claims{Redis: rdb, Prefix: rCfg.Namespace + ":claim-test:", TTL: time.Minute}
	ctx := context.Background()

	first, token, err := c.Take(ctx, []string{"a", "b"})
	if err != nil || !first["a"] || !first["b"] {
		t.Fatalf("first Take = %v, %v", first, err)
	}
	second, token2, err := c.Take(ctx, []string{"b", "c"})
	if err != nil || second["b"] || !second["c"] {
		t.Fatalf("second Take = %v, %v; want only c", second, err)
	}
	// a release with another token leaves the claim alone
	if err := c.Release(ctx, token2, map[string]bool{"a": true, "c": true}); err != nil {
		t.Fatal(err)
	}
	if again, _, _ := c.Take(ctx, []string{"a"}); again["a"] {
		t.Fatal("a claim was released by a token that did not hold it")
	}

	// TakeAll waits for the holder's release
	got := make(chan error, 1)
	go func() {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err := c.TakeAll(tctx, []string{"a", "d"}, 10*time.Millisecond)
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("TakeAll returned while a was held: %v", err)
	case <-time.After(200 * time.Millisecond):
	}
	if err := c.Release(ctx, token, first); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("TakeAll after the release: %v", err)
	}

	// TakeAll gives up at its deadline and releases what it took
	tctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if _, err := c.TakeAll(tctx, []string{"e", "a"}, 10*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("TakeAll of a held id: %v, want the deadline", err)
	}
	if e, _, _ := c.Take(ctx, []string{"e"}); !e["e"] {
		t.Error("TakeAll that gave up kept its claim on e")
	}
}
