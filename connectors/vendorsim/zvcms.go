package vendorsim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"
)

// ZvcmsOptions configures the zvcms (企迈) openapi simulator.
type ZvcmsOptions struct {
	Seed int64
	// CustomerIDs are the 18-digit customer ids to simulate (e.g. the DM Hub
	// simulator's c_zvcms_id values). nil = 50 generated ids.
	CustomerIDs []string
	// Mobiles gives customers (by id) a mobile in place of the generated
	// one: one person known to two vendors (ServerOptions.ShareMobiles).
	Mobiles map[string]string
	// OpenID, GrantCode and Secret are the accepted credentials (defaults
	// "sim-zvcms-open", "sim-grant", "sim-zvcms-secret").
	OpenID    string
	GrantCode string
	Secret    string
	// TimestampWindow rejects requests whose timestamp (epoch seconds)
	// differs from the clock by more than this (0 = not checked).
	TimestampWindow time.Duration
	Latency         time.Duration
	// ErrorRate in [0,1] is the probability that a request is faulted;
	// Faults selects the kinds (default: the transient mix, doc.go).
	ErrorRate float64
	Faults    FaultMix
	// Hostile replaces list answers by hostile payloads (see doc.go);
	// HostileRows is the HostileHugePage size (default: HugePageBytes).
	Hostile     Hostile
	HostileRows int
	RateLimit   float64 // requests/second per openId; 0 = unlimited
	Now         func() time.Time
}

// ZvcmsCustomer is a simulated customer (allCustomerInfo).
type ZvcmsCustomer struct {
	ID                  string // 18 digits
	Name                string
	Mobile              string
	CardNo              string
	OpenID              string
	UnionID             string
	Gender              int    // 0 unknown, 1 male, 2 female
	Birthday            string // YYYY-MM-DD
	LevelName           string
	TotalPoints         int64
	ForeverPoints       int64
	SoonExpiredPoints   int64
	ExpiredTime         time.Time
	GiftBalance         float64
	RechargeBalance     float64
	TotalGiftAmount     float64
	TotalRechargeAmount float64
	UpdatedAt           time.Time // emitted as an int (epoch seconds)
}

// ZvcmsCoupon is a customer's coupon (getCustomerCoupons).
type ZvcmsCoupon struct {
	CardID     string // 18 digits, key
	CouponID   string // 18 digits
	CustomerID string
	Title      string
	CouponType string // "0","2".."8" (there is no 1)
	UseStatus  int    // 0 unused, 1 redeemed, 2 frozen, 6 invalid, 7 deleted
	TemplateID string // emitted as a string although documented int
	Channel    string
	BeginAt    time.Time
	EndAt      time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
	// UpdatedAtShort marks updatedAt emitted with unpadded seconds
	// ("2019-10-15 17:10:2").
	UpdatedAtShort bool
	Extra          string
}

// ZvcmsPointRecord is a V2 user.user-points-records item.
type ZvcmsPointRecord struct {
	CustomerID    string
	PreviousPoint int64
	Type          int // 1 awarded, 2 spent
	SubType       int // when Type 2: 1 coupon exchange, 2 order spend; else 0
	SubName       string
	Points        int64 // positive magnitude
	Desc          string
	ChangeText    string
	CreatedAt     time.Time
}

// Zvcms simulates the zvcms openapi: V3 POST {root}/v3/crm/... and V2 POST
// {root}/api/v2. The Server mounts it at /zvcms.
type Zvcms struct {
	simBase
	opts ZvcmsOptions
	mux  *http.ServeMux

	mu        sync.Mutex
	rng       *rand.Rand
	customers []*ZvcmsCustomer
	byID      map[string]*ZvcmsCustomer
	coupons   map[string][]*ZvcmsCoupon
	couponIx  map[string]*ZvcmsCoupon
	points    map[string][]*ZvcmsPointRecord
	nextCard  int64
}

