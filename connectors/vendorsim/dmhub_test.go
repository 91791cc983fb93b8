package vendorsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestDMHubToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		grant     string
		appid     string
		secret    string
		wantError bool
	}{
		{name: "valid", grant: "client_credentials", appid: "app", secret: "sec"},
		{name: "bad secret", grant: "client_credentials", appid: "app", secret: "nope", wantError: true},
		{name: "bad appid", grant: "client_credentials", appid: "other", secret: "sec", wantError: true},
		{name: "doc typo grant_type", grant: "client_credential", appid: "app", secret: "sec", wantError: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newDMEnv(t, DMHubOptions{Seed: 1, Members: 3, AppID: "app", AppSecret: "sec"})
			u := e.srv.URL + "/security/accesstoken?grant_type=" + tc.grant + "&appid=" + tc.appid + "&secret=" + tc.secret
			res := do(t, http.MethodGet, u, nil)
			if res.status != http.StatusOK {
				t.Fatalf("status %d, want 200 (errors come with 200)", res.status)
			}
			v := res.decode(t)
			if tc.wantError {
				if v["error_code"] != "40004" || v["error_description"] != "the params is illegal" {
					t.Fatalf("want string error_code 40004, got %s", res.body)
				}
				return
			}
			if v["error_code"] != json.Number("0") || v["expires_in"] != json.Number("7200") || v["access_token"] == "" {
				t.Fatalf("unexpected success body %s", res.body)
			}
		})
	}
}

func TestDMHubTokenRotationAndExpiry(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 2, Members: 3, TokenTTL: time.Hour})
	t1 := e.token(t)
	if res := e.api(t, "GET", t1, "/loyalty/v1/membership", nil); res.status != 200 || strings.Contains(string(res.body), "error") {
		t.Fatalf("first token rejected: %s", res.body)
	}
	t2 := e.token(t)
	if t1 == t2 {
		t.Fatal("new token equals old token")
	}
	res := e.api(t, "GET", t1, "/loyalty/v1/membership", nil)
	code, msg := errCode(res.decode(t))
	if res.status != 200 || code != "401001" || !strings.Contains(msg, "access_token") || !strings.Contains(msg, "superseded") {
		t.Fatalf("old token after rotation: status %d body %s", res.status, res.body)
	}
	if res := e.api(t, "GET", t2, "/loyalty/v1/membership", nil); res.status != 200 || !strings.HasPrefix(string(res.body), `{"rows"`) {
		t.Fatalf("new token rejected: %s", res.body)
	}
	e.clock.Advance(time.Hour)
	res = e.api(t, "GET", t2, "/loyalty/v1/membership", nil)
	code, msg = errCode(res.decode(t))
	if code != "401001" || !strings.Contains(msg, "access_token") {
		t.Fatalf("expired token accepted: %s", res.body)
	}
	// Bearer header is not accepted (query only).
	req, _ := http.NewRequest("GET", e.srv.URL+"/loyalty/v1/membership", nil)
	req.Header.Set("Authorization", "Bearer "+e.token(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := e.sim.Requests()["token"]; got != 3 {
		t.Fatalf("token counter %d, want 3", got)
	}
}

func TestDMHubMemberListPaging(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		members   int
		rows      int
		wantSizes []int
	}{
		{name: "three pages", members: 45, rows: 20, wantSizes: []int{20, 20, 5}},
		{name: "exact multiple", members: 40, rows: 20, wantSizes: []int{20, 20}},
		{name: "capped at MaxRows", members: 130, rows: 500, wantSizes: []int{100, 30}},
		{name: "default rows 20", members: 25, rows: 0, wantSizes: []int{20, 5}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newDMEnv(t, DMHubOptions{Seed: 3, Members: tc.members})
			tok := e.token(t)
			var ids []string
			for page := 1; ; page++ {
				q := fmt.Sprintf("/loyalty/v1/membership?page=%d&needTotal=true", page)
				if tc.rows > 0 {
					q += fmt.Sprintf("&rows=%d", tc.rows)
				}
				v := e.api(t, "GET", tok, q, nil).decode(t)
				rows := rowsOf(t, v)
				if page > len(tc.wantSizes) {
					if len(rows) != 0 {
						t.Fatalf("page %d past the end has %d rows", page, len(rows))
					}
					break
				}
				if len(rows) != tc.wantSizes[page-1] {
					t.Fatalf("page %d: %d rows, want %d", page, len(rows), tc.wantSizes[page-1])
				}
				if v["records"] != json.Number(fmt.Sprint(tc.members)) || v["total"] != json.Number(fmt.Sprint(len(tc.wantSizes))) {
					t.Fatalf("records/total = %v/%v", v["records"], v["total"])
				}
				for _, r := range rows {
					ids = append(ids, r["id"].(json.Number).String())
				}
			}
			var want []string
			for _, m := range e.sim.Members() {
				want = append(want, m.ID)
			}
			if !slices.Equal(ids, want) {
				t.Fatalf("ids over all pages differ from ground truth")
			}
		})
	}
}

