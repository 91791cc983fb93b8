package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/houcaller"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// flakyMembers is a per-member stream double: every member has one
// points entry; some members fail a number of times first, every read
// takes delay.
type flakyMembers struct {
	delay time.Duration
	mu    sync.Mutex
	fails map[string]int // member -> failures left
	calls map[string]int
	tasks map[string]bool // task ids that read members
}

func (f *flakyMembers) Stream(name string) (connectors.Stream, error) {
	return nil, fmt.Errorf("%s: %w", name, connectors.ErrUnknownStream)
}

func (f *flakyMembers) MemberStream(name string) (connectors.MemberStream, bool) {
	return f, name == "points"
}

func (f *flakyMembers) FetchMember(ctx context.Context, req connectors.MemberRequest) (connectors.MemberBatch, error) {
	f.mu.Lock()
	f.calls[req.Member]++
	if id, ok := asynq.GetTaskID(ctx); ok {
		f.tasks[id] = true
	}
	fail := f.fails[req.Member] > 0
	if fail {
		f.fails[req.Member]--
	}
	f.mu.Unlock()
	time.Sleep(f.delay)
	if fail {
		return connectors.MemberBatch{}, &connectors.Error{Class: connectors.Retryable, Op: "GET /points", Status: 503, Message: "busy"}
	}
	return connectors.MemberBatch{Pages: 1, Requests: 1, Rows: []warehouse.Row{warehouse.PointEntry{
		Common: warehouse.Common{Source: "acme-houcaller"}, EntryID: req.Member + "-1", MemberID: req.Member, Delta: 1}}}, nil
}

// TestMemberPassResumesAfterTheLastFinishedMember: a member that fails
// twice does not make the members finished before it be read again, and
// a group slower than the task budget is split into tasks that each make
// progress. Every member's entry is loaded once.
func TestMemberPassResumesAfterTheLastFinishedMember(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	const members = 45
	var keys []string
	for i := range members {
		keys = append(keys, fmt.Sprintf("k%02d", i))
	}
	keyFile := filepath.Join(dir, "keys.txt")
	if err := os.WriteFile(keyFile, []byte(strings.Join(keys, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	b := setup(t, setupOpts{members: 1, noWorker: true, extra: fmt.Sprintf(`
  - name: acme-houcaller
    kind: houcaller
    base_url: {{sim}}/houcaller/htest
    concurrency: 2
    streams: [points]
    credentials: {channel: hkl-test, des_key: hklsim01}
    member_keys: {file: %q}
`, keyFile)})
	double := &flakyMembers{delay: 20 * time.Millisecond, fails: map[string]int{"k07": 2}, calls: map[string]int{}, tasks: map[string]bool{}}
	reg := connectors.NewRegistry()
	if err := reg.Register(houcaller.Spec, func(*config.Source, connectors.Deps) (connectors.Connector, error) { return double, nil }); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(dmhub.Spec, func(*config.Source, connectors.Deps) (connectors.Connector, error) { return double, nil }); err != nil {
		t.Fatal(err)
	}
	// about 6 members fit in the budget at 2 at a time and 20ms each:
	// the 45 keys (one group of the lister) need several tasks
	e := jobs.NewEngine(b.cfg, b.wh, b.rdb, reg, slog.New(slog.NewTextHandler(io.Discard, nil)), jobs.WithTaskBudget(60*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- e.RunWorker(wctx, b.rdb) }()
	t.Cleanup(func() { stop(); <-done })

	refs, err := e.StartSync(ctx, "acme-houcaller", []string{"points"}, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := e.Wait(ctx, refs, 50*time.Millisecond, nil)
	if err != nil || len(runs) != 1 || runs[0].Status != warehouse.RunSucceeded {
		t.Fatalf("run = %+v, %v", runs, err)
	}
	if runs[0].Items != members || runs[0].Rows < members {
		t.Errorf("run counted %d members, %d rows, want %d members", runs[0].Items, runs[0].Rows, members)
	}
	var n, distinct uint64
	if err := b.wh.Conn().QueryRow(ctx, "SELECT count(), uniqExact(member_id) FROM "+b.q("points_ledger")+
		" FINAL WHERE source = 'acme-houcaller'").Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != members || distinct != members {
		t.Errorf("points_ledger: %d entries of %d members, want %d each", n, distinct, members)
	}
	double.mu.Lock()
	defer double.mu.Unlock()
	extra := 0
	for _, k := range keys {
		c := double.calls[k]
		switch {
		case k == "k07":
			if c != 3 {
				t.Errorf("k07 read %d times, want 3 (two failures)", c)
			}
		case k < "k07" && c != 1:
			t.Errorf("%s, finished before k07 failed, was read %d times, want once", k, c)
		case c == 0:
			t.Errorf("%s was never read", k)
		default:
			extra += c - 1
		}
	}
	// members after k07 started while it was failing are read again: at
	// most concurrency (2) per failure, 2 failures
	if extra > 4 {
		t.Errorf("%d repeated reads of members after k07, want at most 4", extra)
	}
	t.Logf("%d members in %d tasks (budget 60ms), %d reads of k07, %d repeated reads of members after it", members,
		len(double.tasks), double.calls["k07"], extra)
	if len(double.tasks) < 4 {
		t.Errorf("members were read by %d tasks, want the group split by the budget into at least 4", len(double.tasks))
	}
}
