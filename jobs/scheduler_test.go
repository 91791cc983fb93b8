package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// fakeStarter records every StartSync; fail makes the next n calls fail.
type fakeStarter struct {
	mu    sync.Mutex
	calls []string
	fail  int
}

func (f *fakeStarter) StartSync(_ context.Context, source string, streams []string, mode connectors.Mode) ([]jobs.RunRef, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if mode != connectors.Incremental || streams != nil {
		return nil, fmt.Errorf("scheduled sync of %s: mode %s streams %v, want incremental of all streams", source, mode, streams)
	}
	if f.fail > 0 {
		f.fail--
		return nil, errors.New("clickhouse unreachable")
	}
	f.calls = append(f.calls, source)
	return []jobs.RunRef{{Source: source, Stream: "members", RunID: "r"}}, nil
}

func (f *fakeStarter) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

// fires collects the slots fired by every scheduler of a test.
type fires struct {
	mu    sync.Mutex
	slots map[string][]string // "source@slot" -> scheduler names
}

func (f *fires) hook(name string) func(jobs.Fire) {
	return func(fr jobs.Fire) {
		f.mu.Lock()
		defer f.mu.Unlock()
		k := fr.Source + "@" + fr.Slot.Format(time.RFC3339)
		f.slots[k] = append(f.slots[k], name)
	}
}

func schedConfig(t *testing.T, ns string, specs map[string]string) *config.Config {
	t.Helper()
	cfg := &config.Config{Redis: config.Redis{Namespace: ns}}
	for name, spec := range specs {
		cfg.Sources = append(cfg.Sources, config.Source{Name: name, Kind: dmhub.Kind, Schedule: spec, Streams: dmhub.Spec.StreamNames()})
	}
	cfg.Sources = append(cfg.Sources, config.Source{Name: "unscheduled", Kind: dmhub.Kind, Streams: dmhub.Spec.StreamNames()})
	return cfg
}

