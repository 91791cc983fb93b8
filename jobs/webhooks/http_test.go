package webhooks

import (
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/loyaltybridge/loyaltybridge/config"
)

const testSecret = "whsec-test-0123456789"

func testConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(`
sources:
  - name: signed
    kind: dmhub
    base_url: http://127.0.0.1:1
    credentials: {app_id: a, app_secret: s}
    webhook_secret: `+testSecret+`
    webhook: {max_body_bytes: 2048}
  - name: other-header
    kind: dmhub
    base_url: http://127.0.0.1:1
    credentials: {app_id: a, app_secret: s}
    webhook_secret: `+testSecret+`
    webhook: {signature_header: X-Sig, signature_encoding: base64}
  - name: zv
    kind: zvcms
    base_url: http://127.0.0.1:1
    credentials: {open_id: o, grant_code: g, secret: s}
    member_keys: {query: "SELECT 1"}
`), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestHTTPRefusals covers every answer the intake gives before it stores
// anything (no ClickHouse: the Webhooks has no warehouse, so a call that
// got as far as storing would panic).
func TestHTTPRefusals(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	w := &Webhooks{Config: testConfig(t), Metrics: m}
	mux := http.NewServeMux()
	(&HTTP{W: w}).Routes(mux)
	body := `{"event":"loyalty/membership_level_up","membershipId":"1"}`
	tests := []struct {
		name, source, body, header, sig string
		want                            int
		reason                          string // rejected metric label
	}{
		{name: "unknown source", source: "nope", body: body, want: http.StatusNotFound},
		{name: "not a dmhub source", source: "zv", body: body, want: http.StatusNotFound},
		{name: "unsigned", source: "signed", body: body, want: http.StatusUnauthorized, reason: "unsigned"},
		{name: "wrong key", source: "signed", body: body, header: "X-Clab-Hmac-Signature", sig: SignHex("forged", []byte(body)),
			want: http.StatusUnauthorized, reason: "bad_signature"},
		{name: "not hex", source: "signed", body: body, header: "X-Clab-Hmac-Signature", sig: "xyz", want: http.StatusUnauthorized,
			reason: "bad_encoding"},
		{name: "signed in another header", source: "other-header", body: body, header: "X-Clab-Hmac-Signature",
			sig: SignHex(testSecret, []byte(body)), want: http.StatusUnauthorized, reason: "unsigned"},
		{name: "too large", source: "signed", body: `{"x":"` + strings.Repeat("a", 3000) + `"}`, want: http.StatusRequestEntityTooLarge,
			reason: "too_large"},
		{name: "signed but not an object", source: "signed", body: `[1]`, header: "X-Clab-Hmac-Signature",
			sig: SignHex(testSecret, []byte(`[1]`)), want: http.StatusBadRequest, reason: "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := 0.0
			if tt.reason != "" {
				before = testutil.ToFloat64(m.rejected.WithLabelValues(tt.source, tt.reason))
			}
			req := httptest.NewRequest(http.MethodPost, "/v1/webhooks/"+tt.source, strings.NewReader(tt.body))
			if tt.header != "" {
				req.Header.Set(tt.header, tt.sig)
			}
			rec := httptest.NewRecorder()
			mux.ServeHTTP(rec, req)
			if rec.Code != tt.want {
				t.Fatalf("status %d (%s), want %d", rec.Code, rec.Body, tt.want)
			}
			if strings.Contains(rec.Body.String(), testSecret) {
				t.Fatalf("answer leaks the secret: %s", rec.Body)
			}
			if tt.reason != "" {
				if got := testutil.ToFloat64(m.rejected.WithLabelValues(tt.source, tt.reason)); got != before+1 {
					t.Errorf("rejected{%s,%s} = %v, want %v", tt.source, tt.reason, got, before+1)
				}
			}
		})
	}
	req := httptest.NewRequest(http.MethodGet, "/v1/webhooks/signed", nil)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET: status %d, want 405", rec.Code)
	}
}
