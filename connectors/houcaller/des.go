package houcaller

import (
	"bytes"
	"crypto/cipher"
	"crypto/des" //nolint:gosec // the vendor's scheme: single DES is what Houcaller uses, not our choice
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// Mode is the DES block mode of a channel.
type Mode string

// The supported block modes.
const (
	// ECB encrypts every 8-byte block independently (Java's "DES" default,
	// DES/ECB/PKCS5Padding). It is the default.
	ECB Mode = "ecb"
	// CBC chains blocks starting from a fixed IV shared with the vendor
	// (no IV travels in the request).
	CBC Mode = "cbc"
)

// Padding is how the plaintext is filled up to a multiple of 8 bytes.
type Padding string

// The supported paddings.
const (
	// PKCS5 appends n bytes of value n (1..8); an aligned plaintext gets
	// a whole extra block. It is the default.
	PKCS5 Padding = "pkcs5"
	// ZeroPadding appends 0x00 bytes up to the next multiple of 8 and
	// nothing when the plaintext is already aligned (an empty plaintext
	// becomes one zero block). Decrypt strips trailing 0x00 bytes, which
	// is unambiguous for JSON: it never ends in a NUL.
	ZeroPadding Padding = "zero"
)

// ErrCiphertext is returned by Decrypt for input that is not a valid
// ciphertext under the cipher's key and padding (bad hex, wrong length,
// or padding that does not check out — usually a wrong key).
var ErrCiphertext = errors.New("houcaller: invalid DES ciphertext")

// Cipher encrypts Houcaller `param` values: DES over the compact JSON of
// the business parameters, output as uppercase hex. It is safe for
// concurrent use. Its errors never contain the key or the IV.
type Cipher struct {
	block cipher.Block
	mode  Mode
	pad   Padding
	iv    []byte
}

// String describes the scheme, never the key: "DES/ECB/pkcs5".
func (c *Cipher) String() string {
	return "DES/" + strings.ToUpper(string(c.mode)) + "/" + string(c.pad)
}

// GoString implements fmt.GoStringer like String, so %#v cannot print key
// material either.
func (c *Cipher) GoString() string { return c.String() }

// NewCipher builds a cipher from an 8-byte key. Empty mode and padding
// mean ECB and PKCS5; iv is required (8 bytes) for CBC and ignored for ECB.
func NewCipher(key []byte, mode Mode, pad Padding, iv []byte) (*Cipher, error) {
	if len(key) != des.BlockSize {
		return nil, fmt.Errorf("houcaller: DES key must be %d bytes, got %d", des.BlockSize, len(key))
	}
	if mode == "" {
		mode = ECB
	}
	if pad == "" {
		pad = PKCS5
	}
	mode, pad = Mode(strings.ToLower(string(mode))), Padding(strings.ToLower(string(pad)))
	switch mode {
	case ECB:
		iv = nil
	case CBC:
		if len(iv) != des.BlockSize {
			return nil, fmt.Errorf("houcaller: DES-CBC needs a %d-byte IV, got %d bytes", des.BlockSize, len(iv))
		}
		iv = bytes.Clone(iv)
	default:
		return nil, fmt.Errorf("houcaller: unknown DES mode %q (want ecb or cbc)", mode)
	}
	if pad != PKCS5 && pad != ZeroPadding {
		return nil, fmt.Errorf("houcaller: unknown DES padding %q (want pkcs5 or zero)", pad)
	}
	block, err := des.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("houcaller: DES key: %w", err)
	}
	return &Cipher{block: block, mode: mode, pad: pad, iv: iv}, nil
}

// Encrypt pads plain, encrypts it and returns uppercase hex.
func (c *Cipher) Encrypt(plain []byte) (string, error) {
	buf := c.padded(plain)
	switch c.mode {
	case CBC:
		cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(buf, buf)
	default:
		for i := 0; i < len(buf); i += des.BlockSize {
			c.block.Encrypt(buf[i:i+des.BlockSize], buf[i:i+des.BlockSize])
		}
	}
	return strings.ToUpper(hex.EncodeToString(buf)), nil
}

// Decrypt reverses Encrypt. Hex is accepted in either case. Errors wrap
// ErrCiphertext and say what was wrong, never with key material.
func (c *Cipher) Decrypt(hexText string) ([]byte, error) {
	buf, err := hex.DecodeString(strings.TrimSpace(hexText))
	if err != nil {
		return nil, fmt.Errorf("%w: not hex", ErrCiphertext)
	}
	if len(buf) == 0 || len(buf)%des.BlockSize != 0 {
		return nil, fmt.Errorf("%w: %d bytes is not a positive multiple of %d", ErrCiphertext, len(buf), des.BlockSize)
	}
	switch c.mode {
	case CBC:
		cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(buf, buf)
	default:
		for i := 0; i < len(buf); i += des.BlockSize {
			c.block.Decrypt(buf[i:i+des.BlockSize], buf[i:i+des.BlockSize])
		}
	}
	return c.unpad(buf)
}

func (c *Cipher) padded(plain []byte) []byte {
	n := len(plain)
	if c.pad == ZeroPadding {
		total := (n + des.BlockSize - 1) / des.BlockSize * des.BlockSize
		if total == 0 {
			total = des.BlockSize
		}
		buf := make([]byte, total)
		copy(buf, plain)
		return buf
	}
	p := des.BlockSize - n%des.BlockSize
	buf := make([]byte, n+p)
	copy(buf, plain)
	for i := n; i < len(buf); i++ {
		buf[i] = byte(p)
	}
	return buf
}

func (c *Cipher) unpad(buf []byte) ([]byte, error) {
	if c.pad == ZeroPadding {
		return bytes.TrimRight(buf, "\x00"), nil
	}
	p := int(buf[len(buf)-1])
	if p < 1 || p > des.BlockSize {
		return nil, fmt.Errorf("%w: bad PKCS5 padding (wrong key or scheme?)", ErrCiphertext)
	}
	for _, b := range buf[len(buf)-p:] {
		if int(b) != p {
			return nil, fmt.Errorf("%w: bad PKCS5 padding (wrong key or scheme?)", ErrCiphertext)
		}
	}
	return buf[:len(buf)-p], nil
}
