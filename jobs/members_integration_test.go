package jobs_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

type memberRow struct {
	ID, Name, Mobile, Email, Gender, Birthday, LevelID, LevelName, Custom, Code, Customer, Raw string
	Point                                                                                      int64
	Priority                                                                                   int32
	Balance                                                                                    *string
	Join, Updated                                                                              *time.Time
}

func (b *bundle) members(t *testing.T) map[string]memberRow {
	t.Helper()
	rows, err := b.wh.Conn().Query(context.Background(), "SELECT member_id, name, mobile, email, gender, birthday, level_id, level_name, "+
		"custom_attrs, member_code, customer_id, raw, point, toString(balance), date_join, last_updated, assumeNotNull(level_priority) FROM "+b.q("members")+
		" FINAL WHERE source = 'acme-dmhub'")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]memberRow{}
	for rows.Next() {
		var m memberRow
		if err := rows.Scan(&m.ID, &m.Name, &m.Mobile, &m.Email, &m.Gender, &m.Birthday, &m.LevelID, &m.LevelName, &m.Custom,
			&m.Code, &m.Customer, &m.Raw, &m.Point, &m.Balance, &m.Join, &m.Updated, &m.Priority); err != nil {
			t.Fatal(err)
		}
		out[m.ID] = m
	}
	return out
}

// wantLevelID is what the warehouse holds for a simulated member's level:
// its id and name, also for the legacy bare-number format (a priority),
// which is resolved against the level rules.
func wantLevelID(m vendorsim.DMHubMember) (string, string) {
	return m.LevelID, m.LevelName
}

// equalMembers compares the warehouse with the simulator's ground truth,
// field by field, for every member.
func equalMembers(t *testing.T, b *bundle) {
	t.Helper()
	got := b.members(t)
	want := b.sim.DMHub.Members()
	if len(got) != len(want) {
		t.Fatalf("members FINAL = %d rows, simulator has %d", len(got), len(want))
	}
	bad := 0
	for _, w := range want {
		g, ok := got[w.ID]
		if !ok {
			t.Errorf("member %s missing", w.ID)
			bad++
			continue
		}
		lid, lname := wantLevelID(w)
		var errs []string
		check := func(field string, got, want any) {
			if fmt.Sprint(got) != fmt.Sprint(want) {
				errs = append(errs, fmt.Sprintf("%s = %v, want %v", field, got, want))
			}
		}
		check("name", g.Name, w.Name)
		check("mobile", g.Mobile, w.Mobile)
		check("email", g.Email, w.Email)
		check("gender", g.Gender, w.Gender)
		check("birthday", g.Birthday, w.Birthday)
		check("level_id", g.LevelID, lid)
		check("level_name", g.LevelName, lname)
		check("level_priority", g.Priority, w.LevelPriority)
		check("point", g.Point, w.Point)
		check("customer_id", g.Customer, w.CustomerID)
		check("member_code", g.Code, w.MembershipCode)
		check("last_updated", g.Updated.UTC().Format(time.RFC3339), w.LastUpdated.UTC().Truncate(time.Second).Format(time.RFC3339))
		check("date_join", g.Join.UTC().Format(time.RFC3339), w.DateJoin.UTC().Truncate(time.Second).Format(time.RFC3339))
		wb := "<nil>"
		if w.Balance != nil {
			wb = fmt.Sprintf("%.2f", *w.Balance)
		}
		gb := "<nil>"
		if g.Balance != nil {
			gb = *g.Balance
			if !strings.Contains(gb, ".") {
				gb += ".00"
			} else if len(gb)-strings.Index(gb, ".") == 2 {
				gb += "0"
			}
		}
		check("balance", gb, wb)
		var custom map[string]any
		if err := json.Unmarshal([]byte(g.Custom), &custom); err != nil {
			errs = append(errs, "custom_attrs not JSON: "+g.Custom)
		}
		check("custom_attrs keys", len(custom), len(w.CustomAttrs))
		for k, v := range w.CustomAttrs {
			gv, ok := custom[k]
			if !ok {
				errs = append(errs, "custom_attrs lacks "+k)
				continue
			}
			if f, isNum := gv.(float64); isNum {
				gv = int64(f)
			}
			check("custom_attrs."+k, gv, v)
		}
		if !json.Valid([]byte(g.Raw)) {
			errs = append(errs, "raw is not JSON")
		}
		if len(errs) > 0 {
			bad++
			if bad <= 5 {
				t.Errorf("member %s: %s", w.ID, strings.Join(errs, "; "))
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d members differ from the simulator", bad, len(want))
	}
}

func TestMembersFullSyncEqualsSimulator(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 420})
	runs := b.sync(t, connectors.Full, "members")
	if len(runs) != 1 || runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("runs = %+v", runs)
	}
	r := runs[0]
	// 420 members at 50 per page: 9 pages (the ninth short); never `total`
	if r.Rows != 420 || r.Pages != 9 || r.Items != 420 {
		t.Errorf("run counters = pages %d rows %d items %d, want 9/420/420", r.Pages, r.Rows, r.Items)
	}
	equalMembers(t, b)

	// a second full sync loads everything again: no duplicates after FINAL
	b.sync(t, connectors.Full, "members")
	if n := b.count(t, "SELECT count() FROM "+b.q("members")+" FINAL"); n != 420 {
		t.Errorf("after two full syncs: %d rows FINAL, want 420", n)
	}
	if n := b.count(t, "SELECT count() FROM "+b.q("sync_runs")+" FINAL WHERE stream = 'members' AND status = 'succeeded'"); n != 2 {
		t.Errorf("sync_runs succeeded = %d, want 2", n)
	}
	cp, ok, err := b.wh.LoadCheckpoint(context.Background(), "acme-dmhub", "members", warehouse.Committed)
	if err != nil || !ok || !strings.Contains(cp.Cursor, "last_updated") {
		t.Errorf("committed cursor = %+v %v %v", cp, ok, err)
	}
}