func TestDMHubNeedTotalOnlyWhenAsked(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 3, Members: 5})
	v := e.api(t, "GET", e.token(t), "/loyalty/v1/membership?rows=2", nil).decode(t)
	if _, ok := v["total"]; ok {
		t.Fatal("total present without needTotal")
	}
	if _, ok := v["records"]; ok {
		t.Fatal("records present without needTotal")
	}
}

func TestDMHubMemberSort(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		ignoreSort bool
		query      string
		check      func(a, b DMHubMember) bool // must hold for consecutive rows
	}{
		{name: "default id asc", query: "", check: func(a, b DMHubMember) bool { return idLess(a.ID, b.ID) }},
		{name: "id desc", query: "&sidx=id&sord=desc", check: func(a, b DMHubMember) bool { return idLess(b.ID, a.ID) }},
		{name: "lastUpdated asc", query: "&sidx=lastUpdated&sord=asc", check: func(a, b DMHubMember) bool { return !a.LastUpdated.After(b.LastUpdated) }},
		{name: "lastUpdated desc", query: "&sidx=lastUpdated&sord=desc", check: func(a, b DMHubMember) bool { return !a.LastUpdated.Before(b.LastUpdated) }},
		{name: "ignored sort", ignoreSort: true, query: "&sidx=lastUpdated&sord=desc", check: func(a, b DMHubMember) bool { return idLess(a.ID, b.ID) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newDMEnv(t, DMHubOptions{Seed: 4, Members: 60, IgnoreSort: tc.ignoreSort})
			byID := map[string]DMHubMember{}
			for _, m := range e.sim.Members() {
				byID[m.ID] = m
			}
			rows := rowsOf(t, e.api(t, "GET", e.token(t), "/loyalty/v1/membership?rows=100"+tc.query, nil).decode(t))
			if len(rows) != 60 {
				t.Fatalf("%d rows", len(rows))
			}
			for i := 1; i < len(rows); i++ {
				a, b := byID[rows[i-1]["id"].(json.Number).String()], byID[rows[i]["id"].(json.Number).String()]
				if !tc.check(a, b) {
					t.Fatalf("order violated at %d: %s(%v) then %s(%v)", i, a.ID, a.LastUpdated, b.ID, b.LastUpdated)
				}
			}
		})
	}
}

func idLess(a, b string) bool { return len(a) < len(b) || (len(a) == len(b) && a < b) }

func TestDMHubBadParams(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 5, Members: 5})
	tok := e.token(t)
	for _, q := range []string{"rows=abc", "rows=0", "page=0", "sord=up", "sidx=name", "needTotal=maybe"} {
		res := e.api(t, "GET", tok, "/loyalty/v1/membership?"+q, nil)
		code, _ := errCode(res.decode(t))
		if res.status != http.StatusBadRequest || code != "400001" {
			t.Errorf("%s: status %d body %s", q, res.status, res.body)
		}
	}
}

