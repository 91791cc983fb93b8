package jobs_test

// The harness of the fault-injection suite (reliability_integration_test.go,
// docs/reliability.md): PRIVATE Redis and ClickHouse servers that the
// tests may stop, kill and restart (deploy/dev/services.sh with a temporary
// data folder and free ports, never the shared 16379/19000 ones), the
// loyaltybridge binary built once and run as worker processes (each in its
// own process group, killed at cleanup), an in-test simulator they sync
// from, and the checks every test ends with.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"io"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// EnvReliability selects the suite's form: "long" (make reliability) runs
// the long outages and the bigger data sets; anything else the short form
// that `make test` runs.
const EnvReliability = "LB_RELIABILITY"

func longForm() bool { return os.Getenv(EnvReliability) == "long" }

// pick returns the short or the long form's value.
func pick[T any](short, long T) T {
	if longForm() {
		return long
	}
	return short
}

// relState is built once per test binary, on the first reliability test,
// and torn down by TestMain.
var relState struct {
	once sync.Once
	err  error
	tmp  string // temporary folder of the binary
	bin  string // the built loyaltybridge
	svc  *privateServices
}

// TestMain stops the private servers and removes the binary after the
// package's tests, whatever their outcome.
func TestMain(m *testing.M) {
	code := m.Run()
	relTeardown()
	os.Exit(code)
}

func relTeardown() {
	if s := relState.svc; s != nil {
		if out, err := s.run("down"); err != nil {
			fmt.Fprintf(os.Stderr, "reliability: services down: %v\n%s", err, out)
		}
		_ = os.RemoveAll(s.dir)
	}
	if relState.tmp != "" {
		_ = os.RemoveAll(relState.tmp)
	}
}

// relSetup builds the binary and starts the suite's shared private
// servers, once; own gives the test servers of its own instead (it stops
// or kills them), stopped at its cleanup.
func relSetup(t *testing.T, own bool) *privateServices {
	t.Helper()
	if os.Getenv(warehousetest.EnvClickHouse) == "" || os.Getenv(warehousetest.EnvRedis) == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("the test services are not set under CI: run the tests with `make test`")
		}
		t.Skip("the test services are not set: run `make test` or `make reliability` (the suite starts private servers beside them)")
	}
	relState.once.Do(func() {
		relState.err = relBuild()
		if relState.err == nil {
			relState.svc, relState.err = startPrivateServices()
		}
	})
	if relState.err != nil {
		t.Fatalf("reliability suite set-up: %v", relState.err)
	}
	if !own {
		return relState.svc
	}
	s, err := startPrivateServices()
	if s != nil {
		t.Cleanup(func() {
			if out, err := s.run("down"); err != nil {
				t.Errorf("private services down: %v\n%s", err, out)
			}
			_ = os.RemoveAll(s.dir)
		})
	}
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// relBuild builds loyaltybridge into a temporary folder.
func relBuild() error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	reapStale(root)
	tmp, err := os.MkdirTemp("", "lb-reliability-bin-")
	if err != nil {
		return err
	}
	relState.tmp = tmp
	bin := filepath.Join(tmp, "loyaltybridge")
	start := time.Now()
	build := exec.Command(goTool(), "build", "-o", bin, "./cmd/loyaltybridge")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/loyaltybridge: %v\n%s", err, out)
	}
	relState.bin = bin
	fmt.Fprintf(os.Stderr, "reliability: built loyaltybridge in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// startPrivateServices starts a Redis and a ClickHouse on free ports with
// a temporary data folder (deploy/dev/services.sh up).
func startPrivateServices() (*privateServices, error) {
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "lb-reliability-data-")
	if err != nil {
		return nil, err
	}
	// the owner's pid: a later run stops these servers if this process
	// died without its cleanup (reapStale)
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	s := &privateServices{script: filepath.Join(root, "deploy", "dev", "services.sh"), dir: dir,
		redisPort: ports[0], chPort: ports[1], chHTTPPort: ports[2]}
	start := time.Now()
	if out, err := s.run("up"); err != nil {
		return s, fmt.Errorf("private services up: %v\n%s", err, out)
	}
	fmt.Fprintf(os.Stderr, "reliability: private redis 127.0.0.1:%d, clickhouse 127.0.0.1:%d (data %s) up in %s\n",
		s.redisPort, s.chPort, dir, time.Since(start).Round(time.Millisecond))
	return s, nil
}