// NewZvcms builds the simulator.
func NewZvcms(opts ZvcmsOptions) *Zvcms {
	if opts.OpenID == "" {
		opts.OpenID = "sim-zvcms-open"
	}
	if opts.GrantCode == "" {
		opts.GrantCode = "sim-grant"
	}
	if opts.Secret == "" {
		opts.Secret = "sim-zvcms-secret"
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	z := &Zvcms{
		simBase:  newSimBase(opts.Seed, 0x7a76, opts.Latency, opts.ErrorRate, opts.Faults, opts.Hostile, opts.RateLimit, opts.Now),
		opts:     opts,
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x7a76636d73)),
		byID:     make(map[string]*ZvcmsCustomer),
		coupons:  make(map[string][]*ZvcmsCoupon),
		couponIx: make(map[string]*ZvcmsCoupon),
		points:   make(map[string][]*ZvcmsPointRecord),
		nextCard: 390913445498200065,
	}
	z.generate()
	m := http.NewServeMux()
	m.HandleFunc("POST /v3/crm/customer/allCustomerInfo", z.v3("allCustomerInfo", z.allCustomerInfo))
	m.HandleFunc("POST /v3/crm/coupon/getCustomerCoupons", z.v3("getCustomerCoupons", z.getCustomerCoupons))
	m.HandleFunc("POST /api/v2", z.v2)
	z.mux = m
	return z
}

// ServeHTTP implements http.Handler.
func (z *Zvcms) ServeHTTP(w http.ResponseWriter, r *http.Request) { z.mux.ServeHTTP(w, r) }

// Options returns the effective options.
func (z *Zvcms) Options() ZvcmsOptions { return z.opts }

// Sign returns the token for the given envelope fields under the documented
// default: urlencode(base64(HMAC-SHA1(secret, "grantCode=…&nonce=…&openId=…&timestamp=…"))).
func (z *Zvcms) Sign(openID, grantCode, timestamp, nonce string) string {
	return zvcmsSign(z.opts.Secret, openID, grantCode, timestamp, nonce)
}

func zvcmsSign(secret, openID, grantCode, timestamp, nonce string) string {
	msg := "grantCode=" + grantCode + "&nonce=" + nonce + "&openId=" + openID + "&timestamp=" + timestamp
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write([]byte(msg))
	return url.QueryEscape(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
}

func (z *Zvcms) generate() {
	r := z.rng
	ids := z.opts.CustomerIDs
	if ids == nil {
		seen := map[string]bool{}
		for len(ids) < 50 {
			id := "38" + randDigits(r, 16)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	v := newVocab()
	for _, id := range ids {
		c := &ZvcmsCustomer{
			ID: id, Name: pick(r, v.surnames) + pick(r, v.given), Mobile: "1" + pick(r, []string{"3", "5", "8", "9"}) + randDigits(r, 9),
			CardNo: "8800" + randDigits(r, 10), OpenID: "o" + randString(r, b64url, 27), Gender: r.IntN(3),
			Birthday:  randTime(r, time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2005, 1, 1, 0, 0, 0, 0, time.UTC)).Format(layoutDate),
			LevelName: pick(r, []string{"普通会员", "银卡会员", "金卡会员"}),
			UpdatedAt: randTime(r, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)),
		}
		if m, ok := z.opts.Mobiles[id]; ok {
			c.Mobile = m // after the draw: the other generated data stay the same
		}
		if r.IntN(2) == 0 {
			c.UnionID = "oU" + randString(r, b64url, 26)
		}
		c.RechargeBalance = round2(float64(r.IntN(100000)) / 100)
		c.GiftBalance = round2(float64(r.IntN(5000)) / 100)
		c.TotalRechargeAmount = round2(c.RechargeBalance + float64(r.IntN(100000))/100)
		c.TotalGiftAmount = round2(c.GiftBalance + float64(r.IntN(5000))/100)
		z.customers = append(z.customers, c)
		z.byID[id] = c
		for range r.IntN(5) {
			z.issue(c, randTime(r, time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC)), true)
		}
		t := time.Date(2019, 6, 1, 0, 0, 0, 0, time.UTC)
		for range r.IntN(12) {
			t = randTime(r, t.Add(time.Hour), t.Add(90*24*time.Hour))
			delta := int64(1 + r.IntN(200))
			if c.TotalPoints > 0 && r.IntN(3) == 0 {
				delta = -(1 + r.Int64N(c.TotalPoints))
			}
			z.addPoints(c, delta, t)
		}
		c.ForeverPoints = c.TotalPoints / 2
		c.SoonExpiredPoints = c.TotalPoints - c.ForeverPoints
		c.ExpiredTime = time.Date(2025, 12, 31, 15, 59, 59, 0, time.UTC) // 2025-12-31 23:59:59 China time
	}
}

