//go:build bench

package bench_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/connectors/houcaller"
	"github.com/loyaltybridge/loyaltybridge/connectors/zvcms"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// knobs are the scale of a run (environment variables; the defaults are
// the full form that docs/benchmarks.md holds).
type knobs struct {
	E2EMembers  int    // BENCH_E2E_MEMBERS: members of the end-to-end run (and the first memory point)
	MemMembers  int    // BENCH_MEM_MEMBERS: members of the second memory point (0: skipped)
	LoaderRows  int    // BENCH_LOADER_ROWS: rows of the loader comparison
	LoaderBatch int    // BENCH_LOADER_BATCH: rows per insert (0: what the end-to-end sync inserted)
	RateMembers int    // BENCH_RATE_MEMBERS: members whose points are read at 50 rps
	CostMembers int    // BENCH_COST_MEMBERS: DM Hub members of the vendor-cost and incremental runs
	OutboundN   int    // BENCH_OUTBOUND_N: writes per outbound sub-benchmark (-benchtime Nx)
	Only        string // BENCH_ONLY: regexp of scenarios to run (default all)
	Doc         string // BENCH_DOC: the markdown file to rewrite ("" = none)
	Form        string // BENCH_FORM: a label (full, quick)
}

func envInt(name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.ReplaceAll(v, "_", ""))
	if err != nil || n < 0 {
		panic(fmt.Sprintf("%s=%q is not a non-negative integer", name, v))
	}
	return n
}

func loadKnobs() knobs {
	k := knobs{
		E2EMembers: envInt("BENCH_E2E_MEMBERS", 100_000), MemMembers: envInt("BENCH_MEM_MEMBERS", 1_000_000),
		LoaderRows: envInt("BENCH_LOADER_ROWS", 1_000_000), LoaderBatch: envInt("BENCH_LOADER_BATCH", 0),
		RateMembers: envInt("BENCH_RATE_MEMBERS", 3_000), CostMembers: envInt("BENCH_COST_MEMBERS", 2_000),
		OutboundN: envInt("BENCH_OUTBOUND_N", 3_000), Only: os.Getenv("BENCH_ONLY"), Doc: os.Getenv("BENCH_DOC"),
		Form: os.Getenv("BENCH_FORM"),
	}
	if k.Form == "" {
		k.Form = "custom"
	}
	return k
}

// TestBench runs every scenario, prints the results and, with BENCH_DOC,
// rewrites the generated section of that file.
func TestBench(t *testing.T) {
	k := loadKnobs()
	only := regexp.MustCompile(k.Only)
	start := time.Now()
	b := &bench{k: k, bin: buildBinary(t), rep: &report{}}
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"e2e", b.endToEnd},
		{"loader", b.loader},
		{"memory", b.memory},
		{"rate", b.rateBudget},
		{"cost", b.vendorCost},
		{"outbound", b.outbound},
	}
	for _, s := range steps {
		if !only.MatchString(s.name) {
			continue
		}
		st := time.Now()
		ok := t.Run(s.name, s.fn)
		b.rep.wall = append(b.rep.wall, fmt.Sprintf("%s %s%s", s.name, time.Since(st).Round(time.Second), map[bool]string{true: "", false: " (FAILED)"}[ok]))
	}
	b.rep.total = time.Since(start)
	md := b.rep.render(k)
	fmt.Println(md)
	if k.Doc != "" {
		if err := writeSection(k.Doc, md); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", k.Doc)
	}
}

type bench struct {
	k   knobs
	bin string
	rep *report

	mu          sync.Mutex
	e2eRSS      float64 // worker peak RSS of the end-to-end run, MB
	e2eMembers  int
	insertBatch float64 // rows per insert of the end-to-end sync
}

// --- the loyaltybridge binary, its worker and its sync command ---

func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "loyaltybridge")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/loyaltybridge").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// env is one scenario's fresh ClickHouse database, Redis namespace and
// config file.
type env struct {
	t    *testing.T
	bin  string
	ch   config.ClickHouse
	wh   *warehouse.Warehouse
	rd   config.Redis
	cfg  string
	logs string
}

func newEnv(t *testing.T, bin, sources string) *env {
	t.Helper()
	ch, wh := freshDatabase(t)
	rd, _ := warehousetest.Redis(t)
	dir := t.TempDir()
	yml := fmt.Sprintf("redis: {addr: %q, namespace: %q}\nclickhouse: {addr: [%q], database: %q}\nworker: {concurrency: 4}\nsources:\n%s",
		rd.Addr, rd.Namespace, ch.Addr[0], ch.Database, sources)
	cfg := filepath.Join(dir, "loyaltybridge.yaml")
	if err := os.WriteFile(cfg, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return &env{t: t, bin: bin, ch: ch, wh: wh, rd: rd, cfg: cfg, logs: filepath.Join(dir, "worker.log")}
}

// freshDatabase is warehousetest.ClickHouse with a patient drop: on the
// loaded shared machine a DROP DATABASE of a million rows can outlast
// warehousetest's 30 s, which says nothing about the figures. The drop is
// tried three times, 2 minutes each; a database still left is an error.
func freshDatabase(t *testing.T) (config.ClickHouse, *warehouse.Warehouse) {
	t.Helper()
	addr := os.Getenv(warehousetest.EnvClickHouse)
	if addr == "" {
		t.Fatalf("%s is not set: run make bench", warehousetest.EnvClickHouse)
	}
	cfg := config.ClickHouse{Addr: []string{addr}, Database: "lbbench_" + warehousetest.Suffix(), Username: "default",
		DialTimeout: 10 * time.Second}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("clickhouse: %v", err)
	}
	t.Cleanup(func() {
		var err error
		for range 3 {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			err = wh.Conn().Exec(ctx, "DROP DATABASE IF EXISTS `"+cfg.Database+"`")
			cancel()
			if err == nil {
				break
			}
			t.Logf("drop database %s: %v (trying again)", cfg.Database, err)
		}
		if err != nil {
			t.Errorf("drop database %s: %v", cfg.Database, err)
		}
		_ = wh.Close()
	})
	if _, err := wh.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	return cfg, wh
}

