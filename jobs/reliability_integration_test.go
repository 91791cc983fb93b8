package jobs_test

// The fault-injection suite of issue 14 item 1 (docs/reliability.md). Each
// test runs real work on PRIVATE Redis and ClickHouse servers
// (reliability_harness_test.go), breaks something in the middle of it,
// and then checks that every table equals the simulator's data after FINAL
// and that every accepted outbound write was applied exactly once in the
// simulator's ledger. Each logs what it injected and what it verified.
//
// The vendor's own faults (5% mixed faults, hangs, 429s, 10 s tokens, two
// workers) are TestBadDay's (badday_integration_test.go), not repeated here.
//
// Short form (make test): 300 members, 60 orders, a 20 s ClickHouse
// outage. Long form (make reliability, LB_RELIABILITY=long): 1500
// members, 200 orders, more vendor changes between the slots, two kills,
// and a 5 min ClickHouse outage too.

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// The work every fault lands in: a backfill of every DM Hub stream and
// outbound orders (deals, and refunds ordered after them) at once, from a
// vendor slow enough that both are under way when the fault comes.
func relMembers() int { return pick(300, 1500) }
func relOrders() int  { return pick(60, 200) }

func relWorkload() relOpts {
	return relOpts{members: relMembers(), dmhub: vendorsim.DMHubOptions{
		Latency:     5 * time.Millisecond,
		WriteFaults: vendorsim.DMHubWriteFaults{Latency: 150 * time.Millisecond},
	}}
}

// midWay waits until the members run has loaded some pages and some, not
// all, accepted writes reached the vendor: both are in flight.
func (w *relWorld) midWay(refs []jobs.RunRef, writes int) {
	w.t.Helper()
	waitFor(w.t, "backfill and outbound under way", 2*time.Minute, func() bool {
		return w.loaded(refs, "members") >= 60 && w.applied() >= 5
	})
	if n := w.applied(); n >= writes {
		w.t.Fatalf("all %d writes were applied before the fault: the vendor is too fast for the test", n)
	}
}

// TestReliabilityKillWorker: kill -9 of the worker process in the middle
// of a backfill and of outbound delivery, then a restart.
func TestReliabilityKillWorker(t *testing.T) {
	t.Parallel()
	w := newRelWorld(t, relWorkload())
	p := w.startWorker("worker-1")
	refs := w.startBackfill()
	n := relOrders()
	writes := len(w.pushOrders("K", n))
	w.midWay(refs, writes)
	for k := range pick(1, 2) {
		if k > 0 { // the long form kills again, later in the run
			time.Sleep(3 * time.Second)
		}
		members, applied := w.loaded(refs, "members"), w.applied()
		p.kill(t, syscall.SIGKILL)
		t.Logf("injected: kill -9 of worker process %d (pid %d) with %d members loaded and %d of %d writes at the vendor; restarted it",
			k+1, p.cmd.Process.Pid, members, applied, writes)
		p = w.startWorker(fmt.Sprintf("worker-%d", k+2))
	}
	runs := w.waitRuns(refs, pick(4*time.Minute, 10*time.Minute))
	w.verifySync(sortedRuns(runs))
	w.verifyWrites("K", n, w.waitWrites(writes, 3*time.Minute))
}

// TestReliabilityClickHouseOutage: ClickHouse stopped in the middle of a
// backfill and of outbound delivery, started again after the outage.
func TestReliabilityClickHouseOutage(t *testing.T) {
	t.Parallel()
	outages := []time.Duration{20 * time.Second}
	if longForm() {
		outages = append(outages, 5*time.Minute)
	}
	for _, outage := range outages {
		t.Run(outage.String(), func(t *testing.T) {
			o := relWorkload()
			o.own = true
			w := newRelWorld(t, o)
			w.startWorker("worker")
			refs := w.startBackfill()
			n := relOrders()
			writes := len(w.pushOrders("C", n))
			w.midWay(refs, writes)
			members, applied := w.loaded(refs, "members"), w.applied()
			start := time.Now()
			w.svc.signal(t, "clickhouse", syscall.SIGTERM)
			stopped := time.Since(start)
			time.Sleep(outage - stopped)
			during := w.applied() - applied
			w.svc.up(t)
			t.Logf("injected: ClickHouse stopped (SIGTERM, %s to exit) with %d members loaded and %d of %d writes at the vendor; down %s; %d writes reached the vendor meanwhile; restarted",
				stopped.Round(time.Millisecond), members, applied, writes, time.Since(start).Round(time.Second), during)
			runs := w.waitRuns(refs, 10*time.Minute)
			w.verifySync(sortedRuns(runs))
			w.verifyWrites("C", n, w.waitWrites(writes, 5*time.Minute))
		})
	}
}

