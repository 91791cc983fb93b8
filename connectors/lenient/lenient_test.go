package lenient

import (
	stdjson "encoding/json"
	"testing"
	"time"
)

func TestString(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		null     bool
		err      bool
	}{
		{in: `"abc"`, want: "abc"},
		{in: `"a\"b\u00e9"`, want: `a"bé`},
		{in: `418615942793357312`, want: "418615942793357312"}, // above 2^53, exact
		{in: `-12.50`, want: "-12.50"},
		{in: `true`, want: "true"},
		{in: `null`, null: true},
		{in: `"null"`, null: true},
		{in: ` "x" `, want: "x"},
		{in: `{}`, err: true},
		{in: `12ab`, err: true},
		{in: "\"\xff\"", want: "\ufffd"}, // invalid UTF-8 byte, as a decoder replaces it
		{in: `"\xff"`, err: true},        // not a JSON escape
		{in: ``, err: true},
		{in: `"`, err: true},    // a lone quote (found by FuzzDecodeMember)
		{in: "\f\"", err: true}, // same, after a form feed
		{in: `"abc`, err: true},
	}
	for _, tt := range tests {
		var s String
		err := s.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err || (err == nil && (s.V != tt.want || s.Null != tt.null)) {
			t.Errorf("String(%s) = %+v, %v; want %q null=%v err=%v", tt.in, s, err, tt.want, tt.null, tt.err)
		}
	}
}

func TestIntAndDecimal(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in    string
		want  int64
		valid bool
		err   bool
	}{
		{in: `12`, want: 12, valid: true},
		{in: `"12"`, want: 12, valid: true},
		{in: `12.0`, want: 12, valid: true},
		{in: `"1e3"`, want: 1000, valid: true},
		{in: `""`},
		{in: `null`},
		{in: `12.5`, err: true},
		{in: `"lots"`, err: true},
		{in: `99999999999999999999`, err: true},
	}
	for _, tt := range tests {
		var n Int
		err := n.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err || (err == nil && (n.V != tt.want || n.Valid != tt.valid)) {
			t.Errorf("Int(%s) = %+v, %v; want %d valid=%v err=%v", tt.in, n, err, tt.want, tt.valid, tt.err)
		}
	}
	var d Decimal
	if err := d.UnmarshalJSON([]byte(`"12.345"`)); err != nil || d.V.String() != "12.345" || !d.Valid {
		t.Errorf("Decimal = %+v %v", d, err)
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		loc  *time.Location
		want string // RFC 3339 UTC, or "" for an error
	}{
		{"2017-10-31T03:07:47Z", time.UTC, "2017-10-31T03:07:47Z"},
		{"2016-11-11T11:11:11", time.UTC, "2016-11-11T11:11:11Z"},           // DM Hub: zoneless means UTC
		{"2019-10-15 17:10:28", Shanghai, "2019-10-15T09:10:28Z"},           // zvcms: China time
		{"2019-10-15 17:10:2", Shanghai, "2019-10-15T09:10:02Z"},            // single-digit seconds
		{"2019-10-16 9:5:3", Shanghai, "2019-10-16T01:05:03Z"},              // single-digit fields
		{"2019-10-15", Shanghai, "2019-10-14T16:00:00Z"},                    // a date alone: midnight
		{"2019-10-15T17:10:28+08:00", time.UTC, "2019-10-15T09:10:28Z"},     // an explicit zone wins
		{"2019-10-15 17:10:28.123", Shanghai, "2019-10-15T09:10:28Z"},       // fractions dropped
		{"2019-02-30 00:00:00", Shanghai, ""}, {"2019-13-01", Shanghai, ""}, // not a calendar date
		{"", Shanghai, ""}, {"yesterday", Shanghai, ""}, {"2019-10-15 25:00:00", Shanghai, ""},
		{"0-1-1", Shanghai, ""}, {"0000-00-00 00:00:00", Shanghai, ""}, // year 0, a MySQL zero date (FuzzParseTime)
	}
	for _, tt := range tests {
		got, err := ParseTime(tt.in, tt.loc)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseTime(%q) = %s, want an error", tt.in, got)
			}
			continue
		}
		if err != nil || got.Format(time.RFC3339) != tt.want || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %s, %v; want %s UTC", tt.in, got, err, tt.want)
		}
	}
	if p := TimePtr("1968-11-09 00:00:00", Shanghai); p != nil {
		t.Errorf("TimePtr(1968) = %s, want nil (DateTime cannot hold it)", p)
	}
	if d := Date("1968-11-09"); d != "1968-11-09" {
		t.Errorf("Date(1968-11-09) = %q", d)
	}
	if d := Date("2017-12-15T00:00:00Z"); d != "2017-12-15" {
		t.Errorf("Date(with time) = %q", d)
	}
}

// FuzzParseTime: never a panic; every accepted time is UTC and survives
// a round trip through its own RFC 3339 form.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2019-10-15 17:10:2", "2017-10-31T03:07:47Z", "2016-11-11T11:11:11", "2019-10-15", "0-0-0", "9999-12-31 23:59:60"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, Shanghai)
		if err != nil {
			return
		}
		if got.Location() != time.UTC {
			t.Fatalf("ParseTime(%q) = %s, not UTC", s, got)
		}
		back, err := ParseTime(got.Format(time.RFC3339), Shanghai)
		if err != nil || !back.Equal(got) {
			t.Fatalf("ParseTime(%q) = %s; its RFC 3339 form reads back as %s, %v", s, got, back, err)
		}
	})
}

// FuzzString: never a panic, and wherever encoding/json reads the input as
// a string, String reads the same text (or null for "null").
func FuzzString(f *testing.F) {
	for _, s := range []string{`"abc"`, `"a\"b"`, `"`, "\f\"", `12`, `"null"`, "\"\xff\"", `"\u00e9"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var s String
		err := s.UnmarshalJSON(b)
		var want string
		if stdjson.Unmarshal(b, &want) != nil {
			return
		}
		switch {
		case err != nil:
			t.Fatalf("String(%q): %v; encoding/json reads %q", b, err, want)
		case want == "null" && !s.Null:
			t.Fatalf("String(%q) = %+v, want null", b, s)
		case want != "null" && s.V != want:
			t.Fatalf("String(%q) = %q, encoding/json reads %q", b, s.V, want)
		}
	})
}

func TestTime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string // want "" = nil
		err      bool
	}{
		{in: "", want: ""},
		{in: "null", want: ""},
		{in: "0000-00-00 00:00:00", want: ""},
		{in: "2019-10-15 17:10:2", want: "2019-10-15T09:10:02Z"},
		{in: "1960-01-01 00:00:00", want: ""}, // before 1970: stored as NULL (docs/normalization.md §4)
		{in: "yesterday", err: true},
		{in: "2024-13-45 99:00", err: true},
	}
	for _, tt := range tests {
		got, err := Time(tt.in, Shanghai)
		s := ""
		if got != nil {
			s = got.Format(time.RFC3339)
		}
		if (err != nil) != tt.err || s != tt.want {
			t.Errorf("Time(%q) = %s, %v; want %q (error %v)", tt.in, s, err, tt.want, tt.err)
		}
	}
}

func TestAbsent(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]bool{
		"": true, " \n": true, "null": true, " null ": true,
		`"null"`: false, "{}": false, "[]": false, `""`: false, "0": false, "nullx": false,
	} {
		if got := Absent([]byte(in)); got != want {
			t.Errorf("Absent(%q) = %v, want %v", in, got, want)
		}
	}
}
