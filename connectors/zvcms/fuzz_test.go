package zvcms

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// FuzzSigner: for any secret and fields, both signers return a URL-encoded
// base64 SHA-1-sized digest, deterministically.
func FuzzSigner(f *testing.F) {
	f.Fuzz(func(t *testing.T, secret, openID, grantCode, timestamp, nonce string, plain bool) {
		kind := SignerHMACSHA1
		if plain {
			kind = SignerSHA1
		}
		s, err := NewSigner(kind, secret)
		if err != nil {
			t.Fatal(err)
		}
		fields := SignFields{OpenID: openID, GrantCode: grantCode, Timestamp: timestamp, Nonce: nonce}
		tok := s.Sign(fields)
		if tok != s.Sign(fields) {
			t.Fatal("token is not deterministic")
		}
		unescaped, err := url.QueryUnescape(tok)
		if err != nil || url.QueryEscape(unescaped) != tok {
			t.Fatalf("token %q is not URL-encoded: %v", tok, err)
		}
		digest, err := base64.StdEncoding.DecodeString(unescaped)
		if err != nil || len(digest) != 20 {
			t.Fatalf("token %q is not base64 of 20 bytes: %v", tok, err)
		}
	})
}

// fuzzDecoder feeds a fuzzed HTTP response through the classifier and a
// decoder: it must return a classified error or rows that hold the row
// invariants, and never panic.
func fuzzDecoder(f *testing.F, decode func(data json.RawMessage) ([]warehouse.Row, error)) {
	c := newTestConnector(f, "http://vendor.test").Client()
	// a vendor echoing a secret: in the code, the message, an HTML title,
	// and across the 200-byte cut of an excerpt
	for _, body := range []string{`{"code":"` + testSecret + `","msg":"bad ` + testSecret + `"}`,
		`<html><title>` + testSecret + `</title></html>`, strings.Repeat("x", 195) + testSecret} {
		f.Add([]byte(body), uint16(200))
		f.Add([]byte(body), uint16(400))
	}
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		st := int(status)
		if st < 100 || st > 599 {
			st = 200
		}
		data, err := c.classify("POST /v3/fuzz", &httpapi.Response{Status: st, Header: http.Header{}, Body: body})
		if err != nil {
			var ce *connectors.Error
			if !errors.As(err, &ce) || ce.Class == 0 {
				t.Fatalf("unclassified error %v", err)
			}
			for _, secret := range []string{testSecret, testGrantCode} {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("the error reveals a secret: %v", err)
				}
			}
			return
		}
		rows, err := decode(data)
		if err != nil {
			return
		}
		checkRows(t, rows)
	})
}

func FuzzMemberCoupons(f *testing.F) {
	fuzzDecoder(f, func(data json.RawMessage) ([]warehouse.Row, error) {
		return decodeCustomerCoupons(testSource, testCustomer, data)
	})
}

func FuzzMembers(f *testing.F) {
	fuzzDecoder(f, func(data json.RawMessage) ([]warehouse.Row, error) {
		page, err := decodeAllCustomerInfo(testSource, testCustomer, data)
		if err != nil {
			return nil, err
		}
		return append([]warehouse.Row{page.member}, page.coupons...), nil
	})
}

func FuzzPoints(f *testing.F) {
	fuzzDecoder(f, func(data json.RawMessage) ([]warehouse.Row, error) {
		pg, err := decodePoints(testSource, testCustomer, data)
		return pg.rows, err
	})
}