// worker is a `loyaltybridge worker` process.
type worker struct {
	cmd  *exec.Cmd
	done chan error
	log  *os.File
	hwm  float64 // peak RSS in MB, read by stop
}

func (e *env) startWorker() *worker {
	e.t.Helper()
	log, err := os.Create(e.logs)
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command(e.bin, "--config", e.cfg, "--log-level", "warn", "worker")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		e.t.Fatal(err)
	}
	w := &worker{cmd: cmd, done: make(chan error, 1), log: log}
	go func() { w.done <- cmd.Wait() }()
	e.t.Cleanup(func() { w.stop() })
	return w
}

// stop ends the worker (SIGTERM, then SIGKILL after 60 s) and returns its
// peak RSS in MB: VmHWM of /proc/PID/status, read just before the signal.
// Not the ru_maxrss of wait4: Go starts the worker with vfork, and at exec
// the kernel records the high-water mark of the memory the child shared
// with its parent until then, so ru_maxrss reports at least this harness's
// own RSS (with the simulator's million members: gigabytes).
func (w *worker) stop() float64 {
	if w.cmd.ProcessState == nil {
		w.hwm = vmHWM(w.cmd.Process.Pid)
		_ = w.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-w.done:
		case <-time.After(60 * time.Second):
			_ = w.cmd.Process.Kill()
			<-w.done
		}
		_ = w.log.Close()
	}
	return w.hwm
}

// vmHWM is the peak resident set size of process pid in MB (VmHWM of
// /proc/PID/status; 0 when it cannot be read).
func vmHWM(pid int) float64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0
			}
			return kb / 1024
		}
	}
	return 0
}

