// Package lenient decodes the loosely typed values vendors send: numbers as
// strings, strings as numbers, "null" as null, ids beyond 2^53, and
// zoneless or sloppy timestamps.
package lenient

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/goccy/go-json"
	"github.com/shopspring/decimal"
)

// String is a JSON string or number (or bool) kept as text. Numbers keep
// their exact digits, so ids above 2^53 survive. null and the string
// "null" decode to "" with Null set.
type String struct {
	V    string
	Null bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *String) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*s = String{}
	switch {
	case len(b) == 0:
		return errors.New("lenient: empty value")
	case string(b) == "null":
		s.Null = true
	case b[0] == '"':
		var v string
		if len(b) >= 2 && b[len(b)-1] == '"' && plainString(b[1:len(b)-1]) {
			v = string(b[1 : len(b)-1]) // no escapes: the common case, without a decoder
		} else if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		if v == "null" {
			s.Null = true
			return nil
		}
		s.V = v
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		if !validNumber(b) {
			return fmt.Errorf("lenient: invalid number %q", b)
		}
		s.V = string(b)
	case string(b) == "true" || string(b) == "false":
		s.V = string(b)
	default:
		return fmt.Errorf("lenient: want a string or number, got %.20s", b)
	}
	return nil
}

// plainString reports whether the inside of a quoted JSON string needs no
// decoding: no escapes, no quotes, no control bytes, valid UTF-8.
func plainString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c == '\\' || c == '"' {
			return false
		}
	}
	return utf8.Valid(b)
}

func validNumber(b []byte) bool {
	var n json.Number
	return json.Unmarshal(b, &n) == nil
}

// Int is a JSON integer that may arrive as a string ("12"), a float with a
// zero fraction (12.0), "" or null (Valid false).
type Int struct {
	V     int64
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	t, err := text(b)
	if err != nil {
		return err
	}
	*n = Int{}
	if t == "" {
		return nil
	}
	v, err := ParseInt(t)
	if err != nil {
		return err
	}
	*n = Int{V: v, Valid: true}
	return nil
}

// text is a scalar's text as String reads it, trimmed: "" for null,
// "null" and blanks.
func text(b []byte) (string, error) {
	var s String
	if err := s.UnmarshalJSON(b); err != nil {
		return "", err
	}
	return strings.TrimSpace(s.V), nil
}

// Ptr returns a pointer to the value, nil when not valid.
func (n Int) Ptr() *int64 {
	if !n.Valid {
		return nil
	}
	v := n.V
	return &v
}

// ParseInt parses an integer written as digits or as a float with a zero
// fraction ("12", "-3", "12.0", "1e3").
func ParseInt(t string) (int64, error) {
	if v, err := strconv.ParseInt(t, 10, 64); err == nil {
		return v, nil
	}
	d, err := decimal.NewFromString(t)
	if err != nil || !d.IsInteger() {
		return 0, fmt.Errorf("lenient: %q is not an integer", Clip(t))
	}
	if d.GreaterThan(decimal.NewFromInt(1<<63-1)) || d.LessThan(decimal.NewFromInt(-1<<63)) {
		return 0, fmt.Errorf("lenient: %q is out of the int64 range", Clip(t))
	}
	return d.IntPart(), nil
}

// Decimal is a JSON number or numeric string decoded without float
// rounding; "" and null are not Valid.
type Decimal struct {
	V     decimal.Decimal
	Valid bool
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	t, err := text(b)
	if err != nil {
		return err
	}
	*d = Decimal{}
	if t == "" {
		return nil
	}
	v, err := decimal.NewFromString(t)
	if err != nil {
		return fmt.Errorf("lenient: %q is not a number", Clip(t))
	}
	*d = Decimal{V: v, Valid: true}
	return nil
}

// Ptr returns a pointer to the value, nil when not valid.
func (d Decimal) Ptr() *decimal.Decimal {
	if !d.Valid {
		return nil
	}
	v := d.V
	return &v
}

// Shanghai is the zone of the Chinese vendors' zoneless timestamps
// (UTC+8, no daylight saving). A fixed zone avoids depending on tzdata.
var Shanghai = time.FixedZone("Asia/Shanghai", 8*3600)