// issue creates a coupon for c at t. random statuses only for generation.
func (z *Zvcms) issue(c *ZvcmsCustomer, t time.Time, randomStatus bool) *ZvcmsCoupon {
	r := z.rng
	z.nextCard += 1 + r.Int64N(1<<20)
	t = t.UTC().Truncate(time.Second)
	cp := &ZvcmsCoupon{
		CardID: strconv.FormatInt(z.nextCard, 10), CouponID: "3894205200795" + randDigits(r, 5), CustomerID: c.ID,
		Title:      pick(r, []string{"", "10元现金券", "奶茶买一送一", "免配送费券", "8折券"}),
		CouponType: pick(r, []string{"0", "0", "2", "4", "5", "6"}), TemplateID: strconv.Itoa(800 + r.IntN(200)),
		Channel: "naixue", BeginAt: t, EndAt: t.AddDate(0, 0, 30+r.IntN(60)), CreatedAt: t, UpdatedAt: t,
	}
	if randomStatus {
		cp.UseStatus = pick(r, []int{0, 0, 0, 1, 1, 2, 6, 7})
		if cp.UseStatus != 0 {
			cp.UpdatedAt = randTime(r, t, cp.EndAt)
		}
		if r.IntN(3) == 0 {
			// single-digit seconds, emitted unpadded ("17:10:2")
			cp.UpdatedAt = cp.UpdatedAt.Truncate(time.Minute).Add(time.Duration(r.IntN(10)) * time.Second)
			cp.UpdatedAtShort = true
		}
		if r.IntN(4) == 0 {
			cp.Extra = `{"source":"pos"}`
		}
	}
	z.coupons[c.ID] = append(z.coupons[c.ID], cp)
	z.couponIx[cp.CardID] = cp
	return cp
}

func (z *Zvcms) addPoints(c *ZvcmsCustomer, delta int64, t time.Time) *ZvcmsPointRecord {
	t = t.UTC().Truncate(time.Second)
	rec := &ZvcmsPointRecord{CustomerID: c.ID, PreviousPoint: c.TotalPoints, CreatedAt: t}
	if delta > 0 {
		rec.Type, rec.Points, rec.Desc, rec.ChangeText = 1, delta, "消费奖励积分", "+"+strconv.FormatInt(delta, 10)
		rec.SubName = "奖励积分"
	} else {
		rec.Type, rec.Points, rec.ChangeText = 2, -delta, "-"+strconv.FormatInt(-delta, 10)
		rec.SubType = 1 + z.rng.IntN(2)
		rec.SubName = map[int]string{1: "兑换优惠券", 2: "订单购买力"}[rec.SubType]
		rec.Desc = "积分消耗"
	}
	c.TotalPoints += delta
	if t.After(c.UpdatedAt) {
		c.UpdatedAt = t
	}
	z.points[c.ID] = append(z.points[c.ID], rec)
	return rec
}

// --- HTTP ---

func cnTime(t time.Time) string { return t.In(chinaZone()).Format(layoutCNTime) }

// cnTimeShort renders with unpadded seconds, as in "2019-10-15 17:10:2".
func cnTimeShort(t time.Time) string {
	l := t.In(chinaZone())
	return l.Format("2006-01-02 15:04:") + strconv.Itoa(l.Second())
}

