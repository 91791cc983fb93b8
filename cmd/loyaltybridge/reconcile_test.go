package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestDemoAnswersAreTheDocs: the demo's queries are docs/analytics.md's,
// verbatim, so what the demo shows is what the document (and its test)
// runs.
func TestDemoAnswersAreTheDocs(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../../docs/analytics.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range demoAnswers {
		if !strings.Contains(string(b), "```sql\n"+q.sql+"```") {
			t.Errorf("the demo's %q is not a sql block of docs/analytics.md:\n%s", q.title, q.sql)
		}
	}
}

// TestReconcileCommand: after a clean sync `reconcile` exits 0 and its
// JSON shows no drift; after the vendor adds points to a member behind the
// warehouse's back it prints the member with both numbers and exits 3,
// unless --max-drift tolerates the drift.
func TestReconcileCommand(t *testing.T) {
	t.Parallel()
	chCfg, _ := warehousetest.ClickHouse(t)
	rCfg, _ := warehousetest.Redis(t)
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 9, Members: 15})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	yml := fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
sources:
  - name: acme
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: 200
    streams: [members, points, identities]
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
    identity_keys: {from_source: acme, field: mobile, type: mobile}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, srv.URL)
	cfgPath := filepath.Join(t.TempDir(), "loyaltybridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("t.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.engine.RunWorker(wctx, a.rdb) }()
	refs, err := a.engine.StartSync(ctx, "acme", nil, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	var progress, out bytes.Buffer
	if err := waitRuns(ctx, a.engine, refs, &progress, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	stop()
	<-done

	// the demo's answers run on this data: every one prints rows
	var answers bytes.Buffer
	if err := printAnswers(ctx, a, &answers); err != nil {
		t.Fatalf("demo answers: %v\n%s", err, answers.String())
	}
	for _, want := range []string{"source  level", "acme    ", "vendors  also_in", "stream", "members  ", "points  "} {
		if !strings.Contains(answers.String(), want) {
			t.Errorf("demo answers lack %q:\n%s", want, answers.String())
		}
	}

	stdout, _, err := run(t, "", "--config", cfgPath, "--log-level", "error", "reconcile", "acme", "--json")
	if err != nil {
		t.Fatalf("reconcile after a clean sync: %v\n%s", err, stdout)
	}
	var rep jobs.ReconcileReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil || len(rep.Streams) != 3 || rep.Drifted() != 0 || rep.Streams[0].Checked != 16 {
		t.Fatalf("clean report = %+v, %v\n%s", rep, err, stdout)
	}

	m := sim.DMHub.Members()[2]
	if _, err := sim.DMHub.AddPointRecord(m.ID, 40, 4); err != nil {
		t.Fatal(err)
	}
	stdout, _, err = run(t, "", "--config", cfgPath, "--log-level", "error", "reconcile", "acme", "--stream", "members", "--sample", "20")
	if exitCode(err) != exitDrift || !strings.Contains(strings.Join(strings.Fields(stdout), " "), fmt.Sprintf("members %s point %d %d", m.ID, m.Point, m.Point+40)) {
		t.Errorf("after injected drift: exit %d (%v), want %d; output:\n%s", exitCode(err), err, exitDrift, stdout)
	}
	if _, _, err := run(t, "", "--config", cfgPath, "--log-level", "error", "reconcile", "acme", "--max-drift", "3"); err != nil {
		t.Errorf("3 drifted checks with --max-drift 3: %v", err)
	}
	if _, _, err := run(t, "", "--config", cfgPath, "reconcile", "nope"); err == nil {
		t.Error("an unknown source passed")
	}
}
