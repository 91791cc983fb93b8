package houcaller

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// fuzzScheme picks a cipher configuration from a fuzzed byte.
func fuzzScheme(key []byte, scheme uint8) (*Cipher, error) {
	k := make([]byte, 8)
	copy(k, key)
	mode, pad := ECB, PKCS5
	if scheme&1 == 1 {
		mode = CBC
	}
	if scheme&2 == 2 {
		pad = ZeroPadding
	}
	return NewCipher(k, mode, pad, []byte("\x01\x02\x03\x04\x05\x06\x07\x08"))
}

// FuzzCipherRoundTrip: Decrypt(Encrypt(p)) == p for every key, scheme and
// plaintext (with zero padding, minus trailing NULs, which that padding
// cannot represent), and the ciphertext is uppercase hex of whole blocks.
func FuzzCipherRoundTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, key, plain []byte, scheme uint8) {
		c, err := fuzzScheme(key, scheme)
		if err != nil {
			t.Fatal(err)
		}
		ct, err := c.Encrypt(plain)
		if err != nil {
			t.Fatal(err)
		}
		if len(ct) == 0 || len(ct)%16 != 0 || strings.ToUpper(ct) != ct {
			t.Fatalf("ciphertext %q is not uppercase hex of whole blocks", ct)
		}
		back, err := c.Decrypt(ct)
		if err != nil {
			t.Fatal(err)
		}
		want := plain
		if scheme&2 == 2 {
			want = bytes.TrimRight(plain, "\x00")
		}
		if !bytes.Equal(back, want) {
			t.Fatalf("round trip %q → %q", plain, back)
		}
	})
}

// FuzzCipherDecrypt: decrypting arbitrary text never panics; it errors
// with ErrCiphertext or yields a plaintext that encrypts back to the input
// (PKCS5 padding is canonical).
func FuzzCipherDecrypt(f *testing.F) {
	f.Fuzz(func(t *testing.T, in string, scheme uint8) {
		c, err := fuzzScheme([]byte("12345678"), scheme)
		if err != nil {
			t.Fatal(err)
		}
		plain, err := c.Decrypt(in)
		if err != nil {
			if !errors.Is(err, ErrCiphertext) {
				t.Fatalf("error %v is not ErrCiphertext", err)
			}
			return
		}
		if scheme&2 == 0 {
			ct, err := c.Encrypt(plain)
			if err != nil || ct != strings.ToUpper(strings.TrimSpace(in)) {
				t.Fatalf("re-encryption %q != %q (%v)", ct, in, err)
			}
		}
	})
}

// fuzzDecoder feeds a fuzzed HTTP response through the classifier and a
// decoder: it must return a classified error or rows that hold the row
// invariants, and never panic.
func fuzzDecoder(f *testing.F, decode func(data json.RawMessage) ([]warehouse.Row, error)) {
	k := newTestConnector(f, "http://vendor.test")
	// a vendor echoing a secret: in the code, the message, an HTML title,
	// and across the 200-byte cut of an excerpt
	for _, body := range []string{`{"code":"` + testKey + `","msg":"bad ` + testKey + `"}`,
		`<html><title>` + testKey + `</title></html>`, strings.Repeat("x", 195) + testKey} {
		f.Add([]byte(body), uint16(200))
		f.Add([]byte(body), uint16(400))
	}
	f.Fuzz(func(t *testing.T, body []byte, status uint16) {
		st := int(status)
		if st < 100 || st > 599 {
			st = 200
		}
		r := &httpapi.Response{Status: st, Header: http.Header{}, Body: body}
		data, err := k.Client().classify("POST /openapi/v1/fuzz", r)
		if err != nil {
			var ce *connectors.Error
			if !errors.As(err, &ce) || ce.Class == 0 {
				t.Fatalf("unclassified error %v", err)
			}
			for _, secret := range []string{testKey} {
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
		return decodeMemberCoupons(testSource, "K1H93QDKI00B7", data)
	})
}

func FuzzPoints(f *testing.F) {
	fuzzDecoder(f, func(data json.RawMessage) ([]warehouse.Row, error) {
		rows, _, err := decodePoints(testSource, "K1H93QDKI00B7", "K1H93QDKI00B7", data, 100)
		return rows, err
	})
}

func FuzzCoupons(f *testing.F) {
	fuzzDecoder(f, func(data json.RawMessage) ([]warehouse.Row, error) {
		return decodeCoupons(testSource, data)
	})
}
