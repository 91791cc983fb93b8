package main

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// buildBinary builds loyaltybridge once per test into a temp folder.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "loyaltybridge")
	out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestKillNineWorkerMidSyncResumes is the crash test of issue 3: a worker
// process is killed with SIGKILL in the middle of `sync --full --wait`;
// after a new worker starts, the same `sync --wait` finishes and the
// tables equal the simulator's data.
func TestKillNineWorkerMidSyncResumes(t *testing.T) {
	t.Parallel()
	chCfg, wh := warehousetest.ClickHouse(t)
	rCfg, _ := warehousetest.Redis(t)
	const members = 600
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 11, Members: members})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "loyaltybridge.yaml")
	// 20 rows a page at 60 requests/s: half a second of member pages, then
	// the per-member streams (3 x 600 requests, about 30s), two pages per task
	cfg := fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
worker: {concurrency: 2, pages_per_task: 2, shutdown_timeout: 2s}
sources:
  - name: acme
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: 60
    page_size: 20
    credentials: {app_id: sim-dmhub-app, app_secret: "${SIM_SECRET}"}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, srv.URL)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	env := append(os.Environ(), "LOYALTYBRIDGE_CONFIG="+cfgPath, "SIM_SECRET=sim-dmhub-secret")
	start := func(args ...string) (*exec.Cmd, *syncBuffer) {
		var out syncBuffer
		c := exec.Command(bin, args...)
		c.Env, c.Stdout, c.Stderr = env, &out, &out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c, &out
	}
	worker, wout := start("worker")
	t.Cleanup(func() { _ = worker.Process.Kill(); _, _ = worker.Process.Wait() })
	syncCmd, sout := start("sync", "acme", "--full", "--wait")
	t.Cleanup(func() { _ = syncCmd.Process.Kill(); _, _ = syncCmd.Process.Wait() })

	// wait until the per-member fan-out is under way, then SIGKILL
	ctx := context.Background()
	deadline := time.Now().Add(3 * time.Minute) // a loaded CI box builds and starts slowly
	var loaded uint64
	for {
		if err := wh.Conn().QueryRow(ctx, "SELECT count() FROM "+wh.Q("member_sync_state")+" WHERE stream = 'points'").Scan(&loaded); err != nil {
			t.Fatal(err)
		}
		if loaded >= 100 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress before the kill; worker output:\n%s", wout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := worker.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_, _ = worker.Process.Wait()
	if loaded >= members {
		t.Fatalf("the sync finished before the kill (%d rows): make it slower", loaded)
	}
	t.Logf("killed the worker with the points of %d of %d members loaded", loaded, members)

	worker2, w2out := start("worker")
	t.Cleanup(func() { _ = worker2.Process.Signal(syscall.SIGTERM); _, _ = worker2.Process.Wait() })
	done := make(chan error, 1)
	go func() { done <- syncCmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("sync --wait after the restart: %v\n%s\nworker 2:\n%s", err, sout, w2out)
		}
	case <-time.After(4 * time.Minute):
		t.Fatalf("sync did not finish after the restart\nsync:\n%s\nworker 2:\n%s", sout, w2out)
	}
	for _, st := range []string{"members", "points", "experience", "member_coupons", "coupons", "levels"} {
		if !strings.Contains(sout.String(), "acme/"+st+": succeeded") {
			t.Errorf("sync output lacks the success line of %s:\n%s", st, sout)
		}
	}
	var final, distinct uint64
	if err := wh.Conn().QueryRow(ctx, "SELECT count(), uniqExact(member_id) FROM "+wh.Q("members")+" FINAL").Scan(&final, &distinct); err != nil {
		t.Fatal(err)
	}
	if final != members || distinct != members {
		t.Fatalf("after resume: %d rows FINAL, %d distinct, want %d", final, distinct, members)
	}
	// field by field for every member
	rows, err := wh.Conn().Query(ctx, "SELECT member_id, name, mobile, point FROM "+wh.Q("members")+" FINAL")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var id, name, mobile string
		var point int64
		if err := rows.Scan(&id, &name, &mobile, &point); err != nil {
			t.Fatal(err)
		}
		got[id] = fmt.Sprint(name, "|", mobile, "|", point)
	}
	// and every member's points ledger: entry count and signed sum
	ledger := map[string]string{}
	rows2, err := wh.Conn().Query(ctx, "SELECT member_id, count(), sum(delta) FROM "+wh.Q("points_ledger")+" FINAL GROUP BY member_id")
	if err != nil {
		t.Fatal(err)
	}
	defer rows2.Close()
	for rows2.Next() {
		var id string
		var n uint64
		var sum int64
		if err := rows2.Scan(&id, &n, &sum); err != nil {
			t.Fatal(err)
		}
		ledger[id] = fmt.Sprint(n, " entries, sum ", sum)
	}
	for _, m := range sim.DMHub.Members() {
		if want := fmt.Sprint(m.Name, "|", m.Mobile, "|", m.Point); got[m.ID] != want {
			t.Errorf("member %s = %q, want %q", m.ID, got[m.ID], want)
		}
		var sum int64
		recs := sim.DMHub.PointRecords(m.ID)
		for _, r := range recs {
			sum += r.Delta
		}
		want := fmt.Sprint(len(recs), " entries, sum ", sum)
		if len(recs) == 0 {
			want = ""
		}
		if ledger[m.ID] != want {
			t.Errorf("points of member %s = %q, want %q", m.ID, ledger[m.ID], want)
		}
	}
}