// TestReliabilityInsertsRejected: ClickHouse answers, but refuses every
// insert into members (the table detached: code 60, a permanent error) in
// the middle of the members backfill: reads and checkpoints work, only the
// load fails, and the run fails. Once the table is back, the next
// `sync --full` continues from the checkpoint: the group whose load
// failed must be read and loaded again, never skipped.
func TestReliabilityInsertsRejected(t *testing.T) {
	t.Parallel()
	w := newRelWorld(t, relOpts{members: relMembers(), dmhub: vendorsim.DMHubOptions{Latency: 20 * time.Millisecond}})
	w.startWorker("worker")
	refs, err := w.engine.StartSync(context.Background(), "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backfill read its first pages", time.Minute, func() bool { return w.loaded(refs, "members") >= 40 })
	ctx := context.Background()
	table := w.wh.Q("members")
	if err := w.wh.Conn().Exec(ctx, "DETACH TABLE "+table); err != nil {
		t.Fatal(err)
	}
	loaded := w.loaded(refs, "members")
	// the missing table is a permanent error (code 60): the run fails
	var failed warehouse.Run
	for _, r := range w.waitRuns(refs, 2*time.Minute) {
		failed = r
	}
	if err := w.wh.Conn().Exec(ctx, "ATTACH TABLE "+table); err != nil {
		t.Fatal(err)
	}
	t.Logf("injected: inserts into members refused (table detached) with %d of %d members loaded; the run ended %s (%s); table attached again",
		loaded, relMembers(), failed.Status, failed.Error)
	// the operator's `sync --full` again: a failed run is continued from
	// its checkpoint under a new run id (a run that succeeded despite the
	// fault is simply repeated)
	again, err := w.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range w.waitRuns(again, 3*time.Minute) {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("backfill continued: %s %s", r.Status, r.Error)
		}
		t.Logf("recovery: `sync --full` again: run %s (resumed %v) succeeded, %d rows", r.RunID, again[0].Resumed, r.Rows)
	}
	equalMembers(t, w.b)
	w.verifyNoTombstones()
	if !t.Failed() {
		t.Logf("verified: the %d members equal the simulator after FINAL", relMembers())
	}
}

// TestReliabilityRedisRestart: Redis killed and started again empty (no
// persistence: the queue, locks, tokens and limiter state are gone) in the
// middle of a backfill and of outbound delivery. The runs continue from
// ClickHouse when the sync is started again (as the scheduler's next slot
// or an operator's `sync` does) and the writes are re-enqueued by the
// worker's resumer.
func TestReliabilityRedisRestart(t *testing.T) {
	t.Parallel()
	o := relWorkload()
	o.own = true
	w := newRelWorld(t, o)
	w.startWorker("worker")
	refs := w.startBackfill()
	n := relOrders()
	writes := len(w.pushOrders("R", n))
	w.midWay(refs, writes)
	members, applied := w.loaded(refs, "members"), w.applied()
	live := map[string]bool{} // the runs in progress (or waiting) at the restart
	for _, r := range w.runRows(refs) {
		if r.Status != warehouse.RunSucceeded && r.Status != warehouse.RunFailed {
			live[r.RunID] = true
		}
	}
	ctx := context.Background()
	if err := w.rdb.Set(ctx, "lbrel-probe", "before the restart", 0).Err(); err != nil {
		t.Fatal(err)
	}
	w.svc.signal(t, "redis", syscall.SIGKILL)
	w.svc.up(t)
	if n, err := w.rdb.Exists(ctx, "lbrel-probe").Result(); err != nil || n != 0 {
		t.Fatalf("the restarted Redis still has the key set before the restart (%d, %v): want an empty one", n, err)
	}
	t.Logf("injected: Redis killed and restarted empty with %d members loaded and %d of %d writes at the vendor", members, applied, writes)
	again, err := w.engine.StartSync(context.Background(), "acme-dmhub", nil, connectors.Full)
	if err != nil {
		t.Fatalf("StartSync after the restart: %v", err)
	}
	resumed := 0
	for i, r := range again {
		if !live[refs[i].RunID] {
			continue // ended before the restart: this is a new run
		}
		if r.RunID != refs[i].RunID {
			t.Errorf("%s: the sync after the restart started run %s, not the one in progress (%s)", r.Stream, r.RunID, refs[i].RunID)
		} else {
			resumed++
		}
	}
	t.Logf("recovery: `sync` again resumed all %d runs in progress (same run ids; %d had ended before the restart and started anew)",
		resumed, len(again)-len(live))
	runs := w.waitRuns(again, 5*time.Minute)
	w.verifySync(sortedRuns(runs))
	w.verifyWrites("R", n, w.waitWrites(writes, 3*time.Minute))
}

