package pii_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

const testKey = "0123456789abcdef-test-key"

func hmacHex(s string) string {
	m := hmac.New(sha256.New, []byte(testKey))
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// rules builds the rules of one source "s" with the given pii block.
func rules(t *testing.T, block map[string]string) *pii.Rules {
	t.Helper()
	cfg := &config.Config{PIIKey: testKey, Sources: []config.Source{{Name: "s", PII: block}}}
	r := pii.New(cfg).For("s")
	if r == nil {
		t.Fatalf("no rules for %v", block)
	}
	return r
}

func TestValue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		field, action, in, want string
	}{
		// mobile
		{"mobile", "keep", "13800138000", "13800138000"},
		{"mobile", "hash", "13800138000", hmacHex("13800138000")},
		{"mobile", "hash", "+86 138-0013-8000", hmacHex("13800138000")},
		{"mobile", "hash", "8613800138000", hmacHex("13800138000")},
		{"mobile", "hash", "0086 13800138000", hmacHex("13800138000")},
		{"mobile", "hash", "１３８００１３８０００", hmacHex("13800138000")}, // full-width digits
		{"mobile", "hash", "", ""},
		{"mobile", "hash", "   ", ""},
		{"mobile", "mask", "13812345678", "138****5678"},
		{"mobile", "mask", "+86 138 1234 5678", "138****5678"},
		{"mobile", "mask", "12345", "1***5"}, // too short for the shape: generic
		{"mobile", "drop", "13812345678", ""},
		// email
		{"email", "hash", " Zhang.San@Example.COM ", hmacHex("zhang.san@example.com")},
		{"email", "mask", "zhangsan@qq.com", "z***@qq.com"},
		{"email", "mask", "张三@例子.cn", "张***@例子.cn"},
		{"email", "mask", "no-at-sign", "no******gn"},
		{"email", "drop", "a@b.cn", ""},
		// id_card
		{"id_card", "hash", "310101 19900101 123x", hmacHex("31010119900101123X")},
		{"id_card", "mask", "31010119900101123X", "310***********123X"},
		{"id_card", "drop", "31010119900101123X", ""},
		// address
		{"address", "hash", " 上海市黄浦区\u3000人民路 1号 ", hmacHex("上海市黄浦区 人民路 1号")},
		{"address", "mask", "上海市黄浦区人民路123号", "上海市黄浦区****"},
		{"address", "mask", "北京", "北****"},
		{"address", "drop", "上海市", ""},
		// name
		{"name", "hash", " 王 小明 ", hmacHex("王 小明")},
		{"name", "mask", "欧阳小明", "欧***"},
		{"name", "mask", "王", "*"},
		{"name", "drop", "王小明", ""},
		// custom attributes: generic mask, trimmed before hashing
		{"c_id_card", "mask", "31010119900101123X", "3101**********123X"},
		{"c_vip_store", "mask", "abc", "***"},
		{"c_vip_store", "hash", " 上海南京西路店 ", hmacHex("上海南京西路店")},
		{"c_vip_store", "drop", "x", ""},
	}
	for _, tt := range tests {
		t.Run(tt.field+"/"+tt.action+"/"+tt.in, func(t *testing.T) {
			t.Parallel()
			r := rules(t, map[string]string{tt.field: tt.action, "address": "mask"}) // address: keep the rules active
			if tt.field == "address" {
				r = rules(t, map[string]string{tt.field: tt.action})
			}
			if got := r.Value(tt.field, tt.in); got != tt.want {
				t.Errorf("Value(%s %s, %q) = %q, want %q", tt.field, tt.action, tt.in, got, tt.want)
			}
		})
	}
}

// TestHashJoinsAcrossSources: two sources hash one person's mobile,
// written differently, to the same value; another key does not.
func TestHashJoinsAcrossSources(t *testing.T) {
	t.Parallel()
	cfg := &config.Config{PIIKey: testKey, Sources: []config.Source{
		{Name: "a", PII: map[string]string{"mobile": "hash"}},
		{Name: "b", PII: map[string]string{"mobile": "hash", "email": "drop"}},
	}}
	p := pii.New(cfg)
	a, b := p.For("a").Value("mobile", "13800138000"), p.For("b").Value("mobile", "+86 138 0013 8000")
	if a != b || len(a) != 64 {
		t.Errorf("a %q, b %q: want one 64-hex value", a, b)
	}
	other := pii.New(&config.Config{PIIKey: "another-key-of-16-bytes", Sources: cfg.Sources}).For("a").Value("mobile", "13800138000")
	if other == a {
		t.Error("a different pii_key gives the same hash")
	}
	if p.For("none") != nil || pii.New(&config.Config{Sources: []config.Source{{Name: "k", PII: map[string]string{"mobile": "keep"}}}}).For("k") != nil {
		t.Error("a source without an active policy has rules")
	}
}