// sync runs `loyaltybridge sync SOURCE --stream S... [--full] --wait` and
// returns its wall time.
func (e *env) sync(source string, full bool, streams ...string) time.Duration {
	e.t.Helper()
	args := []string{"--config", e.cfg, "--log-level", "warn", "sync", source, "--wait"}
	if full {
		args = append(args, "--full")
	}
	for _, s := range streams {
		args = append(args, "--stream", s)
	}
	start := time.Now()
	out, err := exec.Command(e.bin, args...).CombinedOutput()
	el := time.Since(start)
	if err != nil {
		logs, _ := os.ReadFile(e.logs)
		e.t.Fatalf("sync %s %v: %v\n%s\nworker log (tail):\n%s", source, streams, err, out, tail(logs, 3000))
	}
	return el
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// run is one row of sync_runs (newest version).
type run struct {
	ID, Stream, Mode, Status string
	Requests, Rows, Items    uint64
}

// runs returns the runs of source, by run id.
func (e *env) runs(source string) map[string]run {
	e.t.Helper()
	rows, err := e.wh.Conn().Query(context.Background(), "SELECT run_id, stream, mode, status, requests, rows, items FROM "+
		e.wh.Q("sync_runs")+" FINAL WHERE source = ?", source)
	if err != nil {
		e.t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]run{}
	for rows.Next() {
		var r run
		if err := rows.Scan(&r.ID, &r.Stream, &r.Mode, &r.Status, &r.Requests, &r.Rows, &r.Items); err != nil {
			e.t.Fatal(err)
		}
		out[r.ID] = r
	}
	if err := rows.Err(); err != nil {
		e.t.Fatal(err)
	}
	return out
}

// newRuns returns the runs of after that are not in before, by stream.
func newRuns(before, after map[string]run) map[string]run {
	out := map[string]run{}
	for id, r := range after {
		if _, ok := before[id]; !ok {
			out[r.Stream] = r
		}
	}
	return out
}

func (e *env) count(query string, args ...any) uint64 {
	e.t.Helper()
	var n uint64
	if err := e.wh.Conn().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// --- the simulator, with a request recorder ---

type recorder struct {
	h http.Handler

	mu       sync.Mutex
	times    []time.Time
	statuses map[int]int64
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	sw := &statusWriter{ResponseWriter: w}
	r.h.ServeHTTP(sw, req)
	now := time.Now()
	r.mu.Lock()
	r.times = append(r.times, now)
	r.statuses[sw.status]++
	r.mu.Unlock()
}

func (r *recorder) reset() {
	r.mu.Lock()
	r.times, r.statuses = nil, map[int]int64{}
	r.mu.Unlock()
}

// serve starts h on loopback behind a recorder; closed at cleanup.
func serve(t *testing.T, h http.Handler) (string, *recorder) {
	t.Helper()
	rec := &recorder{h: h, statuses: map[int]int64{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	return srv.URL, rec
}

// dmhubOnly serves a DM Hub simulator at /dmhub.
func dmhubOnly(opts vendorsim.DMHubOptions) (*vendorsim.DMHub, http.Handler) {
	sim := vendorsim.NewDMHub(opts)
	mux := http.NewServeMux()
	mux.Handle("/dmhub/", http.StripPrefix("/dmhub", sim))
	return sim, mux
}

const dmhubSource = `  - name: %s
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: %v
    backfill_share: 1
    page_size: 100
    streams: [%s]
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
`

// --- 1. end to end ---

// endToEnd: a full members sync from the zero-latency simulator through a
// worker process, against (a) the script a user would write and (b) a
// loop that only downloads the pages.
func (b *bench) endToEnd(t *testing.T) {
	n := b.k.E2EMembers
	_, h := dmhubOnly(vendorsim.DMHubOptions{Seed: 42, Members: n})
	url, _ := serve(t, h)
	e := newEnv(t, b.bin, fmt.Sprintf(dmhubSource, "bench-dmhub", url, 1000, "members"))

	// (b) the source's limit: download every page, discard it
	dl := downloadOnly(t, url+"/dmhub", n)

	// (a) curl pages, jq flattens, one clickhouse-client JSONEachRow insert
	sc := runScript(t, e, url+"/dmhub", n)

	// ours: a worker process, `sync --full --wait`
	w := e.startWorker()
	el := e.sync("bench-dmhub", true, "members")
	rss := w.stop()
	got := e.count("SELECT count() FROM " + e.wh.Q("members") + " FINAL WHERE source = 'bench-dmhub' AND is_deleted = 0")
	if got != uint64(n) {
		t.Fatalf("members in ClickHouse = %d, want %d", got, n)
	}
	inserts := e.count("SELECT toUInt64(max(max_block_number)) FROM system.parts WHERE database = ? AND table = 'members'", e.ch.Database)
	loaded := e.count("SELECT count() FROM " + e.wh.Q("members"))
	perInsert := float64(loaded) / float64(max(inserts, 1))
	ours := float64(n) / el.Seconds()
	b.mu.Lock()
	b.e2eRSS, b.e2eMembers, b.insertBatch = rss, n, perInsert
	b.mu.Unlock()

	r := b.rep.section("End to end: full members sync (zero-latency simulator)",
		fmt.Sprintf("%s members, page size 100, one worker process (concurrency 4), `sync bench-dmhub --stream members --full --wait`.", num(n)),
		"path", "wall", "rows/s", "ours ÷ it", "target", "worker peak RSS")
	r.row("loyaltybridge worker", dur(el), rate(ours), "", "", mb(rss))
	r.row("(a) script: curl + jq + one `clickhouse-client … FORMAT JSONEachRow`", dur(sc), rate(float64(n)/sc.Seconds()),
		ratio(ours/(float64(n)/sc.Seconds())), "≥ 10×", "")
	r.row("(b) download-only loop (Go, one connection, body discarded)", dur(dl), rate(float64(n)/dl.Seconds()),
		ratio(ours/(float64(n)/dl.Seconds())), "≥ 0.6", "")
	r.note("The sync inserted %s rows into `members` in %d inserts: %s rows per insert (from the parts' block numbers).",
		num(int(loaded)), inserts, num(int(math.Round(perInsert))))
	t.Logf("e2e: ours %.0f rows/s in %s, script %s, download %s, rss %.0f MB, %.0f rows/insert", ours, el, sc, dl, rss, perInsert)
}

// downloadOnly reads every page of the member list with one keep-alive
// connection and discards the bodies.
func downloadOnly(t *testing.T, base string, n int) time.Duration {
	t.Helper()
	start := time.Now()
	tok := token(t, base)
	hc := &http.Client{Timeout: time.Minute}
	pages := 0
	for page := 1; ; page++ {
		resp, err := hc.Get(fmt.Sprintf("%s/loyalty/v1/membership?rows=100&page=%d&access_token=%s", base, page, tok))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("page %d: %d %v", page, resp.StatusCode, err)
		}
		pages++
		// the last page is short; a full last page is followed by an empty one
		if bytes.Count(body, []byte(`"id":`)) < 100 {
			break
		}
	}
	el := time.Since(start)
	if want := n/100 + 1; pages != want {
		t.Fatalf("download loop read %d pages, want %d", pages, want)
	}
	return el
}

func token(t *testing.T, base string) string {
	t.Helper()
	resp, err := http.Get(base + "/security/accesstoken?grant_type=client_credentials&appid=sim-dmhub-app&secret=sim-dmhub-secret")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tk struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tk); err != nil || tk.AccessToken == "" {
		t.Fatalf("token: %v", err)
	}
	return tk.AccessToken
}

// userScript is the script a user would write instead of loyaltybridge:
// curl every page, flatten with jq, one clickhouse-client insert.
const userScript = `#!/usr/bin/env bash
# usage: members.sh BASE_URL DATABASE HOST PORT
set -euo pipefail
base=$1 db=$2 host=$3 port=$4
tok=$(curl -sf "$base/security/accesstoken?grant_type=client_credentials&appid=sim-dmhub-app&secret=sim-dmhub-secret" | jq -r .access_token)
flatten='.rows[] | {member_id: (.id|tostring), name: (.name // ""), mobile: (.mobile // ""), email: (.email // ""),
  gender: (.gender|tostring), birthday: (.birthday // ""), level_id: ((.level.id? // .level // "")|tostring),
  level_name: (.level.name? // ""), point: ((.point // 0)|tostring), balance: ((.balance // 0)|tostring),
  date_join: (.dateJoin // ""), last_updated: (.lastUpdated // ""),
  custom_attrs: (with_entries(select(.key|startswith("c_")))|tojson), raw: tojson}'
page=1
while :; do
  rows=$(curl -sf "$base/loyalty/v1/membership?rows=100&page=$page&access_token=$tok" | jq -c "$flatten")
  [[ -n $rows ]] && printf '%s\n' "$rows"
  [[ $(grep -c . <<<"$rows") -lt 100 ]] && break
  page=$((page + 1))
done | clickhouse-client --host "$host" --port "$port" --query "INSERT INTO $db.members_script FORMAT JSONEachRow"
`

const scriptTable = "CREATE TABLE %s.members_script (member_id String, name String, mobile String, email String, gender String, " +
	"birthday String, level_id String, level_name String, point String, balance String, date_join String, last_updated String, " +
	"custom_attrs String, raw String) ENGINE = MergeTree ORDER BY member_id"

func runScript(t *testing.T, e *env, base string, n int) time.Duration {
	t.Helper()
	if err := e.wh.Conn().Exec(context.Background(), fmt.Sprintf(scriptTable, "`"+e.ch.Database+"`")); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(t.TempDir(), "members.sh")
	if err := os.WriteFile(script, []byte(userScript), 0o700); err != nil {
		t.Fatal(err)
	}
	host, port := hostPort(t, e.ch.Addr[0])
	start := time.Now()
	out, err := exec.Command("bash", script, base, e.ch.Database, host, port).CombinedOutput()
	el := time.Since(start)
	if err != nil {
		t.Fatalf("script: %v\n%s", err, out)
	}
	if got := e.count("SELECT count() FROM " + e.wh.Q("members_script")); got != uint64(n) {
		t.Fatalf("script loaded %d rows, want %d", got, n)
	}
	return el
}

func hostPort(t *testing.T, addr string) (string, string) {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		t.Fatalf("clickhouse address %q has no port", addr)
	}
	return addr[:i], addr[i+1:]
}

// --- 2. loader ---

// loader: LoaderRows normalized member rows (decoded and normalized by the
// DM Hub members stream from the simulator, then repeated with new ids)
// through warehouse.Load at the rows per insert of a real sync, against
// clickhouse-client inserting the same rows in Native format.
func (b *bench) loader(t *testing.T) {
	batch := b.k.LoaderBatch
	src := "measured from the end-to-end sync"
	if batch == 0 {
		b.mu.Lock()
		batch = int(math.Round(b.insertBatch))
		b.mu.Unlock()
		if batch == 0 {
			t.Fatal("no rows-per-insert measured (run the e2e scenario first, or set BENCH_LOADER_BATCH)")
		}
	} else {
		src = "BENCH_LOADER_BATCH"
	}
	n := b.k.LoaderRows
	templ := normalizedMembers(t, min(n, 10_000))
	e := newEnv(t, b.bin, "")
	ctx := context.Background()

	var prof bytes.Buffer
	_ = pprof.StartCPUProfile(&prof)
	cpu0 := processCPU()
	var loadTime time.Duration
	rows := make([]warehouse.Row, 0, batch)
	for i := 0; i < n; {
		rows = rows[:0]
		for ; len(rows) < batch && i < n; i++ {
			m := templ[i%len(templ)]
			if r := i / len(templ); r > 0 {
				m.MemberID = fmt.Sprintf("%s-%d", m.MemberID, r)
			}
			rows = append(rows, m)
		}
		st := time.Now()
		if err := e.wh.Load(ctx, rows); err != nil {
			pprof.StopCPUProfile()
			t.Fatal(err)
		}
		loadTime += time.Since(st)
	}
	pprof.StopCPUProfile()
	clientCPU := processCPU() - cpu0
	if got := e.count("SELECT count() FROM " + e.wh.Q("members")); got != uint64(n) {
		t.Fatalf("loader stored %d rows, want %d", got, n)
	}

	// the same rows, exported in Native format, inserted by clickhouse-client
	host, port := hostPort(t, e.ch.Addr[0])
	cols := strings.Join(warehouse.Members.Columns, ", ")
	file := filepath.Join(t.TempDir(), "members.native")
	f, err := os.Create(file)
	if err != nil {
		t.Fatal(err)
	}
	exp := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query",
		fmt.Sprintf("SELECT %s FROM %s FORMAT Native", cols, e.wh.Q("members")))
	exp.Stdout = f
	var stderr bytes.Buffer
	exp.Stderr = &stderr
	if err := exp.Run(); err != nil {
		t.Fatalf("export: %v %s", err, stderr.String())
	}
	_ = f.Close()
	lc := clickhouse.Context(ctx, clickhouse.WithSettings(clickhouse.Settings{"allow_experimental_low_cardinality_type": 1}))
	if err := e.wh.Conn().Exec(lc, fmt.Sprintf("CREATE TABLE %s AS %s", e.wh.Q("members_native"), e.wh.Q("members"))); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	ins := exec.Command("clickhouse-client", "--host", host, "--port", port, "--query",
		fmt.Sprintf("INSERT INTO %s (%s) FORMAT Native", e.wh.Q("members_native"), cols))
	ins.Stdin = in
	stderr.Reset()
	ins.Stderr = &stderr
	st := time.Now()
	if err := ins.Run(); err != nil {
		t.Fatalf("native insert: %v %s", err, stderr.String())
	}
	native := time.Since(st)
	if got := e.count("SELECT count() FROM " + e.wh.Q("members_native")); got != uint64(n) {
		t.Fatalf("native insert stored %d rows, want %d", got, n)
	}
	fi, _ := os.Stat(file)

	ours, nat := float64(n)/loadTime.Seconds(), float64(n)/native.Seconds()
	r := b.rep.section("Loader: normalized member rows into ClickHouse",
		fmt.Sprintf("%s `members` rows (normalized by the DM Hub members stream from simulator pages, repeated with new ids), "+
			"%s rows per insert (%s), against `clickhouse-client --query 'INSERT … FORMAT Native'` reading the same rows "+
			"exported to a %s Native file.", num(n), num(batch), src, mbytes(fi.Size())),
		"path", "wall", "rows/s", "ours ÷ Native", "target")
	r.row(fmt.Sprintf("loyaltybridge `warehouse.Load`, %s rows per insert", num(batch)), dur(loadTime), rate(ours), ratio(ours/nat), "≥ 0.8")
	r.row("clickhouse-client, Native, one insert", dur(native), rate(nat), "", "")
	r.note("Our side used %s of CPU for the %s of inserts (the rest is ClickHouse's work and waiting for it).", dur(clientCPU), dur(loadTime))
	if ours/nat < 0.8 {
		r.note("Below target: CPU profile of the harness (our client side) during the loader phase (`go tool pprof -top`, first lines):\n\n```\n%s```",
			pprofTop(t, prof.Bytes(), 12))
	}
	t.Logf("loader: ours %.0f rows/s (%s), native %.0f rows/s (%s), batch %d", ours, loadTime, nat, native, batch)
}