func zvCouponJSON(c *ZvcmsCoupon) jsonObj {
	upd := cnTime(c.UpdatedAt)
	if c.UpdatedAtShort {
		upd = cnTimeShort(c.UpdatedAt)
	}
	return jsonObj{
		{"beginAt", cnTime(c.BeginAt)}, {"cardId", c.CardID}, {"channel", c.Channel}, {"couponId", c.CouponID},
		{"couponType", c.CouponType}, {"createdAt", cnTime(c.CreatedAt)}, {"customerId", c.CustomerID}, {"title", c.Title},
		{"updatedAt", upd}, {"useStatus", strconv.Itoa(c.UseStatus)}, {"templateId", c.TemplateID},
		{"endAt", cnTime(c.EndAt)}, {"extra", c.Extra},
	}
}

// zvV3Error is the V3 error envelope. system=true gives status false.
func zvV3Error(system bool, code, msg string) jsonObj {
	return jsonObj{{"status", !system}, {"code", code}, {"message", msg}}
}

// envelope holds the public parameters of either version.
type zvEnvelope struct {
	openID, grantCode, token, timestamp, nonce string
	params                                     map[string]any
}

func anyString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	}
	return ""
}

// authenticate checks credentials, freshness and signature. It returns the
// (code, message) of a system error, or "" when the request is authentic.
func (z *Zvcms) authenticate(e zvEnvelope) (string, string) {
	if e.openID != z.opts.OpenID || e.grantCode != z.opts.GrantCode {
		return "40003", "openId或grantCode无效"
	}
	ts, err := strconv.ParseInt(e.timestamp, 10, 64)
	n, nerr := strconv.ParseInt(e.nonce, 10, 64)
	if err != nil || nerr != nil || n <= 0 {
		return "40002", "timestamp或nonce无效"
	}
	if win := z.opts.TimestampWindow; win > 0 {
		if d := z.opts.Now().Sub(time.Unix(ts, 0)); d > win || d < -win {
			return "40004", "请求已过期"
		}
	}
	want := zvcmsSign(z.opts.Secret, e.openID, e.grantCode, e.timestamp, e.nonce)
	if !hmac.Equal([]byte(e.token), []byte(want)) {
		return "40005", "签名错误"
	}
	return "", ""
}

func decodeObject(raw []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		return nil, fmt.Errorf("not an object")
	}
	return m, nil
}

// bizResult is a handler outcome: data on success or a business error.
type bizResult struct {
	data    any
	errCode string
	errMsg  string
}

func (z *Zvcms) v3(name string, fn func(map[string]any) bizResult) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		body, decErr := decodeObject(raw)
		fault, ok := z.gate(w, r, name, anyString(body["openId"]), func(w http.ResponseWriter) {
			writeJSON(w, http.StatusTooManyRequests, zvV3Error(true, "42900", "请求过于频繁"))
		})
		if !ok {
			return
		}
		z.serve(w, r, fault, zvFaultBodies(func(system bool, code int, msg string) jsonObj {
			return zvV3Error(system, strconv.Itoa(code), msg)
		}), func(w http.ResponseWriter, _ *http.Request) {
			if decErr != nil {
				writeJSON(w, http.StatusOK, zvV3Error(true, "40001", "请求格式错误"))
				return
			}
			params, _ := body["params"].(map[string]any)
			e := zvEnvelope{
				openID: anyString(body["openId"]), grantCode: anyString(body["grantCode"]), token: anyString(body["token"]),
				timestamp: anyString(body["timestamp"]), nonce: anyString(body["nonce"]), params: params,
			}
			if code, msg := z.authenticate(e); code != "" {
				writeJSON(w, http.StatusOK, zvV3Error(true, code, msg))
				return
			}
			if e.params == nil {
				e.params = map[string]any{}
			}
			res := fn(e.params)
			if res.errCode != "" {
				writeJSON(w, http.StatusOK, zvV3Error(false, res.errCode, res.errMsg))
				return
			}
			// Success: status and code are strings, as in the vendor example.
			writeJSON(w, http.StatusOK, jsonObj{{"status", "true"}, {"code", "0"}, {"message", "成功"}, {"data", res.data}})
		})
	}
}