func TestDMHubRoutingErrors(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 5, Members: 2})
	tok := e.token(t)
	tests := []struct {
		method, path string
		want         int
	}{
		{"GET", "/loyalty/v1/nope", http.StatusNotFound},
		{"GET", "/loyalty/v2/membership", http.StatusNotFound},
		{"POST", "/loyalty/v1/membership", http.StatusMethodNotAllowed},
		{"GET", "/loyalty/v1/deal", http.StatusMethodNotAllowed},
		{"POST", "/security/accesstoken", http.StatusMethodNotAllowed},
	}
	for _, tc := range tests {
		res := e.api(t, tc.method, tok, tc.path, nil)
		if res.status != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, res.status, tc.want)
		}
		if tc.want == http.StatusNotFound && !strings.HasPrefix(res.header.Get("Content-Type"), "text/plain") {
			t.Errorf("404 content type %q", res.header.Get("Content-Type"))
		}
	}
}

func TestDMHubMemberQuirks(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 6, Members: 120})
	res := e.api(t, "GET", e.token(t), "/loyalty/v1/membership?rows=100", nil)
	res2 := e.api(t, "GET", e.token(t), "/loyalty/v1/membership?rows=100&page=2", nil)
	raw := string(res.body) + string(res2.body)
	rows := append(rowsOf(t, res.decode(t)), rowsOf(t, res2.decode(t))...)
	truth := map[string]DMHubMember{}
	for _, m := range e.sim.Members() {
		truth[m.ID] = m
	}
	var objLevel, numLevel, noZ, pre1970, bigCustomer, hou, zv, balanceNull, balanceNum int
	houRe := regexp.MustCompile(`^[0-9A-Z]{13}$`)
	zvRe := regexp.MustCompile(`^\d{18}$`)
	for _, r := range rows {
		id := r["id"].(json.Number).String()
		m := truth[id]
		for _, k := range []string{"educationBackgro", "c_houcaller_id", "c_zvcms_id", "cm_test2", "c_驱蚊器", "dateJoin", "lastUpdated", "point", "gender"} {
			if _, ok := r[k]; !ok {
				t.Fatalf("member %s lacks key %q", id, k)
			}
		}
		switch lv := r["level"].(type) {
		case map[string]any:
			objLevel++
			if lv["id"].(json.Number).String() != m.LevelID || lv["name"] != m.LevelName {
				t.Fatalf("level mismatch for %s", id)
			}
		case json.Number:
			numLevel++
			if lv.String() != fmt.Sprint(m.LevelPriority) || !m.LegacyLevel {
				t.Fatalf("legacy level mismatch for %s", id)
			}
		default:
			t.Fatalf("level type %T", lv)
		}
		if lu := r["lastUpdated"].(string); !strings.HasSuffix(lu, "Z") {
			noZ++
			if !m.NoZ || lu != m.LastUpdated.Format("2006-01-02T15:04:05") {
				t.Fatalf("lastUpdated %q vs %v", lu, m.LastUpdated)
			}
		} else if lu != m.LastUpdated.Format(time.RFC3339) {
			t.Fatalf("lastUpdated %q vs %v", lu, m.LastUpdated)
		}
		if b, ok := r["birthday"].(string); ok && b < "1970" {
			pre1970++
		}
		if c, ok := r["customerId"].(json.Number); ok {
			if c.String() != m.CustomerID {
				t.Fatalf("customerId %s vs %s", c, m.CustomerID)
			}
			if len(c.String()) >= 17 {
				bigCustomer++
				if !strings.Contains(raw, `"customerId":`+m.CustomerID+`,`) {
					t.Fatalf("big customerId %s not emitted as exact raw number", m.CustomerID)
				}
			}
		} else if r["customerId"] != nil || m.CustomerID != "" {
			t.Fatalf("customerId %v vs %q", r["customerId"], m.CustomerID)
		}
		if h, ok := r["c_houcaller_id"].(string); ok {
			hou++
			if !houRe.MatchString(h) || h != m.HoucallerID {
				t.Fatalf("c_houcaller_id %q", h)
			}
		}
		if z, ok := r["c_zvcms_id"].(string); ok {
			zv++
			if !zvRe.MatchString(z) || z != m.ZvcmsID {
				t.Fatalf("c_zvcms_id %q", z)
			}
		}
		if b, ok := r["balance"].(json.Number); ok {
			balanceNum++
			if !regexp.MustCompile(`^\d+\.\d\d$`).MatchString(b.String()) || m.Balance == nil || fmt.Sprintf("%.2f", *m.Balance) != b.String() {
				t.Fatalf("balance %s vs %v", b, m.Balance)
			}
		} else {
			balanceNull++
		}
		if g := r["gender"].(json.Number).String(); g != "0" && g != "1" {
			t.Fatalf("gender %s", g)
		}
		if r["point"].(json.Number).String() != fmt.Sprint(m.Point) {
			t.Fatalf("point mismatch")
		}
	}
	for name, n := range map[string]int{"object level": objLevel, "number level": numLevel, "time without Z": noZ,
		"birthday before 1970": pre1970, "customerId > 2^53": bigCustomer, "c_houcaller_id": hou, "c_zvcms_id": zv,
		"null balance": balanceNull, "2-decimal balance": balanceNum} {
		if n == 0 {
			t.Errorf("no member with %s", name)
		}
	}
}

