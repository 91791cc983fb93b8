package zvcms

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// testToken is the HMAC-SHA1 token of the test credentials at testNow
// with testNonce:
//
//	printf '%s' 'grantCode=782c281f62-grant&nonce=658965&openId=6dc05b4ac175cf316d226252b05cf685&timestamp=1547186244' |
//	  openssl dgst -sha1 -hmac 'zv-secret-123' -binary | base64 | python3 -c 'import sys,urllib.parse;print(urllib.parse.quote_plus(sys.stdin.read().strip(),safe=""))'
const testToken = "R59caOWPhNObfu5LkdMoZPDIF3Q%3D"

func TestEnvelopeBytes(t *testing.T) {
	t.Parallel()
	c := newTestConnector(t, "http://openapi.test/").Client()
	v3, err := c.EnvelopeV3(couponsParams{CustomerID: testCustomer})
	if err != nil {
		t.Fatal(err)
	}
	want3 := `{"openId":"6dc05b4ac175cf316d226252b05cf685","grantCode":"782c281f62-grant","token":"` + testToken +
		`","timestamp":"1547186244","nonce":"658965","params":{"customerId":"383933091455959041"}}`
	if string(v3) != want3 {
		t.Fatalf("V3 envelope\n got %s\nwant %s", v3, want3)
	}
	v2, err := c.EnvelopeV2(ActionPointsRecords, pointsParams{UserID: testCustomer, Page: 1, PageSize: 10})
	if err != nil {
		t.Fatal(err)
	}
	want2 := `{"OpenId":"6dc05b4ac175cf316d226252b05cf685","GrantCode":"782c281f62-grant","Token":"` + testToken +
		`","Timestamp":"1547186244","Nonce":"658965","Action":"user.user-points-records","Params":{"user_id":383933091455959041,"page":1,"page_size":10}}`
	if string(v2) != want2 {
		t.Fatalf("V2 envelope\n got %s\nwant %s", v2, want2)
	}
}

func TestUserIDEncoding(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"383933091455959041", `383933091455959041`},
		{"42", `42`},
		{"0042", `"0042"`},
		{"-1", `"-1"`},
		{"99999999999999999999", `"99999999999999999999"`},
		{"abc", `"abc"`},
	}
	for _, tt := range tests {
		b, err := userID(tt.in).MarshalJSON()
		if err != nil || string(b) != tt.want {
			t.Errorf("userID(%q) = %s, %v; want %s", tt.in, b, err, tt.want)
		}
	}
}

func TestNonceIsPositive(t *testing.T) {
	t.Parallel()
	c := newTestConnector(t, "http://x", WithNonce(func() int64 { return -5 })).Client()
	b, _ := c.EnvelopeV3(struct{}{})
	if !strings.Contains(string(b), `"nonce":"1"`) {
		t.Fatalf("envelope %s", b)
	}
	d, err := New(testSourceConfig("http://x", testSecret), &httpapi.Client{})
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if n := d.Client().nonce(); n <= 0 {
			t.Fatalf("default nonce %d", n)
		}
	}
}

