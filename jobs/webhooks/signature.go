package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// Verifier checks the signature of pushed events. DM Hub's document says:
// for a webhook with a key, the request carries the hex HMAC-SHA256 of
// the message content in the X-Clab-Hmac-Signature header; its Java
// sample signs gson.toJson(payload) with every whitespace character
// removed (str.replaceAll("\\s+", "")). What exactly goes over the wire
// is not documented, so a signature is accepted when it is the HMAC of
// the raw body or of the raw body without whitespace (the sample's form):
// both need the key. The header name and the encoding are configurable
// (sources[].webhook); docs/webhooks.md lists these assumptions.
type Verifier struct {
	// Secret is the key; "" disables the check (every call is taken).
	Secret string
	// Header is the signature header; default config.DefaultWebhookHeader.
	Header string
	// Encoding is config.WebhookEncodingHex (default) or
	// config.WebhookEncodingBase64.
	Encoding string
}

// Why a signature was refused (metrics labels, never the values).
var (
	ErrUnsigned     = errors.New("the signature header is missing")
	ErrBadEncoding  = errors.New("the signature is not validly encoded")
	ErrBadSignature = errors.New("the signature does not match the body")
)

// Enabled reports whether calls must be signed.
func (v Verifier) Enabled() bool { return v.Secret != "" }

// HeaderName is the signature header in use.
func (v Verifier) HeaderName() string {
	if v.Header != "" {
		return v.Header
	}
	return config.DefaultWebhookHeader
}

// Verify checks the header value sig against body. It returns nil when
// the check is disabled. The comparison is constant-time (hmac.Equal on
// the decoded digests); nothing of the key or the expected digest is in
// the error.
func (v Verifier) Verify(body []byte, sig string) error {
	if !v.Enabled() {
		return nil
	}
	sig = strings.TrimSpace(sig)
	if sig == "" {
		return ErrUnsigned
	}
	// a "sha256=" prefix (a common convention) is tolerated
	if p, rest, ok := strings.Cut(sig, "="); ok && strings.EqualFold(p, "sha256") && rest != "" {
		sig = rest
	}
	var got []byte
	var err error
	if v.Encoding == config.WebhookEncodingBase64 {
		got, err = base64.StdEncoding.DecodeString(sig)
		if err != nil {
			got, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(sig, "="))
		}
	} else {
		got, err = hex.DecodeString(sig) // either case
	}
	if err != nil || len(got) != sha256.Size {
		return ErrBadEncoding
	}
	ok := hmac.Equal(got, Sign(v.Secret, body))
	if stripped := StripWhitespace(body); len(stripped) != len(body) {
		// evaluated whatever the first result, so the time does not tell
		// which form matched
		ok = hmac.Equal(got, Sign(v.Secret, stripped)) || ok
	}
	if !ok {
		return ErrBadSignature
	}
	return nil
}

// Sign returns the HMAC-SHA256 of body with secret.
func Sign(secret string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return m.Sum(nil)
}

// SignHex is DM Hub's signature of a payload: the lowercase hex
// HMAC-SHA256 of the payload without whitespace (the vendor's sample).
func SignHex(secret string, body []byte) string {
	return hex.EncodeToString(Sign(secret, StripWhitespace(body)))
}

// StripWhitespace removes what Java's regular expression \s matches
// (space, \t, \n, \v, \f, \r) from b, as the vendor's sample does before
// signing. b is returned as is when it has none.
func StripWhitespace(b []byte) []byte {
	n := 0
	for _, c := range b {
		if isSpace(c) {
			n++
		}
	}
	if n == 0 {
		return b
	}
	out := make([]byte, 0, len(b)-n)
	for _, c := range b {
		if !isSpace(c) {
			out = append(out, c)
		}
	}
	return out
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r'
}
