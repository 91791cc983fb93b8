package houcaller

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

func TestEnvelopeBytes(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, "http://vendor.test/htest/")
	tests := []struct {
		name   string
		params any
		want   string
	}{
		{
			name:   "member id, ciphertext from the openssl KAT",
			params: memberCouponsParam{MemberID: "K1H93QDKI00B7"},
			want:   `{"param":"4C2255F48418652A20FA215B0559A638FA4A6CF7FC09C76F35996D0E8ABC4227","channel":"hkl-test","timestamp":"1581406120924"}`,
		},
		{
			name:   "empty object",
			params: struct{}{},
			want:   `{"param":"B8A95D7CDD1F7540","channel":"hkl-test","timestamp":"1581406120924"}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := k.Client().Envelope(tt.params)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("envelope\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestCallPostsTheEnvelope(t *testing.T) {
	t.Parallel()
	srv, fv := newFakeVendor(t, testKey, func(method, param string) (int, string) {
		return 200, `{"msg":"操作成功","code":0,"data":{"x":1}}`
	})
	k := newTestConnector(t, srv.URL+"/")
	data, err := k.Client().Call(context.Background(), MethodListCpnItemByMember, memberCouponsParam{PlatformID: "oEv-It"})
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"x":1}` {
		t.Fatalf("data = %s", data)
	}
	calls := fv.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.Method != MethodListCpnItemByMember || c.Param != `{"platformId":"oEv-It"}` || c.Channel != testChannel || c.Timestamp != "1581406120924" {
		t.Fatalf("call = %+v", c)
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
		{name: "success, number code", status: 200, body: `{"msg":"操作成功","code":0,"data":{"list":[]}}`, wantData: `{"list":[]}`},
		{name: "success, string code", status: 200, body: `{"msg":"操作成功","code":"0","data":[]}`, wantData: `[]`},
		{name: "success, smg typo", status: 200, body: `{"code":0,"smg":"操作成功","data":{}}`, wantData: `{}`},
		{name: "success without data", status: 200, body: `{"code":0,"msg":"操作成功"}`},
		{name: "internal error in HTTP 200 is retried", status: 200, body: `{"code":500,"msg":"系统异常","data":null}`,
			class: connectors.Retryable, wantInErr: "acme-houcaller: POST /openapi/v1/listCpnItemByMember: HTTP 200: code 500: 系统异常"},
		{name: "code != 0 with smg only", status: 200, body: `{"code":"1001","smg":"会员ID和平台ID不可同时为空"}`,
			class: connectors.Permanent, wantInErr: "code 1001: 会员ID和平台ID不可同时为空"},
		{name: "msg is an object (an unknown code is retried)", status: 200, body: `{"code":2,"msg":{"detail":"x"}}`,
			class: connectors.Retryable, wantInErr: `code 2: {"detail":"x"}`},
		{name: "decrypt failure is auth", status: 200, body: `{"code":-1,"msg":"参数解密失败"}`,
			class: connectors.Auth, wantInErr: "acme-houcaller: authentication failed: POST /openapi/v1/listCpnItemByMember"},
		{name: "unknown channel is auth", status: 200, body: `{"code":-1,"msg":"渠道不存在"}`, class: connectors.Auth},
		{name: "param parse failure is auth", status: 200, body: `{"code":400,"msg":"参数解析异常"}`, class: connectors.Auth},
		{name: "English decrypt failure is auth", status: 200, body: `{"code":400,"msg":"Decrypt param error"}`, class: connectors.Auth},
		{name: "member not found", status: 200, body: `{"code":1,"msg":"会员不存在"}`,
			class: connectors.Permanent, notFound: true, wantInErr: "会员不存在"},
		{name: "too frequent", status: 200, body: `{"code":1,"msg":"调用太频繁,请稍后再试"}`, class: connectors.RateLimited},
		{name: "echoed key is scrubbed", status: 200, body: `{"code":1,"msg":"key 12345678 invalid"}`,
			class: connectors.Permanent, wantInErr: "key [redacted] invalid"},
		{name: "502 html", status: 502, body: `<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>`,
			class: connectors.Retryable, wantInErr: "HTTP 502: HTML page: 502 Bad Gateway"},
		{name: "html with 200", status: 200, body: `<!DOCTYPE html><html><title>维护中</title></html>`,
			class: connectors.Retryable, wantInErr: "instead of JSON"},
		{name: "truncated json", status: 200, body: `{"msg":"操作成功","code":0,"data":{"list":[{"id":"K1`,
			class: connectors.Retryable, wantInErr: "invalid or truncated JSON"},
		{name: "empty body", status: 200, body: ``, class: connectors.Retryable, wantInErr: "empty response body"},
		{name: "no code", status: 200, body: `{"msg":"ok"}`, class: connectors.Retryable, wantInErr: "without a code"},
		{name: "null code", status: 200, body: `{"code":null}`, class: connectors.Retryable},
		{name: "429 retry-after", status: 429, header: http.Header{"Retry-After": {"7"}}, body: `busy`,
			class: connectors.RateLimited, wantInErr: "retry after 7s"},
		{name: "401", status: 401, body: `{"code":401,"msg":"unauthorized"}`, class: connectors.Auth, wantInErr: "authentication failed"},
		{name: "404", status: 404, body: `not found`, class: connectors.Permanent, wantInErr: "HTTP 404"},
		{name: "500 json", status: 500, body: `{"code":500,"msg":"系统异常"}`, class: connectors.Retryable},
		{name: "system busy in HTTP 200", status: 200, body: `{"code":500000,"msg":"system busy"}`,
			class: connectors.Retryable, wantInErr: "code 500000: system busy"},
		{name: "系统繁忙 in HTTP 200", status: 200, body: `{"code":500,"msg":"系统繁忙,请稍后再试"}`, class: connectors.Retryable},
		{name: "permission denied is not not-found", status: 200, body: `{"code":403,"msg":"permission denied"}`,
			class: connectors.Auth},
	}
	k := newTestConnector(t, "http://vendor.test")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &httpapi.Response{Status: tt.status, Header: tt.header, Body: []byte(tt.body)}
			if r.Header == nil {
				r.Header = http.Header{}
			}
			data, err := k.Client().classify(opName(MethodListCpnItemByMember), r)
			if tt.class == 0 {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if string(data) != tt.wantData {
					t.Fatalf("data = %s, want %s", data, tt.wantData)
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
			if strings.Contains(err.Error(), testKey) {
				t.Fatalf("error leaks the DES key: %q", err)
			}
			if tt.class == connectors.RateLimited {
				if d, ok := connectors.RetryAfter(err); !ok || d <= 0 {
					t.Fatalf("RetryAfter = %v %v", d, ok)
				}
			}
		})
	}
}

