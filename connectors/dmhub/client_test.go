package dmhub

import (
	"net/http"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

func testClient() *Client {
	src := &config.Source{Name: "acme", BaseURL: "http://vendor.test", Credentials: Credentials{AppID: "app", AppSecret: "topsecret-123"}}
	return NewClient(src, &httpapi.Client{Source: "acme"})
}

// TestClassify covers every response shape the vendor reference lists:
// each must give exactly one clear classification.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		op        string // default GET /loyalty/v1/membership
		status    int
		header    http.Header
		body      string
		class     connectors.Class // 0 = success
		token     bool             // a token rejection
		notFound  bool             // IsNotFound
		wantInErr string
	}{
		{name: "rows", status: 200, body: `{"rows":[{"id":1}]}`},
		{name: "token ok", status: 200, body: `{"error_code":0,"access_token":"t","expires_in":7200}`},
		{name: "undocumented error on a read is retried", status: 200, body: `{"error":{"code":"409000","message":"error info"}}`,
			class: connectors.Retryable, wantInErr: "code 409000: error info"},
		{name: "business error on a write is permanent", op: "POST /loyalty/v1/deal", status: 200, body: `{"error":{"code":"409000","message":"error info"}}`,
			class: connectors.Permanent, wantInErr: "code 409000: error info"},
		{name: "error in 200, number code", status: 200, body: `{"error":{"code":409224,"message":"Identity is last one"}}`,
			class: connectors.Permanent, wantInErr: "code 409224"},
		{name: "not found in 200", status: 200, body: `{"error":{"code":"409200","message":"not found"}}`,
			class: connectors.Permanent, notFound: true, wantInErr: "409200"},
		{name: "bad params, string error_code", status: 200, body: `{"error_code":"40004","error_description":"the params is illegal"}`,
			class: connectors.Permanent, wantInErr: "the params is illegal"},
		{name: "invalid token in 200", status: 200, body: `{"error":{"code":"401001","message":"invalid access_token"}}`,
			class: connectors.Retryable, token: true},
		{name: "token rejection is by code, not by the word token", status: 200, body: `{"error_code":99,"error_description":"access token expired"}`,
			class: connectors.Retryable, wantInErr: "undocumented error code"},
		{name: "the word token in a business error", status: 200, body: `{"error":{"code":"400001","message":"Invalid token(abc)!"}}`,
			class: connectors.Permanent, wantInErr: "code 400001"},
		{name: "401 from the API rejects the token, not the credentials", status: 401, body: `{"message":"Unauthorized"}`,
			class: connectors.Retryable, token: true},
		{name: "403 from the API is auth (IP whitelist)", status: 403, body: `forbidden`,
			class: connectors.Auth, wantInErr: "authentication failed"},
		{name: "busy in 200", status: 200, body: `{"error":{"code":"500123","message":"系统繁忙"}}`,
			class: connectors.Retryable, wantInErr: "系统繁忙"},
		{name: "undocumented code on a write", op: "POST /loyalty/v1/deal", status: 200, body: `{"error":{"code":"123","message":"x"}}`,
			class: connectors.Retryable, wantInErr: "undocumented error code"},
		{name: "500 permission", status: 500, body: `{"error_code":40201,"error_description":"permission is not enough"}`,
			class: connectors.Retryable, wantInErr: "HTTP 500: code 40201"},
		{name: "502 html", status: 502, body: `<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`,
			class: connectors.Retryable, wantInErr: "HTML page: 502 Bad Gateway"},
		{name: "html with 200", status: 200, body: `<!DOCTYPE html><html><title>维护中</title></html>`,
			class: connectors.Retryable, wantInErr: "instead of JSON"},
		{name: "truncated json", status: 200, body: `{"rows":[{"id":1,"name":"Li`,
			class: connectors.Retryable, wantInErr: "invalid or truncated JSON"},
		{name: "empty body", status: 200, body: ``, class: connectors.Retryable, wantInErr: "truncated"},
		{name: "429 retry-after", status: 429, header: http.Header{"Retry-After": {"7"}}, body: `busy`,
			class: connectors.RateLimited, wantInErr: "retry after 7s"},
		{name: "throttle in body", status: 200, body: `{"error":{"code":"400100","message":"调用太频繁"}}`,
			class: connectors.RateLimited},
		{name: "400 plain string", status: 400, body: `"No customer field found"`,
			class: connectors.Permanent, wantInErr: "No customer field found"},
		{name: "404 text", status: 404, body: `not found`, class: connectors.Permanent, wantInErr: "HTTP 404"},
		{name: "503 json", status: 503, body: `{"message":"down"}`, class: connectors.Retryable},
		{name: "secret echoed", status: 400, body: `{"error":{"code":"400001","message":"bad secret topsecret-123"}}`,
			class: connectors.Permanent, wantInErr: "[redacted]"},
	}
	c := testClient()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			op := tt.op
			if op == "" {
				op = "GET /loyalty/v1/membership"
			}
			body, err := c.classify(op, &httpapi.Response{Status: tt.status, Header: h, Body: []byte(tt.body)})
			if tt.class == 0 {
				if err != nil || string(body) != tt.body {
					t.Fatalf("classify = %q, %v; want the body", body, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("classify = success, want class %s", tt.class)
			}
			if got := connectors.ClassOf(err); got != tt.class {
				t.Errorf("class = %s, want %s (%v)", got, tt.class, err)
			}
			if got := connectors.IsNotFound(err); got != tt.notFound {
				t.Errorf("IsNotFound = %v, want %v (%v)", got, tt.notFound, err)
			}
			if got := isTokenErr(err); got != tt.token {
				t.Errorf("token rejection = %v, want %v (%v)", got, tt.token, err)
			}
			msg := err.Error()
			if !strings.HasPrefix(msg, "acme: ") || !strings.Contains(msg, tt.wantInErr) {
				t.Errorf("error %q: want prefix %q and %q", msg, "acme: ", tt.wantInErr)
			}
			if strings.Contains(msg, "topsecret-123") {
				t.Errorf("secret in error: %q", msg)
			}
		})
	}
}
