package dmhub

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// staticTokens is a TokenSource with a fixed token (no Redis).
type staticTokens string

func (s staticTokens) Token(context.Context) (string, error)    { return string(s), nil }
func (s staticTokens) Invalidate(context.Context, string) error { return nil }

// testToken is the access token the fake vendor accepts.
const testToken = "t"

// fakeVendor is a DM Hub stand-in for stream tests: routes by path, checks
// the access token, and records every request.
type fakeVendor struct {
	mu     sync.Mutex
	routes map[string]http.HandlerFunc
	reqs   []recorded
}

type recorded struct {
	Method, Path string
	Query        url.Values
	Body         string
}

func newFakeVendor() *fakeVendor { return &fakeVendor{routes: map[string]http.HandlerFunc{}} }

func (f *fakeVendor) handle(path string, h http.HandlerFunc) *fakeVendor {
	f.routes[path] = h
	return f
}

func (f *fakeVendor) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, recorded{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Body: string(body)})
	h := f.routes[r.URL.Path]
	f.mu.Unlock()
	if r.URL.Query().Get("access_token") != testToken {
		writeJSON(w, `{"error":{"code":"401001","message":"invalid access_token"}}`)
		return
	}
	if h == nil {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "no route")
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	h(w, r)
}

func (f *fakeVendor) requests() []recorded {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]recorded(nil), f.reqs...)
}

func writeJSON(w http.ResponseWriter, body string) {
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprint(w, body)
}

// listOpts shape a paged list the fake serves.
type listOpts struct {
	cap        int  // the vendor serves at most cap rows per page (0: no cap)
	ignorePage bool // the vendor always serves page 1
	lying      bool // add total/records that contradict the list
}

// pagedList serves rows with rows/page (1-based) like a DM Hub list.
func pagedList(rows []json.RawMessage, o listOpts) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		size, _ := strconv.Atoi(q.Get("rows"))
		page, _ := strconv.Atoi(q.Get("page"))
		if size <= 0 {
			size = 20
		}
		if o.cap > 0 && size > o.cap {
			size = o.cap
		}
		if page < 1 || o.ignorePage {
			page = 1
		}
		var out []json.RawMessage
		if from := (page - 1) * size; from < len(rows) {
			out = rows[from:min(from+size, len(rows))]
		}
		resp := map[string]any{"rows": append([]json.RawMessage{}, out...)}
		if o.lying {
			resp["total"], resp["records"] = 1, 1
		}
		b, _ := json.Marshal(resp)
		writeJSON(w, string(b))
	}
}

// fixture serves a testdata file as page 1 and an empty list after it.
func fixture(t *testing.T, name string) http.HandlerFunc {
	body := readFixture(t, name)
	return func(w http.ResponseWriter, r *http.Request) {
		if p := r.URL.Query().Get("page"); p != "" && p != "1" {
			writeJSON(w, `{"rows":[],"total":12,"records":10}`)
			return
		}
		writeJSON(w, string(body))
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureRows returns the rows of a testdata list, or the file itself
// when it is a single object.
func fixtureRows(t testing.TB, name string) [][]byte {
	t.Helper()
	b := readFixture(t, name)
	var page struct {
		Rows []json.RawMessage `json:"rows"`
	}
	if err := json.Unmarshal(b, &page); err != nil || page.Rows == nil {
		return [][]byte{b}
	}
	out := make([][]byte, len(page.Rows))
	for i, r := range page.Rows {
		out[i] = r
	}
	return out
}

// newTestConnector builds a connector for source "acme" against h.
func newTestConnector(t *testing.T, h http.Handler, edit func(*config.Source)) *Connector {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "acme", Kind: Kind, BaseURL: srv.URL, PageSize: 20,
		Credentials: Credentials{AppID: "app", AppSecret: "topsecret-123"}}
	if edit != nil {
		edit(src)
	}
	c := NewClient(src, &httpapi.Client{Source: src.Name, HTTP: srv.Client()})
	c.UseTokens(staticTokens(testToken))
	return &Connector{src: src, c: c}
}

// checkRaw verifies the row source and that raw is compact JSON.
func checkRaw(t *testing.T, source, raw string) {
	t.Helper()
	if source != "acme" {
		t.Errorf("source = %q, want acme", source)
	}
	if !json.Valid([]byte(raw)) || raw != compactJSON(t, raw) {
		t.Errorf("raw is not compact JSON: %q", raw)
	}
}

func compactJSON(t testing.TB, s string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(s)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// rowsOf converts batch rows to a typed slice.
func rowsOf[T warehouse.Row](t *testing.T, rows []warehouse.Row) []T {
	t.Helper()
	out := make([]T, 0, len(rows))
	for _, r := range rows {
		v, ok := r.(T)
		if !ok {
			t.Fatalf("row %T, want %T", r, *new(T))
		}
		out = append(out, v)
	}
	return out
}

// fmtTime renders an optional time for comparisons.
func fmtTime(p *time.Time) string {
	if p == nil {
		return "<nil>"
	}
	return p.UTC().Format(time.RFC3339)
}

func fmtInt(p *int64) string {
	if p == nil {
		return "<nil>"
	}
	return strconv.FormatInt(*p, 10)
}
