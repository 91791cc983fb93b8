package dmhub

import (
	"context"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// fastClock runs `scale` times faster than real time from start, so a
// test can read through several token lifetimes in about a second.
type fastClock struct {
	start time.Time
	real  time.Time
	scale time.Duration
}

func (c fastClock) Now() time.Time { return c.start.Add(time.Since(c.real) * c.scale) }

// TestShortLivedTokensSeveralProcesses: two "processes" (two independent
// client stacks sharing only Redis and the vendor), each with several
// concurrent readers, read for 3 token lifetimes against the simulator,
// whose tokens live TokenTTL and are superseded by every new token of the
// app. No read may fail, and the app must not refresh for every request.
// Before the fix (a fixed 5-minute margin, one retry, then "authentication
// failed") this failed with 10 s tokens.
func TestShortLivedTokensSeveralProcesses(t *testing.T) {
	t.Parallel()
	for _, ttl := range []time.Duration{10 * time.Second, 7200 * time.Second} {
		t.Run(ttl.String(), func(t *testing.T) {
			t.Parallel()
			const lifetimes, realRun = 3, 1500 * time.Millisecond
			clock := fastClock{start: time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC), real: time.Now(),
				scale: time.Duration(float64(lifetimes*ttl) / float64(realRun))}
			sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 3, Members: 5, Now: clock.Now,
				DMHub: vendorsim.DMHubOptions{TokenTTL: ttl, Latency: 3 * time.Millisecond}})
			srv := httptest.NewServer(sim)
			t.Cleanup(srv.Close)
			cfg, rdb := warehousetest.Redis(t)
			src := &config.Source{Name: "acme", Kind: Kind, BaseURL: srv.URL + "/dmhub",
				Credentials: Credentials{AppID: "sim-dmhub-app", AppSecret: "sim-dmhub-secret"}}

			const processes, readers = 2, 4
			var wg sync.WaitGroup
			errs := make(chan error, processes*readers)
			reads := make([]int, processes*readers)
			end := clock.start.Add(lifetimes * ttl)
			for p := range processes {
				// one process: its own HTTP client, dmhub.Client and TokenStore
				c := NewClient(src, &httpapi.Client{Source: src.Name, HTTP: srv.Client()})
				ts := NewTokenStore(rdb, cfg.Namespace+":dmhub:"+CredentialsOf(src).AppID, c.FetchToken)
				ts.Now = clock.Now
				c.UseTokens(ts)
				for r := range readers {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for clock.Now().Before(end) {
							if _, err := c.Get(context.Background(), "/loyalty/v1/membership", url.Values{"rows": {"1"}}); err != nil {
								errs <- err
								return
							}
							reads[p*readers+r]++
						}
					}()
				}
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Errorf("read failed: %v", err)
			}
			total := 0
			for _, n := range reads {
				total += n
			}
			fetches := sim.DMHub.Requests()["token"]
			t.Logf("%d reads, %d token fetches over %d lifetimes of %s", total, fetches, lifetimes, ttl)
			// one refresh per lifetime (ahead of expiry), plus slack for a
			// refresh racing an expiry; never one per request
			if maxFetch := int64(2*lifetimes + 2); fetches > maxFetch {
				t.Errorf("%d token fetches for %d reads over %d lifetimes, want at most %d", fetches, total, lifetimes, maxFetch)
			}
			if total < 20*processes*readers/2 {
				t.Errorf("only %d reads: the test did not exercise concurrent readers", total)
			}
		})
	}
}
