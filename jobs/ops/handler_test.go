package ops_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// proxy forwards a loopback port to target until stopped; start again
// reopens the same port. It stands in for a ClickHouse that goes away
// (the shared server itself is never stopped).
type proxy struct {
	t      *testing.T
	target string
	addr   string
	mu     sync.Mutex
	ln     net.Listener
	conns  []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{t: t, target: target, addr: "127.0.0.1:0"}
	p.start()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) start() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatal(err)
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", p.target)
			if err != nil {
				_ = c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); _ = u.Close() }()
			go func() { _, _ = io.Copy(c, u); _ = c.Close() }()
		}
	}()
}

func (p *proxy) stop() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.conns = nil
}

func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	return rec.Code, rec.Body.String()
}

// /readyz answers 503 naming ClickHouse while it is unreachable, and 200
// again once it is back; /healthz stays 200.
func TestReadyzFollowsClickHouse(t *testing.T) {
	t.Parallel()
	chAddr := os.Getenv(warehousetest.EnvClickHouse)
	_, rdb := warehousetest.Redis(t)
	if chAddr == "" {
		t.Skip("no ClickHouse")
	}
	p := newProxy(t, chAddr)
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{p.addr}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	closed, err := clickhouse.Open(&clickhouse.Options{Addr: []string{closedPort(t)}, DialTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer closed.Close()

	h := ops.NewHandler(ops.Deps{Checks: []ops.Check{ops.RedisCheck(rdb), ops.ClickHouseCheck(conn)}, CheckTimeout: time.Second})
	if code, body := get(t, h, "/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz with everything up = %d %q, want 200", code, body)
	}
	p.stop()
	code, body := get(t, h, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "clickhouse:") || strings.Contains(body, "redis:") {
		t.Errorf("/readyz with ClickHouse down = %d %q, want 503 naming clickhouse only", code, body)
	}
	if code, _ := get(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz with ClickHouse down = %d, want 200 (the process lives)", code)
	}
	p.start()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body = get(t, h, "/readyz")
		if code == http.StatusOK || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code != http.StatusOK {
		t.Errorf("/readyz after ClickHouse is back = %d %q, want 200", code, body)
	}

	never := ops.NewHandler(ops.Deps{Checks: []ops.Check{ops.RedisCheck(rdb), ops.ClickHouseCheck(closed)}, CheckTimeout: time.Second})
	if code, body := get(t, never, "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "clickhouse:") {
		t.Errorf("/readyz against a closed port = %d %q, want 503 naming clickhouse", code, body)
	}
	badRedis := redis.NewClient(&redis.Options{Addr: closedPort(t), DialTimeout: 200 * time.Millisecond, MaxRetries: -1})
	defer badRedis.Close()
	if code, body := get(t, ops.NewHandler(ops.Deps{Checks: []ops.Check{ops.RedisCheck(badRedis)}}), "/readyz"); code != http.StatusServiceUnavailable || !strings.Contains(body, "redis:") {
		t.Errorf("/readyz with Redis down = %d %q, want 503 naming redis", code, body)
	}
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	a := ln.Addr().String()
	_ = ln.Close()
	return a
}

// /metrics shows vendor requests, loads, task outcomes, queue depths,
// runs, cursor lag, rejected records and outbound writes after some
// activity against the real services.
func TestMetricsAfterActivity(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	rc, rdb := warehousetest.Redis(t)
	ctx := context.Background()
	m := ops.NewMetrics()
	wh.SetLoadObserver(m)

	// vendor requests (what httpapi reports per attempt)
	m.Request("acme-dmhub", "customers", ops.ClassOK, 200, 120*time.Millisecond)
	m.Request("acme-dmhub", "customers", ops.ClassRateLimited, 429, 10*time.Millisecond)
	m.Request("acme-dmhub", "customers", ops.ClassRetryable, 502, 2*time.Second)
	// loads: two batches into levels
	now := time.Now().UTC().Truncate(time.Second)
	for _, n := range []int{3, 2} {
		var rows []warehouse.Row
		for i := range n {
			rows = append(rows, warehouse.Level{Common: warehouse.Common{Source: "acme-dmhub"}, LevelID: string(rune('a' + i)), Name: "L", Priority: int32(i)})
		}
		if err := wh.Load(ctx, rows); err != nil {
			t.Fatal(err)
		}
	}
	// runs, a committed cursor, a rejected record, outbound writes
	fin := now.Add(-time.Minute)
	for _, r := range []warehouse.Run{
		{Source: "acme-dmhub", RunID: "r1", Stream: "members", Mode: "incremental", StartedAt: now.Add(-2 * time.Minute), FinishedAt: &fin, Status: warehouse.RunSucceeded, Rows: 10},
		{Source: "acme-dmhub", RunID: "r2", Stream: "members", Mode: "incremental", StartedAt: now.Add(-90 * time.Second), FinishedAt: &fin, Status: warehouse.RunFailed, Error: "boom"},
		{Source: "acme-dmhub", RunID: "r3", Stream: "points", Mode: "full", StartedAt: now, Status: warehouse.RunRunning},
	} {
		if err := wh.SaveRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := wh.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: "acme-dmhub", Stream: "members", Cursor: `{"t":1}`}); err != nil {
		t.Fatal(err)
	}
	if err := wh.Load(ctx, []warehouse.Row{warehouse.RejectedRecord{Common: warehouse.Common{Source: "acme-dmhub"}, Stream: "members", RecordKey: "k", Raw: "{}", Error: "bad"}}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{
		"INSERT INTO " + wh.Q("outbound_writes") + " (source, synced_at, ver, write_id, kind, idempotency_key, state, attempts, last_error, request, response, created_at, updated_at) SELECT 'acme-dmhub', now(), 1, toString(number), if(number < 2, 'deal', 'points'), toString(number), if(number = 0, 'dead', 'pending'), 1, '', '{}', '', now(), now() FROM numbers(3)",
	} {
		if err := wh.Conn().Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// a pending task and a processed task in this namespace's queue
	queue := rc.Namespace + ":sync"
	cl := asynq.NewClientFromRedisClient(rdb)
	if _, err := cl.Enqueue(asynq.NewTask("sync:stream", []byte("{}")), asynq.Queue(queue)); err != nil {
		t.Fatal(err)
	}
	mw := m.TaskMiddleware(asynq.HandlerFunc(func(context.Context, *asynq.Task) error { return errors.New("x") }))
	_ = mw.ProcessTask(ctx, asynq.NewTask("sync:stream", nil))
	insp := asynq.NewInspectorFromRedisClient(rdb)
	m.Registry.MustRegister(&ops.StateCollector{Inspector: insp, Namespace: rc.Namespace, ClickHouse: wh.Conn(), Database: wh.Database()})
	m.SlotFired("acme-dmhub", 30*time.Millisecond)

	code, body := get(t, ops.NewHandler(ops.Deps{Gatherer: m.Registry}), "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`loyaltybridge_vendor_requests_total{class="ok",endpoint="customers",source="acme-dmhub"} 1`,
		`loyaltybridge_vendor_rate_limited_total{endpoint="customers",source="acme-dmhub"} 1`,
		`loyaltybridge_vendor_request_duration_seconds_count{endpoint="customers",source="acme-dmhub"} 3`,
		`loyaltybridge_rows_loaded_total{table="levels"} 5`,
		`loyaltybridge_load_batch_rows_count{table="levels"} 2`,
		`loyaltybridge_rows_loaded_total{table="rejected_records"} 1`,
		`loyaltybridge_tasks_total{outcome="failed",queue="",type="sync:stream"} 1`,
		`loyaltybridge_queue_tasks{queue="` + queue + `",state="pending"} 1`,
		`loyaltybridge_queue_stuck_tasks{queue="` + queue + `"} 0`,
		`loyaltybridge_runs{mode="incremental",source="acme-dmhub",status="succeeded",stream="members"} 1`,
		`loyaltybridge_runs{mode="incremental",source="acme-dmhub",status="failed",stream="members"} 1`,
		`loyaltybridge_runs{mode="full",source="acme-dmhub",status="running",stream="points"} 1`,
		`loyaltybridge_run_duration_seconds_bucket{source="acme-dmhub",status="succeeded",stream="members",le="60"} 1`,
		`loyaltybridge_run_duration_seconds_count{source="acme-dmhub",status="failed",stream="members"} 1`,
		`loyaltybridge_run_last_success_timestamp_seconds{source="acme-dmhub",stream="members"}`,
		`loyaltybridge_cursor_lag_seconds{source="acme-dmhub",stream="members"}`,
		`loyaltybridge_rejected_records{source="acme-dmhub",stream="members"} 1`,
		`loyaltybridge_outbound_writes{kind="deal",source="acme-dmhub",state="dead"} 1`,
		`loyaltybridge_outbound_writes{kind="deal",source="acme-dmhub",state="pending"} 1`,
		`loyaltybridge_outbound_writes{kind="points",source="acme-dmhub",state="pending"} 1`,
		`loyaltybridge_state_scrape_ok{backend="clickhouse"} 1`,
		`loyaltybridge_state_scrape_ok{backend="redis"} 1`,
		`loyaltybridge_scheduler_slots_fired_total{source="acme-dmhub"} 1`,
	} {
		if !strings.Contains(body, want+"\n") && !strings.Contains(body, want+" ") {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", grepLoyalty(body))
	}
}

func grepLoyalty(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "loyaltybridge_") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