// normalizedMembers fetches n members from a simulator through the DM
// Hub members stream: the rows a sync loads.
func normalizedMembers(t *testing.T, n int) []warehouse.Member {
	t.Helper()
	_, h := dmhubOnly(vendorsim.DMHubOptions{Seed: 42, Members: n})
	url, _ := serve(t, h)
	rd, rdb := warehousetest.Redis(t)
	src := &config.Source{Name: "bench-dmhub", Kind: dmhub.Kind, BaseURL: url + "/dmhub", PageSize: 100,
		Credentials: dmhub.Credentials{AppID: "sim-dmhub-app", AppSecret: "sim-dmhub-secret"}}
	conn, err := dmhub.New(src, &httpapi.Client{Source: src.Name, HTTP: http.DefaultClient, Timeout: time.Minute},
		dmhub.WithTokens(func(f dmhub.FetchFunc) *dmhub.TokenStore {
			return dmhub.NewTokenStore(rdb, rd.Namespace+":dmhub:bench", f)
		}))
	if err != nil {
		t.Fatal(err)
	}
	st, err := conn.Stream("members")
	if err != nil {
		t.Fatal(err)
	}
	var out []warehouse.Member
	req := connectors.Request{Mode: connectors.Full, Pages: 10}
	for {
		bt, err := st.Fetch(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range bt.Rows {
			if m, ok := r.(warehouse.Member); ok {
				out = append(out, m)
			}
		}
		if bt.Done || len(out) >= n {
			break
		}
		req.Cursor = bt.Next
	}
	if len(out) < n {
		t.Fatalf("the members stream gave %d rows, want %d", len(out), n)
	}
	return out[:n]
}

// processCPU is the CPU time (user + system) this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// pprofTop renders a CPU profile with `go tool pprof -top`.
func pprofTop(t *testing.T, prof []byte, lines int) string {
	f := filepath.Join(t.TempDir(), "cpu.pprof")
	if err := os.WriteFile(f, prof, 0o600); err != nil {
		return err.Error()
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount", strconv.Itoa(lines), f).CombinedOutput()
	if err != nil {
		return fmt.Sprintf("pprof: %v %s", err, out)
	}
	return string(out)
}

// --- 3. memory ---

// memory: worker peak RSS of full members syncs at E2EMembers (from the
// end-to-end run) and MemMembers.
func (b *bench) memory(t *testing.T) {
	b.mu.Lock()
	small, smallRSS := b.e2eMembers, b.e2eRSS
	b.mu.Unlock()
	r := b.rep.section("Memory: worker peak RSS of a full members sync",
		"`VmHWM` (peak resident set) of the `loyaltybridge worker` process (started fresh for each run), read just before it is stopped.",
		"members", "sync wall", "rows/s", "worker peak RSS", "÷ first", "target")
	if small == 0 {
		t.Fatal("no end-to-end run to compare with (run the e2e scenario first)")
	}
	r.row(num(small), "(end-to-end run)", "", mb(smallRSS), "1.00", "")
	if b.k.MemMembers == 0 {
		r.note("BENCH_MEM_MEMBERS=0: the second point was skipped.")
		return
	}
	n := b.k.MemMembers
	_, h := dmhubOnly(vendorsim.DMHubOptions{Seed: 42, Members: n})
	url, _ := serve(t, h)
	e := newEnv(t, b.bin, fmt.Sprintf(dmhubSource, "bench-dmhub", url, 1000, "members"))
	w := e.startWorker()
	el := e.sync("bench-dmhub", true, "members")
	rss := w.stop()
	if got := e.count("SELECT count() FROM " + e.wh.Q("members") + " FINAL WHERE is_deleted = 0"); got != uint64(n) {
		t.Fatalf("members in ClickHouse = %d, want %d", got, n)
	}
	r.row(num(n), dur(el), rate(float64(n)/el.Seconds()), mb(rss), ratio(rss/smallRSS),
		map[bool]string{true: "≤ 150 MB and ≤ 1.2× (at 1M)", false: "(target is at 1M members)"}[n == 1_000_000])
	t.Logf("memory: %d members: %.0f MB (%s); %d members: %.0f MB", small, smallRSS, el, n, rss)
}

// --- 4. rate budget ---

// rateBudget: the simulator at 30 ms latency allowing 50 requests/s, our
// rate_limit 50: the DM Hub points stream (per member, 4 in flight) over
// RateMembers members. Achieved requests/s ÷ 50, and 429s.
func (b *bench) rateBudget(t *testing.T) {
	const limit = 50
	n := b.k.RateMembers
	_, h := dmhubOnly(vendorsim.DMHubOptions{Seed: 9, Members: n, Latency: 30 * time.Millisecond, RateLimit: limit})
	url, rec := serve(t, h)
	e := newEnv(t, b.bin, fmt.Sprintf(dmhubSource, "bench-dmhub", url, limit, "members, points"))
	e.startWorker()
	e.sync("bench-dmhub", true, "members")
	time.Sleep(1100 * time.Millisecond) // the vendor's bucket refills
	rec.reset()
	el := e.sync("bench-dmhub", true, "points")
	rec.mu.Lock()
	times, statuses := slices.Clone(rec.times), rec.statuses
	rec.mu.Unlock()
	if len(times) < 2 {
		t.Fatalf("%d requests recorded", len(times))
	}
	window := times[len(times)-1].Sub(times[0])
	rps := float64(len(times)-1) / window.Seconds()
	// idle gaps: no request for 3 intervals or more (at 50/s, 4 in flight,
	// a request leaves every 20 ms while there is demand)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	var gaps int
	var idle time.Duration
	for i := 1; i < len(times); i++ {
		if d := times[i].Sub(times[i-1]); d >= 3*time.Second/limit {
			gaps++
			idle += d - time.Second/limit // beyond the one interval it should have been
		}
	}
	busy := float64(len(times)-1) / (window - idle).Seconds()
	r := b.rep.section("Rate budget: simulator at 30 ms latency allowing 50 requests/s",
		fmt.Sprintf("`rate_limit: 50`, `backfill_share: 1`, the DM Hub `points` stream (one request per member, `concurrency: 4` "+
			"in flight) over %s members, after a members sync; requests counted at the simulator from the first to the last.", num(n)),
		"requests", "window", "achieved requests/s", "÷ 50", "HTTP 429", "target", "sync wall")
	r.row(num(len(times)), dur(window), fmt.Sprintf("%.2f", rps), fmt.Sprintf("%.3f", rps/limit), strconv.FormatInt(statuses[http.StatusTooManyRequests], 10),
		"≥ 0.98, zero 429s", dur(el))
	r.note("Where the budget went: %d gaps of 60 ms or more between requests (nothing to pace: e.g. a per-member task ends, "+
		"loads, checkpoints and enqueues the next) took %s beyond their 20 ms slot of the %s window; without that idle time "+
		"the limiter paced %.2f requests/s (%.3f of 50).",
		gaps, dur(idle), dur(window), busy, busy/limit)
	t.Logf("rate: %d requests in %s: %.2f rps (%.3f), statuses %v; %d gaps, %s idle, %.2f rps outside", len(times), window, rps, rps/limit,
		statuses, gaps, idle, busy)
}

// --- 5. vendor cost and incremental ---

// vendorCost: requests per member of a full sync of every stream of the
// three vendors (zero latency, no limit), Houcaller points with the
// default empty-month stop and without it, and the requests of an
// incremental DM Hub sync after 1% of the members changed ÷ the full one.
func (b *bench) vendorCost(t *testing.T) {
	n := b.k.CostMembers
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 5, Members: n, Houcaller: vendorsim.HoucallerOptions{RecentMonths: 3}})
	url, _ := serve(t, sim)
	sources := fmt.Sprintf(`  - name: cost-dmhub
    kind: dmhub
    base_url: %[1]s/dmhub
    rate_limit: 1000
    backfill_share: 1
    identity_keys: {from_source: cost-dmhub, field: mobile, type: mobile}
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
  - name: cost-houcaller
    kind: houcaller
    base_url: %[1]s/houcaller/htest
    rate_limit: 1000
    backfill_share: 1
    credentials: {channel: hkl-test, des_key: hklsim01}
    member_keys: {from_source: cost-dmhub, field: c_houcaller_id}
  - name: cost-houcaller-every-month
    kind: houcaller
    base_url: %[1]s/houcaller/htest
    rate_limit: 1000
    backfill_share: 1
    streams: [points]
    houcaller: {points_empty_months: -1}
    credentials: {channel: hkl-test, des_key: hklsim01}
    member_keys: {from_source: cost-dmhub, field: c_houcaller_id}
  - name: cost-zvcms
    kind: zvcms
    base_url: %[1]s/zvcms
    rate_limit: 1000
    backfill_share: 1
    credentials: {open_id: sim-zvcms-open, grant_code: sim-grant, secret: sim-zvcms-secret}
    member_keys: {from_source: cost-dmhub, field: c_zvcms_id}
`, url)
	e := newEnv(t, b.bin, sources)
	e.startWorker()
	dmStreams := specStreams(dmhub.Spec)
	perMember := dmStreams[1:] // members first: the other streams read its members
	if dmStreams[0] != "members" {
		t.Fatalf("dmhub streams %v do not start with members", dmStreams)
	}
	before := e.runs("cost-dmhub")
	e.sync("cost-dmhub", true, "members")
	e.sync("cost-dmhub", true, perMember...)
	full := newRuns(before, e.runs("cost-dmhub"))
	e.sync("cost-houcaller", true)
	e.sync("cost-houcaller-every-month", true)
	e.sync("cost-zvcms", true)

	hcKeys, zvKeys := len(sim.Houcaller.Members()), len(sim.Zvcms.Customers())
	r := b.rep.section("Vendor cost: requests per member of a full sync",
		fmt.Sprintf("%s DM Hub members (seed 5), %s of them linked to Houcaller and %s to zvcms (`member_keys` from DM Hub); "+
			"the simulator's Houcaller points history spans the last 3 months (a live tenant), zero latency, no rate limit. "+
			"Requests are the run's own (`sync_runs.requests`; token calls excluded).", num(n), num(hcKeys), num(zvKeys)),
		"vendor", "stream", "members", "requests", "requests per member", "rows")
	addRuns := func(vendor string, runs map[string]run, members int, order []string) {
		for _, s := range order {
			x, ok := runs[s]
			if !ok {
				t.Errorf("%s: no run of %s", vendor, s)
				continue
			}
			if x.Status != warehouse.RunSucceeded {
				t.Errorf("%s/%s: run %s", vendor, s, x.Status)
			}
			r.row(vendor, "`"+s+"`", num(members), num(int(x.Requests)), fmt.Sprintf("%.2f", float64(x.Requests)/float64(members)), num(int(x.Rows)))
		}
	}
	addRuns("dmhub", full, n, dmStreams)
	hc := newRuns(nil, e.runs("cost-houcaller"))
	addRuns("houcaller", hc, hcKeys, specStreams(houcaller.Spec))
	every := newRuns(nil, e.runs("cost-houcaller-every-month"))
	x, y := hc["points"], every["points"]
	r.row("houcaller", "`points`, `points_empty_months: -1` (before: every month of `points_months: 24`)", num(hcKeys), num(int(y.Requests)),
		fmt.Sprintf("%.2f", float64(y.Requests)/float64(hcKeys)), num(int(y.Rows)))
	addRuns("zvcms", newRuns(nil, e.runs("cost-zvcms")), zvKeys, specStreams(zvcms.Spec))
	r.note("Houcaller points, default `points_empty_months: 3` against every month: %.2f ÷ %.2f requests per member (%.1f× fewer), %s ÷ %s rows.",
		float64(x.Requests)/float64(hcKeys), float64(y.Requests)/float64(hcKeys), float64(y.Requests)/math.Max(1, float64(x.Requests)), num(int(x.Rows)), num(int(y.Rows)))
	if x.Rows != y.Rows {
		t.Errorf("houcaller points: %d rows with the stop, %d without: history lost in a 3-month tenant", x.Rows, y.Rows)
	}

	// incremental after 1% of the members changed
	members := sim.DMHub.Members()
	changed := 0
	for i := 0; i < len(members); i += 100 {
		if _, err := sim.DMHub.UpdateMember(members[i].ID); err != nil {
			t.Fatal(err)
		}
		changed++
	}
	before = e.runs("cost-dmhub")
	e.sync("cost-dmhub", false, "members")
	e.sync("cost-dmhub", false, perMember...)
	inc := newRuns(before, e.runs("cost-dmhub"))
	ri := b.rep.section("Incremental: DM Hub after 1% of the members changed",
		fmt.Sprintf("The simulator updates %s of the %s members (every 100th: `lastUpdated` moves); then an incremental sync of every "+
			"DM Hub stream. Vendor requests of each run ÷ those of the full sync above.", num(changed), num(n)),
		"stream", "full requests", "incremental requests", "incremental ÷ full", "target")
	var fs, is uint64
	for _, s := range dmStreams {
		f, i := full[s], inc[s]
		if i.Mode != "incremental" || i.Status != warehouse.RunSucceeded {
			t.Errorf("incremental %s: mode %s status %s", s, i.Mode, i.Status)
		}
		fs, is = fs+f.Requests, is+i.Requests
		ri.row("`"+s+"`", num(int(f.Requests)), num(int(i.Requests)), fmt.Sprintf("%.3f", float64(i.Requests)/math.Max(1, float64(f.Requests))), "")
	}
	ri.row("**all streams**", num(int(fs)), num(int(is)), fmt.Sprintf("**%.3f**", float64(is)/math.Max(1, float64(fs))), "≤ 0.1")
	t.Logf("cost: full %d, incremental %d requests", fs, is)
}

