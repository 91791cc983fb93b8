package jobs_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// benchConcurrency is both the number of intake callers and the worker's
// concurrency.
const benchConcurrency = 50

// BenchmarkOutbound measures intake → vendor acknowledgement of deals on
// the zero-latency DM Hub simulator at concurrency 50 ("intake-to-ack"),
// beside the raw asynq rate of no-op tasks enqueued and processed the same
// way on the same Redis and server configuration ("asynq-noop"). Both
// report tasks/s; issue 10 asks intake-to-ack for at least half of
// asynq-noop. Intake runs as 50 concurrent requests of 1 line, and of 20
// lines (a JSON Lines body): each request waits until its lines are in
// ClickHouse. The vendor rate limiter is left out: it is the vendor's
// policy, not the pipeline's cost.
//
//	go test -run '^$' -bench BenchmarkOutbound -benchtime 3000x ./jobs/
func BenchmarkOutbound(b *testing.B) {
	chCfg, wh := warehousetest.ClickHouse(b)
	rCfg, nsClient := warehousetest.Redis(b)
	// one client for everything, with a pool for 50 workers, 50 intake
	// callers and asynq's own connections (go-redis defaults to 10 per CPU)
	rdb := redis.NewClient(&redis.Options{Addr: rCfg.Addr, PoolSize: 4 * benchConcurrency})
	b.Cleanup(func() { _ = rdb.Close() })
	_ = nsClient
	yml := fmt.Sprintf(`
redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
worker: {concurrency: %d}
sources:
  - name: acme-dmhub
    kind: dmhub
    base_url: http://127.0.0.1:1/dmhub
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, benchConcurrency)
	cfg, err := config.Parse("bench.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		b.Fatal(err)
	}
	engine := jobs.NewEngine(cfg, wh, rdb, connectors.NewRegistry(), discardLog())
	b.Cleanup(func() { rdb.SRem(context.Background(), "asynq:queues", engine.OutboundQueue()) })

	b.Run("asynq-noop", func(b *testing.B) {
		var done atomic.Int64
		all := make(chan struct{})
		mux := asynq.NewServeMux()
		mux.HandleFunc("bench:noop", func(context.Context, *asynq.Task) error {
			if done.Add(1) == int64(b.N) {
				close(all)
			}
			return nil
		})
		srv := asynq.NewServerFromRedisClient(rdb, engine.ServerConfig())
		if err := srv.Start(mux); err != nil {
			b.Fatal(err)
		}
		defer srv.Shutdown()
		client := asynq.NewClientFromRedisClient(rdb)
		run := fmt.Sprintf("%d", time.Now().UnixNano())
		b.ResetTimer()
		start := time.Now()
		parallel(b.N, func(i int) {
			_, err := client.Enqueue(asynq.NewTask("bench:noop", []byte(`{"write_id":"x"}`)),
				asynq.Queue(engine.OutboundQueue()), asynq.TaskID(fmt.Sprintf("noop-%s-%d", run, i)))
			if err != nil {
				b.Error(err)
			}
		})
		<-all
		b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
	})

	for _, per := range []int{1, 20, 100} {
		b.Run(fmt.Sprintf("intake-to-ack/lines-per-request=%d", per), func(b *testing.B) {
			benchIntakeToAck(b, engine, cfg, rdb, per)
		})
	}
}

// benchIntakeToAck pushes b.N deals through 50 concurrent intake requests
// of per lines each and waits until the simulator acknowledged them all.
func benchIntakeToAck(b *testing.B, engine *jobs.Engine, cfg *config.Config, rdb *redis.Client, per int) {
	sim := vendorsim.NewDMHub(vendorsim.DMHubOptions{Seed: 3, Members: 50})
	mux := http.NewServeMux()
	mux.Handle("/dmhub/", http.StripPrefix("/dmhub", sim))
	hs := httptest.NewServer(mux)
	defer hs.Close()
	src := cfg.Sources[0]
	src.BaseURL = hs.URL + "/dmhub"
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 2 * benchConcurrency
	hc := &httpapi.Client{Source: src.Name, HTTP: &http.Client{Transport: tr}, Timeout: 10 * time.Second}
	conn, err := dmhub.New(&src, hc, dmhub.WithTokens(func(f dmhub.FetchFunc) *dmhub.TokenStore {
		return dmhub.NewTokenStore(rdb, cfg.Redis.Namespace+":dmhub:bench", f)
	}))
	if err != nil {
		b.Fatal(err)
	}
	ob := engine.NewOutbound(rdb)
	defer ob.Store.Close()
	ob.Writers = func(string) (connectors.Writer, error) { return conn, nil }
	amux := asynq.NewServeMux()
	ob.Register(amux)
	srv := asynq.NewServerFromRedisClient(rdb, engine.ServerConfig())
	if err := srv.Start(amux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	members := sim.Members()
	run := fmt.Sprintf("%d", time.Now().UnixNano())
	requests := (b.N + per - 1) / per
	b.ResetTimer()
	start := time.Now()
	parallel(requests, func(r int) {
		var lines []outbound.Line
		for i := r * per; i < min((r+1)*per, b.N); i++ {
			lines = append(lines, outbound.Line{N: len(lines) + 1,
				Body: []byte(dealLine(fmt.Sprintf("B-%s-%d", run, i), members[i%len(members)].ID))})
		}
		res, err := ob.Accept(context.Background(), src.Name, "deal", lines)
		if err != nil || len(res) != len(lines) || res[0].ID == "" {
			b.Errorf("Accept: %v %+v", err, res)
		}
	})
	intake := time.Since(start)
	for sim.Requests()["deal.create"] < int64(b.N) {
		if time.Since(start) > 10*time.Minute {
			b.Fatalf("only %d of %d deals acknowledged", sim.Requests()["deal.create"], b.N)
		}
		time.Sleep(2 * time.Millisecond)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "tasks/s")
	b.Logf("%d writes: intake done after %s, all acknowledged after %s", b.N, intake.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
}

// parallel runs fn(0..n-1) on benchConcurrency goroutines.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for g := range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := g; i < n; i += benchConcurrency {
				fn(i)
			}
		}()
	}
	wg.Wait()
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
