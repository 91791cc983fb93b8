package warehouse

import (
	"errors"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// TestRedactRows: every row type's personal columns, raw and
// custom_attrs pass the policy of the row's source; other sources'
// rows and other columns are untouched.
func TestRedactRows(t *testing.T) {
	t.Parallel()
	p := pii.New(&config.Config{PIIKey: "0123456789abcdef", Sources: []config.Source{
		{Name: "s", PII: map[string]string{"mobile": "hash", "email": "drop", "name": "mask", "c_*": "mask"}},
		{Name: "plain"},
	}})
	hashed := p.For("s").Value("mobile", "13800138000")
	const mobile, email = "13800138000", "wang@qq.com"
	rows := []Row{
		Member{Common: Common{Source: "s"}, MemberID: "1", Name: "王小明", Mobile: "+86 13800138000", Email: email,
			CustomAttrs: `{"c_vip_store":"上海南京西路店","cm_test2":true}`,
			Raw:         `{"id":1,"name":"王小明","mobile":"13800138000","email":"wang@qq.com","c_vip_store":"上海南京西路店","cm_test2":true}`},
		Identity{Common: Common{Source: "s"}, MemberID: "1", Type: "mobile", Value: mobile, Name: "官方服务号",
			Raw: `{"type":"mobile","value":"13800138000","name":"官方服务号"}`},
		NewRejected("s", "identities", "13800138000", []byte(`{"type":"mobile","value":"13800138000","bad":}`),
			errors.New(`row 0 identity 0: no type or value: {"type":"mobile","value":"13800138000"}`)),
		NewRejected("s", "members", "", []byte(`{"id":2,"mobile":"13800138000","email":"wang@qq.com","dateJoin":"x"}`),
			errors.New(`membership 2: field dateJoin: "x"; mobile 13800138000, email wang@qq.com`)),
		PointEntry{Common: Common{Source: "s"}, EntryID: "e", MemberID: "1", Remark: "r",
			Raw: `{"id":"e","membership":{"mobile":"13800138000"},"name":"签到"}`},
	}
	for _, r := range rows {
		v := r.Values()
		redact(p, r.Table(), v)
		for i, x := range v {
			s, _ := x.(string)
			if strings.Contains(s, mobile) || strings.Contains(s, email) || strings.Contains(s, "王小明") || strings.Contains(s, "上海南京西路店") {
				t.Errorf("%s.%s keeps a plain value: %s", r.Table().Name, r.Table().Columns[i], s)
			}
		}
		col := func(name string) string { s, _ := v[r.Table().Col(name)].(string); return s }
		switch r.(type) {
		case Member:
			if col("mobile") != hashed || col("email") != "" || col("name") != "王**" || col("member_id") != "1" {
				t.Errorf("member columns: mobile %q email %q name %q", col("mobile"), col("email"), col("name"))
			}
			if !strings.Contains(col("custom_attrs"), `"cm_test2":true`) || !strings.Contains(col("raw"), `"mobile":"`+hashed+`"`) {
				t.Errorf("member JSON: %s / %s", col("custom_attrs"), col("raw"))
			}
		case Identity:
			if col("value") != hashed || col("name") != "官方服务号" {
				t.Errorf("identity value %q name %q", col("value"), col("name"))
			}
		case RejectedRecord:
			if col("stream") == "identities" && col("record_key") != hashed {
				t.Errorf("rejected identity key = %q, want the hashed value (as in member_identities)", col("record_key"))
			}
			if col("stream") == "members" && col("record_key") == RejectedKey([]byte(rows[3].(RejectedRecord).Raw)) {
				t.Errorf("rejected member key is still the hash of the plain raw")
			}
		case PointEntry:
			if !strings.Contains(col("raw"), `"name":"签到"`) {
				t.Errorf("ledger raw: %s", col("raw"))
			}
		}
	}
	// another source's row: untouched
	m := Member{Common: Common{Source: "plain"}, MemberID: "1", Mobile: mobile, Raw: `{"mobile":"13800138000"}`}
	v := m.Values()
	redact(p, m.Table(), v)
	if v[Members.Col("mobile")] != mobile || v[Members.Col("raw")] != m.Raw {
		t.Errorf("a source without a policy was changed: %v", v)
	}
	// a row's own values are a copy: the caller's row is unchanged
	if rows[0].(Member).Mobile != "+86 13800138000" {
		t.Error("redact changed the caller's row")
	}
}

// TestRedactWithheldKeys: rejected bodies that are not JSON are withheld
// (the policy covers names); each keeps its own key, not the plain
// body's SHA-256 and not one shared by every withheld body.
func TestRedactWithheldKeys(t *testing.T) {
	t.Parallel()
	p := pii.New(&config.Config{PIIKey: "0123456789abcdef", Sources: []config.Source{{Name: "s", PII: map[string]string{"name": "drop"}}}})
	keys := map[string]bool{}
	for _, body := range []string{`{"name":"王小明",`, `{"name":"李四",`, `{"name":"王小明","x":`} {
		r := NewRejected("s", "members", "", []byte(body), errors.New("cut"))
		v := r.Values()
		redact(p, r.Table(), v)
		key, raw := v[RejectedRecords.Col("record_key")].(string), v[RejectedRecords.Col("raw")].(string)
		if raw != pii.Withheld || key == r.RecordKey || !strings.HasPrefix(key, "hmac:") || keys[key] {
			t.Errorf("body %s: raw %s, key %s (plain key %s, seen %v)", body, raw, key, r.RecordKey, keys[key])
		}
		keys[key] = true
	}
	// a JSON body with nothing personal (a coupon's name is not a person's) keeps its key
	r := NewRejected("s", "coupons", "", []byte(`{"couponId":"1","name":"满100减10"}`), errors.New("bad"))
	v := r.Values()
	redact(p, r.Table(), v)
	if v[RejectedRecords.Col("record_key")] != r.RecordKey {
		t.Errorf("a coupon body's key changed: %v", v)
	}
}
