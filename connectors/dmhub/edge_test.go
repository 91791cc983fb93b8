package dmhub

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

// staticToken is a TokenSource with one token.
type staticToken string

func (s staticToken) Token(context.Context) (string, error)    { return string(s), nil }
func (s staticToken) Invalidate(context.Context, string) error { return nil }

// TestAccessTokenNeverInErrors: the access token travels in the query and
// a vendor or proxy may echo it in a body; no error may show it.
func TestAccessTokenNeverInErrors(t *testing.T) {
	t.Parallel()
	const tok = "a1b2c3d4e5f6a7b8c9d0"
	bodies := map[string]struct {
		status int
		body   string
	}{
		"/business":  {400, `{"error":{"code":"400001","message":"Invalid access_token=` + tok + `!"}}`},
		"/unknown":   {200, `{"error":{"code":"777","message":"echo ` + tok + `"}}`},
		"/html":      {502, `<html><title>upstream ` + tok + `</title></html>`},
		"/plain":     {404, `no route for /x?access_token=` + tok},
		"/truncated": {200, `{"rows":[{"id":"` + tok},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			hj, _ := w.(http.Hijacker)
			conn, _, _ := hj.Hijack()
			_ = conn.Close() // a transport error: its *url.Error carries the URL
			return
		}
		b := bodies[r.URL.Path]
		w.WriteHeader(b.status)
		_, _ = w.Write([]byte(b.body))
	}))
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "acme", BaseURL: srv.URL, Credentials: Credentials{AppID: "app", AppSecret: "topsecret-123"}}
	hc := &httpapi.Client{Source: "acme", HTTP: srv.Client(), Retry: httpapi.Retry{Attempts: 1}}
	c := NewClient(src, hc)
	c.UseTokens(staticToken(tok))
	for _, path := range []string{"/business", "/unknown", "/html", "/plain", "/truncated", "/hang"} {
		_, err := c.Get(context.Background(), path, url.Values{"rows": {"1"}})
		if err == nil {
			t.Errorf("%s: no error", path)
			continue
		}
		if strings.Contains(err.Error(), tok[:8]) {
			t.Errorf("%s: the access token is in the error: %q", path, err)
		}
	}
}

// counter is an Observer that counts attempts by endpoint and class.
type counter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *counter) Request(source, endpoint, class string, status int, _ time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n[source+" "+endpoint+" "+class]++
}

// TestObserverSeesEveryAttempt: token refreshes and API calls reach the
// Observer with a low-cardinality endpoint (ids replaced).
func TestObserverSeesEveryAttempt(t *testing.T) {
	t.Parallel()
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 4, Members: 3})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "acme", Kind: Kind, BaseURL: srv.URL + "/dmhub",
		Credentials: Credentials{AppID: "sim-dmhub-app", AppSecret: "sim-dmhub-secret"}}
	o := &counter{n: map[string]int{}}
	hc := httpapi.NewClient(src, connectors.Deps{HTTP: srv.Client(), Observer: o})
	c := NewClient(src, hc)
	c.UseTokens(&fetchedTokens{c: c})
	ctx := context.Background()
	for _, m := range sim.DMHub.Members() {
		if _, err := c.Get(ctx, "/loyalty/v1/membership/"+m.ID+"/point", url.Values{"rows": {"5"}}); err != nil && !connectors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	want := map[string]int{
		"acme GET /security/accesstoken ok":             1,
		"acme GET /loyalty/v1/membership/{id}/point ok": 3,
	}
	for k, v := range want {
		if o.n[k] != v {
			t.Errorf("observer: %q = %d, want %d (all: %v)", k, o.n[k], v, o.n)
		}
	}
}
