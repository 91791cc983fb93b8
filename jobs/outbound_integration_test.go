package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// obBundle is one outbound integration test's world: a DM Hub simulator,
// a fresh ClickHouse database and Redis namespace, an engine, an intake
// and a worker that can be stopped and started again.
type obBundle struct {
	sim    *vendorsim.DMHub
	cfg    *config.Config
	wh     *warehouse.Warehouse
	rdb    *redis.Client
	engine *jobs.Engine
	ob     *outbound.Outbound // intake side (as `push` or `serve` would use it)
	stop   func()
}

func obSetup(t *testing.T, sim vendorsim.DMHubOptions, concurrency int, timeout time.Duration) *obBundle {
	t.Helper()
	chCfg, wh := warehousetest.ClickHouse(t)
	rCfg, rdb := warehousetest.Redis(t)
	sim.Seed, sim.Members = 11, 60
	dm := vendorsim.NewDMHub(sim)
	mux := http.NewServeMux()
	mux.Handle("/dmhub/", http.StripPrefix("/dmhub", dm))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	yml := fmt.Sprintf(`
redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
worker: {concurrency: %d, max_retry: 3, shutdown_timeout: 10s}
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: 1000
    timeout: %s
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, concurrency, srv.URL, timeout)
	cfg, err := config.Parse("test.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	reg := connectors.NewRegistry()
	if err := reg.Register(dmhub.Spec, dmhub.Factory); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	e := jobs.NewEngine(cfg, wh, rdb, reg, log)
	b := &obBundle{sim: dm, cfg: cfg, wh: wh, rdb: rdb, engine: e, ob: e.NewOutbound(rdb), stop: func() {}}
	t.Cleanup(b.ob.Store.Close)
	t.Cleanup(func() { rdb.SRem(context.Background(), "asynq:queues", e.OutboundQueue()) })
	b.startWorker(t)
	return b
}

func (b *obBundle) startWorker(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.engine.RunWorker(ctx, b.rdb) }()
	stopped := false
	b.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("worker: %v", err)
		}
	}
	t.Cleanup(b.stop)
}

// accept pushes lines of one kind and fails the test on a request error.
func (b *obBundle) accept(t *testing.T, kind string, lines []string) []outbound.Result {
	t.Helper()
	ls := make([]outbound.Line, len(lines))
	for i, l := range lines {
		ls[i] = outbound.Line{N: i + 1, Body: []byte(l)}
	}
	res, err := b.ob.Accept(context.Background(), "acme-dmhub", kind, ls)
	if err != nil {
		t.Fatalf("Accept(%s): %v", kind, err)
	}
	return res
}

// waitSettled waits until every write is succeeded or dead.
func (b *obBundle) waitSettled(t *testing.T, want int, limit time.Duration) map[string]outbound.Event {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		all, err := b.ob.Store.List(context.Background(), "", 100000)
		if err != nil {
			t.Fatal(err)
		}
		open := 0
		for _, e := range all {
			if !outbound.Terminal(e.State) {
				open++
			}
		}
		if len(all) == want && open == 0 {
			out := map[string]outbound.Event{}
			for _, e := range all {
				out[e.WriteID] = e
			}
			return out
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s: %d writes stored (want %d), %d not settled", limit, len(all), want, open)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func dealLine(orderNo string, member string) string {
	return fmt.Sprintf(`{"salesChannel":"web","store":"s1","orderNo":%q,"dateOrder":"2024-03-15T20:34:56+08:00",`+
		`"membershipId":%s,"amountDiscount":0,"amountPaid":99.5,"amountTotal":99.5,`+
		`"dealLines":[{"lineId":"L1","productName":"tea","qty":1,"priceUnit":99.5}]}`, orderNo, member)
}

// TestOutboundExactlyOnceUnderFaults is issue 10's first judged test: with
// 10% of writes applied and then failed (502, truncated answer, reset
// after a stall) and 5% failed before applying, 200 deals, 50 refunds, 20
// cancels, 100 push devices and 50 points changes pushed at once are each
// applied exactly once, each order's writes in order, all succeeded; the
// permanently bad ones are dead with their reason; invalid lines are
// rejected with their line numbers and nothing is stored for them.
func TestOutboundExactlyOnceUnderFaults(t *testing.T) {
	t.Parallel()
	b := obSetup(t, vendorsim.DMHubOptions{WriteFaults: vendorsim.DMHubWriteFaults{
		AppliedThenFailRate: 0.10, FailBeforeRate: 0.05, HangFor: 300 * time.Millisecond}}, 16, 2*time.Second)
	members := b.sim.Members()
	member := func(i int) string { return members[i%len(members)].ID }

	// 200 good deals, 3 permanently bad ones (unknown member), 4 invalid lines
	var deals []string
	for i := range 200 {
		deals = append(deals, dealLine(fmt.Sprintf("O-%03d", i), member(i)))
	}
	for i := range 3 {
		deals = append(deals, dealLine(fmt.Sprintf("BAD-%d", i), "999999999"))
	}
	invalid := map[int]string{ // line number → field
		204: "orderNo", 205: "amountPaid", 206: "", 207: "dealLines[0].qty",
	}
	deals = append(deals,
		`{"salesChannel":"web","store":"s1","dateOrder":"2024-03-15T12:00:00","membershipId":1,"amountDiscount":0,"amountPaid":1,"dealLines":[{"lineId":"a","productName":"x","qty":1}]}`,
		`{"salesChannel":"web","store":"s1","orderNo":"X-2","dateOrder":"2024-03-15T12:00:00","membershipId":1,"amountDiscount":0,"amountPaid":"1","dealLines":[{"lineId":"a","productName":"x","qty":1}]}`,
		`{"salesChannel":"web", not json`,
		`{"salesChannel":"web","store":"s1","orderNo":"X-4","dateOrder":"2024-03-15T12:00:00","membershipId":1,"amountDiscount":0,"amountPaid":1,"dealLines":[{"lineId":"a","productName":"x"}]}`,
	)
	var refunds, cancels, devices, points []string
	for i := range 50 {
		refunds = append(refunds, fmt.Sprintf(`{"membershipId":%s,"orderNo":"O-%03d","dateRefund":"2024-03-16T10:00:00Z","refundTotal":99.5,"refundLines":[{"lineId":"L1"}]}`, member(i), i))
	}
	// the refund of a dead deal dies with its predecessor's reason
	refunds = append(refunds, `{"membershipId":999999999,"orderNo":"BAD-0","dateRefund":"2024-03-16T10:00:00Z","refundTotal":1,"refundLines":[{"lineId":"L1"}]}`)
	for i := 50; i < 70; i++ {
		cancels = append(cancels, fmt.Sprintf(`{"membershipId":%s,"orderNo":"O-%03d"}`, member(i), i))
	}
	for i := range 100 {
		devices = append(devices, fmt.Sprintf(`{"provider":"jpush","appKey":"app","pushId":"P-%03d","os":"ios","membershipId":%s}`, i, member(i)))
	}
	for i := range 50 {
		points = append(points, fmt.Sprintf(`{"membershipId":%s,"direction":"incr","point":%d,"pattern":4,"remark":"bonus","idempotencyKey":"bonus-%d"}`, member(i), 10+i, i))
	}

	dealRes := b.accept(t, "deal", deals)
	var other [4][]outbound.Result
	done := make(chan struct{})
	for k, kind := range []string{"refund", "deal-cancel", "push-device", "points"} {
		lines := [][]string{refunds, cancels, devices, points}[k]
		go func() {
			other[k] = b.accept(t, kind, lines)
			done <- struct{}{}
		}()
	}
	for range 4 {
		<-done
	}

	// invalid lines: rejected with their line number and field, no id
	for _, r := range dealRes {
		field, bad := invalid[r.Line]
		switch {
		case bad && (r.ID != "" || r.Error == "" || r.Field != field):
			t.Errorf("line %d: got %+v, want rejected on field %q", r.Line, r, field)
		case !bad && (r.ID == "" || r.Error != ""):
			t.Errorf("line %d: got %+v, want accepted", r.Line, r)
		}
	}
	accepted := 203 + 51 + 20 + 100 + 50
	settled := b.waitSettled(t, accepted, 4*time.Minute)

	// states: all good writes succeeded; the bad ones dead with a reason
	idOf := func(res []outbound.Result, line int) string { return res[line-1].ID }
	for id, e := range settled {
		bad := strings.HasPrefix(e.OrderNo, "BAD-")
		switch {
		case bad && e.State != outbound.StateDead:
			t.Errorf("%s %s (%s): state %s, want dead", e.Kind, id, e.OrderNo, e.State)
		case bad && e.Kind == "deal" && !strings.Contains(e.LastError, "400001"):
			t.Errorf("dead deal %s: reason %q, want the vendor's 400001", e.OrderNo, e.LastError)
		case bad && e.Kind == "refund" && !strings.Contains(e.LastError, "predecessor "+idOf(dealRes, 201)):
			t.Errorf("refund of a dead deal: reason %q, want its predecessor named", e.LastError)
		case !bad && e.State != outbound.StateSucceeded:
			t.Errorf("%s %s (%s): state %s (%s), want succeeded", e.Kind, id, e.OrderNo, e.State, e.LastError)
		}
	}

	// the vendor's ledger: every write applied exactly once, in order
	count := map[string]int{}
	seq := map[string]int64{}
	for _, w := range b.sim.Writes() {
		k := w.Kind + ":" + w.OrderNo
		switch w.Kind {
		case "push-device":
			k = w.Kind + ":" + string(w.Body)
		case "points":
			continue
		}
		count[k]++
		seq[k] = w.Seq
	}
	for i := range 200 {
		o := fmt.Sprintf("O-%03d", i)
		if n := count["deal:"+o]; n != 1 {
			t.Errorf("deal %s applied %d times", o, n)
		}
		for _, kind := range []string{"refund", "deal-cancel"} {
			want := 0
			if (kind == "refund" && i < 50) || (kind == "deal-cancel" && i >= 50 && i < 70) {
				want = 1
			}
			if n := count[kind+":"+o]; n != want {
				t.Errorf("%s %s applied %d times, want %d", kind, o, n, want)
			}
			if want == 1 && seq[kind+":"+o] < seq["deal:"+o] {
				t.Errorf("%s %s applied before its deal (ledger seq %d < %d)", kind, o, seq[kind+":"+o], seq["deal:"+o])
			}
		}
	}
	devicesApplied := 0
	for k, n := range count {
		if strings.HasPrefix(k, "push-device:") {
			devicesApplied++
			if n != 1 {
				t.Errorf("device %s registered %d times", k, n)
			}
		}
	}
	if devicesApplied != 100 {
		t.Errorf("%d devices registered, want 100", devicesApplied)
	}
	for i := range 50 {
		id := idOf(other[3], i+1)
		marker := dmhub.MarkerPrefix
		n := 0
		for _, r := range b.sim.PointRecords(member(i)) {
			if strings.HasPrefix(r.ExternalID, marker) && r.ExternalID == settledMarker(t, settled[id]) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("points change %d (%s) applied %d times", i, id, n)
		}
	}
	before, after := b.sim.WriteFaultCounts()
	t.Logf("faults injected: %d before applying, %d after applying", before, after)
	if before == 0 || after == 0 {
		t.Errorf("faults injected: before %d, after %d: the test did not exercise them", before, after)
	}
}

// settledMarker is the externalId a points write was sent with.
func settledMarker(t *testing.T, e outbound.Event) string {
	t.Helper()
	i := strings.Index(e.Request, `"externalId":"`)
	if i < 0 {
		t.Fatalf("points write %s has no externalId: %s", e.WriteID, e.Request)
	}
	rest := e.Request[i+len(`"externalId":"`):]
	return rest[:strings.IndexByte(rest, '"')]
}

// TestOutboundSurvivesRedisFlush is issue 10's second judged test: Redis
// loses the queue (every key of the test's namespace, which is FLUSHDB for
// this deployment) while 100 accepted deals wait for a slow vendor; the
// worker is restarted and all 100 are applied exactly once.
func TestOutboundSurvivesRedisFlush(t *testing.T) {
	t.Parallel()
	b := obSetup(t, vendorsim.DMHubOptions{WriteFaults: vendorsim.DMHubWriteFaults{Latency: 150 * time.Millisecond}}, 4, 5*time.Second)
	members := b.sim.Members()
	var deals []string
	for i := range 100 {
		deals = append(deals, dealLine(fmt.Sprintf("F-%03d", i), members[i%len(members)].ID))
	}
	for _, r := range b.accept(t, "deal", deals) {
		if r.ID == "" {
			t.Fatalf("line %d rejected: %+v", r.Line, r)
		}
	}
	// let a few go through, then lose Redis while the rest wait
	for deadline := time.Now().Add(time.Minute); len(b.sim.Writes()) < 5; {
		if time.Now().After(deadline) {
			t.Fatal("no deal delivered within a minute")
		}
		time.Sleep(20 * time.Millisecond)
	}
	flushNamespace(t, b.rdb, b.cfg.Redis.Namespace)
	applied := len(b.sim.Writes())
	if applied >= 100 {
		t.Fatalf("all deals delivered before the flush: make the vendor slower")
	}
	b.stop()
	t.Logf("flushed Redis with %d of 100 deals applied; restarting the worker", applied)
	b.startWorker(t)
	settled := b.waitSettled(t, 100, 3*time.Minute)
	for _, e := range settled {
		if e.State != outbound.StateSucceeded {
			t.Errorf("%s %s: %s (%s)", e.OrderNo, e.WriteID, e.State, e.LastError)
		}
	}
	count := map[string]int{}
	for _, w := range b.sim.Writes() {
		count[w.OrderNo]++
	}
	for i := range 100 {
		if n := count[fmt.Sprintf("F-%03d", i)]; n != 1 {
			t.Errorf("deal F-%03d applied %d times", i, n)
		}
	}
}

// flushNamespace deletes every Redis key of a namespace (ours and asynq's
// queue keys): a FLUSHDB for this deployment that leaves the other tests
// sharing the server alone.
func flushNamespace(t *testing.T, rdb *redis.Client, ns string) {
	t.Helper()
	ctx := context.Background()
	n := 0
	for _, pattern := range []string{ns + ":*", "asynq:{" + ns + ":*"} {
		iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
		for iter.Next(ctx) {
			if err := rdb.Del(ctx, iter.Val()).Err(); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := iter.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if n == 0 {
		t.Fatal("flushNamespace: nothing to delete (wrong namespace?)")
	}
}

// TestOutboundConflictAndReplay: a deal whose order already exists at the
// vendor is a conflict on its first attempt (dead with 409000, not
// succeeded); a cancel of an order the vendor does not know yet is dead
// with the vendor's reason, and `push replay` re-delivers it under the
// same id and key once its deal is there.
func TestOutboundConflictAndReplay(t *testing.T) {
	t.Parallel()
	b := obSetup(t, vendorsim.DMHubOptions{}, 4, 2*time.Second)
	m := b.sim.Members()[0].ID
	// the order exists at the vendor already (made by someone else)
	w, err := b.engine.NewOutbound(b.rdb).Writers("acme-dmhub")
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Prepare("deal", []byte(dealLine("C-1", m)), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Deliver(context.Background(), connectors.Write{ID: "direct", Kind: "deal", Body: p.Body}); err != nil {
		t.Fatal(err)
	}
	conflict := b.accept(t, "deal", []string{dealLine("C-1", m)})[0].ID
	cancel := b.accept(t, "deal-cancel", []string{`{"membershipId":` + m + `,"orderNo":"R-1"}`})[0].ID
	settled := b.waitSettled(t, 2, time.Minute)
	if e := settled[conflict]; e.State != outbound.StateDead || !strings.Contains(e.LastError, "409000") {
		t.Errorf("deal of an existing order: %s (%s), want dead with the 409000 conflict", e.State, e.LastError)
	}
	if e := settled[cancel]; e.State != outbound.StateDead || !strings.Contains(e.LastError, "409000") {
		t.Fatalf("cancel of an unknown order: %s (%s), want dead", e.State, e.LastError)
	}
	deal := b.accept(t, "deal", []string{dealLine("R-1", m)})[0].ID
	b.waitSettled(t, 3, time.Minute)
	ids, err := b.ob.Replay(context.Background(), []string{cancel})
	if err != nil || len(ids) != 1 || ids[0] != cancel {
		t.Fatalf("Replay = %v, %v", ids, err)
	}
	if _, err := b.ob.Replay(context.Background(), []string{deal}); err == nil {
		t.Errorf("replay of a succeeded write: no error")
	}
	var e outbound.Event
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(200 * time.Millisecond) {
		var ok bool
		if e, ok, err = b.ob.Store.Find(context.Background(), cancel); err != nil || !ok {
			t.Fatalf("Find: %v %v", ok, err)
		}
		if outbound.Terminal(e.State) || time.Now().After(deadline) {
			break
		}
	}
	if e.State != outbound.StateSucceeded || e.Key != "deal-cancel:R-1" {
		t.Fatalf("replayed cancel: %s key %q (%s)", e.State, e.Key, e.LastError)
	}
	n := 0
	for _, w := range b.sim.Writes() {
		if w.Kind == "deal-cancel" && w.OrderNo == "R-1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("cancel applied %d times", n)
	}
}

// TestOutboundFreshRunAfterUnrecordedStart: a fresh task (no asynq retry)
// of a deal whose start marker is already set — an earlier run started
// and was requeued, e.g. at a worker's shutdown, without recording an
// outcome — and whose order the vendor already has (that run's request
// landed) ends succeeded as reconciled, applied once: the 409000 answer to
// its send is read as "maybe applied earlier" and the next attempt
// reconciles, whether the marker was set before the send or while it was
// in flight (connectors.AnswerReconciler).
func TestOutboundFreshRunAfterUnrecordedStart(t *testing.T) {
	t.Parallel()
	b := obSetup(t, vendorsim.DMHubOptions{}, 4, 2*time.Second)
	m := b.sim.Members()[0].ID
	w, err := b.engine.NewOutbound(b.rdb).Writers("acme-dmhub")
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.Prepare("deal", []byte(dealLine("U-1", m)), "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Deliver(context.Background(), connectors.Write{ID: "earlier run", Kind: "deal", Body: p.Body}); err != nil {
		t.Fatal(err)
	}
	id := outbound.WriteID("acme-dmhub", p.Key)
	marker := fmt.Sprintf("%s:outbound:started:%s:1", b.cfg.Redis.Namespace, id)
	if err := b.rdb.Set(context.Background(), marker, 1, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if got := b.accept(t, "deal", []string{dealLine("U-1", m)})[0].ID; got != id {
		t.Fatalf("write id %s, want %s", got, id)
	}
	e := b.waitSettled(t, 1, time.Minute)[id]
	if e.State != outbound.StateSucceeded || !strings.Contains(e.LastError, "reconciled") {
		t.Errorf("deal after an unrecorded start: %s (%s), want succeeded, reconciled", e.State, e.LastError)
	}
	n := 0
	for _, w := range b.sim.Writes() {
		if w.Kind == "deal" && w.OrderNo == "U-1" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("deal applied %d times", n)
	}
}
