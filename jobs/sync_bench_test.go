package jobs_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// benchMembers is the simulator's member count of the end-to-end
// benchmark (LOYALTYBRIDGE_BENCH_MEMBERS, default 20,000).
func benchMembers() int {
	if n, err := strconv.Atoi(os.Getenv("LOYALTYBRIDGE_BENCH_MEMBERS")); err == nil && n > 0 {
		return n
	}
	return 20_000
}

// downloadAll reads every page of the simulator's member list (100 a
// page, id order) and discards it: the source's own limit, what a loop
// that only downloads would reach. It returns the pages read.
func downloadAll(ctx context.Context, base string) (int, error) {
	get := func(path string, q url.Values) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+path+"?"+q.Encode(), nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return body, err
	}
	body, err := get("/security/accesstoken", url.Values{"grant_type": {"client_credentials"}, "appid": {"sim-dmhub-app"},
		"secret": {"sim-dmhub-secret"}})
	if err != nil {
		return 0, err
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(body, &tok); err != nil || tok.AccessToken == "" {
		return 0, fmt.Errorf("token: %v %s", err, body)
	}
	for page := 1; ; page++ {
		body, err := get("/loyalty/v1/membership", url.Values{"access_token": {tok.AccessToken}, "rows": {"100"},
			"page": {strconv.Itoa(page)}, "sidx": {"id"}, "sord": {"asc"}})
		if err != nil {
			return page, err
		}
		// the end of the list: a page without members (the body is not
		// decoded, as a download-only loop would not; an empty list is
		// short)
		if len(body) < 200 {
			return page, nil
		}
	}
}

// BenchmarkMembersSyncVsDownload runs, side by side in every round (one
// b.N iteration), a full members sync of the zero-latency simulator
// through the worker (vendor pages of 100, rate_limit 1000, the highest
// allowed) and a loop that only downloads every page of the same list:
//
//   - download: the loop (the source's limit);
//   - sync_before: worker.pages_per_task 10, insert_rows 1000: each task
//     reads 10 pages, then loads them (1,000 rows an insert), checkpoints
//     and enqueues, strictly in turn (the behaviour before insert groups);
//   - sync_after: the defaults (pages_per_task 500, insert_rows 10000):
//     a task loads groups of 10k rows in the background while it reads on.
//
// It reports members/s of each and each sync's ratio to the download
// loop. LOYALTYBRIDGE_BENCH_MEMBERS sets the member count (default 20k).
func BenchmarkMembersSyncVsDownload(b *testing.B) {
	n := benchMembers()
	configs := []struct{ name, worker string }{
		{"sync_before", "{concurrency: 4, pages_per_task: 10, insert_rows: 1000, max_retry: 3, shutdown_timeout: 5s}"},
		{"sync_after", "{concurrency: 4, max_retry: 3, shutdown_timeout: 5s}"},
	}
	bundles := make([]*bundle, len(configs))
	for i, c := range configs {
		bundles[i] = setup(b, setupOpts{members: n, worker: c.worker, rateLimit: 1000, pageSize: 100})
	}
	ctx := context.Background()
	elapsed := map[*bundle]time.Duration{} // each sync config's time
	sync := func(bd *bundle) {
		if err := bd.wh.Conn().Exec(ctx, "TRUNCATE TABLE "+bd.q("members")); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		ctx, cancel := context.WithTimeout(ctx, 30*time.Minute)
		defer cancel()
		refs, err := bd.engine.StartSync(ctx, "acme-dmhub", []string{"members"}, connectors.Full)
		if err != nil {
			b.Fatal(err)
		}
		runs, err := bd.engine.Wait(ctx, refs, 20*time.Millisecond, nil)
		elapsed[bd] += time.Since(start)
		b.StopTimer()
		if err != nil || len(runs) != 1 || runs[0].Status != warehouse.RunSucceeded || runs[0].Rows != uint64(n) {
			b.Fatalf("sync: %v %+v", err, runs)
		}
	}
	var download time.Duration
	b.ResetTimer()
	b.StopTimer()
	for range b.N {
		b.StartTimer()
		start := time.Now()
		if _, err := downloadAll(ctx, bundles[0].srv.URL+"/dmhub"); err != nil {
			b.Fatal(err)
		}
		download += time.Since(start)
		b.StopTimer()
		for _, bd := range bundles {
			sync(bd)
		}
	}
	rate := func(d time.Duration) float64 { return float64(n) * float64(b.N) / d.Seconds() }
	b.ReportMetric(rate(download), "download_members/s")
	for i, c := range configs {
		r := rate(elapsed[bundles[i]])
		b.ReportMetric(r, c.name+"_members/s")
		b.ReportMetric(r/rate(download), c.name+"/download")
	}
}