// --- 6. outbound ---

var benchLine = regexp.MustCompile(`^BenchmarkOutbound/(\S+?)(?:-\d+)?\s+\d+\s+.*?([\d.]+) tasks/s`)

// outbound runs BenchmarkOutbound (jobs/outbound_bench_test.go), which
// measures intake → vendor acknowledgement at concurrency 50 beside
// asynq's no-op task rate in the same process.
func (b *bench) outbound(t *testing.T) {
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "BenchmarkOutbound", "-benchtime", fmt.Sprintf("%dx", b.k.OutboundN), "-count", "1", "../jobs/")
	out, runErr := cmd.CombinedOutput()
	got := map[string]float64{}
	var names []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := benchLine.FindStringSubmatch(sc.Text()); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			got[m[1]] = v
			names = append(names, m[1])
		}
	}
	noop := got["asynq-noop"]
	if noop == 0 || len(names) < 2 {
		t.Fatalf("no asynq-noop or intake figures (exit: %v) in:\n%s", runErr, out)
	}
	r := b.rep.section("Outbound: intake → vendor acknowledgement at concurrency 50",
		fmt.Sprintf("`go test -run '^$' -bench BenchmarkOutbound -benchtime %dx ./jobs/` (zero-latency DM Hub simulator; "+
			"each intake request waits until its lines are durable in ClickHouse), beside asynq's no-op task rate in the same run.", b.k.OutboundN),
		"sub-benchmark", "writes/s (tasks/s)", "÷ asynq no-op", "target")
	for _, nm := range names {
		tgt := ""
		if nm != "asynq-noop" {
			tgt = "≥ 0.5"
		}
		r.row("`"+nm+"`", fmt.Sprintf("%.0f", got[nm]), fmt.Sprintf("%.2f", got[nm]/noop), tgt)
	}
	if runErr != nil {
		// e.g. a test database not dropped in time under load: the figures
		// stand, the failure is shown and fails this scenario
		var fails []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "FAIL") || (strings.Contains(l, ".go:") && !strings.Contains(l, "writes: intake")) {
				fails = append(fails, strings.TrimSpace(l))
			}
		}
		r.note("The benchmark process exited with %v after reporting these figures: `%s`.", runErr, strings.Join(fails, "`; `"))
		t.Errorf("outbound benchmark: %v\n%s", runErr, out)
	}
}

