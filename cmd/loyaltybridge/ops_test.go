package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// syncBuffer is an io.Writer safe for a process's stdout and stderr.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func httpGet(url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// accessTokenValue finds access_token values in both the URL and the
// JSON form; every one must be redacted.
var accessTokenValue = regexp.MustCompile(`access_token(?:=|\\?"\s*:\s*\\?")([^&\s"\\]*)`)

// TestOpsRealRun is a whole run of every vendor kind through real worker,
// scheduler and sync processes against the simulators (with faults) and
// the test services, at debug level: no configured secret and no
// access_token value appears anywhere in their output, every log line of
// the worker is JSON, and the worker's /healthz, /readyz and /metrics show
// the runs, rows, queues and state.
func TestOpsRealRun(t *testing.T) {
	t.Parallel()
	chCfg, _ := warehousetest.ClickHouse(t)
	rCfg, _ := warehousetest.Redis(t)
	// DM Hub faults (its retries are quick) put error paths in the logs;
	// the other vendors' retry back-offs would make the test slow
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 5, Members: 60, DMHub: vendorsim.DMHubOptions{ErrorRate: 0.1}})
	srv := httptest.NewServer(sim)
	defer srv.Close()
	workerAddr, schedAddr := freeAddr(t), freeAddr(t)
	secrets := map[string]string{"LB_DMHUB_SECRET": "sim-dmhub-secret", "LB_HOUCALLER_KEY": "hklsim01",
		"LB_ZVCMS_GRANT": "sim-grant", "LB_ZVCMS_SECRET": "sim-zvcms-secret"}
	cfg := fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
worker: {concurrency: 4, pages_per_task: 2, max_retry: 10, shutdown_timeout: 5s, metrics_addr: %q}
scheduler: {metrics_addr: %q}
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: %[7]s/dmhub
    rate_limit: 200
    page_size: 20
    schedule: "0 3 * * *"
    credentials: {app_id: sim-dmhub-app, app_secret: "${LB_DMHUB_SECRET}"}
  - name: acme-houcaller
    kind: houcaller
    base_url: %[7]s/houcaller/htest
    rate_limit: 200
    credentials: {channel: hkl-test, des_key: "${LB_HOUCALLER_KEY}"}
    member_keys: {from_source: acme-dmhub, field: c_houcaller_id}
  - name: acme-zvcms
    kind: zvcms
    base_url: %[7]s/zvcms
    rate_limit: 200
    credentials: {open_id: sim-zvcms-open, grant_code: "${LB_ZVCMS_GRANT}", secret: "${LB_ZVCMS_SECRET}"}
    member_keys: {from_source: acme-dmhub, field: c_zvcms_id}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, workerAddr, schedAddr, srv.URL)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "loyaltybridge.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := buildBinary(t)
	env := append(os.Environ(), "LOYALTYBRIDGE_CONFIG="+cfgPath)
	for k, v := range secrets {
		env = append(env, k+"="+v)
	}
	var all []*syncBuffer
	start := func(args ...string) (*exec.Cmd, *syncBuffer) {
		out := &syncBuffer{}
		all = append(all, out)
		c := exec.Command(bin, append([]string{"--log-level", "debug"}, args...)...)
		c.Env, c.Stdout, c.Stderr = env, out, out
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		return c, out
	}
	stop := func(c *exec.Cmd) {
		_ = c.Process.Signal(syscall.SIGTERM)
		_, _ = c.Process.Wait()
	}
	worker, wout := start("worker")
	t.Cleanup(func() { stop(worker) })
	sched, sout := start("scheduler")
	t.Cleanup(func() { stop(sched) })

	for _, source := range []string{"acme-dmhub", "acme-houcaller", "acme-zvcms"} {
		c, out := start("sync", source, "--wait")
		done := make(chan error, 1)
		go func() { done <- c.Wait() }()
		select {
		case err := <-done:
			t.Logf("sync %s: exit %v", source, err)
		case <-time.After(3 * time.Minute):
			_ = c.Process.Kill()
			t.Fatalf("sync %s did not finish:\n%s\nworker:\n%s", source, out, wout)
		}
	}
	for _, path := range []string{"/healthz", "/readyz"} {
		for _, addr := range []string{workerAddr, schedAddr} {
			if code, body, err := httpGet("http://" + addr + path); err != nil || code != http.StatusOK {
				t.Errorf("GET %s%s = %d %q %v", addr, path, code, body, err)
			}
		}
	}
	code, metrics, err := httpGet("http://" + workerAddr + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("GET /metrics = %d %v", code, err)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`loyaltybridge_runs\{mode="incremental",source="acme-dmhub",status="succeeded",stream="members"\} 1`),
		regexp.MustCompile(`loyaltybridge_rows_loaded_total\{table="members"\} [1-9]`),
		regexp.MustCompile(`loyaltybridge_load_batch_rows_count\{table="points_ledger"\} [1-9]`),
		regexp.MustCompile(`loyaltybridge_queue_tasks\{queue="` + rCfg.Namespace + `:sync",state="pending"\} 0`),
		regexp.MustCompile(`loyaltybridge_cursor_lag_seconds\{source="acme-dmhub",stream="members"\} `),
		regexp.MustCompile(`loyaltybridge_run_duration_seconds_count\{source="acme-houcaller",status="succeeded",stream="coupons"\} 1`),
		regexp.MustCompile(`loyaltybridge_state_scrape_ok\{backend="clickhouse"\} 1`),
	} {
		if !want.MatchString(metrics) {
			t.Errorf("worker /metrics lacks %s", want)
		}
	}
	stop(sched)
	stop(worker)

	var whole strings.Builder
	for _, b := range all {
		whole.WriteString(b.String())
	}
	logs := whole.String()
	for name, s := range secrets {
		if n := strings.Count(logs, s); n > 0 {
			t.Errorf("the logs carry the secret %s (%d times)", name, n)
		}
	}
	for _, m := range accessTokenValue.FindAllStringSubmatch(logs, -1) {
		if m[1] != "[redacted]" {
			t.Errorf("an access_token value is logged: %s", m[0])
		}
	}
	// every worker and scheduler line is one JSON object with a message
	lines := 0
	for _, out := range []*syncBuffer{wout, sout} {
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			var rec struct {
				Msg   string `json:"msg"`
				Level string `json:"level"`
			}
			if err := json.Unmarshal([]byte(l), &rec); err != nil || rec.Msg == "" || rec.Level == "" {
				t.Errorf("not a JSON log line: %q", l)
			}
			lines++
		}
	}
	t.Logf("%d bytes of logs from %d processes (%d worker/scheduler JSON lines, %d task failures logged); no secret found",
		len(logs), len(all), lines, strings.Count(logs, `"msg":"task failed"`))
	if t.Failed() {
		t.Logf("worker:\n%s\nscheduler:\n%s", wout, sout)
	}
}
