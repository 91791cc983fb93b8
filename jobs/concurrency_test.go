package jobs_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// Six tasks of a source with max_tasks 2 arrive at once (as from several
// workers): two run, four are handed back as rate limited (retried
// without using up retries); another source is not held back; a lease
// left by a crashed worker expires.
func TestSourceCap(t *testing.T) {
	t.Parallel()
	rc, rdb := warehousetest.Redis(t)
	cfg := &config.Config{Redis: rc, Sources: []config.Source{{Name: "capped", MaxTasks: 2}, {Name: "free"}}}
	c := &jobs.SourceCap{Config: cfg, Redis: rdb}
	var running, peak atomic.Int32
	release := make(chan struct{})
	h := c.Middleware(asynq.HandlerFunc(func(context.Context, *asynq.Task) error {
		n := running.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		running.Add(-1)
		return nil
	}))
	task := func(source string, seq int) *asynq.Task {
		b, _ := json.Marshal(jobs.SyncPayload{Source: source, Stream: "members", RunID: "r", Seq: seq})
		return asynq.NewTask(jobs.TypeSyncStream, b)
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for i := range 6 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- h.ProcessTask(ctx, task("capped", i)) }()
	}
	for i := range 3 {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- h.ProcessTask(ctx, task("free", i)) }()
	}
	// the four held back return at once; wait for them, then let the rest finish
	limited := 0
	for limited < 4 {
		select {
		case err := <-errs:
			if connectors.ClassOf(err) != connectors.RateLimited {
				t.Fatalf("a task over the cap returned %v, want a RateLimited error", err)
			}
			if d, ok := connectors.RetryAfter(err); !ok || d <= 0 {
				t.Errorf("no Retry-After on %v", err)
			}
			limited++
		case <-time.After(10 * time.Second):
			t.Fatalf("only %d tasks held back", limited)
		}
	}
	for running.Load() < 5 {
		time.Sleep(10 * time.Millisecond)
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("a running task: %v", err)
		}
	}
	if p := peak.Load(); p != 5 {
		t.Errorf("peak running = %d, want 2 capped + 3 free", p)
	}
	// slots are free again
	release = make(chan struct{})
	close(release)
	if err := h.ProcessTask(ctx, task("capped", 9)); err != nil {
		t.Errorf("after the others finished: %v", err)
	}
	// a crashed worker's leases expire
	key := rc.Namespace + ":running:capped"
	past := float64(time.Now().Add(-time.Second).UnixMilli())
	for i := range 2 {
		rdb.ZAdd(ctx, key, redisZ(past, fmt.Sprint("dead", i)))
	}
	if err := h.ProcessTask(ctx, task("capped", 10)); err != nil {
		t.Errorf("expired leases still block: %v", err)
	}
}

func redisZ(score float64, member string) redis.Z { return redis.Z{Score: score, Member: member} }