func TestDMHubPointConsistency(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 7, Members: 80})
	withRecords := 0
	for _, m := range e.sim.Members() {
		recs := e.sim.PointRecords(m.ID)
		var sum int64
		for i, r := range recs {
			if r.Point <= 0 || r.Delta != int64(r.Type)*r.Point || r.NewPoint != r.OldPoint+r.Delta {
				t.Fatalf("record %s inconsistent: %+v", r.ID, r)
			}
			if i > 0 && r.OldPoint != recs[i-1].NewPoint {
				t.Fatalf("record chain broken for member %s", m.ID)
			}
			sum += r.Delta
		}
		if len(recs) > 0 {
			withRecords++
			if m.Point != recs[len(recs)-1].NewPoint {
				t.Fatalf("member %s point %d != newest newPoint %d", m.ID, m.Point, recs[len(recs)-1].NewPoint)
			}
			if m.LastUpdated.Before(recs[len(recs)-1].LastUpdated) {
				t.Fatalf("member %s lastUpdated before its newest point record", m.ID)
			}
		}
		if sum != m.Point {
			t.Fatalf("member %s: deltas sum %d, point %d", m.ID, sum, m.Point)
		}
	}
	if withRecords == 0 {
		t.Fatal("no member has point records")
	}
}

func TestDMHubPointHistoryHTTP(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 8, Members: 40})
	tok := e.token(t)
	var m DMHubMember
	for _, c := range e.sim.Members() {
		if len(e.sim.PointRecords(c.ID)) >= 4 {
			m = c
			break
		}
	}
	if m.ID == "" {
		t.Fatal("no member with ≥4 point records")
	}
	recs := e.sim.PointRecords(m.ID)
	tests := []struct {
		sord  string
		first string
	}{{"asc", recs[0].ID}, {"desc", recs[len(recs)-1].ID}, {"", recs[0].ID}}
	for _, tc := range tests {
		v := e.api(t, "GET", tok, "/loyalty/v1/membership/"+m.ID+"/point?rows=2&page=1&needTotal=true&sord="+tc.sord, nil).decode(t)
		rows := rowsOf(t, v)
		if len(rows) != 2 || rows[0]["id"].(json.Number).String() != tc.first {
			t.Fatalf("sord=%q: first id %v, want %s", tc.sord, rows[0]["id"], tc.first)
		}
		if v["records"] != json.Number(fmt.Sprint(len(recs))) {
			t.Fatalf("records %v", v["records"])
		}
		for _, k := range []string{"id", "membershipId", "date", "dateCreated", "lastUpdated", "point", "oldPoint", "newPoint", "leftPoint", "pattern", "type", "status", "expireDate", "remark", "source", "externalId", "tenantId"} {
			if _, ok := rows[0][k]; !ok {
				t.Fatalf("point record lacks %q", k)
			}
		}
	}
	// Exp log and unknown member.
	if res := e.api(t, "GET", tok, "/loyalty/v1/membership/"+m.ID+"/exp/changeLogs?needTotal=true", nil); res.status != 200 {
		t.Fatalf("exp: %d", res.status)
	}
	res := e.api(t, "GET", tok, "/loyalty/v1/membership/999999999/point", nil)
	if code, _ := errCode(res.decode(t)); res.status != 200 || code != "409200" {
		t.Fatalf("unknown member: %d %s", res.status, res.body)
	}
}