func TestMembersIncrementalBringsOnlyChanges(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 600})
	b.sync(t, connectors.Full, "members")
	full := b.sim.DMHub.Requests()["membership.list"]
	b.sim.DMHub.ResetRequests()

	var newest time.Time // the committed cursor
	for _, m := range b.sim.DMHub.Members() {
		if m.LastUpdated.After(newest) {
			newest = m.LastUpdated
		}
	}
	// the simulator's clock is real time: mutations get lastUpdated = now
	changed := []string{}
	for _, m := range b.sim.DMHub.Members()[:5] {
		if _, err := b.sim.DMHub.UpdateMember(m.ID); err != nil {
			t.Fatal(err)
		}
		changed = append(changed, m.ID)
	}
	created := b.sim.DMHub.CreateMembers(3)
	runs := b.sync(t, connectors.Incremental, "members")
	if runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("incremental run = %+v", runs[0])
	}
	equalMembers(t, b)
	inc := b.sim.DMHub.Requests()["membership.list"]
	if inc == 0 || inc*4 > full {
		t.Errorf("incremental made %d list requests, full %d: want at most a quarter", inc, full)
	}
	// exactly the members updated at or after the old cursor minus the
	// lookback (10m): the changed, the new, and the one(s) at the cursor
	want := uint64(0)
	for _, m := range b.sim.DMHub.Members() {
		if !m.LastUpdated.Before(newest.Add(-10 * time.Minute)) {
			want++
		}
	}
	if least := uint64(len(changed) + len(created)); runs[0].Rows != want || want < least {
		t.Errorf("incremental loaded %d rows: want %d (the %d changed and new members, and those at the cursor)", runs[0].Rows, want, least)
	}
}

