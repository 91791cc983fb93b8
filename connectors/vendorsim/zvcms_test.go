package vendorsim

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// cnTimeRe matches a zero-padded China-time "YYYY-MM-DD HH:mm:ss".
func cnTimeRe() *regexp.Regexp {
	return regexp.MustCompile(`^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$`)
}

type zvEnv struct {
	sim *Zvcms
	srv *httptest.Server
}

func newZVEnv(t *testing.T, opts ZvcmsOptions) *zvEnv {
	t.Helper()
	if opts.Now == nil {
		opts.Now = newFakeClock().Now
	}
	sim := NewZvcms(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &zvEnv{sim: sim, srv: srv}
}

// testSign is an independent implementation of the documented default.
func testSign(secret, openID, grant, ts, nonce string) string {
	mac := hmac.New(sha1.New, []byte(secret))
	fmt.Fprintf(mac, "grantCode=%s&nonce=%s&openId=%s&timestamp=%s", grant, nonce, openID, ts)
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func (e *zvEnv) v3(t *testing.T, path, secret string, params any) map[string]any {
	t.Helper()
	o := e.sim.Options()
	if secret == "" {
		secret = o.Secret
	}
	ts, nonce := "1547186244", "658965"
	body := map[string]any{
		"openId": o.OpenID, "grantCode": o.GrantCode, "timestamp": ts, "nonce": nonce,
		"token": testSign(secret, o.OpenID, o.GrantCode, ts, nonce), "params": params,
	}
	res := do(t, http.MethodPost, e.srv.URL+path, body)
	if res.status != 200 {
		t.Fatalf("%s: HTTP %d", path, res.status)
	}
	return res.decode(t)
}

func TestZvcmsAuth(t *testing.T) {
	t.Parallel()
	e := newZVEnv(t, ZvcmsOptions{Seed: 1})
	cid := e.sim.Customers()[0].ID
	v := e.v3(t, "/v3/crm/coupon/getCustomerCoupons", "", map[string]any{"customerId": cid})
	if v["status"] != "true" || v["code"] != "0" {
		t.Fatalf("valid signature rejected: %v", v)
	}
	v = e.v3(t, "/v3/crm/coupon/getCustomerCoupons", "wrong-secret", map[string]any{"customerId": cid})
	if v["status"] != false || v["message"] != "签名错误" {
		t.Fatalf("bad signature: %v", v)
	}
	if _, ok := v["code"].(string); !ok {
		t.Fatalf("V3 error code should be a string: %v", v)
	}
	v = e.v3(t, "/v3/crm/coupon/getCustomerCoupons", "", map[string]any{"customerId": "000000000000000000"})
	if v["status"] != true || v["code"] == "0" || !strings.Contains(v["message"].(string), "查询的信息不存在") {
		t.Fatalf("business error shape: %v", v)
	}
	if e.sim.Sign(e.sim.Options().OpenID, e.sim.Options().GrantCode, "1", "2") != testSign(e.sim.Options().Secret, e.sim.Options().OpenID, e.sim.Options().GrantCode, "1", "2") {
		t.Fatal("Sign differs from the documented default")
	}
}

func TestZvcmsCoupons(t *testing.T) {
	t.Parallel()
	e := newZVEnv(t, ZvcmsOptions{Seed: 2})
	short := 0
	checked := 0
	for _, c := range e.sim.Customers() {
		want := e.sim.Coupons(c.ID)
		for _, cp := range want {
			if cp.UpdatedAtShort && cp.UpdatedAt.Second() < 10 {
				short++
			}
		}
		if len(want) == 0 || checked >= 8 {
			continue
		}
		checked++
		v := e.v3(t, "/v3/crm/coupon/getCustomerCoupons", "", map[string]any{"customerId": c.ID, "useStatus": ""})
		arr, ok := v["data"].([]any)
		if !ok || len(arr) != len(want) {
			t.Fatalf("without cardId data should be an array of %d: %v", len(want), v["data"])
		}
		v = e.v3(t, "/v3/crm/coupon/getCustomerCoupons", "", map[string]any{"customerId": c.ID, "cardId": want[0].CardID})
		obj, ok := v["data"].(map[string]any)
		if !ok || obj["cardId"] != want[0].CardID {
			t.Fatalf("with cardId data should be one object: %v", v["data"])
		}
		for _, k := range []string{"useStatus", "templateId", "couponType", "customerId", "couponId"} {
			if _, ok := obj[k].(string); !ok {
				t.Fatalf("%s should be a string: %v", k, obj[k])
			}
		}
		if obj["useStatus"] != strconv.Itoa(want[0].UseStatus) || !cnTimeRe().MatchString(obj["createdAt"].(string)) {
			t.Fatalf("coupon %v vs %+v", obj, want[0])
		}
	}
	if short == 0 || checked == 0 {
		t.Fatalf("short updatedAt %d, customers checked %d", short, checked)
	}
}

func TestZvcmsAllCustomerInfo(t *testing.T) {
	t.Parallel()
	e := newZVEnv(t, ZvcmsOptions{Seed: 3, CustomerIDs: []string{"383933091455959041"}})
	c := e.sim.Customers()[0]
	for _, params := range []map[string]any{{"customerId": c.ID}, {"type": 1, "mobile": c.Mobile}, {"type": "2", "cardNo": c.CardNo}} {
		v := e.v3(t, "/v3/crm/customer/allCustomerInfo", "", params)
		data, ok := v["data"].(map[string]any)
		if !ok {
			t.Fatalf("%v: %v", params, v)
		}
		if data["customerId"] != c.ID || data["totalPoints"] != json.Number(fmt.Sprint(c.TotalPoints)) ||
			data["updatedAt"] != json.Number(fmt.Sprint(c.UpdatedAt.Unix())) {
			t.Fatalf("%v: %v", params, data)
		}
	}
}

func TestZvcmsV2PointsRecords(t *testing.T) {
	t.Parallel()
	e := newZVEnv(t, ZvcmsOptions{Seed: 4})
	var cid string
	var want []ZvcmsPointRecord
	for _, c := range e.sim.Customers() {
		if rs := e.sim.PointRecords(c.ID); len(rs) >= 3 {
			cid, want = c.ID, rs
			break
		}
	}
	if cid == "" {
		t.Fatal("no customer with ≥3 point records")
	}
	o := e.sim.Options()
	call := func(params map[string]any, secret string) map[string]any {
		body := map[string]any{
			"OpenId": o.OpenID, "GrantCode": o.GrantCode, "Timestamp": "1547186244", "Nonce": "1",
			"Token": testSign(secret, o.OpenID, o.GrantCode, "1547186244", "1"), "Action": "user.user-points-records", "Params": params,
		}
		return do(t, "POST", e.srv.URL+"/api/v2", body).decode(t)
	}
	n, _ := strconv.ParseInt(cid, 10, 64)
	var total int
	for page := 1; ; page++ {
		v := call(map[string]any{"user_id": n, "page": page, "page_size": 2}, o.Secret)
		if v["status"] != true || v["code"] != json.Number("0") {
			t.Fatalf("V2 success types: %v", v)
		}
		data := v["data"].(map[string]any)
		items := data["item_list"].([]any)
		if page == 1 {
			first := items[0].(map[string]any)
			newest := want[len(want)-1]
			if first["previous_point"] != json.Number(fmt.Sprint(newest.PreviousPoint)) {
				t.Fatalf("not newest first: %v vs %+v", first, newest)
			}
		}
		total += len(items)
		if data["last_page"] == json.Number(fmt.Sprint(page)) {
			break
		}
		if page > 50 {
			t.Fatal("paging does not stop")
		}
	}
	if total != len(want) {
		t.Fatalf("%d items, want %d", total, len(want))
	}
	if v := call(map[string]any{"user_id": cid}, "bad"); v["status"] != false || v["message"] != "签名错误" {
		t.Fatalf("bad V2 signature: %v", v)
	}
}
