package zvcms

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

const (
	testSource    = "acme-zvcms"
	testOpenID    = "6dc05b4ac175cf316d226252b05cf685"
	testGrantCode = "782c281f62-grant"
	testSecret    = "zv-secret-123"
	testCustomer  = "383933091455959041"
)

// testNow is 1547186244 s, the timestamp of the vendor's example [S003].
func testNow() time.Time { return time.Unix(1547186244, 0).UTC() }

func testNonce() int64 { return 658965 }

func testSourceConfig(baseURL, secret string) *config.Source {
	return &config.Source{Name: testSource, Kind: Kind, BaseURL: baseURL, PageSize: 2,
		Credentials: Credentials{OpenID: testOpenID, GrantCode: testGrantCode, Secret: config.Secret(secret)}}
}

func newTestConnector(t testing.TB, baseURL string, opts ...Option) *Connector {
	t.Helper()
	k, err := New(testSourceConfig(baseURL, testSecret), &httpapi.Client{Source: testSource},
		append([]Option{WithClock(testNow), WithNonce(testNonce)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// call is one request the fake vendor received.
type call struct {
	Path   string
	Action string // V2 only
	Params string // compact JSON of params / Params
	Body   string
}

// fakeVendor is a zvcms openapi built from the vendor documents: it checks
// the token with its own secret (HMAC-SHA1 over the sorted public fields)
// and answers through reply. A bad token gets {"status":false,
// "code":"40001","message":"签名错误"} (the vendor's wording is unknown; any
// signature wording classifies as Auth).
type fakeVendor struct {
	signer Signer
	reply  func(c call) (int, string)

	mu    sync.Mutex
	calls []call
}

func newFakeVendor(t *testing.T, secret string, reply func(c call) (int, string)) (*httptest.Server, *fakeVendor) {
	t.Helper()
	s, err := NewSigner(SignerHMACSHA1, secret)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeVendor{signer: s, reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return srv, f
}

func (f *fakeVendor) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "<html><title>405</title></html>", http.StatusMethodNotAllowed)
		return
	}
	c := call{Path: r.URL.Path, Body: string(body)}
	var fields SignFields
	var token string
	var params json.RawMessage
	switch {
	case strings.HasPrefix(r.URL.Path, "/v3/"):
		var env struct {
			OpenID, GrantCode, Token, Timestamp, Nonce string
			Params                                     json.RawMessage
		}
		if err := json.Unmarshal(body, &env); err != nil {
			writeJSON(w, 200, `{"status":false,"code":"40000","message":"参数格式错误"}`)
			return
		}
		fields, token, params = SignFields{env.OpenID, env.GrantCode, env.Timestamp, env.Nonce}, env.Token, env.Params
	case r.URL.Path == "/api/v2":
		var env struct {
			OpenID    string          `json:"OpenId"`
			GrantCode string          `json:"GrantCode"`
			Token     string          `json:"Token"`
			Timestamp string          `json:"Timestamp"`
			Nonce     string          `json:"Nonce"`
			Action    string          `json:"Action"`
			Params    json.RawMessage `json:"Params"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			writeJSON(w, 200, `{"status":false,"code":"40000","message":"参数格式错误"}`)
			return
		}
		fields, token, params, c.Action = SignFields{env.OpenID, env.GrantCode, env.Timestamp, env.Nonce}, env.Token, env.Params, env.Action
	default:
		http.Error(w, "<html><title>404 Not Found</title></html>", http.StatusNotFound)
		return
	}
	var p bytes.Buffer
	_ = json.Compact(&p, params)
	c.Params = p.String()
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
	if token != f.signer.Sign(fields) {
		writeJSON(w, 200, `{"status":false,"code":"40001","message":"签名错误"}`)
		return
	}
	status, out := f.reply(c)
	writeJSON(w, status, out)
}

func (f *fakeVendor) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func readTestdata(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "<nil>"
	}
	return t.Format(time.RFC3339)
}

// checkRows asserts the invariants every row must hold, whatever the
// vendor sent.
func checkRows(t testing.TB, rows []warehouse.Row) {
	t.Helper()
	utc := func(name string, tm *time.Time) {
		if tm != nil && tm.Location() != time.UTC {
			t.Fatalf("%s %v is not UTC", name, tm)
		}
	}
	date := func(name, d string) {
		if d != "" && lenient.Date(d) != d {
			t.Fatalf("%s %q is not YYYY-MM-DD", name, d)
		}
	}
	compactJSON := func(name, r string) {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(r)); err != nil || b.String() != r {
			t.Fatalf("%s is not compact JSON: %q", name, r)
		}
	}
	for _, row := range rows {
		switch r := row.(type) {
		case warehouse.MemberCoupon:
			if r.Source != testSource || r.CouponCode == "" || r.MemberID == "" {
				t.Fatalf("bad member coupon %+v", r)
			}
			switch r.Status {
			case warehouse.CouponUnused, warehouse.CouponUsed, warehouse.CouponFrozen, warehouse.CouponGifting,
				warehouse.CouponInvalid, warehouse.CouponDeleted, warehouse.CouponUnknown:
			default:
				t.Fatalf("status %q is not a zvcms normalization", r.Status)
			}
			utc("starts_at", r.StartsAt)
			utc("ends_at", r.EndsAt)
			utc("drawn_at", r.DrawnAt)
			date("start_date", r.StartDate)
			date("end_date", r.EndDate)
			compactJSON("raw", r.Raw)
		case warehouse.Member:
			if r.Source != testSource || r.MemberID == "" || r.MemberID != r.CustomerID {
				t.Fatalf("bad member %+v", r)
			}
			utc("last_updated", r.LastUpdated)
			utc("date_created", r.DateCreated)
			date("birthday", r.Birthday)
			compactJSON("raw", r.Raw)
			compactJSON("custom_attrs", r.CustomAttrs)
			if !strings.HasPrefix(r.CustomAttrs, "{") {
				t.Fatalf("custom_attrs %q is not an object", r.CustomAttrs)
			}
		case warehouse.PointEntry:
			if r.Source != testSource || r.EntryID == "" || r.MemberID == "" {
				t.Fatalf("bad point entry %+v", r)
			}
			utc("occurred_at", r.OccurredAt)
			compactJSON("raw", r.Raw)
		case warehouse.RejectedRecord:
			// a poison record in place of its row: named, kept, explained
			if r.Source != testSource || r.Stream == "" || r.RecordKey == "" || r.Error == "" || !utf8.ValidString(r.Raw) ||
				len(r.Raw) > warehouse.MaxRejectedRaw {
				t.Fatalf("bad rejected record %+v", r)
			}
		default:
			t.Fatalf("unexpected row type %T", row)
		}
	}
}