// reapStale stops the private servers of earlier runs whose test process
// is gone (killed by a -timeout panic or a signal before TestMain's
// teardown), and removes their folders.
func reapStale(root string) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "lb-reliability-data-*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || syscall.Kill(pid, 0) == nil {
			continue // owner alive (or unreadable): not ours to stop
		}
		s := &privateServices{script: filepath.Join(root, "deploy", "dev", "services.sh"), dir: dir}
		if _, err := s.run("down"); err == nil {
			_ = os.RemoveAll(dir)
		}
	}
}

func moduleRoot() (string, error) {
	out, err := exec.Command(goTool(), "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", errors.New("go env GOMOD: not in a module")
	}
	return filepath.Dir(mod), nil
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// freePorts returns n distinct loopback ports free right now.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	var out []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		out = append(out, l.Addr().(*net.TCPAddr).Port)
	}
	return out, nil
}

// privateServices is a Redis and a ClickHouse of this test binary alone,
// run by deploy/dev/services.sh in a temporary data folder.
type privateServices struct {
	script                        string
	dir                           string
	redisPort, chPort, chHTTPPort int
}

func (s *privateServices) redisAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.redisPort) }
func (s *privateServices) chAddr() string    { return fmt.Sprintf("127.0.0.1:%d", s.chPort) }

// run runs services.sh with the folder and ports of these servers.
func (s *privateServices) run(arg string) ([]byte, error) {
	cmd := exec.Command("bash", s.script, arg)
	cmd.Env = append(os.Environ(), "LOYALTYBRIDGE_DATA="+s.dir)
	if s.redisPort != 0 {
		cmd.Env = append(cmd.Env, fmt.Sprintf("LB_REDIS_PORT=%d", s.redisPort), fmt.Sprintf("LB_CLICKHOUSE_PORT=%d", s.chPort),
			fmt.Sprintf("LB_CLICKHOUSE_HTTP_PORT=%d", s.chHTTPPort))
	}
	return cmd.CombinedOutput()
}

// up starts whichever of the two is not running and waits until both
// answer.
func (s *privateServices) up(t *testing.T) {
	t.Helper()
	if out, err := s.run("up"); err != nil {
		t.Fatalf("private services up: %v\n%s", err, out)
	}
}

