package outbound

import (
	"errors"
	"reflect"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

func TestSplitLines(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want []int // line numbers
	}{
		{"one object", `{"a":1}`, []int{1}},
		{"one pretty object", "{\n  \"a\": 1,\n  \"b\": 2\n}\n", []int{1}},
		{"json lines with a blank line", "{\"a\":1}\n\n{\"a\":2}\r\n", []int{1, 3}},
		{"an invalid line keeps its number", "{\"a\":1}\n{bad\n{\"a\":3}", []int{1, 2, 3}},
		{"empty", " \n ", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got []int
			for _, l := range SplitLines([]byte(tt.body)) {
				got = append(got, l.N)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("SplitLines(%q) lines = %v, want %v", tt.body, got, tt.want)
			}
		})
	}
}

func TestSplitKey(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line, wantKey, wantBody, wantField string
	}{
		{`{"a":1,"idempotencyKey":"k-1"}`, "k-1", `{"a":1}`, ""},
		{`{"a":1}`, "", `{"a":1}`, ""},
		{`{"idempotencyKey":5}`, "", "", "idempotencyKey"},
		{`{"idempotencyKey":""}`, "", "", "idempotencyKey"},
		{`[1,2]`, "", "", "-"},
	}
	for _, tt := range tests {
		body, key, err := splitKey([]byte(tt.line))
		var fe *connectors.FieldError
		switch {
		case tt.wantField != "":
			if !errors.As(err, &fe) || (tt.wantField != "-" && fe.Field != tt.wantField) {
				t.Errorf("splitKey(%s) error %v, want a field error on %q", tt.line, err, tt.wantField)
			}
		case err != nil || key != tt.wantKey || string(body) != tt.wantBody:
			t.Errorf("splitKey(%s) = %s, %q, %v; want %s, %q", tt.line, body, key, err, tt.wantBody, tt.wantKey)
		}
	}
}

func TestWriteIDIsStablePerSourceAndKey(t *testing.T) {
	t.Parallel()
	a, b := WriteID("s1", "deal:O-1"), WriteID("s1", "deal:O-1")
	if a != b || len(a) != 27 || a == WriteID("s2", "deal:O-1") || a == WriteID("s1", "deal:O-2") {
		t.Errorf("WriteID: %s %s", a, b)
	}
}