// TestReliabilityTwoWorkersTwoSchedulers: two worker processes and two
// schedulers at once, a slot every 3 seconds, the vendor changing in
// between. Every slot is started by exactly one scheduler, a stream
// never has two runs at once, every run succeeds, and the tables equal
// the simulator after the last slot.
func TestReliabilityTwoWorkersTwoSchedulers(t *testing.T) {
	t.Parallel()
	w := newRelWorld(t, relOpts{members: relMembers(), dmhub: vendorsim.DMHubOptions{Latency: 2 * time.Millisecond},
		source: `    schedule: "* * * * *"`})
	w.startWorker("worker-1")
	w.startWorker("worker-2")
	// per-second slots (the config takes 5-field cron; the scheduler's
	// parser is the test seam for seconds)
	w.cfg.Sources[0].Schedule = "*/3 * * * * *"
	parser := cron.NewParser(cron.Second | cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)
	var mu sync.Mutex
	fired := map[time.Time][]int{} // slot → schedulers that started it
	runsOf := map[string]bool{}    // every run id a slot started or resumed
	var lastFire time.Time
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range 2 {
		rdb := redis.NewClient(&redis.Options{Addr: w.cfg.Redis.Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		e := jobs.NewEngine(w.cfg, w.wh, rdb, w.reg, slog.New(slog.NewTextHandler(&bufLog{}, nil)))
		s, err := jobs.NewScheduler(w.cfg, rdb, e, slog.New(slog.NewTextHandler(&bufLog{}, nil)), jobs.SchedulerOptions{
			CatchUp: true, Parser: parser, Retry: time.Second, Backfilling: e.Backfilling,
			OnFire: func(f jobs.Fire) {
				mu.Lock()
				defer mu.Unlock()
				fired[f.Slot] = append(fired[f.Slot], i+1)
				for _, r := range f.Runs {
					runsOf[r.RunID] = true
				}
				lastFire = time.Now()
			}})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Run(ctx); err != nil && ctx.Err() == nil {
				t.Errorf("scheduler %d: %v", i+1, err)
			}
		}()
	}
	stopSchedulers := func() {
		cancel()
		wg.Wait()
	}
	defer stopSchedulers()

	// the vendor changes while the slots come: members updated and
	// created, points added
	ms := w.sim.DMHub.Members()
	changes := pick(4, 10)
	for i := range changes {
		time.Sleep(3 * time.Second)
		if i == 1 {
			// two operators' `sync` at the same instant, between the slots
			ids := w.concurrentStarts(2)
			mu.Lock()
			for id := range ids {
				runsOf[id] = true
			}
			mu.Unlock()
		}
		if _, err := w.sim.DMHub.UpdateMember(ms[i*7].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := w.sim.DMHub.AddPointRecord(ms[i*11].ID, int64(5+i), 2); err != nil {
			t.Fatal(err)
		}
		w.sim.DMHub.CreateMembers(1)
	}
	// the last change is in: once no run is live, the next slot starts
	// new runs of every stream, which must bring every change
	waitFor(t, "the runs of the slots so far ended", 5*time.Minute, func() bool { return w.noLiveRun() })
	quiet := time.Now()
	waitFor(t, "a slot after the runs ended", time.Minute, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return lastFire.After(quiet)
	})
	waitFor(t, "the runs of the last slot ended", 5*time.Minute, func() bool { return w.noLiveRun() })
	stopAt := time.Now()
	stopSchedulers()
	// a scheduler stopped in the middle of a start may leave a run no slot
	// reported (its StartSync was cancelled): such late runs are left out
	var all []warehouse.Run
	for _, r := range w.allRuns() {
		mu.Lock()
		reported := runsOf[r.RunID]
		mu.Unlock()
		if !reported && !r.StartedAt.Before(stopAt.Add(-2*time.Second).Truncate(time.Second)) {
			t.Logf("left out: run %s/%s started as the schedulers stopped (%s)", r.Stream, r.RunID, r.Status)
			continue
		}
		all = append(all, r)
	}

	mu.Lock()
	slots := make([]time.Time, 0, len(fired))
	for s, by := range fired {
		slots = append(slots, s)
		if len(by) != 1 {
			t.Errorf("slot %s was started by schedulers %v: want exactly one", s.Format(time.TimeOnly), by)
		}
	}
	sort.Slice(slots, func(i, j int) bool { return slots[i].Before(slots[j]) })
	by := map[int]int{}
	for _, s := range slots {
		by[fired[s][0]]++
	}
	unreported := 0
	for _, r := range all {
		if !runsOf[r.RunID] {
			// a slot whose start failed part-way (the scheduler gives the
			// slot back and retries it) may have started a run it never
			// reported; it must still succeed and not overlap (below)
			unreported++
			t.Logf("run %s/%s (%s) was started by a slot attempt that failed part-way and was retried", r.Stream, r.RunID, r.Status)
		}
	}
	mu.Unlock()
	// a stream never had two runs at once
	perStream := map[string][]warehouse.Run{}
	for _, r := range all {
		perStream[r.Stream] = append(perStream[r.Stream], r)
		if r.Status != warehouse.RunSucceeded {
			t.Errorf("run %s/%s: %s: %s", r.Stream, r.RunID, r.Status, r.Error)
		}
	}
	var counts []string
	for stream, rs := range perStream {
		sortRuns(rs)
		for i := 1; i < len(rs); i++ {
			prev := rs[i-1]
			switch {
			case prev.FinishedAt == nil || rs[i].StartedAt.Before(prev.FinishedAt.Add(-2*time.Second).Truncate(time.Second)):
				t.Errorf("%s: run %s started at %s before run %s ended (%v)", stream, rs[i].RunID, rs[i].StartedAt, prev.RunID, prev.FinishedAt)
			case rs[i].StartedAt.Before(prev.FinishedAt.Truncate(time.Second)):
				// the last task of a run repeated after its row was
				// marked succeeded (a lost acknowledgement) writes the
				// row again with a later finished_at (docs/runs.md)
				t.Logf("%s: run %s started %s before the finished_at of run %s: a repeated last task rewrote it",
					stream, rs[i].RunID, prev.FinishedAt.Sub(rs[i].StartedAt), prev.RunID)
			}
		}
		counts = append(counts, fmt.Sprintf("%s %d", stream, len(rs)))
	}
	sort.Strings(counts)
	if len(slots) < changes {
		t.Errorf("%d slots fired in %d s of 3 s slots", len(slots), 3*changes)
	}
	t.Logf("injected: 2 worker processes and 2 schedulers on one namespace, a slot every 3 s, %d vendor changes (member updates, point records, new members) between slots", changes)
	t.Logf("verified: %d slots, each started by exactly one scheduler (scheduler 1: %d, scheduler 2: %d); runs per stream (never overlapping): %s; %d run(s) from retried slot attempts",
		len(slots), by[1], by[2], strings.Join(counts, ", "), unreported)
	w.verifySync(all)
}

// concurrentStarts calls StartSync (incremental, every stream) from n
// engines with their own Redis clients at the same instant, as n
// `loyaltybridge sync` processes would, and fails unless they all got the
// same run of each stream. It returns the run ids.
func (w *relWorld) concurrentStarts(n int) map[string]bool {
	t := w.t
	t.Helper()
	got := make([][]jobs.RunRef, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		rdb := redis.NewClient(&redis.Options{Addr: w.cfg.Redis.Addr})
		t.Cleanup(func() { _ = rdb.Close() })
		e := jobs.NewEngine(w.cfg, w.wh, rdb, w.reg, slog.New(slog.NewTextHandler(&bufLog{}, nil)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			got[i], errs[i] = e.StartSync(context.Background(), "acme-dmhub", nil, connectors.Incremental)
		}()
	}
	close(gate)
	wg.Wait()
	ids := map[string]bool{}
	same := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent StartSync %d: %v", i+1, errs[i])
		}
		for j, r := range got[i] {
			ids[r.RunID] = true
			if i == 0 {
				continue
			}
			first := got[0][j]
			if r.RunID == first.RunID {
				same++
				continue
			}
			// two runs: only if the first had ended when the second began
			// (a quick stream); never two at once
			rows := w.runRows([]jobs.RunRef{first, r})
			sortRuns(rows)
			if len(rows) != 2 || rows[0].FinishedAt == nil || rows[1].StartedAt.Before(rows[0].FinishedAt.Truncate(time.Second)) {
				t.Errorf("concurrent starts of %s got two runs at once (%s and %s): want one; rows: %s", r.Stream, first.RunID, r.RunID, runTimes(rows))
			}
		}
	}
	t.Logf("injected: %d concurrent `sync` starts between two slots; %d of %d streams got the same run in both, the others one after the other",
		n, same, len(got[0]))
	return ids
}