var secondsParser = cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Two schedulers against one Redis with a per-second spec for 10 s
// enqueue exactly one run per slot (real clock, real Redis).
func TestSchedulerTwoReplicasOneRunPerSlot(t *testing.T) {
	t.Parallel()
	rc, rdb := warehousetest.Redis(t)
	cfg := schedConfig(t, rc.Namespace, map[string]string{"shop1": "* * * * * *"})
	starter := &fakeStarter{}
	got := &fires{slots: map[string][]string{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, name := range []string{"a", "b"} {
		s, err := jobs.NewScheduler(cfg, rdb, starter, quietLog(), jobs.SchedulerOptions{CatchUp: true, Parser: secondsParser, OnFire: got.hook(name)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil {
				t.Errorf("scheduler %s: %v", name, err)
			}
		}()
	}
	wg.Wait()
	got.mu.Lock()
	defer got.mu.Unlock()
	// 10 s of a per-second spec: 9 or 10 slots depending on where in the
	// second the test starts
	if n := len(got.slots); n < 9 || n > 10 {
		t.Errorf("fired %d distinct slots in 10 s, want 9 or 10: %v", n, got.slots)
	}
	byName := map[string]int{}
	for slot, who := range got.slots {
		if len(who) != 1 {
			t.Errorf("slot %s fired %d times (by %v), want once", slot, len(who), who)
		}
		byName[who[0]]++
	}
	if n := starter.count(); n != len(got.slots) {
		t.Errorf("StartSync called %d times for %d slots", n, len(got.slots))
	}
	t.Logf("slots fired by scheduler: %v", byName)
}

// Many schedulers ticking at the same instants (fake time) fire each slot
// once; unscheduled sources never fire.
func TestSchedulerManyReplicasFakeClock(t *testing.T) {
	t.Parallel()
	rc, rdb := warehousetest.Redis(t)
	cfg := schedConfig(t, rc.Namespace, map[string]string{"shop1": "* * * * * *", "shop2": "*/2 * * * * *"})
	starter := &fakeStarter{}
	got := &fires{slots: map[string][]string{}}
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var scheds []*jobs.Scheduler
	for i := range 5 {
		s, err := jobs.NewScheduler(cfg, rdb, starter, quietLog(), jobs.SchedulerOptions{CatchUp: true, Parser: secondsParser, OnFire: got.hook(fmt.Sprint(i))})
		if err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	ctx := context.Background()
	for ms := 0; ms <= 10_000; ms += 250 {
		now := t0.Add(time.Duration(ms) * time.Millisecond)
		var wg sync.WaitGroup
		for _, s := range scheds {
			wg.Add(1)
			go func() { defer wg.Done(); s.Tick(ctx, now) }()
		}
		wg.Wait()
	}
	// t0 is when bookkeeping starts: slots t0+1s..t0+10s (shop1) and
	// t0+2s..t0+10s even (shop2)
	want := map[string]bool{}
	for i := 1; i <= 10; i++ {
		want["shop1@"+t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339)] = true
		if i%2 == 0 {
			want["shop2@"+t0.Add(time.Duration(i)*time.Second).Format(time.RFC3339)] = true
		}
	}
	for slot, who := range got.slots {
		if !want[slot] {
			t.Errorf("unexpected slot %s fired by %v", slot, who)
		}
		if len(who) != 1 {
			t.Errorf("slot %s fired %d times (by %v), want once", slot, len(who), who)
		}
	}
	for slot := range want {
		if _, ok := got.slots[slot]; !ok {
			t.Errorf("slot %s never fired", slot)
		}
	}
}

// A slot missed while every scheduler was down fires once at start with
// catch_up, and is skipped without it.
func TestSchedulerCatchUp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		catchUp bool
		want    []string
		skipped int
	}{
		{"catch_up", true, []string{"shop1@2026-03-01T11:00:00Z", "shop1@2026-03-01T11:15:00Z"}, 0},
		{"no_catch_up", false, []string{"shop1@2026-03-01T11:15:00Z"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rc, rdb := warehousetest.Redis(t)
			cfg := schedConfig(t, rc.Namespace, map[string]string{"shop1": "*/15 * * * *"})
			starter := &fakeStarter{}
			got := &fires{slots: map[string][]string{}}
			skipped := 0
			opt := jobs.SchedulerOptions{CatchUp: tc.catchUp, OnFire: got.hook("a"), OnSkip: func(string, time.Time) { skipped++ }}
			ctx := context.Background()
			t0 := time.Date(2026, 3, 1, 9, 50, 0, 0, time.UTC)
			first, err := jobs.NewScheduler(cfg, rdb, starter, quietLog(), opt)
			if err != nil {
				t.Fatal(err)
			}
			first.Tick(ctx, t0) // the first scheduler ever; then every scheduler is down
			// back at 11:07: 10:00 .. 11:00 were missed (5 slots)
			second, err := jobs.NewScheduler(cfg, rdb, starter, quietLog(), opt)
			if err != nil {
				t.Fatal(err)
			}
			back := time.Date(2026, 3, 1, 11, 7, 0, 0, time.UTC)
			next := second.Tick(ctx, back)
			if want := time.Date(2026, 3, 1, 11, 15, 0, 0, time.UTC); !next.Equal(want) {
				t.Errorf("next wake = %s, want %s", next, want)
			}
			second.Tick(ctx, back.Add(time.Second)) // nothing more to catch up
			second.Tick(ctx, time.Date(2026, 3, 1, 11, 15, 0, 200e6, time.UTC))
			var fired []string
			for slot := range got.slots {
				fired = append(fired, slot)
			}
			if len(fired) != len(tc.want) || starter.count() != len(tc.want) {
				t.Fatalf("fired %v (StartSync %d times), want %v", got.slots, starter.count(), tc.want)
			}
			for _, w := range tc.want {
				if len(got.slots[w]) != 1 {
					t.Errorf("slot %s fired %v, want once", w, got.slots[w])
				}
			}
			if skipped != tc.skipped {
				t.Errorf("skipped %d slots, want %d", skipped, tc.skipped)
			}
		})
	}
}

// A start that fails gives the slot back: the next tick (of any
// scheduler) starts it, once.
func TestSchedulerRetriesFailedStart(t *testing.T) {
	t.Parallel()
	rc, rdb := warehousetest.Redis(t)
	cfg := schedConfig(t, rc.Namespace, map[string]string{"shop1": "*/15 * * * *"})
	starter := &fakeStarter{fail: 1}
	got := &fires{slots: map[string][]string{}}
	ctx := context.Background()
	a, _ := jobs.NewScheduler(cfg, rdb, starter, quietLog(), jobs.SchedulerOptions{CatchUp: true, OnFire: got.hook("a"), Retry: 5 * time.Second})
	b, _ := jobs.NewScheduler(cfg, rdb, starter, quietLog(), jobs.SchedulerOptions{CatchUp: true, OnFire: got.hook("b")})
	t0 := time.Date(2026, 3, 1, 9, 59, 0, 0, time.UTC)
	a.Tick(ctx, t0)
	slot := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	if next := a.Tick(ctx, slot); !next.Equal(slot.Add(5 * time.Second)) {
		t.Errorf("after a failed start, next wake = %s, want the retry at %s", next, slot.Add(5*time.Second))
	}
	if starter.count() != 0 {
		t.Fatalf("a failed start counted")
	}
	b.Tick(ctx, slot.Add(time.Second))
	a.Tick(ctx, slot.Add(5*time.Second))
	k := "shop1@" + slot.Format(time.RFC3339)
	if len(got.slots) != 1 || len(got.slots[k]) != 1 || got.slots[k][0] != "b" {
		t.Errorf("fires = %v, want %s once by b", got.slots, k)
	}
}

// With the real engine and no worker running, three slots of a
// per-second schedule start each stream's run once: the later slots find
// the run still in progress and resume it instead of starting another.
func TestSchedulerDoesNotStartARunningSyncTwice(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 20, noWorker: true, sourceYML: `    schedule: "*/5 * * * *"
    streams: [members, levels]`})
	got := &fires{slots: map[string][]string{}}
	var scheds []*jobs.Scheduler
	for _, name := range []string{"a", "b"} {
		s, err := jobs.NewScheduler(b.cfg, b.rdb, b.engine, quietLog(), jobs.SchedulerOptions{CatchUp: true, OnFire: got.hook(name)})
		if err != nil {
			t.Fatal(err)
		}
		scheds = append(scheds, s)
	}
	ctx := context.Background()
	t0 := time.Now().UTC().Truncate(5 * time.Minute).Add(-15 * time.Minute)
	for i := range 4 {
		for _, s := range scheds {
			s.Tick(ctx, t0.Add(time.Duration(i)*5*time.Minute+time.Second))
		}
	}
	for _, who := range got.slots {
		if len(who) != 1 {
			t.Errorf("a slot fired %d times", len(who))
		}
	}
	if len(got.slots) != 3 {
		t.Errorf("fired %d slots, want 3: %v", len(got.slots), got.slots)
	}
	n := b.count(t, "SELECT uniqExact(run_id) FROM "+b.q("sync_runs")+" WHERE source = 'acme-dmhub'")
	if n != 2 {
		t.Errorf("%d runs started for 2 streams over 3 slots, want 2 (later slots resume them)", n)
	}
	if next := jobs.NextScheduled(b.cfg, t0); !next["acme-dmhub"].Equal(t0.Add(5 * time.Minute)) {
		t.Errorf("NextScheduled = %v, want %s", next, t0.Add(5*time.Minute))
	}
}

