package jobs_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// The bad day of issue 8 ("Judged by") and issue 14 item 1: every vendor
// at once misbehaving the way vendors do.
const (
	badDayMembers     = 200
	badDayTokenTTL    = 10 * time.Second // DM Hub access tokens
	badDayFaultRate   = 0.05             // of every vendor's requests
	badDayVendorRPS   = 20               // the vendors' rate limit (429 + Retry-After beyond)
	badDayOurRPS      = 25               // what we were told the limit is: a little more, so 429s happen
	badDayHang        = 10 * time.Second // a hang outlives the client's timeout...
	badDayTimeout     = 3 * time.Second  // ...which is this (per request)
	badDayPointMonths = 3                // Houcaller months read back (the default 24 costs 25 requests a member)
	badDayDeadline    = 150 * time.Second
)

// countingTransport counts one worker's vendor requests.
type countingTransport struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.next.RoundTrip(r)
}

// warnLog keeps the first warnings and errors the workers log.
type warnLog struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines int
}

func (l *warnLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines++
	if l.lines <= 40 {
		l.buf.Write(p)
	}
	return len(p), nil
}

func (l *warnLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("%d warning/error lines; the first:\n%s", l.lines, l.buf.String())
}

// badDayWorker is one worker "process": its own Redis client, ClickHouse
// connection, engine, HTTP transport (counted) and asynq server.
type badDayWorker struct {
	engine *jobs.Engine
	rdb    *redis.Client
	reqs   *countingTransport
}

// TestBadDay: all three vendors synced in FULL from the simulator with
// 10 s DM Hub tokens, 5% mixed faults on every vendor (500 with JSON, 502
// with HTML, busy errors inside HTTP 200, truncated JSON, hangs past the
// client timeout), a 20 requests/s vendor rate limit and two workers on
// one Redis namespace and one ClickHouse database. Every run must succeed
// and every table must equal the simulator's data after FINAL.
func TestBadDay(t *testing.T) {
	t.Parallel()
	runBadDay(t, badDayTokenTTL, badDayFaultRate, badDayOurRPS)
}

// TestBadDayCalmControl is TestBadDay on a calm day: no faults, the
// documented 7200 s tokens and our rate limit equal to the vendor's (same
// data, workers and checks). It shows the set-up and the comparisons are
// right, so a TestBadDay failure is the bad day's doing.
func TestBadDayCalmControl(t *testing.T) {
	t.Parallel()
	runBadDay(t, 7200*time.Second, 0, badDayVendorRPS)
}

