package vendorsim

import (
	"bytes"
	"crypto/cipher"
	"crypto/des"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// testDESEncrypt is an independent DES implementation for tests (ECB or CBC,
// PKCS5 or zero padding, uppercase hex).
func testDESEncrypt(t *testing.T, key, mode, iv, padding string, v any) string {
	t.Helper()
	plain, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if padding == "zero" {
		for len(plain)%8 != 0 || len(plain) == 0 {
			plain = append(plain, 0)
		}
	} else {
		p := 8 - len(plain)%8
		plain = append(plain, bytes.Repeat([]byte{byte(p)}, p)...)
	}
	b, err := des.NewCipher([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]byte, len(plain))
	if mode == "cbc" {
		cipher.NewCBCEncrypter(b, []byte(iv)).CryptBlocks(out, plain)
	} else {
		for i := 0; i < len(plain); i += 8 {
			b.Encrypt(out[i:], plain[i:i+8])
		}
	}
	return strings.ToUpper(hex.EncodeToString(out))
}

type hcEnv struct {
	sim *Houcaller
	srv *httptest.Server
}

func newHCEnv(t *testing.T, opts HoucallerOptions) *hcEnv {
	t.Helper()
	if opts.Now == nil {
		opts.Now = newFakeClock().Now
	}
	sim := NewHoucaller(opts)
	if sim.Err() != nil {
		t.Fatal(sim.Err())
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &hcEnv{sim: sim, srv: srv}
}

func (e *hcEnv) call(t *testing.T, method, key, channel string, param any) map[string]any {
	t.Helper()
	o := e.sim.Options()
	if key == "" {
		key = o.DESKey
	}
	if channel == "" {
		channel = o.Channel
	}
	body := map[string]string{
		"param":     testDESEncrypt(t, key, strings.ToLower(o.Mode), o.IV, strings.ToLower(o.Padding), param),
		"channel":   channel,
		"timestamp": "1581406120924",
	}
	res := do(t, http.MethodPost, e.srv.URL+"/openapi/v1/"+method, body)
	if res.status != 200 {
		t.Fatalf("%s: HTTP %d %s", method, res.status, res.body)
	}
	return res.decode(t)
}

func TestHoucallerDESVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, mode, padding string
	}{
		{"ecb pkcs5 (default)", "", ""},
		{"cbc pkcs5", "cbc", "pkcs5"},
		{"ecb zero", "ecb", "zero"},
		{"cbc zero", "cbc", "zero"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newHCEnv(t, HoucallerOptions{Seed: 1, Mode: tc.mode, Padding: tc.padding, DESKey: "k3y-8byt", SmgEvery: -1})
			id := e.sim.Members()[0].ID
			v := e.call(t, "listCpnItemByMember", "", "", map[string]string{"memberId": id})
			if v["code"] != json.Number("0") || v["msg"] != "操作成功" {
				t.Fatalf("right key rejected: %v", v)
			}
			v = e.call(t, "listCpnItemByMember", "wrongkey", "", map[string]string{"memberId": id})
			if v["code"] != json.Number("1002") {
				t.Fatalf("wrong key accepted: %v", v)
			}
		})
	}
	if got := NewHoucaller(HoucallerOptions{DESKey: "short"}).Err(); got == nil {
		t.Fatal("short key accepted")
	}
	// The doc sample {} encrypts to one 8-byte block (16 hex chars).
	enc, err := NewHoucaller(HoucallerOptions{}).EncryptParam(map[string]any{})
	if err != nil || len(enc) != 16 || strings.ToUpper(enc) != enc {
		t.Fatalf("EncryptParam({}) = %q, %v", enc, err)
	}
}

func TestHoucallerListCoupons(t *testing.T) {
	t.Parallel()
	e := newHCEnv(t, HoucallerOptions{Seed: 2, SmgEvery: -1})
	checked := 0
	for _, m := range e.sim.Members() {
		want := e.sim.Coupons(m.ID)
		if len(want) == 0 {
			continue
		}
		for _, param := range []map[string]string{{"memberId": m.ID}, {"platformId": m.OpenID}} {
			v := e.call(t, "listCpnItemByMember", "", "", param)
			list := v["data"].(map[string]any)["list"].([]any)
			if len(list) != len(want) {
				t.Fatalf("%v: %d items, want %d", param, len(list), len(want))
			}
			for i, it := range list {
				item := it.(map[string]any)
				if item["cpnid"] != want[i].CouponID || item["cpnId"] != "" || item["mmbid"] != m.ID ||
					item["cpnCode"] != want[i].Code || item["status"] != json.Number(fmt.Sprint(want[i].Status)) {
					t.Fatalf("item %v vs %+v", item, want[i])
				}
				if _, ok := item["cpnType"].(string); !ok {
					t.Fatalf("cpnType not a string: %v", item["cpnType"])
				}
			}
		}
		checked++
	}
	if checked == 0 {
		t.Fatal("no member with coupons")
	}
	tests := []struct {
		name    string
		channel string
		param   any
		code    string
	}{
		{"both ids empty", "", map[string]string{}, "1003"},
		{"unknown member", "", map[string]string{"memberId": "NOPE"}, "1004"},
		{"unknown channel", "other", map[string]string{"memberId": "x"}, "1001"},
	}
	for _, tc := range tests {
		if v := e.call(t, "listCpnItemByMember", "", tc.channel, tc.param); v["code"] != json.Number(tc.code) {
			t.Errorf("%s: %v", tc.name, v)
		}
	}
	if res := do(t, "POST", e.srv.URL+"/openapi/v1/nope", "{}"); res.status != 404 {
		t.Fatalf("unknown method: %d", res.status)
	}
}

