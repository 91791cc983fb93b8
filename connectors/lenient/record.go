package lenient

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"

	"github.com/goccy/go-json"
)

// First returns the first value that is not blank, trimmed ("" if none):
// for fields a vendor sends under two names (cpnid/cpnId, mmbid/mmbId).
func First(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// Code normalizes a numeric code sent as a number or a string ("0",
// "0.0", 0) to its integer text; other codes come back trimmed.
func Code(s string) string {
	s = strings.TrimSpace(s)
	if n, err := ParseInt(s); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return s
}

// Compact returns a vendor record as compact JSON text, the form kept in
// the `raw` columns.
func Compact(raw []byte) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

// HashID is a stable id for a record the vendor sends without one: "h1:"
// and the first 128 bits of the SHA-256 of its identifying fields.
func HashID(fields ...string) string {
	h := sha256.Sum256([]byte(strings.Join(fields, "\x1f")))
	return "h1:" + hex.EncodeToString(h[:16])
}

// Occurrences numbers repeated ids within one response: the second
// identical record gets "#1", the third "#2", so genuinely repeated
// records (same member, time, amounts and text) are not collapsed.
type Occurrences map[string]int

// ID returns base, numbered if it was seen before.
func (o Occurrences) ID(base string) string {
	n := o[base]
	o[base] = n + 1
	if n == 0 {
		return base
	}
	return base + "#" + strconv.Itoa(n)
}

// ContainsAny reports whether s contains any of subs (vendor messages
// that name a cause).
func ContainsAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// Absent reports whether a JSON value is missing: empty, white space or
// null. A cursor, a `data` or a field that is absent has nothing to read.
func Absent(b []byte) bool {
	b = bytes.TrimSpace(b)
	return len(b) == 0 || string(b) == "null"
}