// --- the report ---

type report struct {
	sections []*section
	wall     []string
	total    time.Duration
}

type section struct {
	title, intro string
	head         []string
	rows         [][]string
	notes        []string
}

func (r *report) section(title, intro string, head ...string) *section {
	s := &section{title: title, intro: intro, head: head}
	r.sections = append(r.sections, s)
	return s
}

func (s *section) row(cells ...string) { s.rows = append(s.rows, cells) }

func (s *section) note(format string, args ...any) {
	s.notes = append(s.notes, fmt.Sprintf(format, args...))
}

func (r *report) render(k knobs) string {
	var w strings.Builder
	host, _ := os.Hostname()
	fmt.Fprintf(&w, "Run of %s UTC, form `%s`, on %s (%d CPUs, %s, %s). Wall time of the Go harness: %s (%s).\n\n",
		time.Now().UTC().Format("2006-01-02 15:04"), k.Form, host, runtime.NumCPU(), runtime.Version(), loadavg(), dur(r.total), strings.Join(r.wall, ", "))
	fmt.Fprintf(&w, "Scale: `BENCH_E2E_MEMBERS=%d BENCH_MEM_MEMBERS=%d BENCH_LOADER_ROWS=%d BENCH_LOADER_BATCH=%d BENCH_RATE_MEMBERS=%d "+
		"BENCH_COST_MEMBERS=%d BENCH_OUTBOUND_N=%d`.\n", k.E2EMembers, k.MemMembers, k.LoaderRows, k.LoaderBatch, k.RateMembers, k.CostMembers, k.OutboundN)
	for _, s := range r.sections {
		fmt.Fprintf(&w, "\n### %s\n\n%s\n\n", s.title, s.intro)
		fmt.Fprintf(&w, "| %s |\n|%s\n", strings.Join(s.head, " | "), strings.Repeat("---|", len(s.head)))
		for _, row := range s.rows {
			for len(row) < len(s.head) {
				row = append(row, "")
			}
			fmt.Fprintf(&w, "| %s |\n", strings.Join(row, " | "))
		}
		for _, n := range s.notes {
			fmt.Fprintf(&w, "\n%s\n", n)
		}
	}
	return w.String()
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "load unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "load unknown"
	}
	return "load average at the end " + strings.Join(f[:3], " ")
}