func runBadDay(t *testing.T, tokenTTL time.Duration, faultRate float64, ourRPS int) {
	chCfg, wh := warehousetest.ClickHouse(t)
	rCfg, rdb := warehousetest.Redis(t)
	mix := vendorsim.FaultMix{Hang: badDayHang} // the default mix: every transient kind
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 7, Members: badDayMembers,
		DMHub:     vendorsim.DMHubOptions{TokenTTL: tokenTTL, ErrorRate: faultRate, Faults: mix, RateLimit: badDayVendorRPS},
		Houcaller: vendorsim.HoucallerOptions{ErrorRate: faultRate, Faults: mix, RateLimit: badDayVendorRPS},
		Zvcms:     vendorsim.ZvcmsOptions{ErrorRate: faultRate, Faults: mix, RateLimit: badDayVendorRPS},
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	// Houcaller points are read for the last badDayPointMonths months only,
	// and the generated history ends in 2025: give a third of the members
	// points this month, so the points check compares real rows.
	for i, m := range sim.Houcaller.Members() {
		if i%3 == 0 {
			if _, err := sim.Houcaller.AddScore(m.ID, int64(10+i)); err != nil {
				t.Fatal(err)
			}
		}
	}

	// Our configured rate limit (shared by the workers) is a little above
	// the vendor's real one, so the vendor answers 429 with Retry-After;
	// backfill_share 1 lets these full runs use all of it.
	yml := fmt.Sprintf(`
redis: {addr: %[1]q, namespace: %[2]q}
clickhouse: {addr: [%[3]q], database: %[4]q}
worker: {concurrency: 4, pages_per_task: 3, max_retry: 3, shutdown_timeout: 5s}
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: %[5]s/dmhub
    rate_limit: %[6]d
    backfill_share: 1
    timeout: %[7]s
    page_size: 50
    concurrency: 4
    identity_keys: {from_source: acme-dmhub, field: mobile, type: mobile}
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
  - name: acme-houcaller
    kind: houcaller
    base_url: %[5]s/houcaller/htest
    rate_limit: %[6]d
    backfill_share: 1
    timeout: %[7]s
    houcaller: {points_months: %[8]d, points_empty_months: -1}   # every month: the tables must equal the simulator
    credentials: {channel: hkl-test, des_key: hklsim01}
    member_keys: {from_source: acme-dmhub, field: c_houcaller_id}
  - name: acme-zvcms
    kind: zvcms
    base_url: %[5]s/zvcms
    rate_limit: %[6]d
    backfill_share: 1
    timeout: %[7]s
    credentials: {open_id: sim-zvcms-open, grant_code: sim-grant, secret: sim-zvcms-secret}
    member_keys: {from_source: acme-dmhub, field: c_zvcms_id}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, srv.URL, ourRPS, badDayTimeout, badDayPointMonths)
	cfg, err := config.Parse("badday.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	warnings := &warnLog{}
	log := slog.New(slog.NewTextHandler(warnings, &slog.HandlerOptions{Level: slog.LevelWarn}))

	ctx := context.Background()
	var workers []*badDayWorker
	for i := range 2 {
		w := &badDayWorker{rdb: rdb}
		whw := wh
		if i > 0 { // the second "process" has its own connections
			w.rdb = redis.NewClient(&redis.Options{Addr: rCfg.Addr})
			t.Cleanup(func() { _ = w.rdb.Close() })
			if whw, err = warehouse.Open(ctx, chCfg); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = whw.Close() })
		}
		reg, err := builtin.Registry()
		if err != nil {
			t.Fatal(err)
		}
		w.reqs = &countingTransport{next: http.DefaultTransport.(*http.Transport).Clone()}
		w.engine = jobs.NewEngine(cfg, whw, w.rdb, reg, log.With("worker", i+1), jobs.WithTransport(w.reqs))
		wctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- w.engine.RunWorker(wctx, w.rdb) }()
		t.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("worker %d: %v", i+1, err)
			}
		})
		workers = append(workers, w)
	}
	b := &bundle{sim: sim, srv: srv, cfg: cfg, wh: wh, rdb: rdb, engine: workers[0].engine, stop: func() {}}

	// DM Hub first (the other two look their members up by the keys the
	// DM Hub members run loads), then Houcaller and zvcms together.
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, badDayDeadline)
	defer cancel()
	var runs []warehouse.Run
	wait := func(what string, refs []jobs.RunRef) bool {
		t.Helper()
		got, err := b.engine.Wait(wctx, refs, 200*time.Millisecond, nil)
		runs = append(runs, got...)
		if err != nil {
			t.Errorf("%s: runs not finished after %s: %v", what, time.Since(start).Round(time.Second), err)
			for _, r := range got {
				t.Logf("  %s/%s: %s %s", r.Source, r.Stream, r.Status, r.Error)
			}
			return false
		}
		return true
	}
	dmRefs, err := b.engine.StartSync(ctx, "acme-dmhub", nil, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	var members []jobs.RunRef
	for _, r := range dmRefs {
		if r.Stream == "members" {
			members = append(members, r)
		}
	}
	finished := wait("DM Hub members", members)
	var rest []jobs.RunRef
	if finished {
		for _, src := range []string{"acme-houcaller", "acme-zvcms"} {
			refs, err := b.engine.StartSync(ctx, src, nil, connectors.Full)
			if err != nil {
				t.Fatal(err)
			}
			rest = append(rest, refs...)
		}
		runs = nil // the members run is read again below
		finished = wait("every run", append(dmRefs, rest...))
	}
	elapsed := time.Since(start)

	// What was injected.
	for _, v := range []string{"dmhub", "houcaller", "zvcms"} {
		st := sim.Faults()[v]
		var reqs int64
		var rq map[string]int64
		switch v {
		case "dmhub":
			rq = sim.DMHub.Requests()
		case "houcaller":
			rq = sim.Houcaller.Requests()
		default:
			rq = sim.Zvcms.Requests()
		}
		for _, n := range rq {
			reqs += n
		}
		extra := ""
		if v == "dmhub" {
			extra = fmt.Sprintf(", %d tokens issued (%s lifetime)", rq["token"], tokenTTL)
		}
		t.Logf("injected into %-9s %5d requests: %3d faults (%.1f%%) [%s]%s", v, reqs, st.Total(), 100*float64(st.Total())/float64(max(reqs, 1)), st, extra)
	}
	t.Logf("workers: %d and %d vendor requests; %s", workers[0].reqs.n.Load(), workers[1].reqs.n.Load(), elapsed.Round(time.Second))

	// Every run succeeded.
	sort.Slice(runs, func(i, j int) bool { return runs[i].Source+runs[i].Stream < runs[j].Source+runs[j].Stream })
	failed := 0
	for _, r := range runs {
		if r.Status != warehouse.RunSucceeded {
			failed++
			t.Errorf("run %s/%s (%s): %s: %s", r.Source, r.Stream, r.RunID, r.Status, r.Error)
		} else {
			t.Logf("run %s/%s: succeeded, %d requests, %d rows", r.Source, r.Stream, r.Requests, r.Rows)
		}
	}
	if want := len(dmRefs) + len(rest); len(runs) != want || len(rest) == 0 {
		t.Errorf("%d runs finished, %d started", len(runs), want)
	}
	for i, w := range workers {
		if w.reqs.n.Load() == 0 {
			t.Errorf("worker %d made no vendor request: the run was not shared by two workers", i+1)
		}
	}
	if failed > 0 || !finished || t.Failed() {
		t.Logf("worker log: %s", warnings)
		t.Fatalf("%d of %d runs did not succeed on the bad day (after %s)", failed, len(runs), elapsed.Round(time.Second))
	}

	// The day was as bad as it claims: every transient fault kind, 429s
	// and expired tokens happened at least once.
	if faultRate > 0 {
		checkBadDayInjected(t, sim, tokenTTL)
	}

	// Every table equals the simulator's data after FINAL.
	equalDMHub(t, b)
	equalHoucaller(t, b, badDayPointMonths)
	equalZvcms(t, b)
	for _, table := range []string{"members", "member_identities", "points_ledger", "experience_ledger", "member_coupons", "coupons", "levels"} {
		t.Logf("verified %-18s %5d rows after FINAL equal the simulator's", table, b.count(t, "SELECT count() FROM "+b.q(table)+" FINAL"))
	}
}

// checkBadDayInjected fails the test when a fault kind, a 429 or a token
// expiry never happened.
func checkBadDayInjected(t *testing.T, sim *vendorsim.Server, tokenTTL time.Duration) {
	t.Helper()
	injected := vendorsim.FaultStats{Kinds: map[vendorsim.FaultKind]int64{}}
	for _, st := range sim.Faults() {
		for k, n := range st.Kinds {
			injected.Kinds[k] += n
		}
		injected.RateLimited += st.RateLimited
	}
	for k := range vendorsim.DefaultFaultWeights() {
		if injected.Kinds[k] == 0 {
			t.Errorf("no %s fault was injected: the bad day proves nothing about it", k)
		}
	}
	if injected.RateLimited == 0 {
		t.Error("no 429 was answered: the bad day proves nothing about Retry-After")
	}
	if n := sim.DMHub.Requests()["token"]; n < 2 {
		t.Errorf("%d DM Hub token(s) served the whole day: the %s lifetime was never reached", n, tokenTTL)
	}
}

// equalHoucaller compares Houcaller's member_coupons, points_ledger (the
// months a full sync reads) and coupons with the simulator.
func equalHoucaller(t *testing.T, b *bundle, months int) {
	t.Helper()
	sim := b.sim.Houcaller
	hStatus := map[int]string{0: "unused", 1: "used", 2: "expired", 3: "refunded", 7: "gifting"}
	var coupons, points, defs []string
	from := time.Now().In(shanghai).AddDate(0, -months, 0).Format("2006-01")
	for _, m := range sim.Members() {
		for _, c := range sim.Coupons(m.ID) {
			day, _ := time.ParseInLocation("2006-01-02", c.BegDate, shanghai)
			coupons = append(coupons, fmt.Sprintf("%s %s %s %s %d %s %s %s", c.Code, c.MemberID, c.CouponID, hStatus[c.Status], c.Status,
				c.BegDate, fmtTime(&day), fmtTime(c.UseTime)))
		}
		for _, r := range sim.ScoreRecords(m.ID) {
			if r.Month >= from {
				points = append(points, fmt.Sprintf("%s %d %s", m.ID, r.IncScore-r.ExpScore, r.BizDate.UTC().Format(time.RFC3339)))
			}
		}
	}
	for _, d := range sim.CouponDefs() {
		defs = append(defs, d.ID+" "+d.Name)
	}
	q := func(table, expr string) []string {
		return b.set(t, "SELECT "+expr+" FROM "+b.q(table)+" FINAL WHERE source = 'acme-houcaller'")
	}
	diffSets(t, "houcaller member_coupons", q("member_coupons", "concat(coupon_code, ' ', member_id, ' ', coupon_id, ' ', status, ' ', vendor_status, ' ', "+
		"start_date, ' ', if(isNull(starts_at), '<nil>', formatDateTime(assumeNotNull(starts_at), '%Y-%m-%dT%H:%M:%SZ')), ' ', "+
		"if(isNull(redeemed_at), '<nil>', formatDateTime(assumeNotNull(redeemed_at), '%Y-%m-%dT%H:%M:%SZ')))"), sorted(coupons))
	diffSets(t, "houcaller points_ledger", q("points_ledger", "concat(member_id, ' ', toString(delta), ' ', "+
		"formatDateTime(assumeNotNull(occurred_at), '%Y-%m-%dT%H:%M:%SZ'))"), sorted(points))
	diffSets(t, "houcaller coupons", q("coupons", "concat(coupon_id, ' ', name)"), sorted(defs))
}

// equalZvcms compares zvcms's members, member_coupons and points_ledger
// with the simulator.
func equalZvcms(t *testing.T, b *bundle) {
	t.Helper()
	sim := b.sim.Zvcms
	zStatus := map[int]string{0: "unused", 1: "used", 2: "frozen", 4: "gifting", 5: "unused", 6: "invalid", 7: "deleted"}
	var members, coupons, points []string
	for _, c := range sim.Customers() {
		members = append(members, fmt.Sprintf("%s %d", c.ID, c.TotalPoints))
		for _, cp := range sim.Coupons(c.ID) {
			begin := cp.BeginAt.UTC().Truncate(time.Second)
			coupons = append(coupons, fmt.Sprintf("%s %s %s %s %s %s", cp.CardID, cp.CustomerID, cp.CouponID, zStatus[cp.UseStatus],
				strconv.Itoa(cp.UseStatus), fmtTime(&begin)))
		}
		for _, r := range sim.PointRecords(c.ID) {
			d := r.Points
			if r.Type == 2 {
				d = -d
			}
			points = append(points, fmt.Sprintf("%s %d %s", c.ID, d, r.CreatedAt.UTC().Format(time.RFC3339)))
		}
	}
	q := func(table, expr string) []string {
		return b.set(t, "SELECT "+expr+" FROM "+b.q(table)+" FINAL WHERE source = 'acme-zvcms'")
	}
	diffSets(t, "zvcms members", q("members", "concat(member_id, ' ', toString(point))"), sorted(members))
	diffSets(t, "zvcms member_coupons", q("member_coupons", "concat(coupon_code, ' ', member_id, ' ', coupon_id, ' ', status, ' ', vendor_status, ' ', "+
		"if(isNull(starts_at), '<nil>', formatDateTime(assumeNotNull(starts_at), '%Y-%m-%dT%H:%M:%SZ')))"), sorted(coupons))
	diffSets(t, "zvcms points_ledger", q("points_ledger", "concat(member_id, ' ', toString(delta), ' ', "+
		"formatDateTime(assumeNotNull(occurred_at), '%Y-%m-%dT%H:%M:%SZ'))"), sorted(points))
}