func (z *Zvcms) v2(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	body, decErr := decodeObject(raw)
	action := anyString(body["Action"])
	var fn func(map[string]any) bizResult
	switch action {
	case "user.user-points-records":
		fn = z.userPointsRecords
	}
	name := "v2." + action
	if fn == nil {
		name = "v2.unknown"
	}
	v2err := func(system bool, code int, msg string) jsonObj {
		return jsonObj{{"status", !system}, {"code", code}, {"message", msg}}
	}
	fault, ok := z.gate(w, r, name, anyString(body["OpenId"]), func(w http.ResponseWriter) {
		writeJSON(w, http.StatusTooManyRequests, v2err(true, 42900, "请求过于频繁"))
	})
	if !ok {
		return
	}
	z.serve(w, r, fault, zvFaultBodies(v2err), func(w http.ResponseWriter, _ *http.Request) {
		if decErr != nil {
			writeJSON(w, http.StatusOK, v2err(true, 40001, "请求格式错误"))
			return
		}
		params, _ := body["Params"].(map[string]any)
		e := zvEnvelope{
			openID: anyString(body["OpenId"]), grantCode: anyString(body["GrantCode"]), token: anyString(body["Token"]),
			timestamp: anyString(body["Timestamp"]), nonce: anyString(body["Nonce"]), params: params,
		}
		if code, msg := z.authenticate(e); code != "" {
			n, _ := strconv.Atoi(code)
			writeJSON(w, http.StatusOK, v2err(true, n, msg))
			return
		}
		if fn == nil {
			writeJSON(w, http.StatusOK, v2err(true, 40006, "Action不存在"))
			return
		}
		if e.params == nil {
			e.params = map[string]any{}
		}
		res := fn(e.params)
		if res.errCode != "" {
			n, _ := strconv.Atoi(res.errCode)
			writeJSON(w, http.StatusOK, v2err(false, n, res.errMsg))
			return
		}
		// V2 success uses the documented types: status bool, code int.
		writeJSON(w, http.StatusOK, jsonObj{{"status", true}, {"code", 0}, {"message", "成功"}, {"data", res.data}})
	})
}

// zvFaultBodies are zvcms's fault answers in the envelope of the version
// (V3 strings, V2 bool and int). The system-error shape {"status":false,
// "code","message"} is documented (VA §3.2); the global code table is not
// public, so the codes and texts are assumptions (see doc.go, "Faults").
func zvFaultBodies(envelope func(system bool, code int, msg string) jsonObj) faultBodies {
	return faultBodies{
		http500: func(w http.ResponseWriter, v int) {
			writeJSON(w, http.StatusInternalServerError, envelope(true, 50000+v, []string{"服务器内部错误", "internal error"}[v]))
		},
		busy: func(w http.ResponseWriter, v int) {
			writeJSON(w, http.StatusOK, envelope(true, 50000+v, []string{"系统繁忙", "系统繁忙,请稍后重试"}[v]))
		},
		business: func(w http.ResponseWriter, _ int) {
			writeJSON(w, http.StatusOK, envelope(false, 20003, "参数错误"))
		},
	}
}

// serve applies the fault and then the hostile mode around fn.
func (z *Zvcms) serve(w http.ResponseWriter, r *http.Request, fault faultPick, bodies faultBodies, fn http.HandlerFunc) {
	z.faults.serve(w, r, fault, bodies, func(w http.ResponseWriter, r *http.Request) {
		serveHostile(z.hostileMode(), z.opts.HostileRows, w, r, fn)
	})
}

func notExist() bizResult { return bizResult{errCode: "20001", errMsg: "查询的信息不存在"} }