// TestFailClosed: a Config built in code with hash and no key, or an
// unknown action, drops the value.
func TestFailClosed(t *testing.T) {
	t.Parallel()
	p := pii.New(&config.Config{Sources: []config.Source{{Name: "s", PII: map[string]string{"mobile": "hash", "email": "encrypt"}}}})
	if got := p.For("s").Value("mobile", "13800138000"); got != "" {
		t.Errorf("hash without a key = %q, want dropped", got)
	}
	if got := p.For("s").Value("email", "a@b.cn"); got != "" {
		t.Errorf("unknown action = %q, want dropped", got)
	}
}

func TestJSON(t *testing.T) {
	t.Parallel()
	all := map[string]string{"mobile": "hash", "email": "mask", "id_card": "drop", "address": "mask", "name": "mask", "c_*": "hash", "c_keep": "keep"}
	h := hmacHex
	tests := []struct {
		name  string
		block map[string]string
		scope pii.Scope
		in    string
		want  string
	}{
		{"dmhub member", all, pii.Member,
			`{"id":12,"name":"王小明","familyName":"王","mobile":"13800138000","email":"wang@qq.com","idCard":"31010119900101123X","address":"上海市黄浦区人民路1号","level":{"id":422,"name":"青铜会员"},"c_zvcms_id":"381234","c_keep":"k","cm_test2":true,"c_驱蚊器":null}`,
			`{"id":12,"name":"王**","familyName":"*","mobile":"` + h("13800138000") + `","email":"w***@qq.com","address":"上海市黄浦****","level":{"id":422,"name":"青铜会员"},"c_zvcms_id":"` + h("381234") + `","c_keep":"k","cm_test2":true,"c_驱蚊器":null}`},
		{"mobile as a number, numbers kept exact", map[string]string{"mobile": "hash"}, pii.Member,
			`{"mobile":13800138000,"point":12345678901234567890,"balance":1.50}`,
			`{"mobile":"` + h("13800138000") + `","point":12345678901234567890,"balance":1.50}`},
		{"numbers as strings", map[string]string{"mobile": "mask", "c_*": "mask"}, pii.Member,
			`{"phone":"+86 13812345678","c_visit_count":12345678}`,
			`{"phone":"138****5678","c_visit_count":"12****78"}`},
		{"escaped values", map[string]string{"name": "drop", "email": "hash"}, pii.Member,
			`{"name":"\u738b\"q\"","email":"A\u0040B.CN","note":"<b>\u0026\n"}`,
			`{"email":"` + h("a@b.cn") + `","note":"<b>&\n"}`},
		{"nested profile and coupons (zvcms)", map[string]string{"name": "drop", "mobile": "drop"}, pii.Member,
			`{"customerId":"38","customerInfo":{"name":"李四","mobile":"13900000000"},"coupons":{"list":[{"title":"满100减10","name":"券"}]}}`,
			`{"customerId":"38","customerInfo":{},"coupons":{"list":[{"title":"满100减10","name":"券"}]}}`},
		{"personal key holding an object", map[string]string{"address": "mask"}, pii.Member,
			`{"address":{"street":"人民路100号","zip":200000,"cn":true}}`,
			`{"address":{"street":"人民路****","zip":"200****","cn":"tr****"}}`},
		{"other scope: a bare name is a thing's name", all, pii.Other,
			`{"couponCode":"1","name":"满100减10","member":{"mobile":"13800138000"},"records":[{"phone":"13800138001"}]}`,
			`{"couponCode":"1","name":"满100减10","member":{"mobile":"` + h("13800138000") + `"},"records":[{"phone":"` + h("13800138001") + `"}]}`},
		{"identity mobile", all, pii.Identity,
			`{"value":"13800138000","type":"mobile","name":null}`,
			`{"value":"` + h("13800138000") + `","type":"mobile","name":null}`},
		{"identity wechat kept", all, pii.Identity,
			`{"type":"wechat","value":"oEv-It_abc","name":"官方服务号"}`,
			`{"type":"wechat","value":"oEv-It_abc","name":"官方服务号"}`},
		{"identity custom type by the c_ rules", all, pii.Identity,
			`{"type":"c_houcaller","value":"K1H93QDKI00B7"}`,
			`{"type":"c_houcaller","value":"` + h("K1H93QDKI00B7") + `"}`},
		{"keys are matched case-insensitively", map[string]string{"mobile": "drop"}, pii.Other,
			`{"MOBILE":"1","Phone":"2","mobileNo":"3","x":[]}`,
			`{"x":[]}`},
		{"nothing to change: the text is kept byte for byte", map[string]string{"mobile": "hash"}, pii.Member,
			`{ "id" : 1, "mobile": null, "n": "\u00e9" }`,
			`{ "id" : 1, "mobile": null, "n": "\u00e9" }`},
		{"top level array", map[string]string{"email": "drop"}, pii.Other,
			`[{"email":"a@b.cn"},{"mail":"c@d.cn","k":1}]`,
			`[{},{"k":1}]`},
		{"duplicate keys both changed", map[string]string{"mobile": "mask"}, pii.Member,
			`{"mobile":"13812345678","mobile":"13912345678"}`,
			`{"mobile":"138****5678","mobile":"139****5678"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, _ := rules(t, tt.block).JSON(tt.in, tt.scope)
			if got != tt.want {
				t.Errorf("JSON(%s)\n got %s\nwant %s", tt.in, got, tt.want)
			}
			if !json.Valid([]byte(got)) {
				t.Errorf("output is not valid JSON: %s", got)
			}
		})
	}
}

// TestNotJSON: a body that is not JSON keeps only what can be found by
// shape, or is withheld when the policy covers shapeless fields.
func TestNotJSON(t *testing.T) {
	t.Parallel()
	body := `{"mobile":"13812345678","email":"x@qq.com","idCard":"31010119900101123X",` // cut
	got, _ := rules(t, map[string]string{"mobile": "mask", "email": "drop", "id_card": "hash"}).JSON(body, pii.Member)
	want := `{"mobile":"138****5678","email":"","idCard":"` + hmacHex("31010119900101123X") + `",`
	if got != want {
		t.Errorf("not JSON, shaped fields\n got %s\nwant %s", got, want)
	}
	for _, block := range []map[string]string{{"name": "mask"}, {"address": "drop"}, {"c_*": "hash"}} {
		if got, _ := rules(t, block).JSON(body, pii.Member); got != pii.Withheld {
			t.Errorf("not JSON under %v = %s, want withheld", block, got)
		}
	}
}

// TestText: an error message quoting a record's values is scrubbed of
// the values its JSON held and of anything shaped like a mobile.
func TestText(t *testing.T) {
	t.Parallel()
	r := rules(t, map[string]string{"mobile": "hash", "name": "drop"})
	raw := `{"id":"1","name":"王小明","mobile":"138 0013 8000","bday":"x"}`
	out, ch := r.JSON(raw, pii.Member)
	if strings.Contains(out, "王小明") || strings.Contains(out, "138 0013 8000") {
		t.Fatalf("raw keeps a plain value: %s", out)
	}
	msg := `membership 1: field bday: "x" in {"name":"王小明","mobile":"138 0013 8000"}; other 13900001111 and order 123456789012`
	got := r.Text(msg, ch)
	for _, plain := range []string{"王小明", "138 0013 8000", "13900001111"} {
		if strings.Contains(got, plain) {
			t.Errorf("Text kept %q: %s", plain, got)
		}
	}
	if !strings.Contains(got, hmacHex("13800138000")) || !strings.Contains(got, hmacHex("13900001111")) || !strings.Contains(got, "123456789012") {
		t.Errorf("Text = %s, want the hashes and the order number kept", got)
	}
}

func TestFieldKeysDocumented(t *testing.T) {
	t.Parallel()
	for _, f := range config.PIIFields {
		if f == config.FieldName {
			continue // bare "name" is by scope; the other name keys are listed
		}
		if len(pii.FieldKeys(f)) == 0 {
			t.Errorf("field %s covers no JSON key", f)
		}
	}
}