// sortRuns orders runs of one stream as they ran: by started_at, then, as
// sync_runs keeps whole seconds and a quick stream runs twice in one
// second, by finished_at, a run still going last.
func sortRuns(rs []warehouse.Run) {
	sort.SliceStable(rs, func(i, j int) bool {
		a, b := rs[i], rs[j]
		switch {
		case !a.StartedAt.Equal(b.StartedAt):
			return a.StartedAt.Before(b.StartedAt)
		case a.FinishedAt == nil || b.FinishedAt == nil:
			return a.FinishedAt != nil && b.FinishedAt == nil
		default:
			return a.FinishedAt.Before(*b.FinishedAt)
		}
	})
}

// runTimes shows runs as "id started–finished status" for a failure.
func runTimes(rs []warehouse.Run) string {
	var out []string
	for _, r := range rs {
		fin := "-"
		if r.FinishedAt != nil {
			fin = r.FinishedAt.Format(time.TimeOnly)
		}
		out = append(out, fmt.Sprintf("%s %s–%s %s", r.RunID, r.StartedAt.Format(time.TimeOnly), fin, r.Status))
	}
	return strings.Join(out, ", ")
}

// allRuns returns every sync_runs row of the world's source.
func (w *relWorld) allRuns() []warehouse.Run {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := w.wh.Conn().Query(ctx, "SELECT run_id FROM "+w.wh.Q("sync_runs")+" FINAL WHERE source = 'acme-dmhub'")
	if err != nil {
		return nil
	}
	defer rows.Close()
	var refs []jobs.RunRef
	for rows.Next() {
		var id string
		if rows.Scan(&id) == nil {
			refs = append(refs, jobs.RunRef{RunID: id})
		}
	}
	return w.runRows(refs)
}

