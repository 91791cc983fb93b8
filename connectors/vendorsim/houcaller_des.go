package vendorsim

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// desCodec implements the Houcaller param scheme: DES (ECB or CBC with a
// fixed IV), PKCS5 or zero padding, uppercase hex.
type desCodec struct {
	block   cipher.Block
	cbc     bool
	iv      []byte
	zeroPad bool
}

func newDESCodec(key, mode, iv, padding string) (*desCodec, error) {
	if len(key) != 8 {
		return nil, fmt.Errorf("vendorsim: houcaller DES key must be 8 bytes, got %d", len(key))
	}
	b, err := des.NewCipher([]byte(key))
	if err != nil {
		return nil, fmt.Errorf("vendorsim: houcaller DES key: %w", err)
	}
	c := &desCodec{block: b}
	switch strings.ToLower(mode) {
	case "", "ecb":
	case "cbc":
		if len(iv) != 8 {
			return nil, fmt.Errorf("vendorsim: houcaller CBC IV must be 8 bytes, got %d", len(iv))
		}
		c.cbc, c.iv = true, []byte(iv)
	default:
		return nil, fmt.Errorf("vendorsim: houcaller DES mode %q (want ecb or cbc)", mode)
	}
	switch strings.ToLower(padding) {
	case "", "pkcs5", "pkcs7":
	case "zero":
		c.zeroPad = true
	default:
		return nil, fmt.Errorf("vendorsim: houcaller padding %q (want pkcs5 or zero)", padding)
	}
	return c, nil
}

// encrypt returns the uppercase hex ciphertext of plain.
func (c *desCodec) encrypt(plain []byte) string {
	bs := c.block.BlockSize()
	var padded []byte
	if c.zeroPad {
		n := (len(plain) + bs - 1) / bs * bs
		if n == 0 {
			n = bs
		}
		padded = make([]byte, n)
		copy(padded, plain)
	} else {
		p := bs - len(plain)%bs
		padded = append(append([]byte(nil), plain...), bytes.Repeat([]byte{byte(p)}, p)...)
	}
	out := make([]byte, len(padded))
	if c.cbc {
		cipher.NewCBCEncrypter(c.block, c.iv).CryptBlocks(out, padded)
	} else {
		for i := 0; i < len(padded); i += bs {
			c.block.Encrypt(out[i:i+bs], padded[i:i+bs])
		}
	}
	return strings.ToUpper(hex.EncodeToString(out))
}

var errDecrypt = errors.New("decrypt failed")

// decrypt reverses encrypt. Any malformed input or bad padding is errDecrypt.
func (c *desCodec) decrypt(hexText string) ([]byte, error) {
	raw, err := hex.DecodeString(hexText)
	bs := c.block.BlockSize()
	if err != nil || len(raw) == 0 || len(raw)%bs != 0 {
		return nil, errDecrypt
	}
	out := make([]byte, len(raw))
	if c.cbc {
		cipher.NewCBCDecrypter(c.block, c.iv).CryptBlocks(out, raw)
	} else {
		for i := 0; i < len(raw); i += bs {
			c.block.Decrypt(out[i:i+bs], raw[i:i+bs])
		}
	}
	if c.zeroPad {
		return bytes.TrimRight(out, "\x00"), nil
	}
	p := int(out[len(out)-1])
	if p == 0 || p > bs {
		return nil, errDecrypt
	}
	for _, b := range out[len(out)-p:] {
		if int(b) != p {
			return nil, errDecrypt
		}
	}
	return out[:len(out)-p], nil
}
