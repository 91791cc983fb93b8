package vendorsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is an injectable clock for tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type httpResult struct {
	status int
	header http.Header
	body   []byte
}

// decode unmarshals the body with UseNumber into a generic value.
func (r httpResult) decode(t *testing.T) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.UseNumber()
	var v map[string]any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", truncate(r.body), err)
	}
	return v
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

func do(t *testing.T, method, u string, body any) httpResult {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		bs, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(bs)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	bs, err := io.ReadAll(resp.Body)
	if err != nil && !strings.Contains(err.Error(), "unexpected EOF") {
		t.Fatal(err)
	}
	return httpResult{status: resp.StatusCode, header: resp.Header, body: bs}
}

// dmEnv is a DM Hub simulator behind an httptest server.
type dmEnv struct {
	sim   *DMHub
	srv   *httptest.Server
	clock *fakeClock
}

func newDMEnv(t *testing.T, opts DMHubOptions) *dmEnv {
	t.Helper()
	clock := newFakeClock()
	if opts.Now == nil {
		opts.Now = clock.Now
	}
	sim := NewDMHub(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &dmEnv{sim: sim, srv: srv, clock: clock}
}

func (e *dmEnv) tokenURL(appid, secret string) string {
	q := url.Values{"grant_type": {"client_credentials"}, "appid": {appid}, "secret": {secret}}
	return e.srv.URL + "/security/accesstoken?" + q.Encode()
}

func (e *dmEnv) token(t *testing.T) string {
	t.Helper()
	o := e.sim.Options()
	res := do(t, http.MethodGet, e.tokenURL(o.AppID, o.AppSecret), nil)
	v := res.decode(t)
	tok, _ := v["access_token"].(string)
	if res.status != 200 || tok == "" {
		t.Fatalf("token: %d %s", res.status, res.body)
	}
	return tok
}

// api calls path (with optional query) with the token appended.
func (e *dmEnv) api(t *testing.T, method, tok, path string, body any) httpResult {
	t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	return do(t, method, e.srv.URL+path+sep+"access_token="+url.QueryEscape(tok), body)
}

func rowsOf(t *testing.T, v map[string]any) []map[string]any {
	t.Helper()
	raw, ok := v["rows"].([]any)
	if !ok {
		t.Fatalf("no rows in %v", v)
	}
	out := make([]map[string]any, len(raw))
	for i, r := range raw {
		out[i] = r.(map[string]any)
	}
	return out
}

func errCode(v map[string]any) (any, string) {
	e, ok := v["error"].(map[string]any)
	if !ok {
		return nil, ""
	}
	msg, _ := e["message"].(string)
	return e["code"], msg
}