func (s *privateServices) pid(t *testing.T, name string) int {
	t.Helper()
	file := map[string]string{"redis": "redis/redis.pid", "clickhouse": "clickhouse/clickhouse.pid"}[name]
	b, err := os.ReadFile(filepath.Join(s.dir, file))
	if err != nil {
		t.Fatalf("%s pid: %v", name, err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatalf("%s pid file: %v", name, err)
	}
	return pid
}

// signal sends sig to the server and waits until its process is gone.
func (s *privateServices) signal(t *testing.T, name string, sig syscall.Signal) {
	t.Helper()
	pid := s.pid(t, name)
	if err := syscall.Kill(pid, sig); err != nil {
		t.Fatalf("kill -%d %s (pid %d): %v", sig, name, pid, err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Logf("%s (pid %d) still running 60 s after signal %d: killed", name, pid, sig)
			deadline = time.Now().Add(10 * time.Second)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// relWorld is one reliability test's world on the private servers: a
// simulator, a fresh database and Redis namespace, the config file the
// worker processes read, and the test's own engine, which starts syncs
// and takes outbound writes (as `sync` and `serve` would) but never works
// a task.
type relWorld struct {
	t       *testing.T
	svc     *privateServices
	sim     *vendorsim.Server
	cfg     *config.Config
	cfgPath string
	wh      *warehouse.Warehouse
	rdb     *redis.Client
	reg     *connectors.Registry
	engine  *jobs.Engine
	ob      *outbound.Outbound
	b       *bundle // for the table comparisons of the other tests
	workers []*workerProc
}

type relOpts struct {
	members int
	dmhub   vendorsim.DMHubOptions
	source  string // extra YAML lines of the dmhub source
	worker  string // extra YAML lines of worker:
	own     bool   // servers of its own: the test stops or kills them
}

func newRelWorld(t *testing.T, o relOpts) *relWorld {
	t.Helper()
	svc := relSetup(t, o.own)
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 7, Members: o.members, DMHub: o.dmhub})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	suffix := warehousetest.Suffix()
	yml := fmt.Sprintf(`# generated by the reliability suite (jobs/reliability_harness_test.go)
redis: {addr: %q, namespace: "lbrel-%s"}
clickhouse: {addr: [%q], database: "lbrel_%s", dial_timeout: 3s}
worker:
  concurrency: 4
  pages_per_task: 1
  shutdown_timeout: 5s
%s
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: 1000
    backfill_share: 1
    timeout: 5s
    page_size: 20
    concurrency: 4
    identity_keys: {from_source: acme-dmhub, field: mobile, type: mobile}
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
%s`, svc.redisAddr(), suffix, svc.chAddr(), suffix, o.worker, srv.URL, o.source)
	path := filepath.Join(t.TempDir(), "loyaltybridge.yaml")
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, builtin.Kinds())
	if err != nil {
		t.Fatalf("generated config: %v\n%s", err, yml)
	}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, cfg.ClickHouse)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wh.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = wh.Conn().Exec(ctx, "DROP DATABASE IF EXISTS `"+cfg.ClickHouse.Database+"`")
		_ = wh.Close()
	})
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Redis.Addr})
	t.Cleanup(func() { _ = rdb.Close() })
	reg := connectors.NewRegistry()
	if err := reg.Register(dmhub.Spec, dmhub.Factory); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	e := jobs.NewEngine(cfg, wh, rdb, reg, log)
	w := &relWorld{t: t, svc: svc, sim: sim, cfg: cfg, cfgPath: path, wh: wh, rdb: rdb, reg: reg, engine: e, ob: e.NewOutbound(rdb)}
	t.Cleanup(w.ob.Store.Close)
	w.b = &bundle{sim: sim, srv: srv, cfg: cfg, wh: wh, rdb: rdb, engine: e, reg: reg, log: log, stop: func() {}}
	return w
}

// workerProc is one `loyaltybridge worker` process, in its own process
// group so that a kill reaches everything it started.
type workerProc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startWorker starts a worker process on the world's config.
func (w *relWorld) startWorker(name string) *workerProc {
	t := w.t
	t.Helper()
	logPath := filepath.Join(t.TempDir(), name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(relState.bin, "--config", w.cfgPath, "--log-format", "text", "--log-level", "info", "worker")
	cmd.Stdout, cmd.Stderr = f, f
	// own process group (kill -9 -pgid reaches all of it); killed with us
	// if the test binary dies first
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		_ = f.Close()
		t.Fatalf("start worker %s: %v", name, err)
	}
	p := &workerProc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		_ = f.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.kill(t, syscall.SIGKILL)
		if t.Failed() {
			t.Logf("worker %s log (last lines):\n%s", name, p.tail(40))
		}
	})
	w.workers = append(w.workers, p)
	return p
}