// intParam reads an optional positive integer (number or numeric string).
func intParam(p map[string]any, k string, def int) (int, bool) {
	s := anyString(p[k])
	if s == "" {
		return def, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return n, true
}

// useStatusFilter reads an optional useStatus ("" = no filter).
func useStatusFilter(p map[string]any) (int, bool, bool) {
	s := anyString(p["useStatus"])
	if s == "" {
		return 0, false, true
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, false, false
	}
	return n, true, true
}

func (z *Zvcms) getCustomerCoupons(p map[string]any) bizResult {
	cid := anyString(p["customerId"])
	if cid == "" {
		return bizResult{errCode: "20002", errMsg: "customerId不能为空"}
	}
	status, filter, ok := useStatusFilter(p)
	if !ok {
		return bizResult{errCode: "20003", errMsg: "useStatus无效"}
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	if _, ok := z.byID[cid]; !ok {
		return notExist()
	}
	if card := anyString(p["cardId"]); card != "" {
		c, ok := z.couponIx[card]
		if !ok || c.CustomerID != cid || (filter && c.UseStatus != status) {
			return notExist()
		}
		return bizResult{data: zvCouponJSON(c)} // a single object, as in the example
	}
	list := []jsonObj{}
	for _, c := range z.coupons[cid] {
		if !filter || c.UseStatus == status {
			list = append(list, zvCouponJSON(c))
		}
	}
	return bizResult{data: list} // without cardId: an array
}

func (z *Zvcms) allCustomerInfo(p map[string]any) bizResult {
	pageNum, ok1 := intParam(p, "pageNum", 1)
	pageSize, ok2 := intParam(p, "pageSize", 10)
	status, filter, ok3 := useStatusFilter(p)
	if !ok1 || !ok2 || !ok3 {
		return bizResult{errCode: "20003", errMsg: "参数无效"}
	}
	pageSize = min(pageSize, 100)
	z.mu.Lock()
	defer z.mu.Unlock()
	var c *ZvcmsCustomer
	if cid := anyString(p["customerId"]); cid != "" {
		c = z.byID[cid]
	} else {
		typ := anyString(p["type"])
		field := map[string]string{"1": "mobile", "2": "cardNo", "4": "openId", "5": "unionId"}[typ]
		if field == "" && typ != "3" {
			return bizResult{errCode: "20002", errMsg: "customerId或type不能为空"}
		}
		val := anyString(p[field])
		for _, cu := range z.customers {
			k := map[string]string{"mobile": cu.Mobile, "cardNo": cu.CardNo, "openId": cu.OpenID, "unionId": cu.UnionID}[field]
			if val != "" && k == val {
				c = cu
				break
			}
		}
	}
	if c == nil {
		return notExist()
	}
	var all []*ZvcmsCoupon
	for _, cp := range z.coupons[c.ID] {
		if !filter || cp.UseStatus == status {
			all = append(all, cp)
		}
	}
	list := []jsonObj{}
	start := (pageNum - 1) * pageSize
	for _, cp := range all[min(start, len(all)):min(start+pageSize, len(all))] {
		list = append(list, zvCouponJSON(cp))
	}
	return bizResult{data: jsonObj{
		{"customerId", c.ID}, {"name", c.Name}, {"mobile", c.Mobile}, {"cardNo", c.CardNo}, {"gender", c.Gender},
		{"birthday", c.Birthday}, {"levelName", c.LevelName}, {"totalPoints", c.TotalPoints}, {"foreverPoints", c.ForeverPoints},
		{"soonExpiredPoints", c.SoonExpiredPoints}, {"expiredTime", cnTime(c.ExpiredTime)}, {"giftBalance", money(c.GiftBalance)},
		{"rechargeBalance", money(c.RechargeBalance)}, {"totalGiftAmount", money(c.TotalGiftAmount)},
		{"totalRechargeAmount", money(c.TotalRechargeAmount)}, {"updatedAt", c.UpdatedAt.Unix()},
		{"coupons", jsonObj{{"total", len(all)}, {"pageNum", pageNum}, {"pageSize", pageSize}, {"list", list}}},
	}}
}

func (z *Zvcms) userPointsRecords(p map[string]any) bizResult {
	uid := anyString(p["user_id"]) // documented int; 18-digit ids arrive as numbers or strings
	if uid == "" {
		return bizResult{errCode: "20002", errMsg: "user_id不能为空"}
	}
	page, ok1 := intParam(p, "page", 1)
	size, ok2 := intParam(p, "page_size", 10)
	if !ok1 || !ok2 {
		return bizResult{errCode: "20003", errMsg: "参数无效"}
	}
	size = min(size, 100)
	z.mu.Lock()
	defer z.mu.Unlock()
	if _, ok := z.byID[uid]; !ok {
		return notExist()
	}
	recs := slices.Clone(z.points[uid])
	slices.Reverse(recs) // newest first
	items := []jsonObj{}
	start := (page - 1) * size
	for _, rec := range recs[min(start, len(recs)):min(start+size, len(recs))] {
		items = append(items, jsonObj{
			{"previous_point", rec.PreviousPoint}, {"type", rec.Type}, {"sub_type", rec.SubType}, {"sub_name", rec.SubName},
			{"points", rec.Points}, {"desc", rec.Desc}, {"created_at", cnTime(rec.CreatedAt)}, {"change_text", rec.ChangeText},
		})
	}
	last := max(1, (len(recs)+size-1)/size)
	return bizResult{data: jsonObj{
		{"current_page", page}, {"per_page", size}, {"last_page", last}, {"total", len(recs)}, {"item_list", items},
	}}
}

// --- ground truth and mutations ---

// Customers returns copies of all customers in construction order.
func (z *Zvcms) Customers() []ZvcmsCustomer {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]ZvcmsCustomer, len(z.customers))
	for i, c := range z.customers {
		out[i] = *c
	}
	return out
}