// noLiveRun reports whether the source has runs and none of them is
// waiting or running.
func (w *relWorld) noLiveRun() bool {
	all := w.allRuns()
	for _, r := range all {
		if r.Status != warehouse.RunSucceeded && r.Status != warehouse.RunFailed {
			return false
		}
	}
	return len(all) > 0
}

// TestReliabilityVendorChangesMidScan: the vendor changes a member on a
// page the backfill already read, and a second later one on a page it has
// not read yet; the lookback is 1 ms, so no overlap hides a cursor taken
// from the newest record instead of the scan's start. The backfill and
// the incremental sync after it must bring both changes.
func TestReliabilityVendorChangesMidScan(t *testing.T) {
	t.Parallel()
	w := newRelWorld(t, relOpts{members: relMembers(), dmhub: vendorsim.DMHubOptions{Latency: 40 * time.Millisecond},
		source: "    lookback: 1ms"})
	w.startWorker("worker")
	refs, err := w.engine.StartSync(context.Background(), "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the backfill read its first pages", time.Minute, func() bool { return w.loaded(refs, "members") >= 40 })
	ms := w.sim.DMHub.Members()
	early, late := ms[0].ID, ms[len(ms)-1].ID
	if _, err := w.sim.DMHub.UpdateMember(early); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // vendor times have whole seconds
	loaded := w.loaded(refs, "members")
	if loaded >= uint64(len(ms)-20) {
		t.Fatalf("the backfill read %d of %d members before the second change: the vendor is too fast for the test", loaded, len(ms))
	}
	if _, err := w.sim.DMHub.UpdateMember(late); err != nil {
		t.Fatal(err)
	}
	t.Logf("injected: member %s (page 1, already read) changed, 1.1 s later member %s (last page, not read yet: %d of %d loaded) changed, during the backfill",
		early, late, loaded, len(ms))
	for _, r := range w.waitRuns(refs, 3*time.Minute) {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("backfill: %s %s", r.Status, r.Error)
		}
	}
	refs, err = w.engine.StartSync(context.Background(), "acme-dmhub", []string{"members"}, connectors.Incremental)
	if err != nil {
		t.Fatal(err)
	}
	runs := w.waitRuns(refs, 3*time.Minute)
	for _, r := range runs {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("incremental: %s %s", r.Status, r.Error)
		}
	}
	equalMembers(t, w.b)
	w.verifyNoTombstones()
	if !t.Failed() {
		t.Logf("verified: after the backfill and an incremental sync (%d members read) the %d members equal the simulator after FINAL, both changes included",
			runs[0].Rows, len(ms))
	}
}