// kill sends sig to the worker's process group and waits until the
// worker has exited and no process of its group is left.
func (p *workerProc) kill(t *testing.T, sig syscall.Signal) {
	t.Helper()
	pgid := p.cmd.Process.Pid
	select {
	case <-p.done:
	default:
		_ = syscall.Kill(-pgid, sig)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			t.Errorf("worker %s did not exit 30 s after signal %d: killing it", p.name, sig)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
	}
	for i := 0; syscall.Kill(-pgid, 0) == nil; i++ {
		if i == 100 {
			t.Errorf("process group %d of worker %s still has processes 5 s after the worker exited", pgid, p.name)
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// exited reports whether the worker process has ended.
func (p *workerProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of the worker's log.
func (p *workerProc) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// waitFor polls cond until it holds; it fails the test after limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// runRows returns the rows of the runs of refs (nil when ClickHouse does
// not answer).
func (w *relWorld) runRows(refs []jobs.RunRef) []warehouse.Run {
	ids := make([]string, len(refs))
	for i, r := range refs {
		ids[i] = r.RunID
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	rows, err := w.wh.RunsByID(ctx, "acme-dmhub", ids)
	if err != nil {
		return nil
	}
	return rows
}

// loaded reports how many rows the run of stream in refs has loaded.
func (w *relWorld) loaded(refs []jobs.RunRef, stream string) uint64 {
	for _, r := range w.runRows(refs) {
		if r.Stream == stream {
			return r.Rows
		}
	}
	return 0
}

// waitRuns waits until every run of refs has ended; ClickHouse errors
// (an outage) are waited out.
func (w *relWorld) waitRuns(refs []jobs.RunRef, limit time.Duration) []warehouse.Run {
	t := w.t
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		rows := w.runRows(refs)
		ended := 0
		for _, r := range rows {
			if r.Status == warehouse.RunSucceeded || r.Status == warehouse.RunFailed {
				ended++
			}
		}
		if len(rows) == len(refs) && ended == len(refs) {
			return rows
		}
		if time.Now().After(deadline) {
			for _, r := range rows {
				t.Logf("  run %s/%s: %s, %d rows, error %q", r.Stream, r.RunID, r.Status, r.Rows, r.Error)
			}
			for _, p := range w.workers {
				t.Logf("worker %s (exited %v) log:\n%s", p.name, p.exited(), p.tail(30))
			}
			t.Fatalf("%d of %d runs ended after %s", ended, len(refs), limit)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// startBackfill starts a full sync of every DM Hub stream.
func (w *relWorld) startBackfill() []jobs.RunRef {
	w.t.Helper()
	refs, err := w.engine.StartSync(context.Background(), "acme-dmhub", nil, connectors.Full)
	if err != nil {
		w.t.Fatalf("StartSync: %v", err)
	}
	return refs
}

// pushOrders accepts n deals (orders prefix-000…) and a refund of every
// other one, ordered after its deal, as `push`/`serve` would.
func (w *relWorld) pushOrders(prefix string, n int) []string {
	t := w.t
	t.Helper()
	members := w.sim.DMHub.Members()
	var deals, refunds []outbound.Line
	for i := range n {
		m := members[i%len(members)].ID
		deals = append(deals, outbound.Line{N: i + 1, Body: []byte(dealLine(fmt.Sprintf("%s-%03d", prefix, i), m))})
		if i%2 == 0 {
			refunds = append(refunds, outbound.Line{N: len(refunds) + 1, Body: []byte(fmt.Sprintf(
				`{"membershipId":%s,"orderNo":"%s-%03d","dateRefund":"2024-03-16T10:00:00Z","refundTotal":99.5,"refundLines":[{"lineId":"L1"}]}`, m, prefix, i))})
		}
	}
	return append(w.accept("deal", deals), w.accept("refund", refunds)...)
}

func (w *relWorld) accept(kind string, lines []outbound.Line) []string {
	t := w.t
	t.Helper()
	res, err := w.ob.Accept(context.Background(), "acme-dmhub", kind, lines)
	if err != nil {
		t.Fatalf("Accept(%s): %v", kind, err)
	}
	var ids []string
	for _, r := range res {
		if r.ID == "" || r.Duplicate {
			t.Fatalf("%s line %d not accepted: %+v", kind, r.Line, r)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// applied is the number of writes in the vendor's ledger.
func (w *relWorld) applied() int { return len(w.sim.DMHub.Writes()) }

// waitWrites waits until the n accepted writes are succeeded or dead;
// ClickHouse errors are waited out.
func (w *relWorld) waitWrites(n int, limit time.Duration) []outbound.Event {
	t := w.t
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		all, err := w.ob.Store.List(ctx, "", 100000)
		cancel()
		open := 0
		for _, e := range all {
			if !outbound.Terminal(e.State) {
				open++
			}
		}
		if err == nil && len(all) == n && open == 0 {
			return all
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d writes stored (want %d), %d not settled (last error: %v)", limit, len(all), n, open, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// verifySync checks that every run succeeded and that every DM Hub table
// equals the simulator's data after FINAL, with no live row marked
// deleted; it logs what it verified.
func (w *relWorld) verifySync(runs []warehouse.Run) {
	t := w.t
	t.Helper()
	for _, r := range runs {
		if r.Status != warehouse.RunSucceeded {
			t.Errorf("run %s/%s (%s): %s: %s", r.Source, r.Stream, r.RunID, r.Status, r.Error)
		}
	}
	equalDMHub(t, w.b)
	w.verifyNoTombstones()
	var parts []string
	for _, table := range []string{"members", "member_identities", "points_ledger", "experience_ledger", "member_coupons", "coupons", "levels"} {
		parts = append(parts, fmt.Sprintf("%s %d", table, w.b.count(t, "SELECT count() FROM "+w.b.q(table)+" FINAL")))
	}
	if !t.Failed() {
		t.Logf("verified: %d runs succeeded; tables equal the simulator after FINAL (rows: %s); no row marked deleted",
			len(runs), strings.Join(parts, ", "))
	}
}

// verifyNoTombstones fails on any row a full scan marked deleted: the
// simulator deleted nothing.
func (w *relWorld) verifyNoTombstones() {
	t := w.t
	t.Helper()
	for _, table := range []string{"members", "member_coupons", "member_identities"} {
		if n := w.b.count(t, "SELECT count() FROM "+w.b.q(table)+" FINAL WHERE is_deleted = 1"); n != 0 {
			t.Errorf("%s: %d rows marked deleted, but the vendor deleted none", table, n)
		}
	}
}

// verifyWrites checks the vendor's ledger against the accepted orders:
// every deal and refund applied exactly once, each refund after its deal,
// nothing else applied, every write succeeded; it logs what it verified.
func (w *relWorld) verifyWrites(prefix string, n int, events []outbound.Event) {
	t := w.t
	t.Helper()
	for _, e := range events {
		if e.State != outbound.StateSucceeded {
			t.Errorf("%s %s (%s): %s (%s)", e.Kind, e.OrderNo, e.WriteID, e.State, e.LastError)
		}
	}
	count := map[string]int{}
	seq := map[string]int64{}
	for _, wr := range w.sim.DMHub.Writes() {
		k := wr.Kind + ":" + wr.OrderNo
		count[k]++
		seq[k] = wr.Seq
	}
	want := 0
	for i := range n {
		o := fmt.Sprintf("%s-%03d", prefix, i)
		want++
		if c := count["deal:"+o]; c != 1 {
			t.Errorf("deal %s applied %d times", o, c)
		}
		if i%2 == 0 {
			want++
			if c := count["refund:"+o]; c != 1 {
				t.Errorf("refund %s applied %d times", o, c)
			} else if seq["refund:"+o] < seq["deal:"+o] {
				t.Errorf("refund %s applied before its deal", o)
			}
		}
	}
	if got := len(w.sim.DMHub.Writes()); got != want {
		t.Errorf("the vendor's ledger has %d writes, %d were accepted", got, want)
	}
	if !t.Failed() {
		t.Logf("verified: %d accepted writes (%d deals, %d refunds) each applied exactly once in the vendor's ledger, refunds after their deals, all succeeded",
			want, n, want-n)
	}
}

// sortedRuns orders runs by stream for stable logs.
func sortedRuns(runs []warehouse.Run) []warehouse.Run {
	sort.Slice(runs, func(i, j int) bool { return runs[i].Stream < runs[j].Stream })
	return runs
}

// bufLog collects a worker engine's log in memory (in-process workers).
type bufLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *bufLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.buf.Len() < 1<<20 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *bufLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
