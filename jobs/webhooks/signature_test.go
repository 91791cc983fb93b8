package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// TestSignKnownVector pins the algorithm to a published HMAC-SHA256
// vector (key "key", the quick brown fox), independently of Verify.
func TestSignKnownVector(t *testing.T) {
	t.Parallel()
	got := hex.EncodeToString(Sign("key", []byte("The quick brown fox jumps over the lazy dog")))
	if want := "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func hexSig(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return hex.EncodeToString(m.Sum(nil))
}

func b64Sig(secret, body string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(body))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func TestVerify(t *testing.T) {
	t.Parallel()
	const secret = "whsec-0123456789"
	compact := `{"event":"loyalty/membership_draw_coupon","membershipId":"12","couponName":"满100减10"}`
	spaced := `{"event": "loyalty/membership_draw_coupon", "membershipId": 12, "couponName": "10 元 券"}`
	stripped := strings.NewReplacer(" ", "").Replace(spaced)
	tests := []struct {
		name     string
		v        Verifier
		body     string
		sig      string
		wantErr  error // nil = accepted
		accepted bool
	}{
		{name: "no secret: unsigned taken", v: Verifier{}, body: compact, sig: "", accepted: true},
		{name: "no secret: garbage taken", v: Verifier{}, body: compact, sig: "zz", accepted: true},
		{name: "hex of the raw body", v: Verifier{Secret: secret}, body: compact, sig: hexSig(secret, compact), accepted: true},
		{name: "uppercase hex", v: Verifier{Secret: secret}, body: compact, sig: strings.ToUpper(hexSig(secret, compact)), accepted: true},
		{name: "sha256= prefix", v: Verifier{Secret: secret}, body: compact, sig: "sha256=" + hexSig(secret, compact), accepted: true},
		{name: "surrounding blanks", v: Verifier{Secret: secret}, body: compact, sig: " " + hexSig(secret, compact) + " ", accepted: true},
		{name: "vendor sample: body without whitespace", v: Verifier{Secret: secret}, body: spaced, sig: hexSig(secret, stripped), accepted: true},
		{name: "raw body with whitespace", v: Verifier{Secret: secret}, body: spaced, sig: hexSig(secret, spaced), accepted: true},
		{name: "base64 configured", v: Verifier{Secret: secret, Encoding: config.WebhookEncodingBase64}, body: compact,
			sig: b64Sig(secret, compact), accepted: true},
		{name: "base64 without padding", v: Verifier{Secret: secret, Encoding: config.WebhookEncodingBase64}, body: compact,
			sig: strings.TrimRight(b64Sig(secret, compact), "="), accepted: true},
		{name: "missing", v: Verifier{Secret: secret}, body: compact, sig: "", wantErr: ErrUnsigned},
		{name: "blank", v: Verifier{Secret: secret}, body: compact, sig: "   ", wantErr: ErrUnsigned},
		{name: "not hex", v: Verifier{Secret: secret}, body: compact, sig: strings.Repeat("g", 64), wantErr: ErrBadEncoding},
		{name: "short digest", v: Verifier{Secret: secret}, body: compact, sig: hexSig(secret, compact)[:62], wantErr: ErrBadEncoding},
		{name: "long digest", v: Verifier{Secret: secret}, body: compact, sig: hexSig(secret, compact) + "00", wantErr: ErrBadEncoding},
		{name: "hex when base64 is configured", v: Verifier{Secret: secret, Encoding: config.WebhookEncodingBase64}, body: compact,
			sig: hexSig(secret, compact), wantErr: ErrBadEncoding},
		{name: "wrong key", v: Verifier{Secret: secret}, body: compact, sig: hexSig("forged-"+secret, compact), wantErr: ErrBadSignature},
		{name: "tampered body", v: Verifier{Secret: secret}, body: strings.Replace(compact, `"12"`, `"13"`, 1),
			sig: hexSig(secret, compact), wantErr: ErrBadSignature},
		{name: "signature of another body", v: Verifier{Secret: secret}, body: compact, sig: hexSig(secret, spaced), wantErr: ErrBadSignature},
		{name: "empty key signature", v: Verifier{Secret: secret}, body: compact, sig: hexSig("", compact), wantErr: ErrBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.v.Verify([]byte(tt.body), tt.sig)
			if tt.accepted {
				if err != nil {
					t.Fatalf("Verify = %v, want accepted", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify = %v, want %v", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), hexSig(secret, tt.body)) {
				t.Fatalf("error %q leaks the key or the expected digest", err)
			}
		})
	}
}

func TestSignHexIsTheVendorSample(t *testing.T) {
	t.Parallel()
	// the vendor signs the payload with every whitespace removed
	body := []byte("{\"a\": \"x y\",\n\t\"b\":1}")
	if got, want := SignHex("k3y-k3y-k3y", body), hexSig("k3y-k3y-k3y", `{"a":"xy","b":1}`); got != want {
		t.Fatalf("SignHex = %s, want %s", got, want)
	}
	if err := (Verifier{Secret: "k3y-k3y-k3y"}).Verify(body, SignHex("k3y-k3y-k3y", body)); err != nil {
		t.Fatalf("Verify(SignHex) = %v", err)
	}
}

func TestVerifierHeaderName(t *testing.T) {
	t.Parallel()
	if got := (Verifier{}).HeaderName(); got != "X-Clab-Hmac-Signature" {
		t.Errorf("default header = %q", got)
	}
	if got := (Verifier{Header: "X-Sig"}).HeaderName(); got != "X-Sig" {
		t.Errorf("header = %q", got)
	}
}