// TestWrongKeyIsAuth runs the whole path against a vendor holding another
// key: the vendor cannot decrypt param and says so, which must surface as
// an authentication failure naming the source and not the key.
func TestWrongKeyIsAuth(t *testing.T) {
	t.Parallel()
	srv, _ := newFakeVendor(t, otherKey, func(string, string) (int, string) {
		t.Error("a request with the wrong key reached the handler")
		return 500, ""
	})
	k := newTestConnector(t, srv.URL)
	for _, name := range []string{StreamMemberCoupons, StreamPoints, StreamCoupons} {
		st, err := k.Stream(name)
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Partition: "K1H93QDKI00B7", Pages: 1})
		if connectors.ClassOf(err) != connectors.Auth {
			t.Fatalf("%s: err = %v, want Auth", name, err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, testSource+": authentication failed: ") || strings.Contains(msg, testKey) {
			t.Fatalf("%s: error text %q", name, msg)
		}
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		mod  func(*testing.T) (*Connector, error)
		want string
	}{
		{"short key", func(*testing.T) (*Connector, error) {
			return New(testSourceConfig("http://x", "1234567"), &httpapi.Client{})
		}, "acme-houcaller: houcaller: DES key must be 8 bytes"},
		{"no channel", func(*testing.T) (*Connector, error) {
			src := testSourceConfig("http://x", testKey)
			cr := CredentialsOf(src)
			cr.Channel = ""
			src.Credentials = cr
			return New(src, &httpapi.Client{})
		}, "need a channel"},
		{"cbc without iv", func(*testing.T) (*Connector, error) {
			src := testSourceConfig("http://x", testKey)
			cr := CredentialsOf(src)
			cr.DESMode = CBC
			src.Credentials = cr
			return New(src, &httpapi.Client{})
		}, "IV"},
		{"bad key field", func(*testing.T) (*Connector, error) {
			return New(testSourceConfig("http://x", testKey), &httpapi.Client{}, WithKeyField("phone"))
		}, `unknown member key field "phone"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := tt.mod(t)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), testKey) || strings.Contains(err.Error(), "1234567") {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
}

func TestStreamNames(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, "http://x")
	for _, name := range []string{StreamMemberCoupons, StreamPoints, StreamCoupons} {
		if _, err := k.Stream(name); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := k.Stream("members"); !errors.Is(err, connectors.ErrUnknownStream) {
		t.Fatalf("members: err = %v", err)
	}
}

func TestTimestampFollowsTheClock(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 1, 0, 0, 0, 123e6, time.UTC)
	k := newTestConnector(t, "http://x", WithClock(func() time.Time { return now }))
	b, err := k.Client().Envelope(struct{}{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"timestamp":"1714521600123"`) {
		t.Fatalf("envelope %s", b)
	}
}

// TestFactoryAppliesTheHoucallerBlock: the config's houcaller block reaches
// the requests: the key field, the month format, the months back and the
// empty-month stop.
func TestFactoryAppliesTheHoucallerBlock(t *testing.T) {
	t.Parallel()
	tests := []struct {
		months, emptyStop int
		want              string
	}{
		// every month is empty (the fake serves "2024-02" only); one
		// month back ends the read, the empty months do not
		{1, -1, "openId 202403,openId 202402"},
		// 24 months back, but the first empty month ends the read
		{24, 1, "openId 202403"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("months=%d,empty=%d", tt.months, tt.emptyStop), func(t *testing.T) {
			t.Parallel()
			url, fv := pointsVendor(t)
			src := testSourceConfig(url, testKey)
			src.Houcaller = &config.HoucallerOptions{MemberKeyAs: string(KeyPlatformID), PointsMonths: tt.months,
				PointsEmptyMonths: tt.emptyStop, MonthFormat: "200601"}
			now := func() time.Time { return time.Date(2024, 3, 10, 1, 0, 0, 0, time.UTC) }
			conn, err := Factory(src, connectors.Deps{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			st, err := conn.Stream(StreamPoints)
			if err != nil {
				t.Fatal(err)
			}
			for req := (connectors.Request{Mode: connectors.Full, Partition: "oEv-It", Pages: 10}); ; {
				b, err := st.Fetch(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if b.Done {
					break
				}
				req.Cursor = b.Next
			}
			var got []string
			for _, c := range fv.Calls() {
				var p scoParam
				if err := json.Unmarshal([]byte(c.Param), &p); err != nil {
					t.Fatal(err)
				}
				got = append(got, p.QueryType+" "+p.Month)
			}
			if s := strings.Join(got, ","); s != tt.want {
				t.Fatalf("requests %s; want %s", s, tt.want)
			}
		})
	}
}