// ParseTime reads a timestamp in the forms vendors send:
// RFC 3339 with a zone or "Z" ("2017-10-31T03:07:47Z"); zoneless ISO
// ("2016-11-11T11:11:11"); "YYYY-MM-DD HH:mm:ss" with single-digit fields
// tolerated ("2019-10-15 17:10:2"); a date alone ("2019-10-15", midnight).
// Zoneless values are read in loc. The result is in UTC.
func ParseTime(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("lenient: empty time")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	datePart, clock, _ := strings.Cut(strings.Replace(s, "T", " ", 1), " ")
	ymd := strings.Split(datePart, "-")
	if len(ymd) != 3 {
		return time.Time{}, fmt.Errorf("lenient: %q is not a date-time", Clip(s))
	}
	var f [6]int
	for i, p := range ymd {
		v, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 4 {
			return time.Time{}, fmt.Errorf("lenient: %q is not a date-time", Clip(s))
		}
		f[i] = v
	}
	if clock = strings.TrimSpace(clock); clock != "" {
		clock = strings.TrimSuffix(clock, "Z")
		if i := strings.IndexByte(clock, '.'); i >= 0 {
			clock = clock[:i] // fractional seconds: drop
		}
		hms := strings.Split(clock, ":")
		if len(hms) < 2 || len(hms) > 3 {
			return time.Time{}, fmt.Errorf("lenient: %q is not a date-time", Clip(s))
		}
		for i, p := range hms {
			v, err := strconv.Atoi(p)
			if err != nil || p == "" || len(p) > 2 {
				return time.Time{}, fmt.Errorf("lenient: %q is not a date-time", Clip(s))
			}
			f[3+i] = v
		}
		if strings.HasSuffix(strings.TrimSpace(s), "Z") {
			loc = time.UTC
		}
	}
	if f[0] < 1 || f[1] < 1 || f[1] > 12 || f[2] < 1 || f[2] > 31 || f[3] > 23 || f[4] > 59 || f[5] > 60 {
		return time.Time{}, fmt.Errorf("lenient: %q is out of range", Clip(s))
	}
	t := time.Date(f[0], time.Month(f[1]), f[2], f[3], f[4], f[5], 0, loc)
	if t.Day() != f[2] {
		return time.Time{}, fmt.Errorf("lenient: %q is not a calendar date", Clip(s))
	}
	return t.UTC(), nil
}

// MinTime and MaxTime bound what a ClickHouse DateTime can hold; values
// outside are stored as NULL instead of being silently wrapped.
var (
	MinTime = time.Unix(0, 0).UTC()
	MaxTime = time.Date(2105, 12, 31, 23, 59, 59, 0, time.UTC)
)

// TimePtr parses s with ParseTime and returns nil for "", "null",
// unparsable values and values a ClickHouse DateTime cannot hold.
func TimePtr(s string, loc *time.Location) *time.Time {
	if s == "" || s == "null" {
		return nil
	}
	t, err := ParseTime(s, loc)
	if err != nil || t.Before(MinTime) || t.After(MaxTime) {
		return nil
	}
	return &t
}

// Date normalizes a date-only value to "YYYY-MM-DD" ("" when absent or
// not a date). Dates before 1970 are kept: they are text, not Date.
func Date(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" {
		return ""
	}
	datePart, _, _ := strings.Cut(strings.Replace(s, "T", " ", 1), " ")
	t, err := ParseTime(datePart, time.UTC)
	if err != nil {
		return ""
	}
	return t.Format("2006-01-02")
}

// Clip shortens a value quoted in an error message.
func Clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// Time is TimePtr for a field whose value must be a time when it is
// sent: "", "null" and the zero date "0000-00-00…" are nil, a value ParseTime cannot read is an error
// (the record is rejected, not stored with the field silently NULL), and
// a time a ClickHouse DateTime cannot hold is nil (stored as NULL, as
// docs/normalization.md §4 documents).
func Time(s string, loc *time.Location) (*time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "null" || strings.HasPrefix(s, "0000-00-00") {
		return nil, nil // absent; the zero date is MySQL's "no value"
	}
	t, err := ParseTime(s, loc)
	if err != nil {
		return nil, err
	}
	if t.Before(MinTime) || t.After(MaxTime) {
		return nil, nil
	}
	return &t, nil
}

// Times parses the time fields of one record with Time and keeps the
// first error, so a decoder reads its fields in one go and rejects the
// record once: t := times.Parse("dateJoin", v, loc) … if err := times.Err().
type Times struct{ err error }

// Parse returns Time(s, loc), recording its error under field.
func (c *Times) Parse(field, s string, loc *time.Location) *time.Time {
	t, err := Time(s, loc)
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("field %s: %w", field, err)
	}
	return t
}

// Err is the first error Parse met, nil if none.
func (c *Times) Err() error { return c.err }
