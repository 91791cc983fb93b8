package dmhub

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// FuzzClassify: any status and body gives exactly one outcome: the body
// itself (only for a 2xx with valid JSON), or a *connectors.Error with a
// class, never a panic, and never the app secret in the message.
func FuzzClassify(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"rows":[{"id":1}]}`}, {200, `{"error":{"code":"409000","message":"error info"}}`},
		{200, `{"error":{"code":409224,"message":"x"}}`}, {200, `{"error_code":"40004","error_description":"bad"}`},
		{429, `busy`}, {502, `<html><title>502</title></html>`}, {200, `{"rows":[{"id":1,"name":"Li`},
		{400, `{"error":{"code":"400001","message":"bad secret topsecret-123"}}`}, {500, `{"error_code":40201}`},
	} {
		f.Add(s.status, []byte(s.body), true)
	}
	// a vendor echoing the secret: in the code, an HTML title, across the
	// 200-byte cut of an excerpt
	for _, body := range []string{`{"error":{"code":"topsecret-123","message":"x"}}`, `<html><title>topsecret-123</title></html>`,
		strings.Repeat("x", 195) + "topsecret-123"} {
		f.Add(200, []byte(body), true)
		f.Add(400, []byte(body), true)
	}
	c := testClient()
	f.Fuzz(func(t *testing.T, status int, body []byte, get bool) {
		if status < 100 || status > 599 {
			status = 100 + (status%500+500)%500
		}
		op := "GET /loyalty/v1/membership"
		if !get {
			op = "POST /loyalty/v1/deal"
		}
		r := &httpapi.Response{Status: status, Header: http.Header{"Retry-After": {"3"}}, Body: body}
		got, err := c.classify(op, r)
		if err == nil {
			if status/100 != 2 || !bytes.Equal(got, body) || !stdjson.Valid(body) {
				t.Fatalf("classify(%d, %q) = success %q", status, body, got)
			}
			return
		}
		var ce *connectors.Error
		if !errors.As(err, &ce) {
			t.Fatalf("classify(%d, %q): %T %v, want *connectors.Error", status, body, err, err)
		}
		if ce.Class == 0 && !errors.Is(err, httpapi.ErrTokenRejected) {
			t.Fatalf("classify(%d, %q): %v has no class", status, body, err)
		}
		if strings.Contains(err.Error(), "topsecret-123") {
			t.Fatalf("classify(%d, %q): secret in %q", status, body, err)
		}
	})
}
