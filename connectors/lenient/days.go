package lenient

import (
	"strings"
	"time"
)

// CheckTimes takes (field name, value) pairs and reports the first value
// that is sent but is not a time in loc (Time): a record with one is
// rejected rather than stored with the field silently NULL.
func CheckTimes(loc *time.Location, pairs ...string) error {
	var times Times
	for i := 0; i+1 < len(pairs); i += 2 {
		times.Parse(pairs[i], pairs[i+1], loc)
	}
	return times.Err()
}

// dateOnly returns the calendar date of s when s is a date without a
// clock, else "".
func dateOnly(s string) string {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, " T") {
		return ""
	}
	return Date(s)
}

// DayStart reads the start of a validity period in loc: a date-only value
// is 00:00:00 of that day, a date-time the instant itself, both as UTC.
// date is the calendar date of a date-only value, "" for a date-time.
func DayStart(s string, loc *time.Location) (date string, t *time.Time) {
	if d := dateOnly(s); d != "" {
		return d, TimePtr(d, loc)
	}
	return "", TimePtr(strings.TrimSpace(s), loc)
}

// DayEnd reads the end of a validity period in loc: a date-only value is
// the last second of that day, 23:59:59 (the period includes the whole
// end day), a date-time the instant itself, both as UTC. date is as for
// DayStart.
func DayEnd(s string, loc *time.Location) (date string, t *time.Time) {
	if d := dateOnly(s); d != "" {
		return d, TimePtr(d+" 23:59:59", loc)
	}
	return "", TimePtr(strings.TrimSpace(s), loc)
}
