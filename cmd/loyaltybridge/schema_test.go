package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestReadOnlyCommandsNeverMigrate: status and sync on a database that
// was never migrated fail with a message naming `migrate`, and create
// nothing; two workers starting at once migrate it (behind a lock); then
// status works and shows rejected records per stream.
func TestReadOnlyCommandsNeverMigrate(t *testing.T) {
	t.Parallel()
	chCfg, admin := warehousetest.ClickHouse(t) // for its address; we use another database
	rCfg, _ := warehousetest.Redis(t)
	db := chCfg.Database + "_new"
	t.Cleanup(func() { _ = admin.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"`") })
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "loyaltybridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
sources:
  - name: acme
    kind: dmhub
    base_url: http://127.0.0.1:1/dmhub
    streams: [members]
    credentials: {app_id: a, app_secret: s}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], db)), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&out)
		cmd.SetArgs(append([]string{"--config", cfgPath, "--log-level", "error"}, args...))
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		err := cmd.ExecuteContext(ctx)
		return out.String(), err
	}
	exists := func() bool {
		var n uint64
		if err := admin.Conn().QueryRow(context.Background(), "SELECT count() FROM system.databases WHERE name = ?", db).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}
	for _, args := range [][]string{{"status"}, {"sync", "acme"}, {"reconcile", "acme"}} {
		_, err := run(args...)
		var nm *warehouse.NotMigratedError
		if !errors.As(err, &nm) || !strings.Contains(err.Error(), "database "+db+" is not migrated (missing 0001_init") ||
			!strings.Contains(err.Error(), "run `loyaltybridge migrate`") {
			t.Errorf("%v on an unmigrated database: err = %v", args, err)
		}
		if exists() {
			t.Fatalf("%v created database %s", args, db)
		}
	}
	// two workers starting at once on the unmigrated database: one
	// migrates behind the lock, both run
	wctx, stopWorkers := context.WithCancel(context.Background())
	workerErrs := make(chan error, 2)
	for range 2 {
		go func() {
			cmd := newRootCmd()
			cmd.SetOut(io.Discard)
			cmd.SetErr(io.Discard)
			cmd.SetArgs([]string{"--config", cfgPath, "--log-level", "error", "worker"})
			workerErrs <- cmd.ExecuteContext(wctx)
		}()
	}
	wh0, err := warehouse.Open(context.Background(), config.ClickHouse{Addr: chCfg.Addr, Database: db, Username: "default", DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer wh0.Close()
	deadline := time.Now().Add(time.Minute)
	for wh0.CheckSchema(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("the workers did not migrate: %v", wh0.CheckSchema(context.Background()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	stopWorkers()
	for range 2 {
		// a worker stopped while it still waits for the migrate lock
		// returns the cancellation
		if err := <-workerErrs; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("worker: %v", err)
		}
	}
	if out, err := run("migrate"); err != nil || !strings.Contains(out, "is up to date") {
		t.Fatalf("migrate after the workers: %v\n%s", err, out)
	}
	// two rejected records of acme/members
	wh, err := warehouse.Open(context.Background(), config.ClickHouse{Addr: chCfg.Addr, Database: db, Username: "default", DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	bad := errors.New("point: not a number")
	if err := wh.Load(context.Background(), []warehouse.Row{
		warehouse.NewRejected("acme", "members", "m1", []byte(`{"id":"m1","point":"12.5"}`), bad),
		warehouse.NewRejected("acme", "members", "", []byte(`{"point":"N/A"}`), bad),
	}); err != nil {
		t.Fatal(err)
	}
	out, err := run("status", "--json")
	if err != nil {
		t.Fatalf("status after migrate: %v\n%s", err, out)
	}
	var rep statusReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	if len(rep.Streams) != 1 || rep.Streams[0].Rejected != 2 {
		t.Errorf("status streams = %+v, want acme/members with 2 rejected", rep.Streams)
	}
	if len(rep.Queues) != 4 {
		t.Errorf("status queues = %+v, want outbound, webhooks, sync and backfill", rep.Queues)
	}
	text, err := run("status")
	if err != nil || !strings.Contains(text, "REJECTED") {
		t.Errorf("status = %v\n%s", err, text)
	}
}
