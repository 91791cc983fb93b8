package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/jobs"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

const testServeToken = "test-token-0123456789abcdef"

// pushConfig writes a config for a fresh database and namespace and
// returns its path.
func pushConfig(t *testing.T) string {
	t.Helper()
	chCfg, _ := warehousetest.ClickHouse(t)
	rCfg, _ := warehousetest.Redis(t)
	path := filepath.Join(t.TempDir(), "loyaltybridge.yaml")
	yml := fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
serve: {addr: "127.0.0.1:0", token: %q, max_body_bytes: 4096}
sources:
  - name: acme
    kind: dmhub
    base_url: http://127.0.0.1:1/dmhub
    credentials: {app_id: a, app_secret: s}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, testServeToken)
	if err := os.WriteFile(path, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(t *testing.T, stdin string, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	err = root.ExecuteContext(context.Background())
	return out.String(), errb.String(), err
}

const pushDeal = `{"salesChannel":"web","store":"s1","orderNo":"P-1","dateOrder":"2024-03-15T12:00:00","membershipId":7,"amountDiscount":0,"amountPaid":5,"dealLines":[{"lineId":"a","productName":"x","qty":1}]}`

// TestPushCommand: one id per accepted line on stdout, one error per
// rejected line (number, field, cause) on stderr, exit status 1, nothing
// stored for the rejected lines; a second push of the same line returns
// the same id and stores nothing; push list shows the stored writes.
func TestPushCommand(t *testing.T) {
	t.Parallel()
	cfg := pushConfig(t)
	in := pushDeal + "\n\n" +
		`{"salesChannel":"web","store":"s1","orderNo":"P-2","dateOrder":"2024-03-15T12:00:00","membershipId":7,"amountDiscount":0,"amountPaid":5}` + "\n" +
		`{not json` + "\n" +
		strings.Replace(pushDeal, `"P-1"`, `"P-3"`, 1) + "\n"
	out, errOut, err := run(t, in, "--config", cfg, "push", "deal", "--source", "acme")
	if exitCode(err) != 1 {
		t.Fatalf("push: err %v (exit %d), want exit 1; stderr:\n%s", err, exitCode(err), errOut)
	}
	ids := strings.Fields(out)
	if len(ids) != 2 || !strings.HasPrefix(ids[0], "ow_") || ids[0] == ids[1] {
		t.Fatalf("stdout = %q, want two distinct write ids", out)
	}
	for _, want := range []string{"line 3: dealLines: required", "line 4: not a JSON object"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr = %q, want %q", errOut, want)
		}
	}
	out2, errOut2, err := run(t, pushDeal+"\n", "--config", cfg, "push", "deal", "--source", "acme")
	if err != nil || strings.TrimSpace(out2) != ids[0] || !strings.Contains(errOut2, "duplicate") {
		t.Fatalf("second push: %v, stdout %q (want %s), stderr %q", err, out2, ids[0], errOut2)
	}
	list, _, err := run(t, "", "--config", cfg, "push", "list", "--state", "pending", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var views []outbound.WriteView
	if err := json.Unmarshal([]byte(list), &views); err != nil {
		t.Fatalf("push list --json: %v: %s", err, list)
	}
	if len(views) != 2 {
		t.Fatalf("push list: %d writes, want 2 (nothing stored for rejected or duplicate lines): %s", len(views), list)
	}
	if _, _, err := run(t, "", "--config", cfg, "push", "nope", "--source", "acme"); exitCode(err) != 2 ||
		!strings.Contains(err.Error(), `"nope" is not an outbound kind`) {
		t.Errorf("unknown kind: %v", err)
	}
	if _, _, err := run(t, "", "--config", cfg, "push", "replay", "--all-dead"); err != nil {
		t.Errorf("replay with nothing dead: %v", err)
	}
}

// TestServeAPI drives serve's router: the bearer token, 202 with ids,
// per-line errors, 413 above the body limit, 404 for an unknown kind or
// write, and GET of a write's state.
func TestServeAPI(t *testing.T) {
	t.Parallel()
	cfgPath := pushConfig(t)
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
	r.Mount("GET /healthz", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))
	srv := httptest.NewServer(r.Handler())
	defer srv.Close()

	do := func(method, path, token, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	lines := pushDeal + "\n" + `{"orderNo":"x"}` + "\n"
	tests := []struct {
		name, method, path, token, body string
		status                          int
		want                            string
	}{
		{"no token", "POST", "/v1/outbound/acme/deal", "", lines, 401, "bearer"},
		{"wrong token", "POST", "/v1/outbound/acme/deal", "wrong-token-0123456789", lines, 401, "bearer"},
		{"lines", "POST", "/v1/outbound/acme/deal", testServeToken, lines, 202, `"accepted":1,"rejected":1`},
		{"one pretty object", "POST", "/v1/outbound/acme/deal", testServeToken,
			strings.Replace(strings.ReplaceAll(pushDeal, ",", ",\n  "), `"P-1"`, `"P-9"`, 1), 202, `"accepted":1`},
		{"all rejected", "POST", "/v1/outbound/acme/deal", testServeToken, `{"orderNo":"x"}`, 400, `"line":1`},
		{"too large", "POST", "/v1/outbound/acme/deal", testServeToken, strings.Repeat(pushDeal+"\n", 40), 413, "limit"},
		{"unknown kind", "POST", "/v1/outbound/acme/coupon", testServeToken, pushDeal, 404, "not an outbound kind"},
		{"unknown source", "POST", "/v1/outbound/nope/deal", testServeToken, pushDeal, 404, "unknown source"},
		{"unknown write", "GET", "/v1/outbound/ow_nope", testServeToken, "", 404, "no outbound write"},
		{"health is not behind the token", "GET", "/healthz", "", "", 200, "ok"},
	}
	for _, tt := range tests {
		status, body := do(tt.method, tt.path, tt.token, tt.body)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s, want %d containing %q", tt.name, status, body, tt.status, tt.want)
		}
	}
	status, body := do("GET", "/v1/outbound/"+outbound.WriteID("acme", "deal:P-1"), testServeToken, "")
	var v outbound.WriteView
	if status != 200 || json.Unmarshal([]byte(body), &v) != nil || v.State != outbound.StatePending || v.Kind != "deal" ||
		v.OrderNo != "P-1" || v.CreatedAt.IsZero() {
		t.Errorf("GET write: %d %s", status, body)
	}
}