func TestMembersFallbackWhenVendorIgnoresSort(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 230, dmhub: vendorsim.DMHubOptions{IgnoreSort: true}})
	b.sync(t, connectors.Full, "members")
	for _, m := range b.sim.DMHub.Members()[100:103] {
		if _, err := b.sim.DMHub.UpdateMember(m.ID); err != nil {
			t.Fatal(err)
		}
	}
	runs := b.sync(t, connectors.Incremental, "members")
	if runs[0].Status != warehouse.RunSucceeded || runs[0].Rows < 230 {
		t.Fatalf("incremental with unsorted vendor = %+v, want a full fallback scan", runs[0])
	}
	equalMembers(t, b)
}

func TestMembersSurviveVendorFaults(t *testing.T) {
	t.Parallel()
	// the fault mix includes hangs past the request timeout: keep it short
	b := setup(t, setupOpts{members: 300, dmhub: vendorsim.DMHubOptions{ErrorRate: 0.15}, sourceYML: "    timeout: 2s"})
	runs := b.sync(t, connectors.Full, "members")
	if runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("run with 15%% faults = %+v", runs[0])
	}
	equalMembers(t, b)
}

func TestBadCredentialsFailFastWithAuthError(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 10, secret: "wrong-secret-value"})
	start := time.Now()
	runs := b.sync(t, connectors.Full, "members")
	r := runs[0]
	if r.Status != warehouse.RunFailed || !strings.Contains(r.Error, "acme-dmhub: authentication failed") {
		t.Fatalf("run = %s %q, want failed with an authentication error naming the source", r.Status, r.Error)
	}
	if strings.Contains(r.Error, "wrong-secret-value") {
		t.Errorf("secret leaked into sync_runs.error: %q", r.Error)
	}
	if time.Since(start) > 20*time.Second {
		t.Errorf("auth failure took %s: it must not be retried", time.Since(start))
	}
}

// TestMembersHonourVendorRateLimitAndTokenRevocation: our rate_limit is
// set above the vendor's, so the vendor answers 429 with Retry-After; and
// the token is revoked mid-run (another process asked for a new one).
func TestMembersHonourVendorRateLimitAndTokenRevocation(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 400, dmhub: vendorsim.DMHubOptions{RateLimit: 15}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if b.sim.DMHub.Requests()["membership.list"] >= 3 {
				b.sim.DMHub.RevokeToken()
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
	}()
	runs := b.sync(t, connectors.Full, "members")
	if runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("run = %+v", runs[0])
	}
	equalMembers(t, b)
	if n := b.sim.DMHub.Requests()["token"]; n < 2 {
		t.Errorf("token requests = %d: the revoked token was not replaced", n)
	}
}

// flushQueue deletes every asynq key of the test's namespace: what a
// Redis flush does to this deployment's tasks.
func (b *bundle) flushQueue(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	iter := b.rdb.Scan(ctx, 0, "asynq:{"+b.cfg.Redis.Namespace+":*", 1000).Iterator()
	n := 0
	for iter.Next(ctx) {
		b.rdb.Del(ctx, iter.Val())
		n++
	}
	if n == 0 {
		t.Fatal("no queue keys to flush")
	}
}

// TestRunSurvivesRedisFlush: the run's tasks vanish with Redis, its
// checkpoint does not; a worker start (or a new sync) resumes the run.
func TestRunSurvivesRedisFlush(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 300, noWorker: true})
	ctx := context.Background()
	refs, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	b.flushQueue(t)
	b.startWorker(t) // Resume at start re-enqueues the run from ClickHouse
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	runs, err := b.engine.Wait(wctx, refs, 50*time.Millisecond, nil)
	if err != nil || runs[0].Status != warehouse.RunSucceeded || runs[0].RunID != refs[0].RunID {
		t.Fatalf("after the flush: %+v %v", runs, err)
	}
	equalMembers(t, b)

	// mid-run: stop the worker after some groups, flush, sync again
	b2 := setup(t, setupOpts{members: 600, noWorker: true})
	refs, err = b2.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	b2.startWorker(t)
	for b2.count(t, "SELECT count() FROM "+b2.q("members")) == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	b2.stop()
	b2.flushQueue(t)
	again, err := b2.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
	if err != nil || !again[0].Resumed || again[0].RunID != refs[0].RunID {
		t.Fatalf("sync after the flush = %+v %v; want the same run resumed", again, err)
	}
	b2.startWorker(t)
	runs, err = b2.engine.Wait(wctx, again, 50*time.Millisecond, nil)
	if err != nil || runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("resumed run: %+v %v", runs, err)
	}
	equalMembers(t, b2)
}

