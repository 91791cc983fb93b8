package houcaller

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
	testSource  = "acme-houcaller"
	testChannel = "hkl-test"
	testKey     = "12345678" // DES key of the tests; hex 3132333435363738
	otherKey    = "87654321"
)

// testNow is 2020-02-11 07:28:40.924 UTC = 1581406120924 ms, the
// timestamp of the vendor's request example [S002].
func testNow() time.Time { return time.UnixMilli(1581406120924).UTC() }

func testSourceConfig(baseURL, key string) *config.Source {
	return &config.Source{Name: testSource, Kind: Kind, BaseURL: baseURL, PageSize: 2,
		Credentials: Credentials{Channel: testChannel, DESKey: config.Secret(key)}}
}

func newTestConnector(t testing.TB, baseURL string, opts ...Option) *Connector {
	t.Helper()
	k, err := New(testSourceConfig(baseURL, testKey), &httpapi.Client{Source: testSource}, append([]Option{WithClock(testNow)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// call is one request the fake vendor received, decrypted.
type call struct {
	Method    string
	Param     string // decrypted plaintext
	Channel   string
	Timestamp string
	Body      string // the envelope as sent
}

// fakeVendor is a Houcaller openapi built from the vendor documents: it
// decrypts `param` with its own key and answers through reply. A param it
// cannot decrypt gets {"code":-1,"msg":"参数解密失败"} (the vendor's
// wording is unknown; any decrypt wording classifies as Auth).
type fakeVendor struct {
	cipher *Cipher
	reply  func(method, param string) (int, string)

	mu    sync.Mutex
	calls []call
}

func newFakeVendor(t *testing.T, key string, reply func(method, param string) (int, string)) (*httptest.Server, *fakeVendor) {
	t.Helper()
	c, err := NewCipher([]byte(key), ECB, PKCS5, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeVendor{cipher: c, reply: reply}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return srv, f
}

func (f *fakeVendor) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	method, ok := strings.CutPrefix(r.URL.Path, "/openapi/v1/")
	if r.Method != http.MethodPost || !ok || r.Header.Get("Content-Type") != "application/json" {
		http.Error(w, "<html><title>404 Not Found</title></html>", http.StatusNotFound)
		return
	}
	var env envelope
	if err := json.Unmarshal(body, &env); err != nil {
		writeJSON(w, 200, `{"code":-1,"msg":"请求格式错误"}`)
		return
	}
	plain, err := f.cipher.Decrypt(env.Param)
	f.mu.Lock()
	f.calls = append(f.calls, call{Method: method, Param: string(plain), Channel: env.Channel, Timestamp: env.Timestamp, Body: string(body)})
	f.mu.Unlock()
	if err != nil {
		writeJSON(w, 200, `{"code":-1,"msg":"参数解密失败"}`)
		return
	}
	status, out := f.reply(method, string(plain))
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

// checkRows asserts the invariants every row must hold, whatever the
// vendor sent: the source is set, keys are non-empty, statuses are
// normalized, times are UTC, dates are YYYY-MM-DD, and raw is compact
// JSON.
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
	raw := func(r string) {
		var b bytes.Buffer
		if err := json.Compact(&b, []byte(r)); err != nil || b.String() != r {
			t.Fatalf("raw is not compact JSON: %q", r)
		}
	}
	for _, row := range rows {
		switch r := row.(type) {
		case warehouse.MemberCoupon:
			if r.Source != testSource || r.CouponCode == "" || r.SyncedAt != (time.Time{}) || r.Ver != 0 {
				t.Fatalf("bad member coupon %+v", r)
			}
			switch r.Status {
			case warehouse.CouponUnused, warehouse.CouponUsed, warehouse.CouponExpired, warehouse.CouponRefunded,
				warehouse.CouponGifting, warehouse.CouponUnknown:
			default:
				t.Fatalf("status %q is not a Houcaller normalization", r.Status)
			}
			utc("starts_at", r.StartsAt)
			utc("ends_at", r.EndsAt)
			utc("drawn_at", r.DrawnAt)
			utc("redeemed_at", r.RedeemedAt)
			date("start_date", r.StartDate)
			date("end_date", r.EndDate)
			raw(r.Raw)
		case warehouse.PointEntry:
			if r.Source != testSource || r.EntryID == "" || r.MemberID == "" {
				t.Fatalf("bad point entry %+v", r)
			}
			utc("occurred_at", r.OccurredAt)
			raw(r.Raw)
		case warehouse.Coupon:
			if r.Source != testSource || r.CouponID == "" {
				t.Fatalf("bad coupon %+v", r)
			}
			date("start_date", r.StartDate)
			date("end_date", r.EndDate)
			raw(r.Raw)
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