func TestDMHubCouponsAndLevels(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 9, Members: 150})
	tok := e.token(t)
	res := e.api(t, "GET", tok, "/loyalty/v1/coupon?rows=100&needTotal=true", nil)
	if !strings.Contains(string(res.body), `"goodsLimit":"null"`) {
		t.Fatal("no coupon with goodsLimit as the string \"null\"")
	}
	if got := len(rowsOf(t, res.decode(t))); got != len(e.sim.Coupons()) {
		t.Fatalf("%d coupons, want %d", got, len(e.sim.Coupons()))
	}
	statuses := map[string]int{}
	checked := 0
	for _, m := range e.sim.Members() {
		mcs := e.sim.MemberCoupons(m.ID)
		for _, mc := range mcs {
			statuses[mc.Status]++
		}
		if len(mcs) == 0 || checked > 10 {
			continue
		}
		checked++
		v := e.api(t, "GET", tok, "/loyalty/v1/membership/"+m.ID+"/coupon", nil).decode(t)
		rows := rowsOf(t, v)
		if len(rows) != len(mcs) || v["records"] != json.Number(fmt.Sprint(len(mcs))) {
			t.Fatalf("member %s: %d coupons, want %d", m.ID, len(rows), len(mcs))
		}
		for i, r := range rows {
			if r["couponCode"] != mcs[i].Code || !strings.HasSuffix(r["uuid"].(string), "\r\n") || r["couponType"] == nil {
				t.Fatalf("coupon row %v", r)
			}
		}
	}
	for _, s := range []string{"normal", "used", "notStarted", "expired"} {
		if statuses[s] == 0 {
			t.Errorf("no member coupon with status %q", s)
		}
	}
	v := e.api(t, "GET", tok, "/loyalty/v1/settings/level/rules", nil).decode(t)
	if got := len(rowsOf(t, v)); got != len(e.sim.Levels()) {
		t.Fatalf("%d levels", got)
	}
}