// TestReliabilitySkewedWorkerClock: two workers share the runs, one of
// them with its clock 10 minutes off (jobs.WithClock and
// warehouse.SetClock: every time that process reads). A backfill, an
// incremental sync after vendor changes, and a full sync after vendor
// deletions: the first two end with the tables equal to the simulator (no
// row lost at a cursor boundary), and the last marks no live member
// deleted.
func TestReliabilitySkewedWorkerClock(t *testing.T) {
	t.Parallel()
	skews := []time.Duration{10 * time.Minute, -10 * time.Minute}
	for _, skew := range skews {
		t.Run(skew.String(), func(t *testing.T) {
			w := newRelWorld(t, relOpts{members: relMembers(), dmhub: vendorsim.DMHubOptions{Latency: 2 * time.Millisecond}})
			w.startWorker("worker-true-clock")
			logs := w.startSkewedWorker(skew)
			t.Logf("injected: an in-process worker with its clock %s off beside a worker process with the true clock", skew)
			syncAll := func(what string, mode connectors.Mode) []warehouse.Run {
				t.Helper()
				refs, err := w.engine.StartSync(context.Background(), "acme-dmhub", nil, mode)
				if err != nil {
					t.Fatal(err)
				}
				runs := w.waitRuns(refs, 5*time.Minute)
				for _, r := range runs {
					if r.Status != warehouse.RunSucceeded {
						t.Errorf("%s %s: %s: %s", what, r.Stream, r.Status, r.Error)
					}
				}
				return runs
			}
			w.verifySync(syncAll("backfill", connectors.Full))

			ms := w.sim.DMHub.Members()
			for i := range 10 {
				if _, err := w.sim.DMHub.UpdateMember(ms[i*13].ID); err != nil {
					t.Fatal(err)
				}
				if _, err := w.sim.DMHub.AddPointRecord(ms[i*17].ID, int64(3+i), 2); err != nil {
					t.Fatal(err)
				}
			}
			w.sim.DMHub.CreateMembers(5)
			w.verifySync(syncAll("incremental", connectors.Incremental))
			t.Log("verified: incremental sync after 10 member updates, 10 point records and 5 new members")

			// deletions at the vendor: only a full scan proves them
			deleted := map[string]bool{}
			for i := range 3 {
				id := ms[20+i*29].ID
				if _, err := w.sim.DMHub.DeleteMember(id); err != nil {
					t.Fatal(err)
				}
				deleted[id] = true
			}
			for _, r := range syncAll("full after deletions", connectors.Full) {
				_ = r
			}
			// a full scan marks deleted only rows synced before its start
			// minus the lookback (10 min, which covers the skew): the
			// members deleted here were synced a minute ago, so they may
			// stay live; what a skewed clock must never do is mark a
			// live member deleted
			live := w.b.set(t, "SELECT member_id FROM "+w.b.q("members")+" FINAL WHERE source = 'acme-dmhub' AND is_deleted = 0")
			gone := w.b.set(t, "SELECT member_id FROM "+w.b.q("members")+" FINAL WHERE source = 'acme-dmhub' AND is_deleted = 1")
			isLive := map[string]bool{}
			for _, id := range live {
				isLive[id] = true
			}
			simMembers := w.sim.DMHub.Members()
			for _, m := range simMembers {
				if !isLive[m.ID] {
					t.Errorf("member %s is at the vendor but not live in the table", m.ID)
				}
			}
			for _, id := range gone {
				if !deleted[id] {
					t.Errorf("member %s is at the vendor but was marked deleted", id)
				}
			}
			if t.Failed() {
				t.Logf("skewed worker log:\n%s", tailString(logs.String(), 30))
			} else {
				t.Logf("verified: full sync after 3 vendor deletions: all %d vendor members live, no live member marked deleted (%d of the 3 deleted marked; the rest were synced within the lookback)",
					len(simMembers), len(gone))
			}
		})
	}
}

