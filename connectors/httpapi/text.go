package httpapi

import (
	"strings"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// Text is a vendor message field: a string, number or bool as text; any
// other JSON value is kept as its raw text, so an odd message never turns
// a vendor error into a decode error.
type Text string

// UnmarshalJSON implements json.Unmarshaler.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s lenient.String
	if err := s.UnmarshalJSON(b); err == nil {
		*t = Text(s.V)
		return nil
	}
	*t = Text(b)
	return nil
}

// ParseCode reads an envelope's numeric-or-string `code`: present is false
// when it is missing, null or blank; success when it is 0 ("0", 0).
func ParseCode(c *lenient.String) (code string, present, success bool) {
	if c == nil || c.Null {
		return "", false, false
	}
	code = strings.TrimSpace(c.V)
	if code == "" {
		return "", false, false
	}
	n, err := lenient.ParseInt(code)
	return code, true, err == nil && n == 0
}
