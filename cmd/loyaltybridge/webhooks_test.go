package main

import (
	"bytes"
	"context"
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

const testWebhookSecret = "whsec-serve-test-0123456789"

// TestServeWebhooks: serve mounts POST /v1/webhooks/{source} outside the
// bearer token and verifies the source's signature; status shows what
// was received and rejected.
func TestServeWebhooks(t *testing.T) {
	t.Parallel()
	chCfg, _ := warehousetest.ClickHouse(t)
	rCfg, _ := warehousetest.Redis(t)
	path := filepath.Join(t.TempDir(), "loyaltybridge.yaml")
	yml := fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
serve: {addr: "127.0.0.1:0", token: %q}
sources:
  - name: acme
    kind: dmhub
    base_url: http://127.0.0.1:1/dmhub
    credentials: {app_id: a, app_secret: s}
    webhook_secret: %s
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, testServeToken, testWebhookSecret)
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	a, err := openApp(context.Background(), cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	r := newServeRouter(cfg.Serve, a.log)
	wh, closeWebhooks := webhookRoutes(a, cfg.Serve)
	defer closeWebhooks()
	r.Mount("/v1/webhooks/", wh)
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	event := `{"tenantId":1001,"event":"loyalty/membership_level_up","membershipId":"7","date":"2024-03-01T10:00:00Z","oldLevelId":422,"newLevelId":423}`
	post := func(source, body, sig, bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/webhooks/"+source, strings.NewReader(body))
		if sig != "" {
			req.Header.Set("X-Clab-Hmac-Signature", sig)
		}
		if bearer != "" {
			req.Header.Set("Authorization", "Bearer "+bearer)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	tests := []struct {
		name, source, body, sig, bearer string
		status                          int
		want                            string
	}{
		{"signed, no bearer token", "acme", event, webhooks.SignHex(testWebhookSecret, []byte(event)), "", 200, `"event_type":"loyalty/membership_level_up"`},
		{"redelivered", "acme", event, webhooks.SignHex(testWebhookSecret, []byte(event)), "", 200, `"duplicate":true`},
		{"bearer token instead of a signature", "acme", event, "", testServeToken, 401, "signature"},
		{"forged", "acme", event, webhooks.SignHex("not-the-key", []byte(event)), "", 401, "does not match"},
		{"unknown source", "nope", event, webhooks.SignHex(testWebhookSecret, []byte(event)), "", 404, "no dmhub source"},
	}
	for _, tt := range tests {
		status, body := post(tt.source, tt.body, tt.sig, tt.bearer)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.name, status, body, tt.status, tt.want)
		}
	}
	if strings.Contains(logs.String(), testWebhookSecret) || strings.Contains(logs.String(), "membershipId") {
		t.Errorf("the log carries the secret or a body:\n%s", logs.String())
	}
	rep, err := buildStatus(context.Background(), a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Webhooks) != 1 || rep.Webhooks[0].Received != 1 || rep.Webhooks[0].Pending != 1 || rep.Webhooks[0].Rejected != 2 {
		t.Fatalf("status webhooks = %+v, want 1 received (pending: no worker) and 2 rejected", rep.Webhooks)
	}
	var out bytes.Buffer
	printStatus(&out, rep)
	if !strings.Contains(out.String(), "webhooks acme (24h): received 1, applied 0") ||
		!strings.Contains(out.String(), "rejected (bad signature) 2") {
		t.Errorf("status output lacks the webhook line:\n%s", out.String())
	}
}
