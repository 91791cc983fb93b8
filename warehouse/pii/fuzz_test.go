package pii_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// FuzzJSON: the applier never panics on any text, in any scope, under
// any action; its parser accepts exactly what encoding/json.Valid does;
// valid JSON in gives valid JSON out; and with every field dropped, no
// mobile key survives.
func FuzzJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"name":"王小明","mobile":"13800138000","email":"a@b.cn","c_x":{"a":[1,"2",null]}}`,
		`{"mobile":13800138000,"point":1e400,"balance":-0.0}`,
		`{"type":"mobile","value":"+86 138 0013 8000","name":null}`,
		`[{"address":{"street":"\u4eba\u6c11\u8def","zip":200000}},"x",true]`,
		`{"customerInfo":{"name":"\"q\"\\","phone":"\ud83d\ude00"}}`,
		`{"mobile":"13800138000"`, `"just a string"`, `12`, `null`, ``, `{"a":1} {"b":2}`, "{\"mobile\":\"\xff\xfe\"}",
		`-0.5e+3`, `01`, `1.`, `[1,]`, `{"a" 1}`, `"\ud800"`, `"\x"`, "\"a\tb\"", ` [ ] `, `{"a":tru}`,
	} {
		for scope := range 3 {
			for a := range 4 {
				f.Add(s, uint8(scope), uint8(a))
			}
		}
	}
	f.Fuzz(func(t *testing.T, in string, scope, action uint8) {
		a := string(config.PIIActions[int(action)%len(config.PIIActions)])
		block := map[string]string{"mobile": a, "email": a, "id_card": a, "address": a, "name": a, "c_*": a}
		if a == "keep" {
			block["mobile"] = "hash" // keep the rules active
		}
		r := pii.New(&config.Config{PIIKey: "fuzz-key-0123456789", Sources: []config.Source{{Name: "s", PII: block}}}).For("s")
		if pii.Valid(in) != json.Valid([]byte(in)) {
			t.Fatalf("parser accepts %q: %v, encoding/json: %v", in, pii.Valid(in), json.Valid([]byte(in)))
		}
		out, ch := r.JSON(in, pii.Scope(scope%3))
		if json.Valid([]byte(in)) && !json.Valid([]byte(out)) {
			t.Fatalf("valid JSON in, invalid out:\n in %q\nout %q", in, out)
		}
		_ = r.Text(in, ch)
		if a == "drop" && json.Valid([]byte(in)) {
			var v any
			if json.Unmarshal([]byte(out), &v) == nil && hasKey(v, "mobile") {
				t.Fatalf("a mobile key survived drop: %q → %q", in, out)
			}
		}
	})
}

func hasKey(v any, key string) bool {
	switch x := v.(type) {
	case map[string]any:
		for k, c := range x {
			if strings.EqualFold(k, key) || hasKey(c, key) {
				return true
			}
		}
	case []any:
		for _, c := range x {
			if hasKey(c, key) {
				return true
			}
		}
	}
	return false
}