// TestSupersededMembersRunFailsItsWaiters: per-member runs that wait for a
// members run must not wait forever when that run is superseded by a run
// of the other mode; a later sync of both streams starts them again.
func TestSupersededMembersRunFailsItsWaiters(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 40, noWorker: true})
	ctx := context.Background()
	first, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"members", "points"}, connectors.Incremental)
	if err != nil || len(first) != 2 {
		t.Fatalf("StartSync = %+v, %v", first, err)
	}
	if _, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full); err != nil {
		t.Fatal(err)
	}
	runs, err := b.wh.RunsByID(ctx, "acme-dmhub", []string{first[1].RunID})
	if err != nil || len(runs) != 1 {
		t.Fatalf("points run: %+v %v", runs, err)
	}
	if r := runs[0]; r.Stream != "points" || r.Status != warehouse.RunFailed || !strings.Contains(r.Error, "superseded") {
		t.Fatalf("points run waiting for the superseded members run = %+v; want failed, naming the supersession", r)
	}
	b.startWorker(t)
	got := b.sync(t, connectors.Full, "members", "points")
	for _, r := range got {
		if r.Status != warehouse.RunSucceeded {
			t.Fatalf("sync after the supersession: %+v", got)
		}
	}
}

// TestIncrementalStartJoinsRunningSweep: an incremental start of a stream
// swept in full periodically joins a full run under way instead of
// superseding it, even when the last full run ended moments ago (so no
// sweep is due). Before, the start decided the mode before taking the
// stream's lock: in CI a start read the end of a sweep as not yet written,
// began a second sweep just after it, and the next slot's start
// superseded that one (TestReliabilityTwoWorkersTwoSchedulers: "failed:
// superseded by a incremental run").
func TestIncrementalStartJoinsRunningSweep(t *testing.T) {
	t.Parallel()
	b := setup(t, setupOpts{members: 10, noWorker: true, sourceYML: `    full_sweep_every: 1h`})
	ctx := context.Background()
	ended := time.Now().UTC().Add(-time.Minute)
	if err := b.wh.SaveRun(ctx, warehouse.Run{Source: "acme-dmhub", RunID: "earlier-sweep", Stream: "member_coupons",
		Mode: "full", StartedAt: ended.Add(-time.Minute), FinishedAt: &ended, Status: warehouse.RunSucceeded}); err != nil {
		t.Fatal(err)
	}
	full, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"member_coupons"}, connectors.Full)
	if err != nil || len(full) != 1 {
		t.Fatalf("full StartSync = %+v, %v", full, err)
	}
	inc, err := b.engine.StartSync(ctx, "acme-dmhub", []string{"member_coupons"}, connectors.Incremental)
	if err != nil || len(inc) != 1 {
		t.Fatalf("incremental StartSync = %+v, %v", inc, err)
	}
	if got := inc[0]; got.RunID != full[0].RunID || got.Mode != connectors.Full || !got.Resumed {
		t.Errorf("incremental start during a full run = %+v, want the full run %s joined", got, full[0].RunID)
	}
	runs, err := b.wh.RunsByID(ctx, "acme-dmhub", []string{full[0].RunID})
	if err != nil || len(runs) != 1 || runs[0].Status == warehouse.RunFailed {
		t.Errorf("the full run after the incremental start: %+v %v, want it still under way", runs, err)
	}
}
