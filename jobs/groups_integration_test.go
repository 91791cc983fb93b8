package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// groupsWorker makes a task read 25 pages of 50 members, as Fetches of
// 10, 10 and 5 pages, and load them in groups of at least 120 rows: three
// loads, each checkpointed, per task.
const groupsWorker = "{concurrency: 4, pages_per_task: 25, insert_rows: 120, max_retry: 5, shutdown_timeout: 5s}"

// insertParts counts the parts inserts wrote into table (level 0, active
// or already merged away): one per INSERT.
func (b *bundle) insertParts(t *testing.T, table string) uint64 {
	t.Helper()
	return b.count(t, "SELECT count() FROM system.parts WHERE database = ? AND table = ? AND level = 0", b.wh.Database(), table)
}

// TestTaskLoadsInGroups: a task of 25 pages loads them in groups of
// worker.insert_rows rows (one INSERT each) and checkpoints after each;
// the run equals the simulator.
func TestTaskLoadsInGroups(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 2000, worker: groupsWorker})
	runs := b.sync(t, connectors.Full, "members")
	if len(runs) != 1 || runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("runs = %+v", runs)
	}
	// 40 full pages and the empty one that ends the list
	if r := runs[0]; r.Pages != 41 || r.Rows != 2000 || r.Items != 2000 {
		t.Errorf("run counters = pages %d rows %d items %d, want 41/2000/2000", r.Pages, r.Rows, r.Items)
	}
	equalMembers(t, b)
	// 41 pages: task 1 reads 10+10+5 pages (3 groups), task 2 10+6 (2)
	if n := b.insertParts(t, "members"); n != 5 {
		t.Errorf("members inserts = %d, want 5 (one per group of >= 120 rows, never one per task or per run)", n)
	}
}

// TestTaskGroupsSurviveVendorFaults: with faults in the middle of tasks,
// the groups loaded before a fault stay checkpointed and every member is
// loaded once after FINAL.
func TestTaskGroupsSurviveVendorFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 2000, worker: groupsWorker, dmhub: vendorsim.DMHubOptions{ErrorRate: 0.1}, sourceYML: "    timeout: 2s"})
	runs := b.sync(t, connectors.Full, "members")
	if runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("run with 10%% faults = %+v", runs[0])
	}
	equalMembers(t, b)
}

// TestWorkerStoppedMidTaskResumesAfterItsLastGroup: a worker stopped in
// the middle of a task, after some of its groups were loaded and
// checkpointed, leaves a run that another worker finishes from the last
// checkpoint: nothing lost, nothing duplicated after FINAL, and the
// pages read again are at most those of the groups not checkpointed.
func TestWorkerStoppedMidTaskResumesAfterItsLastGroup(t *testing.T) {
	t.Parallel()
	// 100 ms a page: a task of 25 pages outlasts the 1 s drain, so the
	// stop cancels it in the middle
	b := setup(t, setupOpts{members: 3000, dmhub: vendorsim.DMHubOptions{Latency: 100 * time.Millisecond},
		worker: "{concurrency: 4, pages_per_task: 25, insert_rows: 120, max_retry: 5, shutdown_timeout: 1s}"})
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	refs, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	// wait for a checkpoint inside the first task: rows loaded, Seq not
	// yet advanced
	var mid jobs.RunState
	for {
		cp, ok, err := b.wh.LatestCheckpoint(ctx, "acme-dmhub", "members", warehouse.InProgress)
		if err != nil {
			t.Fatal(err)
		}
		if ok && cp.Cursor != "" {
			if mid, err = jobs.DecodeRunState(cp.Cursor); err != nil {
				t.Fatal(err)
			}
			if mid.Rows > 0 {
				break
			}
		}
		select {
		case <-ctx.Done():
			t.Fatal("no checkpoint inside the first task")
		case <-time.After(20 * time.Millisecond):
		}
	}
	if mid.Seq != 0 {
		t.Fatalf("the first checkpoint has seq %d (rows %d): want one inside task 0", mid.Seq, mid.Rows)
	}
	b.stop() // mid-task: its Fetch or load in flight is cancelled
	stopped, _, err := b.wh.LatestCheckpoint(ctx, "acme-dmhub", "members", warehouse.InProgress)
	if err != nil {
		t.Fatal(err)
	}
	st, err := jobs.DecodeRunState(stopped.Cursor)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status != warehouse.RunRunning || st.Seq != 0 || st.Pages == 0 || st.Pages >= 25 {
		t.Fatalf("state after the stop = %+v; want the first task stopped after some of its groups", st)
	}
	b.startWorker(t)
	runs, err := b.engine.Wait(ctx, refs, 100*time.Millisecond, nil)
	if err != nil {
		t.Fatalf("Wait: %v (runs %+v)", err, runs)
	}
	if runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("run = %+v", runs[0])
	}
	equalMembers(t, b)
	// the counters cover each checkpointed page once: 60 full pages and
	// the empty last one, 3000 rows
	if r := runs[0]; r.Pages != 61 || r.Rows != 3000 {
		t.Errorf("run counters = pages %d rows %d, want 61/3000", r.Pages, r.Rows)
	}
	// rows loaded in all: every member once, plus at most the rows of
	// the groups read but not checkpointed when the worker stopped (two
	// groups of one Fetch each: 2 × 500)
	loaded := b.count(t, "SELECT count() FROM "+b.q("members"))
	if loaded < 3000 || loaded > 3000+2*500 {
		t.Errorf("members rows before FINAL = %d, want 3000..4000", loaded)
	}
	t.Logf("stopped after %d checkpointed pages (%d rows); %d member rows loaded in all for 3000 members", st.Pages, st.Rows, loaded)
}
