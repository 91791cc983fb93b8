package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestClusterSyncReplicasEqual runs under `make test-cluster`
// (deploy/dev/cluster.sh): migrate with clickhouse.cluster against replica
// 1, sync every vendor kind through the Distributed tables, then both
// replicas hold the same rows in every table.
func TestClusterSyncReplicasEqual(t *testing.T) {
	addrs := os.Getenv("LOYALTYBRIDGE_TEST_CLUSTER")
	cluster := os.Getenv("LOYALTYBRIDGE_TEST_CLUSTER_NAME")
	if addrs == "" || cluster == "" {
		t.Skip("LOYALTYBRIDGE_TEST_CLUSTER not set: run `make test-cluster`")
	}
	replicas := strings.Split(addrs, ",")
	rCfg, rdb := warehousetest.Redis(t)
	db := "lbcluster_" + warehousetest.Suffix()
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 3, Members: 80})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	yml := fmt.Sprintf(`
redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q, cluster: %q}
worker: {concurrency: 4, pages_per_task: 3, max_retry: 3, shutdown_timeout: 5s}
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: 500
    page_size: 50
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
%s`, rCfg.Addr, rCfg.Namespace, replicas[0], db, cluster, srv.URL, strings.ReplaceAll(threeVendors, "{{sim}}", srv.URL))
	cfg, err := config.Parse("cluster.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = wh.Close() })
	t.Cleanup(func() {
		if err := wh.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS `"+db+"` ON CLUSTER `"+cluster+"`"); err != nil {
			t.Errorf("drop %s: %v", db, err)
		}
	})
	applied, err := wh.Migrate(ctx)
	if err != nil {
		t.Fatalf("migrate on cluster %s: %v", cluster, err)
	}
	if again, err := wh.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second migrate = %v, %v; want nothing to do", again, err)
	}
	t.Logf("migrate ON CLUSTER %s applied %v", cluster, applied)

	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	engine := jobs.NewEngine(cfg, wh, rdb, reg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- engine.RunWorker(wctx, rdb) }()
	defer func() { stop(); <-done }()
	for _, source := range []string{"acme-dmhub", "acme-houcaller", "acme-zvcms"} {
		sctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		refs, err := engine.StartSync(sctx, source, nil, connectors.Full)
		if err != nil {
			cancel()
			t.Fatalf("StartSync %s: %v", source, err)
		}
		runs, err := engine.Wait(sctx, refs, 100*time.Millisecond, nil)
		cancel()
		if err != nil {
			t.Fatalf("sync %s: %v (%+v)", source, err, runs)
		}
	}

	// each replica, read directly (not through the Distributed table)
	var conns []*warehouse.Warehouse
	for _, a := range replicas {
		c := cfg.ClickHouse
		c.Addr, c.Cluster = []string{a}, ""
		r, err := warehouse.Open(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		conns = append(conns, r)
	}
	tables := map[string]string{
		"members_local": "member_id", "points_ledger_local": "entry_id", "experience_ledger_local": "entry_id",
		"coupons_local": "coupon_id", "member_coupons_local": "coupon_code", "levels_local": "level_id",
		"sync_runs": "run_id", "checkpoints": "partition", "member_sync_state": "member_id", "schema_migrations": "version",
	}
	for table, key := range tables {
		var got []string
		for i, r := range conns {
			if err := r.Conn().Exec(ctx, "SYSTEM SYNC REPLICA "+r.Q(table)); err != nil {
				t.Fatalf("replica %d: sync replica %s: %v", i+1, table, err)
			}
			var n, h uint64
			q := fmt.Sprintf("SELECT count(), sum(cityHash64(source, %s)) FROM %s FINAL", key, r.Q(table))
			if table == "schema_migrations" {
				q = "SELECT count(), sum(cityHash64(version)) FROM " + r.Q(table) + " FINAL"
			}
			if err := r.Conn().QueryRow(ctx, q).Scan(&n, &h); err != nil {
				t.Fatalf("replica %d: %s: %v", i+1, table, err)
			}
			got = append(got, fmt.Sprintf("%d rows (hash %x)", n, h))
			if n == 0 {
				t.Errorf("replica %d: %s is empty", i+1, table)
			}
		}
		if got[0] != got[1] {
			t.Errorf("%s differs between the replicas: r1 %s, r2 %s", table, got[0], got[1])
		}
		t.Logf("%-24s r1 %s = r2 %s", table, got[0], got[1])
	}
}
