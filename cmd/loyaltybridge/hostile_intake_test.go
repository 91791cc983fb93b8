package main

import (
	"context"
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

// intakeHeapBound bounds the growth of the heap in use while one hostile
// intake case runs (the test process holds the input, the output and the
// intake): an 8 MiB body read, parsed and answered, or 1,000 lines at a
// time of a push, with the GC's headroom.
const intakeHeapBound = 192 << 20

// sampleHeap samples the heap in use until the returned func is called,
// which returns the peak growth over the level at the start.
func sampleHeap() func() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	base, peak := ms.HeapInuse, ms.HeapInuse
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(5 * time.Millisecond)
		defer t.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	}()
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak - min(base, peak)
	}
}

func dealWith(orderNo, extra string) string {
	return strings.Replace(strings.Replace(pushDeal, `"P-1"`, `"`+orderNo+`"`, 1), `}]}`, `}]`+extra+`}`, 1)
}

// TestHostileIntake is issue 14's hostile intake table, for `push` (JSON
// Lines) and `serve` (POST /v1/outbound/{source}/{kind}): oversized bodies
// and lines, 10 MB fields, deep nesting, invalid UTF-8, wrong types, keys
// given twice, huge line counts. Each gets a clear error (line number and
// field where there is one), nothing is stored for a rejected line (the
// stored writes are exactly the accepted ids), the process goes on serving,
// and the heap grows by less than intakeHeapBound per case. Not parallel:
// the heap is measured.
func TestHostileIntake(t *testing.T) {
	cfgPath := pushConfig(t)
	data, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	// serve's default body limit (8 MiB), not pushConfig's 4 KiB
	if err := os.WriteFile(cfgPath, []byte(strings.Replace(string(data), ", max_body_bytes: 4096", "", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	a, err := openApp(context.Background(), cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	reg := connectors.NewRegistry()
	if err := reg.Register(dmhub.Spec, dmhub.Factory); err != nil {
		t.Fatal(err)
	}
	ob := jobs.NewEngine(cfg, a.wh, a.rdb, reg, a.log).NewOutbound(a.rdb)
	defer ob.Store.Close()
	r := newServeRouter(cfg.Serve, a.log)
	r.API(func(mux *http.ServeMux) { (&outbound.HTTP{O: ob, MaxBody: cfg.Serve.MaxBodyBytes}).Routes(mux) })
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	accepted := map[string]bool{} // every write id acknowledged
	tenMB := strings.Repeat("x", 10<<20)
	var manyBad, manyGood strings.Builder
	for i := range 200000 {
		fmt.Fprintf(&manyBad, `{"orderNo":"M-%d"}`+"\n", i)
	}
	for i := range 2500 {
		if i == 2200 {
			manyGood.WriteString(dealWith("G-0", "") + "\n") // a duplicate of line 1, two chunks later
			continue
		}
		manyGood.WriteString(dealWith(fmt.Sprintf("G-%d", i), "") + "\n")
	}
	type lineWant struct {
		line int
		want string // "id" for an accepted line, else a fragment of "line N: field: cause"
	}
	pushCases := []struct {
		name  string
		input string
		lines []lineWant
		count int // with lines == nil: this many lines, all rejected
		ids   int // with lines == nil: this many ids printed
	}{
		{"10 MB field", dealWith("H-1", "") + "\n" + dealWith("H-2", `,"remark":"`+tenMB+`"`) + "\n",
			[]lineWant{{1, "id"}, {2, "line 2: line of 10485"}}, 0, 0},
		{"100 KB field", dealWith("H-3", `,"remark":"`+strings.Repeat("é", 50<<10)+`"`),
			[]lineWant{{1, "line 1: remark: a string of 102400 bytes is longer than 65536 bytes"}}, 0, 0},
		{"deep nesting", dealWith("H-4", `,"extra":`+strings.Repeat("[", 5000)+strings.Repeat("]", 5000)),
			[]lineWant{{1, "line 1: extra: nested deeper than 32 levels"}}, 0, 0},
		{"deep nesting, invalid JSON", strings.Repeat("{", 1<<20-1),
			[]lineWant{{1, "line 1: nested deeper than 32 levels"}}, 0, 0},
		{"invalid UTF-8", strings.Replace(dealWith("H-5", ""), `"s1"`, "\"s\xff1\"", 1),
			[]lineWant{{1, "line 1: store: invalid UTF-8 at byte"}}, 0, 0},
		{"wrong types", strings.Replace(dealWith("H-6", ""), `"membershipId":7`, `"membershipId":"seven"`, 1) + "\n" +
			strings.Replace(dealWith("H-7", ""), `"amountPaid":5`, `"amountPaid":"5"`, 1) + "\n" +
			strings.Replace(dealWith("H-8", ""), `"qty":1`, `"qty":[1]`, 1) + "\n" + `[1,2]` + "\n" + `null`,
			[]lineWant{{1, "line 1: membershipId: must be a DM Hub member id"}, {2, "line 2: amountPaid: must be a number"},
				{3, "line 3: dealLines[0].qty: must be a number"}, {4, "line 4: not a JSON object"}, {5, "line 5: not a JSON object"}}, 0, 0},
		{"a key given twice", dealWith("H-9", `,"orderNo":"H-10"`), []lineWant{{1, "line 1: orderNo: given twice"}}, 0, 0},
		{"200,000 bad lines", manyBad.String(), nil, 200000, 0},
		{"2,500 good lines in 3 chunks", manyGood.String(), nil, 0, 2500},
	}
	for _, tc := range pushCases {
		t.Run("push/"+tc.name, func(t *testing.T) {
			stop := sampleHeap()
			out, errOut, err := run(t, tc.input, "--config", cfgPath, "push", "deal", "--source", "acme")
			peak := stop()
			ids := strings.Fields(out)
			for _, id := range ids {
				accepted[id] = true
			}
			errLines := strings.Split(strings.TrimSpace(errOut), "\n")
			t.Logf("exit %d, %d ids, %d stderr lines, heap +%d MiB; stderr starts %q", exitCode(err), len(ids), len(errLines), peak>>20,
				connectors.Truncate(errOut, 200))
			if peak > intakeHeapBound {
				t.Errorf("heap grew by %d MiB, bound %d MiB", peak>>20, intakeHeapBound>>20)
			}
			if tc.lines == nil {
				wantExit, wantErrs := 0, 1 // the duplicate's notice
				if tc.count > 0 {
					wantExit, wantErrs = 1, tc.count
				}
				code := 0
				if err != nil {
					code = exitCode(err)
				}
				if code != wantExit || len(ids) != tc.ids || len(errLines) != wantErrs {
					t.Errorf("%v: exit %d (want %d), %d ids (want %d), %d error lines (want %d)", err, code, wantExit, len(ids), tc.ids, len(errLines), wantErrs)
				}
				if tc.count > 0 && (!strings.HasPrefix(errLines[0], "line 1: salesChannel: required") ||
					!strings.HasPrefix(errLines[len(errLines)-1], fmt.Sprintf("line %d: ", tc.count))) {
					t.Errorf("first/last errors %q / %q", errLines[0], errLines[len(errLines)-1])
				}
				return
			}
			wantIDs := 0
			for _, l := range tc.lines {
				if l.want == "id" {
					wantIDs++
				} else if !strings.Contains(errOut, l.want) {
					t.Errorf("stderr %q: want %q", connectors.Truncate(errOut, 500), l.want)
				}
			}
			if len(ids) != wantIDs || exitCode(err) != 1 {
				t.Errorf("%d ids (want %d), exit %d (want 1)", len(ids), wantIDs, exitCode(err))
			}
		})
	}

	post := func(body string) (int, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/v1/outbound/acme/deal", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+testServeToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("the server is down: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var manyLines strings.Builder
	for range outbound.MaxLinesPerRequest + 1 {
		manyLines.WriteString("{}\n")
	}
	httpCases := []struct {
		name, body string
		status     int
		want       []string // fragments of the answer
	}{
		{"body over 8 MiB", dealWith("S-1", `,"remark":"`+tenMB+`"`), 413, []string{"body larger than the limit"}},
		{"a 2 MB line", dealWith("S-2", "") + "\n" + dealWith("S-3", `,"remark":"`+tenMB[:2<<20]+`"`), 202,
			[]string{`"accepted":1,"rejected":1`, `{"line":2,"error":"line of 2097`}},
		{"deep nesting", dealWith("S-4", `,"x":`+strings.Repeat(`{"a":`, 100000)+"1"+strings.Repeat("}", 100000)), 400,
			[]string{`"line":1,"field":"x","error":"nested deeper than 32 levels`}},
		{"invalid UTF-8", "{\"a\":1}\n" + strings.Replace(dealWith("S-5", ""), `"web"`, "\"w\xc3\x28b\"", 1), 400,
			[]string{`"line":1,"field":"salesChannel","error":"required"`, `"line":2,"field":"salesChannel","error":"invalid UTF-8 at byte`}},
		{"wrong types", strings.Replace(dealWith("S-6", ""), `"dateOrder":"2024-03-15T12:00:00"`, `"dateOrder":20240315`, 1), 400,
			[]string{`"line":1,"field":"dateOrder","error":"must be a string`}},
		{"a key given twice", dealWith("S-7", `,"membershipId":8`), 400, []string{`"field":"membershipId","error":"given twice"`}},
		{"too many lines", manyLines.String(), 413, []string{"10001 lines: at most 10000 per request"}},
		{"still serving", dealWith("S-8", ""), 202, []string{`"accepted":1`}},
	}
	for _, tc := range httpCases {
		t.Run("serve/"+tc.name, func(t *testing.T) {
			stop := sampleHeap()
			status, body := post(tc.body)
			peak := stop()
			t.Logf("%d, heap +%d MiB: %s", status, peak>>20, connectors.Truncate(body, 300))
			if status != tc.status {
				t.Errorf("status %d, want %d", status, tc.status)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("answer %s: want %s", connectors.Truncate(body, 500), w)
				}
			}
			if peak > intakeHeapBound {
				t.Errorf("heap grew by %d MiB, bound %d MiB", peak>>20, intakeHeapBound>>20)
			}
			var pr outbound.PostResponse
			if status/100 == 2 && json.Unmarshal([]byte(body), &pr) == nil {
				for _, res := range pr.Results {
					if res.ID != "" {
						accepted[res.ID] = true
					}
				}
			}
		})
	}

	// nothing stored but the accepted writes
	evs, err := ob.Store.List(context.Background(), "", 1000000)
	if err != nil {
		t.Fatal(err)
	}
	stored := map[string]bool{}
	for _, e := range evs {
		stored[e.WriteID] = true
		if !accepted[e.WriteID] {
			t.Errorf("stored but never acknowledged: %s %s", e.WriteID, e.OrderNo)
		}
	}
	for id := range accepted {
		if !stored[id] {
			t.Errorf("acknowledged but not stored: %s", id)
		}
	}
	if want := 1 + 2499 + 2; len(stored) != want {
		t.Errorf("%d writes stored, want %d", len(stored), want)
	}
}