// startSkewedWorker runs an in-process worker whose every clock (engine,
// connectors, warehouse) is off by skew, on its own connections.
func (w *relWorld) startSkewedWorker(skew time.Duration) *bufLog {
	t := w.t
	t.Helper()
	now := func() time.Time { return time.Now().Add(skew) }
	wh, err := warehouse.Open(context.Background(), w.cfg.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	wh.SetClock(now)
	rdb := redis.NewClient(&redis.Options{Addr: w.cfg.Redis.Addr})
	logs := &bufLog{}
	e := jobs.NewEngine(w.cfg, wh, rdb, w.reg, slog.New(slog.NewTextHandler(logs, nil)), jobs.WithClock(now))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.RunWorker(ctx, rdb) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("skewed worker: %v", err)
		}
		_ = rdb.Close()
		_ = wh.Close()
	})
	return logs
}

func tailString(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestSortRuns: two runs of a quick stream that started in one second
// (sync_runs keeps whole seconds) sort the finished one first, so the
// overlap checks above see them in the order they ran (a reversed pair
// failed TestReliabilityTwoWorkersTwoSchedulers in CI once).
func TestSortRuns(t *testing.T) {
	t.Parallel()
	at := func(s int) *time.Time { v := time.Date(2026, 12, 2, 5, 33, s, 0, time.UTC); return &v }
	for _, tc := range []struct {
		name string
		in   []warehouse.Run
		want string
	}{
		{"one second, the second still going", []warehouse.Run{
			{RunID: "b", StartedAt: *at(44)}, {RunID: "a", StartedAt: *at(44), FinishedAt: at(44)}}, "ab"},
		{"one second, both done", []warehouse.Run{
			{RunID: "b", StartedAt: *at(44), FinishedAt: at(45)}, {RunID: "a", StartedAt: *at(44), FinishedAt: at(44)}}, "ab"},
		{"by start", []warehouse.Run{
			{RunID: "b", StartedAt: *at(45)}, {RunID: "a", StartedAt: *at(43), FinishedAt: at(50)}}, "ab"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sortRuns(tc.in)
			got := ""
			for _, r := range tc.in {
				got += r.RunID
			}
			if got != tc.want {
				t.Errorf("order %q, want %q", got, tc.want)
			}
		})
	}
}