func TestHoucallerSmg(t *testing.T) {
	t.Parallel()
	e := newHCEnv(t, HoucallerOptions{Seed: 3, SmgEvery: 3})
	var keys []string
	for range 6 {
		v := e.call(t, "listCpnForShop", "", "", map[string]any{})
		if _, ok := v["smg"]; ok {
			keys = append(keys, "smg")
		} else if _, ok := v["msg"]; ok {
			keys = append(keys, "msg")
		}
	}
	if want := []string{"msg", "msg", "smg", "msg", "msg", "smg"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("got %v, want %v", keys, want)
	}
}

func TestHoucallerScoreRecords(t *testing.T) {
	t.Parallel()
	e := newHCEnv(t, HoucallerOptions{Seed: 4, SmgEvery: -1})
	// Find a (member, month) with ≥ 2 records.
	var mid, month string
	var want []HoucallerScoreRecord
	for _, m := range e.sim.Members() {
		byMonth := map[string][]HoucallerScoreRecord{}
		for _, r := range e.sim.ScoreRecords(m.ID) {
			byMonth[r.Month] = append(byMonth[r.Month], r)
		}
		for mo, rs := range byMonth {
			if len(rs) >= 2 {
				mid, month, want = m.ID, mo, rs
			}
		}
		if mid != "" {
			break
		}
	}
	if mid == "" {
		t.Fatal("no member-month with 2 records")
	}
	var got []string
	var inc int64
	for _, r := range want {
		inc += r.IncScore
	}
	for offset := 0; ; offset++ {
		v := e.call(t, "queryMemberScoRecordForShop", "", "", map[string]any{"memberId": mid, "month": month, "page": map[string]int{"offset": offset, "limit": 1}})
		data := v["data"].(map[string]any)
		if data["totalIncScore"] != json.Number(fmt.Sprint(inc)) {
			t.Fatalf("totalIncScore %v want %d", data["totalIncScore"], inc)
		}
		recs := data["records"].([]any)
		if len(recs) != 1 {
			t.Fatalf("offset %d: %d records", offset, len(recs))
		}
		rec := recs[0].(map[string]any)
		if !cnTimeRe().MatchString(rec["bizDate"].(string)) {
			t.Fatalf("bizDate %v", rec["bizDate"])
		}
		got = append(got, rec["id"].(string))
		page := data["page"].(map[string]any)
		if page["pages"] != json.Number(fmt.Sprint(len(want))) {
			t.Fatalf("pages %v", page["pages"])
		}
		if page["next"] == false {
			break
		}
	}
	if len(got) != len(want) || got[0] != want[0].ID {
		t.Fatalf("paged ids %v, want %d records starting %s", got, len(want), want[0].ID)
	}
	for _, bad := range []map[string]any{{"memberId": mid}, {"memberId": mid, "month": "2024-13"}, {"memberId": mid, "month": "202401"}} {
		if v := e.call(t, "queryMemberScoRecordForShop", "", "", bad); v["code"] != json.Number("1003") {
			t.Errorf("%v accepted: %v", bad, v)
		}
	}
}

func TestHoucallerDeterminism(t *testing.T) {
	t.Parallel()
	ids := []string{"K1H93QDKI00B7", "JBLE18FNU0008"}
	a := NewHoucaller(HoucallerOptions{Seed: 9, MemberIDs: ids})
	b := NewHoucaller(HoucallerOptions{Seed: 9, MemberIDs: ids})
	if !reflect.DeepEqual(a.Members(), b.Members()) || !reflect.DeepEqual(a.Coupons(ids[0]), b.Coupons(ids[0])) ||
		!reflect.DeepEqual(a.ScoreRecords(ids[1]), b.ScoreRecords(ids[1])) {
		t.Fatal("same seed, different data")
	}
	if a.Members()[0].ID != ids[0] || len(a.Members()) != 2 {
		t.Fatal("MemberIDs not used")
	}
}

// TestHoucallerRecentMonths: with RecentMonths, every points record lies
// in the RecentMonths months ending with the clock's (China) month, and
// the first and the current month hold records; without it, the fixed 2024..2025 history.
func TestHoucallerRecentMonths(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 2, 0, 15, 0, 0, time.UTC)
	for _, recent := range []int{0, 3} {
		sim := NewHoucaller(HoucallerOptions{Seed: 4, RecentMonths: recent, Now: func() time.Time { return now }})
		lo, hi := "2024-01", "2025-12"
		if recent > 0 {
			lo, hi = "2026-10", "2026-12"
		}
		months := map[string]int{}
		for _, m := range sim.Members() {
			for _, r := range sim.ScoreRecords(m.ID) {
				if r.Month < lo || r.Month > hi || r.BizDate.After(now) {
					t.Errorf("recent %d: record %s of %s in %s (at %s), want %s..%s, not after %s", recent, r.ID, m.ID, r.Month, r.BizDate, lo, hi, now)
				}
				months[r.Month]++
			}
		}
		if months[lo] == 0 || (recent > 0 && months[hi] == 0) {
			t.Errorf("recent %d: records per month %v: the first (or, recent, the current) month is empty", recent, months)
		}
	}
}
