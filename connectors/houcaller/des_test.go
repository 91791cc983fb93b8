package houcaller

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

// Known-answer vectors computed with OpenSSL 3.0 (DES needs the legacy
// provider there), independently of this package:
//
//	L="-provider legacy -provider default"
//	printf '%s' '{}' | openssl enc -des-ecb -K 3132333435363738 -nosalt $L | xxd -p -u
//	printf '%s' '{}' | openssl enc -des-cbc -K 3132333435363738 -iv 0102030405060708 -nosalt $L | xxd -p -u
//
// Zero padding has no OpenSSL option: pad with NULs by hand and pass -nopad:
//
//	P='{}'; pad=$(( (8 - ${#P} % 8) % 8 ))
//	{ printf '%s' "$P"; head -c $pad /dev/zero; } | openssl enc -des-ecb -K 3132333435363738 -nosalt -nopad $L | xxd -p -u
//
// (The vendor's own sample `{}` → 9A0C7B1B7F89A90C [vendor-api.md §2.1]
// cannot be checked: its key is not public.)
func TestCipherKnownAnswers(t *testing.T) {
	t.Parallel()
	const (
		key1   = "3132333435363738" // "12345678"
		key2   = "0123456789ABCDEF"
		iv     = "0102030405060708"
		member = `{"memberId":"K1H93QDKI00B7"}`
		stc    = `{"orgCode":"0101","cardType":"958"}`
	)
	tests := []struct {
		name  string
		key   string
		mode  Mode
		pad   Padding
		iv    string
		plain string
		want  string
	}{
		{"ecb pkcs5 empty object", key1, ECB, PKCS5, "", `{}`, "B8A95D7CDD1F7540"},
		{"ecb pkcs5 member", key1, ECB, PKCS5, "", member, "4C2255F48418652A20FA215B0559A638FA4A6CF7FC09C76F35996D0E8ABC4227"},
		{"ecb pkcs5 35 bytes", key1, ECB, PKCS5, "", stc, "0019D09B3990DB9F18D1B478DF555A83954C0C6A35CF84A940B9F33D5BA19C76C8C49B53E6A332B1"},
		{"ecb pkcs5 aligned gets a full block", key1, ECB, PKCS5, "", `{"a":12}`, "CD65DD5EAB0803E9FEB959B7D4642FCB"},
		{"ecb pkcs5 key2 empty object", key2, ECB, PKCS5, "", `{}`, "35DF08D9099C567B"},
		{"ecb pkcs5 key2 member", key2, ECB, PKCS5, "", member, "618E0CEA71F145B0EC0ACF24C3A933366E424C1DE9B2236FBDB1AF59521A5664"},
		{"ecb pkcs5 key2 35 bytes", key2, ECB, PKCS5, "", stc, "43E8630ACA2CBA971AB7FEFB4D8F59DB314FA8AE6F296D5049C83BF8038EC77A021E83E519F07278"},
		{"cbc pkcs5 empty object", key1, CBC, PKCS5, iv, `{}`, "EEBC8A7695E746B8"},
		{"cbc pkcs5 member", key1, CBC, PKCS5, iv, member, "1E9944282B1B55E36C5B780DB8CA07A19D5F1442EC0E11C2B97C467CA065FEDF"},
		{"ecb zero empty object", key1, ECB, ZeroPadding, "", `{}`, "91B7379A46BFA18D"},
		{"ecb zero member", key1, ECB, ZeroPadding, "", member, "4C2255F48418652A20FA215B0559A638FA4A6CF7FC09C76F647478698DD61510"},
		{"ecb zero aligned adds nothing", key1, ECB, ZeroPadding, "", `{"a":12}`, "CD65DD5EAB0803E9"},
		{"cbc zero member", key1, CBC, ZeroPadding, iv, member, "1E9944282B1B55E36C5B780DB8CA07A19D5F1442EC0E11C29CBDA7DB6B4D91DC"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := mustCipher(t, tt.key, tt.mode, tt.pad, tt.iv)
			got, err := c.Encrypt([]byte(tt.plain))
			if err != nil {
				t.Fatalf("Encrypt: %v", err)
			}
			if got != tt.want {
				t.Fatalf("Encrypt(%s) = %s, want %s", tt.plain, got, tt.want)
			}
			back, err := c.Decrypt(strings.ToLower(got))
			if err != nil {
				t.Fatalf("Decrypt: %v", err)
			}
			if string(back) != tt.plain {
				t.Fatalf("Decrypt = %q, want %q", back, tt.plain)
			}
		})
	}
}

func TestNewCipherErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		key  string
		mode Mode
		pad  Padding
		iv   string
		want string
	}{
		{"short key", "313233", ECB, PKCS5, "", "must be 8 bytes"},
		{"cbc without iv", "3132333435363738", CBC, PKCS5, "", "needs a 8-byte IV"},
		{"unknown mode", "3132333435363738", "ofb", PKCS5, "", `unknown DES mode "ofb"`},
		{"unknown padding", "3132333435363738", ECB, "iso10126", "", `unknown DES padding "iso10126"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key, _ := hex.DecodeString(tt.key)
			iv, _ := hex.DecodeString(tt.iv)
			_, err := NewCipher(key, tt.mode, tt.pad, iv)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "12345678") {
				t.Fatalf("error leaks the key: %v", err)
			}
		})
	}
}

func TestDecryptErrors(t *testing.T) {
	t.Parallel()
	c := mustCipher(t, "3132333435363738", ECB, PKCS5, "")
	other := mustCipher(t, "0123456789ABCDEF", ECB, PKCS5, "")
	good, err := other.Encrypt([]byte(`{"memberId":"K1H93QDKI00B7"}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"not hex", "ZZ", "not hex"},
		{"empty", "", "not a positive multiple"},
		{"odd blocks", "B8A95D7CDD1F75", "not a positive multiple"},
		{"wrong key", good, "bad PKCS5 padding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := c.Decrypt(tt.in)
			if !errors.Is(err, ErrCiphertext) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want ErrCiphertext containing %q", err, tt.want)
			}
		})
	}
}

func mustCipher(t testing.TB, keyHex string, mode Mode, pad Padding, ivHex string) *Cipher {
	t.Helper()
	key, err := hex.DecodeString(keyHex)
	if err != nil {
		t.Fatal(err)
	}
	iv, err := hex.DecodeString(ivHex)
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewCipher(key, mode, pad, iv)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
