package httpapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// testPolicy: {"code":0,"data":…} is success; a few codes for the tests.
var testPolicy = httpapi.Policy{
	Parse: func(body []byte) httpapi.Envelope {
		s := string(body)
		switch {
		case strings.Contains(s, `"code":0`):
			return httpapi.Envelope{OK: true, Data: body}
		case strings.Contains(s, `"code":7`):
			return httpapi.Envelope{Code: "7", Message: "token superseded"}
		case strings.Contains(s, `"code":9`):
			return httpapi.Envelope{Code: "9", Message: "bad request"}
		}
		return httpapi.Envelope{Code: "500000", Message: "system busy"}
	},
	Codes: []httpapi.Rule{
		{Code: "7", Token: true},
		{Code: "9", Class: connectors.Permanent},
	},
	Messages: []httpapi.Rule{{Match: []string{"busy"}, Class: connectors.Retryable}},
}

// observed records Observer calls.
type observed struct {
	mu    sync.Mutex
	calls []string
}

func (o *observed) Request(source, endpoint, class string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.calls = append(o.calls, strings.Join([]string{source, endpoint, class, http.StatusText(status)}, "|"))
}

// script serves the answers in order (status, body), then the last one.
func script(t *testing.T, answers ...[2]string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(n.Add(1)) - 1
		a := answers[min(i, len(answers)-1)]
		switch a[0] {
		case "429":
			w.Header().Set("Retry-After", a[1])
			w.WriteHeader(429)
		case "502":
			w.WriteHeader(502)
			_, _ = w.Write([]byte("<html><title>502 Bad Gateway</title></html>"))
		default:
			_, _ = w.Write([]byte(a[1]))
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func newClient(srv *httptest.Server, o *observed, waits *[]time.Duration) *httpapi.Client {
	return &httpapi.Client{Source: "acme", HTTP: srv.Client(), Observer: o,
		Sleep: func(_ context.Context, d time.Duration) error { *waits = append(*waits, d); return nil },
		Rand:  func(n int64) int64 { return n - 1 }}
}

func get(srv *httptest.Server, idempotent bool) httpapi.Request {
	return httpapi.Request{Op: "GET /x/1", Endpoint: "GET /x/{id}", Idempotent: idempotent, Policy: &testPolicy,
		New: func(ctx context.Context) (*http.Request, error) {
			return http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/x/1", nil)
		}}
}

func TestCallRetriesInPlace(t *testing.T) {
	t.Parallel()
	busy := [2]string{"200", `{"code":500000,"msg":"system busy"}`}
	ok := [2]string{"200", `{"code":0}`}
	tests := []struct {
		name       string
		answers    [][2]string
		idempotent bool
		retry      httpapi.Retry
		wantClass  connectors.Class // 0 = success
		wantCalls  int32
		wantWaits  []time.Duration
		wantSeen   []string
	}{
		{name: "busy in HTTP 200 then ok", answers: [][2]string{busy, {"502", ""}, ok}, idempotent: true,
			wantCalls: 3, wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond},
			wantSeen: []string{"acme|GET /x/{id}|retryable|OK", "acme|GET /x/{id}|retryable|Bad Gateway", "acme|GET /x/{id}|ok|OK"}},
		{name: "bounded: the budget ends with the vendor's reason", answers: [][2]string{busy}, idempotent: true,
			wantClass: connectors.Retryable, wantCalls: 4,
			wantWaits: []time.Duration{200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond}},
		{name: "backoff is capped", answers: [][2]string{busy}, idempotent: true,
			retry:     httpapi.Retry{Attempts: 5, Base: time.Second, Max: 3 * time.Second},
			wantClass: connectors.Retryable, wantCalls: 5,
			wantWaits: []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}},
		{name: "a write is sent once", answers: [][2]string{busy, ok}, idempotent: false,
			wantClass: connectors.Retryable, wantCalls: 1, wantSeen: []string{"acme|GET /x/{id}|retryable|OK"}},
		{name: "permanent is not retried", answers: [][2]string{{"200", `{"code":9}`}, ok}, idempotent: true,
			wantClass: connectors.Permanent, wantCalls: 1, wantSeen: []string{"acme|GET /x/{id}|permanent|OK"}},
		{name: "token rejection goes back to the caller", answers: [][2]string{{"200", `{"code":7}`}, ok}, idempotent: true,
			wantClass: connectors.Retryable, wantCalls: 1},
		{name: "short rate limit is waited, not counted", answers: [][2]string{{"429", "2"}, {"429", "2"}, busy, busy, busy, ok},
			idempotent: true, wantCalls: 6,
			wantWaits: []time.Duration{2 * time.Second, 2 * time.Second, 200 * time.Millisecond, 400 * time.Millisecond, 800 * time.Millisecond},
			wantSeen: []string{"acme|GET /x/{id}|rate_limited|Too Many Requests", "acme|GET /x/{id}|rate_limited|Too Many Requests",
				"acme|GET /x/{id}|retryable|OK", "acme|GET /x/{id}|retryable|OK", "acme|GET /x/{id}|retryable|OK", "acme|GET /x/{id}|ok|OK"}},
		{name: "long Retry-After goes to the queue", answers: [][2]string{{"429", "60"}, ok}, idempotent: true,
			wantClass: connectors.RateLimited, wantCalls: 1},
		{name: "rate-limit waits have a budget", answers: [][2]string{{"429", "4"}}, idempotent: true,
			retry:     httpapi.Retry{RateLimitBudget: 10 * time.Second},
			wantClass: connectors.RateLimited, wantCalls: 3, wantWaits: []time.Duration{4 * time.Second, 4 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, n := script(t, tt.answers...)
			o := &observed{}
			var waits []time.Duration
			c := newClient(srv, o, &waits)
			c.Retry = tt.retry
			_, err := c.Call(context.Background(), get(srv, tt.idempotent))
			if got := connectors.ClassOf(err); got != tt.wantClass {
				t.Errorf("class %v, want %v (%v)", got, tt.wantClass, err)
			}
			if tt.wantClass == connectors.Retryable && err != nil && !errors.Is(err, httpapi.ErrTokenRejected) &&
				!strings.Contains(err.Error(), "system busy") {
				t.Errorf("error %q does not give the vendor's reason", err)
			}
			if got := n.Load(); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if !equalDurations(waits, tt.wantWaits) {
				t.Errorf("waits %v, want %v", waits, tt.wantWaits)
			}
			if len(o.calls) != int(tt.wantCalls) {
				t.Errorf("observer saw %d attempts, want %d: %v", len(o.calls), tt.wantCalls, o.calls)
			}
			if tt.wantSeen != nil && strings.Join(o.calls, "\n") != strings.Join(tt.wantSeen, "\n") {
				t.Errorf("observer saw\n%s\nwant\n%s", strings.Join(o.calls, "\n"), strings.Join(tt.wantSeen, "\n"))
			}
		})
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCallStopsWhenTheTaskEnds: a cancelled context ends the backoff wait
// at once with the vendor's error.
func TestCallStopsWhenTheTaskEnds(t *testing.T) {
	t.Parallel()
	srv, n := script(t, [2]string{"502", ""})
	c := &httpapi.Client{Source: "acme", HTTP: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Call(ctx, get(srv, true))
	if connectors.ClassOf(err) != connectors.Retryable || time.Since(start) > time.Second {
		t.Errorf("Call = %v after %s; want the 502 soon after the context ended", err, time.Since(start))
	}
	if n.Load() > 2 {
		t.Errorf("%d requests after the context ended", n.Load())
	}
}

// TestNoRedirectToAnotherHost: a vendor answer redirecting elsewhere is
// not followed (credentials in the query or body would leave), and it is
// permanent; a redirect on the same host is followed.
func TestNoRedirectToAnotherHost(t *testing.T) {
	t.Parallel()
	var elsewhere atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		_, _ = w.Write([]byte(`{"code":0}`))
	}))
	t.Cleanup(other.Close)
	vendor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/away":
			http.Redirect(w, r, other.URL+"/steal?access_token=secret-tok", http.StatusFound)
		case "/here":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			_, _ = w.Write([]byte(`{"code":0}`))
		}
	}))
	t.Cleanup(vendor.Close)
	c := &httpapi.Client{Source: "acme", HTTP: &http.Client{}}
	call := func(path string) error {
		_, err := c.Call(context.Background(), httpapi.Request{Op: "GET " + path, Idempotent: true, Policy: &testPolicy,
			New: func(ctx context.Context) (*http.Request, error) {
				return http.NewRequestWithContext(ctx, http.MethodGet, vendor.URL+path+"?access_token=secret-tok", nil)
			}})
		return err
	}
	err := call("/away")
	if !errors.Is(err, httpapi.ErrRedirectElsewhere) || connectors.ClassOf(err) != connectors.Permanent {
		t.Errorf("redirect to another host: %v, want a permanent ErrRedirectElsewhere", err)
	}
	if err != nil && strings.Contains(err.Error(), "secret-tok") {
		t.Errorf("error %q shows the token", err)
	}
	if elsewhere.Load() != 0 {
		t.Errorf("the other host got %d requests", elsewhere.Load())
	}
	if err := call("/here"); err != nil {
		t.Errorf("same-host redirect: %v", err)
	}
}
