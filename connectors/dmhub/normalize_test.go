package dmhub

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestDecodeMember(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		in    string
		check func(t *testing.T, m map[string]any)
		err   string
	}{
		{name: "documented example (S000 §1)", in: `{"address":null,"balance":null,"birthday":"1988-01-01","createMethod":"外部系统导入",
			"customerId":null,"dateCreated":"2017-10-31T03:07:47Z","dateJoin":"2017-10-31T03:07:47Z","educationBackgro":null,
			"gender":1,"id":1,"lastUpdated":"2017-10-31T03:07:47Z","level":{"priority":0,"name":"青铜会员","id":422},
			"mobile":null,"name":"test","point":0,"c_驱蚊器":null}`,
			check: func(t *testing.T, m map[string]any) {
				want := map[string]any{"member_id": "1", "name": "test", "gender": "1", "birthday": "1988-01-01", "level_id": "422", "level_priority": "0",
					"level_name": "青铜会员", "point": int64(0), "balance": "<nil>", "custom_attrs": `{"c_驱蚊器":null}`,
					"last_updated": "2017-10-31T03:07:47Z", "mobile": ""}
				diff(t, m, want)
			}},
		{name: "level as bare number (S001), big customerId, custom keys", in: `{"id":123,"level":3,"customerId":418615942793357312,
			"cm_test2":"x","c_houcaller_id":"K1H93QDKI00B7","educationBackgro":"本科","balance":12.345,"point":"15"}`,
			check: func(t *testing.T, m map[string]any) {
				diff(t, m, map[string]any{"level_id": "", "level_priority": "3", "level_name": "", "customer_id": "418615942793357312",
					"custom_attrs": `{"c_houcaller_id":"K1H93QDKI00B7","cm_test2":"x"}`, "balance": "12.35", "point": int64(15)})
			}},
		{name: "pre-1970 birthday, zoneless UTC time, string null", in: `{"id":"9007199254740993","birthday":"1968-11-09",
			"lastUpdated":"2016-11-11T11:11:11","name":"null","dateJoin":"1960-01-01T00:00:00Z"}`,
			check: func(t *testing.T, m map[string]any) {
				diff(t, m, map[string]any{"member_id": "9007199254740993", "birthday": "1968-11-09",
					"last_updated": "2016-11-11T11:11:11Z", "name": "", "date_join": "<nil>"})
			}},
		{name: "no id", in: `{"name":"x"}`, err: "membership without an id"},
		{name: "bad point", in: `{"id":1,"point":"lots"}`, err: "membership 1: field point"},
		{name: "array", in: `[1,2]`, err: "membership is not a JSON object"},
		{name: "level object garbage", in: `{"id":1,"level":{"id":[1]}}`, err: "field level"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, err := decodeMember("acme", []byte(tt.in))
			if failed(t, err, tt.err) {
				return
			}
			if m.Source != "acme" || !json.Valid([]byte(m.Raw)) || strings.ContainsAny(m.Raw, "\n\t") {
				t.Errorf("source %q raw %q: want acme and compact JSON", m.Source, m.Raw)
			}
			ts := func(p *time.Time) string {
				if p == nil {
					return "<nil>"
				}
				return p.UTC().Format(time.RFC3339)
			}
			bal := "<nil>"
			if m.Balance != nil {
				bal = m.Balance.String()
			}
			prio := "<nil>"
			if m.LevelPriority != nil {
				prio = fmt.Sprint(*m.LevelPriority)
			}
			tt.check(t, map[string]any{"level_priority": prio, "member_id": m.MemberID, "name": m.Name, "gender": m.Gender, "birthday": m.Birthday,
				"level_id": m.LevelID, "level_name": m.LevelName, "point": m.Point, "balance": bal, "custom_attrs": m.CustomAttrs,
				"last_updated": ts(m.LastUpdated), "date_join": ts(m.DateJoin), "mobile": m.Mobile, "customer_id": m.CustomerID})
		})
	}
}

func diff(t *testing.T, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s = %#v, want %#v", k, got[k], w)
		}
	}
}

// FuzzDecodeMember: any bytes give an error or a row with an id, compact
// JSON raw and a JSON object of custom attributes; never a panic.
func FuzzDecodeMember(f *testing.F) {
	for _, s := range []string{
		`{"id":1,"level":{"priority":0,"name":"青铜会员","id":422},"c_x":null}`,
		`{"id":123,"level":3,"customerId":418615942793357312,"balance":1.5,"point":"15"}`,
		`{"id":"1","birthday":"1968-11-09","lastUpdated":"2016-11-11T11:11:11"}`,
		`{"id":1,"name":"null","dateJoin":"2017-10-31T03:07:47Z"}`, `[]`, `{`, `{"id":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMember("s", b)
		if err != nil {
			return
		}
		if m.MemberID == "" || !json.Valid([]byte(m.Raw)) || !json.Valid([]byte(m.CustomAttrs)) {
			t.Fatalf("decodeMember(%q) = %+v", b, m)
		}
	})
}