// Coupons returns a customer's coupons in issue order.
func (z *Zvcms) Coupons(customerID string) []ZvcmsCoupon {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]ZvcmsCoupon, 0, len(z.coupons[customerID]))
	for _, c := range z.coupons[customerID] {
		out = append(out, *c)
	}
	return out
}

// PointRecords returns a customer's points records, oldest first (the API
// serves them newest first).
func (z *Zvcms) PointRecords(customerID string) []ZvcmsPointRecord {
	z.mu.Lock()
	defer z.mu.Unlock()
	out := make([]ZvcmsPointRecord, 0, len(z.points[customerID]))
	for _, r := range z.points[customerID] {
		out = append(out, *r)
	}
	return out
}

// IssueCoupon gives a customer a new unused coupon at the clock time.
func (z *Zvcms) IssueCoupon(customerID string) (ZvcmsCoupon, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	c, ok := z.byID[customerID]
	if !ok {
		return ZvcmsCoupon{}, fmt.Errorf("%w: zvcms customer %q", ErrNotFound, customerID)
	}
	return *z.issue(c, z.opts.Now(), false), nil
}

// UseCoupon marks a coupon redeemed (useStatus 1) and bumps its updatedAt.
func (z *Zvcms) UseCoupon(cardID string) (ZvcmsCoupon, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	c, ok := z.couponIx[cardID]
	if !ok {
		return ZvcmsCoupon{}, fmt.Errorf("%w: zvcms coupon %q", ErrNotFound, cardID)
	}
	c.UseStatus, c.UpdatedAt, c.UpdatedAtShort = 1, z.opts.Now().UTC().Truncate(time.Second), false
	return *c, nil
}

// AddPoints appends a points record (delta > 0 awarded, < 0 spent) and
// updates the customer's totalPoints and updatedAt.
func (z *Zvcms) AddPoints(customerID string, delta int64) (ZvcmsPointRecord, error) {
	z.mu.Lock()
	defer z.mu.Unlock()
	c, ok := z.byID[customerID]
	if !ok {
		return ZvcmsPointRecord{}, fmt.Errorf("%w: zvcms customer %q", ErrNotFound, customerID)
	}
	if delta == 0 || c.TotalPoints+delta < 0 {
		return ZvcmsPointRecord{}, fmt.Errorf("vendorsim: zvcms points change %d with balance %d", delta, c.TotalPoints)
	}
	rec := z.addPoints(c, delta, z.opts.Now())
	c.UpdatedAt = rec.CreatedAt
	return *rec, nil
}

func (z *Zvcms) mutate(req MutateRequest) (any, error) {
	switch req.Op {
	case "issue_coupon":
		return z.IssueCoupon(req.MemberID)
	case "use_coupon":
		return z.UseCoupon(req.CouponCode)
	case "add_points":
		return z.AddPoints(req.MemberID, req.Delta)
	case "reset_requests":
		z.ResetRequests()
		return struct{}{}, nil
	}
	return nil, fmt.Errorf("zvcms: %w %q", errUnknownOp, req.Op)
}
