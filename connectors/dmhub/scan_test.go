package dmhub

import (
	"bytes"
	stdjson "encoding/json"
	"testing"
)

// FuzzEachField: on every valid JSON object the scanner sees exactly the
// keys and values a real decoder sees (last value wins); on anything else
// it errors or stays consistent, never panics.
func FuzzEachField(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":1}`, `{"a":"x\"y","b":[1,{"c":"}"}],"a":null}`, ` { "k" : { } , "\u00e9" : "é" } `,
		`{"id":1,"level":{"id":2,"name":"黄金"},"c_x":[]}`, `[1]`, `{"a":}`, `{"a":1,}`, `{"a" 1}`, `{"a":"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := map[string][]byte{}
		err := eachField(b, func(k string, v []byte) error { got[k] = v; return nil })
		var want map[string]stdjson.RawMessage
		if stdjson.Unmarshal(b, &want) != nil || want == nil {
			return // not a valid object: any error (or a lenient read) is fine
		}
		if err != nil {
			t.Fatalf("eachField(%q) = %v on a valid object", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("eachField(%q) saw %d keys, decoder %d", b, len(got), len(want))
		}
		for k, w := range want {
			var a, c bytes.Buffer
			if stdjson.Compact(&a, got[k]) != nil || stdjson.Compact(&c, w) != nil || a.String() != c.String() {
				t.Fatalf("eachField(%q)[%q] = %q, decoder %q", b, k, got[k], w)
			}
		}
	})
}