func TestDMHubIdentities(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 10, Members: 30})
	tok := e.token(t)
	ms := e.sim.Members()
	var req []map[string]string
	var want []string
	for _, m := range ms[:5] {
		id := e.sim.Identities(m.ID)[0]
		req = append(req, map[string]string{"type": id.Type, "value": id.Value})
		want = append(want, m.ID)
	}
	req = append(req, map[string]string{"type": "wechat", "value": "does-not-exist"})
	v := e.api(t, "POST", tok, "/loyalty/v1/membershipService/listMembershipByIdentities", req).decode(t)
	rows := rowsOf(t, v)
	var got []string
	for _, r := range rows {
		got = append(got, r["membership"].(map[string]any)["id"].(json.Number).String())
		if len(r["identities"].([]any)) == 0 {
			t.Fatal("empty identities")
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	id := e.sim.Identities(ms[7].ID)[0]
	v = e.api(t, "GET", tok, "/loyalty/v1/membershipService/getMembershipByIdentity?type="+id.Type+"&value="+id.Value, nil).decode(t)
	if v["membership"].(map[string]any)["id"].(json.Number).String() != ms[7].ID {
		t.Fatalf("getMembershipByIdentity: %v", v)
	}
	res := e.api(t, "GET", tok, "/loyalty/v1/membershipService/getMembershipByIdentity?type=mobile&value=1", nil)
	if code, _ := errCode(res.decode(t)); code != "409200" {
		t.Fatalf("not found: %s", res.body)
	}
	res = e.api(t, "POST", tok, "/loyalty/v1/membershipService/listMembershipByIdentities", "[]")
	if code, _ := errCode(res.decode(t)); res.status != 400 || code != "400005" {
		t.Fatalf("empty list: %d %s", res.status, res.body)
	}
}

func TestDMHubRateLimit(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 11, Members: 3, RateLimit: 2})
	tok := e.token(t) // uses 1 of 2
	if res := e.api(t, "GET", tok, "/loyalty/v1/membership", nil); res.status != 200 {
		t.Fatalf("second request: %d", res.status)
	}
	res := e.api(t, "GET", tok, "/loyalty/v1/membership", nil)
	if res.status != http.StatusTooManyRequests || res.header.Get("Retry-After") != "1" {
		t.Fatalf("want 429 Retry-After 1, got %d %q", res.status, res.header.Get("Retry-After"))
	}
	e.clock.Advance(time.Second)
	if res := e.api(t, "GET", tok, "/loyalty/v1/membership", nil); res.status != 200 {
		t.Fatalf("after waiting: %d", res.status)
	}
	if got := e.sim.Requests()["membership.list"]; got != 3 {
		t.Fatalf("membership.list counter %d, want 3 (429s are counted)", got)
	}
	e.sim.ResetRequests()
	if len(e.sim.Requests()) != 0 {
		t.Fatal("ResetRequests did not clear")
	}
}

func TestDMHubDeterminism(t *testing.T) {
	t.Parallel()
	a := NewDMHub(DMHubOptions{Seed: 42, Members: 50})
	b := NewDMHub(DMHubOptions{Seed: 42, Members: 50})
	c := NewDMHub(DMHubOptions{Seed: 43, Members: 50})
	if !reflect.DeepEqual(a.Members(), b.Members()) || !reflect.DeepEqual(a.AllMemberCoupons(), b.AllMemberCoupons()) ||
		!reflect.DeepEqual(a.Coupons(), b.Coupons()) {
		t.Fatal("same seed, different data")
	}
	for _, m := range a.Members() {
		if !reflect.DeepEqual(a.PointRecords(m.ID), b.PointRecords(m.ID)) || !reflect.DeepEqual(a.Identities(m.ID), b.Identities(m.ID)) {
			t.Fatal("same seed, different history")
		}
	}
	if reflect.DeepEqual(a.Members(), c.Members()) {
		t.Fatal("different seeds, same data")
	}
}