const (
	beginMark = "<!-- bench:begin (generated by `make bench`; edits here are overwritten) -->"
	endMark   = "<!-- bench:end -->"
)

// writeSection replaces the text between the markers of path by md.
func writeSection(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	i, j := bytes.Index(old, []byte(beginMark)), bytes.Index(old, []byte(endMark))
	if i < 0 || j < i {
		return errors.New(path + ": no generated section (markers " + beginMark + " … " + endMark + ")")
	}
	var out bytes.Buffer
	out.Write(old[:i+len(beginMark)])
	out.WriteString("\n")
	out.WriteString(md)
	out.WriteString("\n")
	out.Write(old[j:])
	return os.WriteFile(path, out.Bytes(), 0o644)
}

func num(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func rate(v float64) string { return num(int(math.Round(v))) }

func ratio(v float64) string {
	if v >= 10 {
		return fmt.Sprintf("%.1f×", v)
	}
	return fmt.Sprintf("%.2f", v)
}

func dur(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%.2f s", d.Seconds())
	}
	return d.Round(time.Second).String()
}

func mb(v float64) string { return fmt.Sprintf("%.0f MB", v) }

func mbytes(n int64) string { return fmt.Sprintf("%.0f MB", float64(n)/(1<<20)) }

// specStreams are the stream names a kind declares.
func specStreams(k config.KindSpec) []string {
	var names []string
	for _, s := range k.Streams {
		names = append(names, s.Name)
	}
	return names
}