// TestClassify covers every response shape the vendor reference lists:
// each gets exactly one classification.
func TestClassify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		status    int
		header    http.Header
		body      string
		class     connectors.Class // 0 = success
		notFound  bool
		wantData  string
		wantInErr string
	}{
		{name: "S003 success, string status and code", status: 200, body: readTestdata(t, "getCustomerCoupons.json"),
			wantData: `{ "beginAt": "2019-08-24 00:00:00",`},
		{name: "V2 success, bool status and number code", status: 200, body: `{"status":true,"code":0,"message":"ok","data":{"item_list":[]}}`,
			wantData: `{"item_list":[]}`},
		{name: "code 0 wins over status false", status: 200, body: `{"status":false,"code":"0","data":[]}`, wantData: `[]`},
		{name: "S003 business error: status true, code != 0", status: 200, body: readTestdata(t, "getCustomerCoupons_business_error.json"),
			class: connectors.Permanent, notFound: true, wantInErr: "HTTP 200: code 异常编码,根据不同的业务返回…: 异常说明:查询的信息不存在"},
		{name: "business error, string true", status: 200, body: `{"status":"true","code":"20001","message":"券已核销"}`,
			class: connectors.Permanent, wantInErr: "acme-zvcms: POST /v3/crm/coupon/getCustomerCoupons: HTTP 200: code 20001: 券已核销"},
		{name: "S003 system error: status false", status: 200, body: readTestdata(t, "getCustomerCoupons_system_error.json"),
			class: connectors.Retryable, wantInErr: "系统错误说明"},
		{name: "signature failure is auth", status: 200, body: `{"status":false,"code":"40001","message":"签名错误"}`,
			class: connectors.Auth, wantInErr: "acme-zvcms: authentication failed: POST /v3/crm/coupon/getCustomerCoupons: HTTP 200: code 40001: 签名错误"},
		{name: "signature failure even when status is true", status: 200, body: `{"status":true,"code":"1002","message":"验签失败"}`, class: connectors.Auth},
		{name: "the word token decides nothing: an unknown system error is retried", status: 200, body: `{"status":false,"code":1003,"message":"token无效"}`,
			class: connectors.Retryable, wantInErr: "undocumented error code"},
		{name: "系统繁忙 is retried", status: 200, body: `{"status":false,"code":"50000","message":"系统繁忙"}`, class: connectors.Retryable},
		{name: "busy is retried even as a business error", status: 200, body: `{"status":true,"code":"7","message":"system busy, retry later"}`,
			class: connectors.Retryable},
		{name: "permission denied is not not-found", status: 200, body: `{"status":true,"code":"8","message":"permission denied"}`,
			class: connectors.Auth},
		{name: "permission is auth", status: 200, body: `{"status":false,"code":"1004","message":"暂无该接口权限"}`, class: connectors.Auth},
		{name: "grant code is auth", status: 200, body: `{"status":false,"code":"1005","message":"grantCode error"}`, class: connectors.Auth},
		{name: "too frequent", status: 200, body: `{"status":false,"code":"429","message":"请求过于频繁"}`, class: connectors.RateLimited},
		{name: "echoed secret is scrubbed", status: 200, body: `{"status":true,"code":"9","message":"bad zv-secret-123"}`,
			class: connectors.Permanent, wantInErr: "bad [redacted]"},
		{name: "502 html", status: 502, body: `<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`,
			class: connectors.Retryable, wantInErr: "HTTP 502: HTML page: 502 Bad Gateway"},
		{name: "html with 200", status: 200, body: `<!DOCTYPE html><html><title>系统维护</title></html>`,
			class: connectors.Retryable, wantInErr: "instead of JSON"},
		{name: "truncated json", status: 200, body: `{"status":"true","code":"0","data":{"cardId":"3909`,
			class: connectors.Retryable, wantInErr: "invalid or truncated JSON"},
		{name: "empty body", status: 200, body: ``, class: connectors.Retryable, wantInErr: "empty response body"},
		{name: "no code", status: 200, body: `{"status":true,"data":{}}`, class: connectors.Retryable, wantInErr: "without a code"},
		{name: "429 retry-after", status: 429, header: http.Header{"Retry-After": {"7"}}, body: `busy`,
			class: connectors.RateLimited, wantInErr: "retry after 7s"},
		{name: "403", status: 403, body: `forbidden`, class: connectors.Auth, wantInErr: "acme-zvcms: authentication failed"},
		{name: "400", status: 400, body: `{"status":false,"code":"400","message":"bad request"}`, class: connectors.Permanent},
		{name: "503", status: 503, body: `{"status":false}`, class: connectors.Retryable},
	}
	c := newTestConnector(t, "http://vendor.test").Client()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := tt.header
			if h == nil {
				h = http.Header{}
			}
			data, err := c.classify("POST /v3/"+PathGetCustomerCoupons, &httpapi.Response{Status: tt.status, Header: h, Body: []byte(tt.body)})
			if tt.class == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if !strings.HasPrefix(string(data), tt.wantData) {
					t.Fatalf("data = %s, want prefix %s", data, tt.wantData)
				}
				return
			}
			var ce *connectors.Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v (%T), want *connectors.Error", err, err)
			}
			if ce.Class != tt.class {
				t.Fatalf("class = %v, want %v (%v)", ce.Class, tt.class, err)
			}
			if connectors.IsNotFound(err) != tt.notFound {
				t.Fatalf("IsNotFound = %v, want %v", connectors.IsNotFound(err), tt.notFound)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantInErr)
			}
			for _, secret := range []string{testSecret, testGrantCode} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("error leaks a secret: %q", err)
				}
			}
		})
	}
}

// TestWrongSecretIsAuth runs every stream against a vendor holding
// another secret: it rejects the signature, which must surface as an
// authentication failure naming the source and no secret.
func TestWrongSecretIsAuth(t *testing.T) {
	t.Parallel()
	srv, fv := newFakeVendor(t, "another-secret", func(call) (int, string) {
		t.Error("a request with a wrong token reached the handler")
		return 500, ""
	})
	k := newTestConnector(t, srv.URL)
	for _, name := range []string{StreamMembers, StreamMemberCoupons, StreamPoints} {
		st, err := k.Stream(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Partition: testCustomer, Pages: 1})
		if connectors.ClassOf(err) != connectors.Auth {
			t.Fatalf("%s: err = %v, want Auth", name, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, testSource+": authentication failed: ") || strings.Contains(msg, testSecret) || strings.Contains(msg, testGrantCode) {
			t.Fatalf("%s: error text %q", name, msg)
		}
	}
	if n := len(fv.Calls()); n != 3 {
		t.Fatalf("%d calls, want 3 (no retry loop)", n)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*testing.T) error
		want string
	}{
		{"no secret", func(*testing.T) error {
			_, err := New(testSourceConfig("http://x", ""), &httpapi.Client{})
			return err
		}, "acme-zvcms: zvcms credentials need open_id, grant_code and secret"},
		{"unknown signer", func(*testing.T) error {
			src := testSourceConfig("http://x", testSecret)
			cr := CredentialsOf(src)
			cr.Signer = "md5"
			src.Credentials = cr
			_, err := New(src, &httpapi.Client{})
			return err
		}, `acme-zvcms: zvcms: unknown signer "md5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.mod(t)
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), testSecret) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestStreamNames(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, "http://x")
	for _, name := range []string{StreamMembers, StreamMemberCoupons, StreamPoints} {
		if _, err := k.Stream(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := k.Stream("coupons"); !errors.Is(err, connectors.ErrUnknownStream) {
		t.Fatalf("coupons: err = %v", err)
	}
}
