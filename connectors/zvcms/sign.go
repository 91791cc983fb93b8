package zvcms

import (
	"crypto/hmac"
	"crypto/sha1" //nolint:gosec // the vendor's token is a SHA-1 digest (20 bytes), not our choice
	"encoding/base64"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// The signer names of Credentials.Signer.
const (
	SignerHMACSHA1 = "hmac-sha1" // the default
	SignerSHA1     = "sha1"
)

// SignFields are the public parameters a token signs.
type SignFields struct {
	OpenID    string
	GrantCode string
	Timestamp string
	Nonce     string
}

// Canonical is the signed text: the fields as key=value pairs under their
// V3 (lowerCamel) names, sorted by key in byte order and joined by "&",
// values unencoded:
//
//	grantCode=782c281f62&nonce=658965&openId=6dc0…f685&timestamp=1547186244
//
// V2 requests sign the same text (the vendor does not say otherwise).
func (f SignFields) Canonical() string {
	pairs := []string{
		"openId=" + f.OpenID,
		"grantCode=" + f.GrantCode,
		"timestamp=" + f.Timestamp,
		"nonce=" + f.Nonce,
	}
	slices.Sort(pairs)
	return strings.Join(pairs, "&")
}

// Signer computes the `token` of a request. Implementations hold the
// secret and must not reveal it through fmt.
type Signer interface {
	// Sign returns the token exactly as it is placed in the body.
	Sign(f SignFields) string
}

// NewSigner returns the signer named kind ("" means hmac-sha1) keyed with
// secret:
//
//   - hmac-sha1 (default): urlencode(base64(HMAC-SHA1(secret, Canonical)));
//   - sha1: urlencode(base64(SHA-1(secret + Canonical))), the plain-digest
//     alternative, for a tenant whose vendor guide says so.
//
// The vendor's 《数字签名sign》 page is not public; both are inferred from
// its example token, a URL-encoded base64 of 20 bytes (vendor-api.md §3.1,
// §5 #11). urlencode is url.QueryEscape ("+" → %2B, "/" → %2F, "=" → %3D),
// as in the example "0%2B%2B3c6hthjwAml4ABAXOYF4Q6UY%3D".
func NewSigner(kind, secret string) (Signer, error) {
	switch strings.ToLower(strings.TrimSpace(kind)) {
	case "", SignerHMACSHA1:
		return hmacSHA1{secret: []byte(secret)}, nil
	case SignerSHA1:
		return plainSHA1{secret: []byte(secret)}, nil
	}
	return nil, fmt.Errorf("zvcms: unknown signer %q (want %s or %s)", kind, SignerHMACSHA1, SignerSHA1)
}

type hmacSHA1 struct{ secret []byte }

func (s hmacSHA1) Sign(f SignFields) string {
	m := hmac.New(sha1.New, s.secret)
	m.Write([]byte(f.Canonical()))
	return encodeToken(m.Sum(nil))
}

func (hmacSHA1) String() string   { return SignerHMACSHA1 + " signer" }
func (hmacSHA1) GoString() string { return SignerHMACSHA1 + " signer" }

type plainSHA1 struct{ secret []byte }

func (s plainSHA1) Sign(f SignFields) string {
	h := sha1.New() //nolint:gosec // see the import
	h.Write(s.secret)
	h.Write([]byte(f.Canonical()))
	return encodeToken(h.Sum(nil))
}

func (plainSHA1) String() string   { return SignerSHA1 + " signer" }
func (plainSHA1) GoString() string { return SignerSHA1 + " signer" }

func encodeToken(digest []byte) string {
	return url.QueryEscape(base64.StdEncoding.EncodeToString(digest))
}