// A scheduled incremental sync leaves a running backfill alone: without
// the Backfilling check, StartSync would supersede the backfill at every
// slot and a long backfill would never finish.
func TestSchedulerLeavesRunningBackfillAlone(t *testing.T) {
	t.Parallel()
	for _, guard := range []bool{true, false} {
		t.Run(fmt.Sprint("guard=", guard), func(t *testing.T) {
			t.Parallel()
			b := setup(t, setupOpts{members: 20, noWorker: true, sourceYML: `    schedule: "*/5 * * * *"
    streams: [members, levels]`})
			ctx := context.Background()
			refs, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
			if err != nil {
				t.Fatal(err)
			}
			backfill := refs[0].RunID
			opt := jobs.SchedulerOptions{CatchUp: true}
			if guard {
				opt.Backfilling = b.engine.Backfilling
			}
			s, err := jobs.NewScheduler(b.cfg, b.rdb, b.engine, quietLog(), opt)
			if err != nil {
				t.Fatal(err)
			}
			t0 := time.Now().UTC().Truncate(5 * time.Minute).Add(-10 * time.Minute)
			s.Tick(ctx, t0.Add(time.Second))
			s.Tick(ctx, t0.Add(5*time.Minute+time.Second))
			var status, errText string
			if err := b.wh.Conn().QueryRow(ctx, "SELECT status, error FROM "+b.q("sync_runs")+" FINAL WHERE run_id = ?", backfill).Scan(&status, &errText); err != nil {
				t.Fatal(err)
			}
			levels := b.count(t, "SELECT count() FROM "+b.q("sync_runs")+" FINAL WHERE stream = 'levels' AND mode = 'incremental'")
			if levels != 1 {
				t.Errorf("levels incremental runs = %d, want 1 (the other streams are still scheduled)", levels)
			}
			if guard && status != "running" {
				t.Errorf("the backfill is %s (%s) after a scheduled slot, want still running", status, errText)
			}
			if !guard && status != "failed" {
				t.Errorf("without the guard the backfill is %s; this test no longer shows why the guard exists", status)
			}
			t.Logf("guard=%v: backfill %s %q", guard, status, errText)
		})
	}
}