func TestDMHubWrites(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 13, Members: 10})
	tok := e.token(t)
	m := e.sim.Members()[0]
	deal := func(orderNo string, drop string) map[string]any {
		d := map[string]any{
			"membershipId": json.Number(m.ID), "orderNo": orderNo, "salesChannel": "tmall", "store": "旗舰店",
			"dateOrder": "2026-02-28T10:00:00", "amountDiscount": 0, "amountPaid": 88.5, "amountTotal": 88.5,
			"dealLines": []map[string]any{{"lineId": "L1", "productName": "牛排", "qty": 1, "priceUnit": 88.5}},
		}
		delete(d, drop)
		return d
	}
	type step struct {
		name, path string
		body       any
		status     int
		code       any // expected error code, nil for success
		msg        string
	}
	steps := []step{
		{"create", "/loyalty/v1/deal", deal("A1", ""), 200, nil, ""},
		{"duplicate create", "/loyalty/v1/deal", deal("A1", ""), 200, "409000", ""},
		{"missing store", "/loyalty/v1/deal", deal("A2", "store"), 400, "400005", "Missing field store!"},
		{"missing lines", "/loyalty/v1/deal", deal("A2", "dealLines"), 400, "400005", "Missing field dealLines!"},
		{"amount as string", "/loyalty/v1/deal", func() any { d := deal("A2", ""); d["amountPaid"] = "88.5"; return d }(), 400, "400001", ""},
		{"unknown member", "/loyalty/v1/deal", func() any { d := deal("A2", ""); d["membershipId"] = 1; return d }(), 400, "400001", ""},
		{"update trailing slash", "/loyalty/v1/dealService/update/", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1", "dealLines": []map[string]any{{"lineId": "L2", "productName": "沙拉", "qty": 2}}}, 200, nil, ""},
		{"update unknown order", "/loyalty/v1/dealService/update/", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "ZZ", "dealLines": []map[string]any{{"lineId": "L2", "productName": "x", "qty": 2}}}, 200, "409000", ""},
		{"refund unknown line", "/loyalty/v1/dealService/refund", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1", "dateRefund": "2026-03-01T00:00:00Z", "refundTotal": 10, "refundLines": []map[string]any{{"lineId": "L1"}}}, 400, "400001", ""},
		{"refund", "/loyalty/v1/dealService/refund", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1", "dateRefund": "2026-03-01T00:00:00Z", "refundTotal": 10, "refundLines": []map[string]any{{"lineId": "L2"}}}, 200, nil, ""},
		{"refund again", "/loyalty/v1/dealService/refund", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1", "dateRefund": "2026-03-01T00:00:00Z", "refundTotal": 10, "refundLines": []map[string]any{{"lineId": "L2"}}}, 200, "409000", ""},
		{"delete refund", "/loyalty/v1/dealService/deleteRefund", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1"}, 200, nil, ""},
		{"cancel", "/loyalty/v1/dealService/cancel", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1"}, 200, nil, ""},
		{"cancel again", "/loyalty/v1/dealService/cancel", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1"}, 200, "409000", ""},
		{"delete", "/loyalty/v1/dealService/delete", map[string]any{"membershipId": json.Number(m.ID), "orderNo": "A1"}, 200, nil, ""},
		{"push missing provider", "/loyalty/v1/appPush/register", map[string]any{"appKey": "k", "pushId": "p", "os": "ios"}, 400, "400005", "Missing field provider!"},
		{"push bad os", "/loyalty/v1/appPush/register", map[string]any{"provider": "jpush", "appKey": "k", "pushId": "p", "os": "winphone"}, 400, "400001", "Invalid os(winphone)!"},
		{"push", "/loyalty/v1/appPush/register", map[string]any{"provider": "jpush", "appKey": "k", "pushId": "p", "os": "ios", "mobile": "nobody"}, 200, nil, ""},
		{"incr", "/loyalty/v1/membership/" + m.ID + "/point/incr", map[string]any{"point": 8, "pattern": 0, "remark": "赠送"}, 200, nil, ""},
		{"incr missing pattern", "/loyalty/v1/membership/" + m.ID + "/point/incr", map[string]any{"point": 8}, 400, "400005", "Missing field pattern!"},
		{"decr pattern 6", "/loyalty/v1/membership/" + m.ID + "/point/decr", map[string]any{"point": 3, "pattern": 6}, 200, nil, ""},
		{"incr pattern 6 invalid", "/loyalty/v1/membership/" + m.ID + "/point/incr", map[string]any{"point": 3, "pattern": 6}, 400, "400001", ""},
		{"decr too much", "/loyalty/v1/membership/" + m.ID + "/point/decr", map[string]any{"point": 1 << 40, "pattern": 0}, 200, "409000", ""},
	}
	for _, s := range steps {
		res := e.api(t, "POST", tok, s.path, s.body)
		v := res.decode(t)
		code, msg := errCode(v)
		if res.status != s.status || code != s.code || (s.msg != "" && msg != s.msg) {
			t.Fatalf("%s: status %d body %s", s.name, res.status, res.body)
		}
		if s.name == "create" && (v["id"] != "1" || v["state"] != "已付款") {
			t.Fatalf("create response %s", res.body)
		}
		if s.name == "refund" && v["refundTotal"] != "10" {
			t.Fatalf("refundTotal should come back as a string: %s", res.body)
		}
		if s.name == "push" && v["membershipId"] != nil {
			t.Fatalf("anonymous push: %s", res.body)
		}
	}
	var kinds []string
	for _, w := range e.sim.Writes() {
		kinds = append(kinds, w.Kind+w.Direction)
	}
	want := []string{"deal", "deal-update", "refund", "refund-delete", "deal-cancel", "deal-delete", "push-device", "pointsincr", "pointsdecr"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("writes %v, want %v", kinds, want)
	}
	after, _ := e.sim.Member(m.ID)
	if after.Point != m.Point+5 || !after.LastUpdated.Equal(e.clock.Now()) {
		t.Fatalf("point %d→%d lastUpdated %v", m.Point, after.Point, after.LastUpdated)
	}
	recs := e.sim.PointRecords(m.ID)
	last := recs[len(recs)-1]
	if last.Type != -1 || last.Point != 3 || last.Pattern != 6 || last.NewPoint != after.Point {
		t.Fatalf("last point record %+v", last)
	}
}

func TestDMHubMutations(t *testing.T) {
	t.Parallel()
	e := newDMEnv(t, DMHubOptions{Seed: 14, Members: 10})
	ms := e.sim.Members()
	m := ms[2]
	e.clock.Advance(time.Minute)
	mc, err := e.sim.DrawCoupon(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.sim.RedeemCoupon(mc.Code); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.sim.Member(m.ID); !got.LastUpdated.Equal(m.LastUpdated) {
		t.Fatal("coupon changes must not touch lastUpdated")
	}
	if _, err := e.sim.AddExpRecord(m.ID, 7); err != nil {
		t.Fatal(err)
	}
	upd, err := e.sim.UpdateMember(m.ID)
	if err != nil || !upd.LastUpdated.Equal(e.clock.Now()) {
		t.Fatalf("UpdateMember: %v %v", err, upd.LastUpdated)
	}
	e.clock.Advance(time.Minute)
	rec, err := e.sim.AddPointRecord(m.ID, 25, 4)
	if err != nil || rec.NewPoint != upd.Point+25 {
		t.Fatalf("AddPointRecord: %v %+v", err, rec)
	}
	if _, err := e.sim.AddPointRecord(m.ID, -1<<40, 0); err == nil {
		t.Fatal("overdraw accepted")
	}
	e.clock.Advance(time.Minute)
	created := e.sim.CreateMembers(3)
	if len(e.sim.Members()) != 13 || !created[0].DateCreated.Equal(e.clock.Now()) {
		t.Fatal("CreateMembers")
	}
	if _, err := e.sim.UpdateMember("nope"); err == nil {
		t.Fatal("unknown member accepted")
	}
	// Newest-first member list picks up the changes.
	rows := rowsOf(t, e.api(t, "GET", e.token(t), "/loyalty/v1/membership?sidx=lastUpdated&sord=desc&rows=4", nil).decode(t))
	got := []string{}
	for _, r := range rows {
		got = append(got, r["id"].(json.Number).String())
	}
	want := []string{created[0].ID, created[1].ID, created[2].ID, m.ID}
	if !slices.Equal(got, want) {
		t.Fatalf("newest first: %v, want %v", got, want)
	}
}
