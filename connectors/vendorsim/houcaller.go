package vendorsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"time"
)

// HoucallerOptions configures the Houcaller (豪客来) CRM openapi simulator.
type HoucallerOptions struct {
	Seed int64
	// MemberIDs are the Houcaller member ids to simulate (e.g. the DM Hub
	// simulator's c_houcaller_id values). nil = 50 generated ids.
	MemberIDs []string
	// Channel is the only accepted channel (default "hkl-test").
	Channel string
	// DESKey is the channel's 8-byte key (default "hklsim01").
	DESKey string
	// Mode is "ecb" (default) or "cbc"; IV is the fixed 8-byte CBC IV
	// (default "01234567").
	Mode string
	IV   string
	// Padding is "pkcs5" (default) or "zero".
	Padding string
	// SmgEvery makes every n-th successful response spell "msg" as "smg"
	// (default 5; negative disables).
	SmgEvery int
	// TimestampWindow rejects envelopes whose timestamp (epoch ms) differs
	// from the clock by more than this (0 = not checked).
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
	RateLimit   float64 // requests/second per channel; 0 = unlimited
	Now         func() time.Time
	// RecentMonths > 0 puts each member's points history in the
	// RecentMonths calendar months (China time) ending with Now's month,
	// like a live tenant's; 0 keeps the fixed history of 2024-01..2025-12.
	RecentMonths int
}

// HoucallerMember is a simulated Houcaller member.
type HoucallerMember struct {
	ID      string
	OpenID  string // platformId
	UnionID string
	Phone   string
	CardNo  string
}

// HoucallerCoupon is a member coupon instance (listCpnItemByMember item).
type HoucallerCoupon struct {
	ID        string // instance key
	Code      string // cpnCode, 13 digits
	CouponID  string // emitted as "cpnid" ("cpnId" is always "")
	Name      string
	Type      string // cpnType: "0" dine-in, "1" delivery, "2" mall
	Status    int    // 0 unused, 1 used, 2 expired, 3 refunded, 7 being gifted
	CacStatus int    // 0 or -1
	BegDate   string // YYYY-MM-DD
	EndDate   string // YYYY-MM-DD
	UseTime   *time.Time
	MemberID  string // mmbid
	OpenID    string
	SellScene string
	TimeLimit string
	WeekLimit string
	PicURL    string
}

// HoucallerCouponDef is a coupon definition (listCpnForShop item).
type HoucallerCouponDef struct {
	ID        string
	Name      string
	Type      string
	Status    int
	ValidDays int
	TimeLimit string
	WeekLimit string
	PicURL    string
}

// HoucallerScoreRecord is a points record (queryMemberScoRecordForShop).
type HoucallerScoreRecord struct {
	ID          string
	MemberID    string
	CardNo      string
	BizDate     time.Time // instant (emitted as China local time)
	Month       string    // YYYY-MM of BizDate in China time
	IncScore    int64
	ExpScore    int64
	ScoreAmt    int64 // balance after this record
	Amount      float64
	ConsAmt     float64
	ScoType     int
	HbsBusiType int
	OrgCode     string
	Remark      string
}

// Houcaller simulates POST {root}/openapi/v1/{method}. The Server mounts it
// at /houcaller/htest.
type Houcaller struct {
	simBase
	opts   HoucallerOptions
	codec  *desCodec
	cfgErr error
	mux    *http.ServeMux

	mu        sync.Mutex
	rng       *rand.Rand
	members   []HoucallerMember
	byID      map[string]int
	byOpenID  map[string]int
	coupons   map[string][]*HoucallerCoupon
	couponIx  map[string]*HoucallerCoupon
	defs      []HoucallerCouponDef
	scores    map[string][]*HoucallerScoreRecord
	successes int
	nextCode  int64
	nextRec   int64
}

// NewHoucaller builds the simulator. An invalid DES configuration (key or IV
// not 8 bytes, unknown mode or padding) is reported by Err, and every request
// is then answered with HTTP 500.
func NewHoucaller(opts HoucallerOptions) *Houcaller {
	if opts.Channel == "" {
		opts.Channel = "hkl-test"
	}
	if opts.DESKey == "" {
		opts.DESKey = "hklsim01"
	}
	if opts.IV == "" {
		opts.IV = "01234567"
	}
	if opts.SmgEvery == 0 {
		opts.SmgEvery = 5
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	codec, err := newDESCodec(opts.DESKey, opts.Mode, opts.IV, opts.Padding)
	h := &Houcaller{
		cfgErr:   err,
		simBase:  newSimBase(opts.Seed, 0x686f75, opts.Latency, opts.ErrorRate, opts.Faults, opts.Hostile, opts.RateLimit, opts.Now),
		opts:     opts,
		codec:    codec,
		rng:      rand.New(rand.NewPCG(uint64(opts.Seed), 0x686f7563)),
		byID:     make(map[string]int),
		byOpenID: make(map[string]int),
		coupons:  make(map[string][]*HoucallerCoupon),
		couponIx: make(map[string]*HoucallerCoupon),
		scores:   make(map[string][]*HoucallerScoreRecord),
		nextCode: 7270000006699,
		nextRec:  880001,
	}
	h.generate()
	h.mux = http.NewServeMux()
	h.mux.HandleFunc("POST /openapi/v1/{method}", h.handle)
	return h
}

// ServeHTTP implements http.Handler.
func (h *Houcaller) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Err reports an invalid configuration (nil when valid).
func (h *Houcaller) Err() error { return h.cfgErr }

// Options returns the effective options.
func (h *Houcaller) Options() HoucallerOptions { return h.opts }

func (h *Houcaller) generate() {
	r := h.rng
	ids := h.opts.MemberIDs
	if ids == nil {
		seen := map[string]bool{}
		for len(ids) < 50 {
			id := "K1H9" + randString(r, alnumUpper, 9)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	names := []struct{ name, typ, pic, tl, wl string }{
		{"新会员20元全场券", "0", "/upload_img/20170718/170718_2021456830.jpg", "", ""},
		{"新会员甜饮品8元优惠券", "0", "/upload_img/common/hklai.jpg", "", "1,2,3,4,5,6,7"},
		{"新会员22元午餐欢聚券", "0", "/upload_img/20170718/170718_2021456831.jpg", "11:00-14:00", ""},
		{"新会员8元午餐优惠券", "0", "/upload_img/20170718/170718_2021456832.jpg", "11:00-14:00", ""},
		{"外卖满60减10", "1", "/upload_img/common/waimai.jpg", "", ""},
		{"商城牛排兑换券", "2", "/upload_img/common/mall.jpg", "", ""},
		{"周末双人套餐券", "0", "/upload_img/common/weekend.jpg", "", "6,7"},
	}
	for _, n := range names {
		h.defs = append(h.defs, HoucallerCouponDef{
			ID: pick(r, []string{"H3UA24SI", "JCUH1EF5"}) + randString(r, alnumUpper, 4+r.IntN(2)), Name: n.name, Type: n.typ,
			ValidDays: pick(r, []int{30, 60, 90}), TimeLimit: n.tl, WeekLimit: n.wl, PicURL: n.pic,
		})
	}
	for i, id := range ids {
		m := HoucallerMember{
			ID: id, OpenID: "oEv-It_" + randString(r, b64url, 22), CardNo: "90120" + randDigits(r, 8),
			Phone: "1" + pick(r, []string{"3", "5", "8"}) + randDigits(r, 9),
		}
		if r.IntN(2) == 0 {
			m.UnionID = "oUn" + randString(r, b64url, 25)
		}
		h.members = append(h.members, m)
		h.byID[id] = i
		h.byOpenID[m.OpenID] = i
		for range r.IntN(7) {
			h.issue(m, randTime(r, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 0, 0, 0, 0, time.UTC)))
		}
		// Score history: monthly activity between 2024-01 and 2025-12, or
		// in the RecentMonths months up to now.
		var bal int64
		t, end, step := time.Date(2024, 1, 1, 2, 0, 0, 0, time.UTC), time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), 60*24*time.Hour
		if h.opts.RecentMonths > 0 {
			now := h.opts.Now().In(chinaZone())
			first := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, chinaZone()).AddDate(0, 1-h.opts.RecentMonths, 0)
			t, end = first.UTC(), now.UTC().Truncate(time.Second)
			step = max(time.Hour, end.Sub(t)/8)
		}
		for range r.IntN(16) {
			t = randTime(r, t.Add(time.Hour), t.Add(step))
			if t.After(end) {
				break
			}
			var inc, exp int64
			sco := 1
			if bal > 0 && r.IntN(3) == 0 {
				exp, sco = 1+r.Int64N(bal), pick(r, []int{3, 5, 8, 9})
			} else {
				inc, sco = int64(10+r.IntN(300)), pick(r, []int{1, 4, 6, 10})
			}
			bal += inc - exp
			h.addScore(m, t, inc, exp, bal, sco)
		}
	}
}

// issue creates a coupon instance for m drawn at t. Caller holds h.mu (or
// is the constructor).
func (h *Houcaller) issue(m HoucallerMember, t time.Time) *HoucallerCoupon {
	r := h.rng
	d := pick(r, h.defs)
	h.nextCode += 1 + r.Int64N(20000)
	beg := t.In(chinaZone())
	c := &HoucallerCoupon{
		ID: "K1H93QD" + randString(r, alnumUpper, 6), Code: strconv.FormatInt(h.nextCode, 10), CouponID: d.ID, Name: d.Name, Type: d.Type,
		CacStatus: pick(r, []int{0, 0, -1}), BegDate: beg.Format(layoutDate), EndDate: beg.AddDate(0, 0, d.ValidDays).Format(layoutDate),
		MemberID: m.ID, OpenID: m.OpenID, SellScene: pick(r, []string{"reg", "reg", h.opts.Channel}), TimeLimit: d.TimeLimit,
		WeekLimit: d.WeekLimit, PicURL: d.PicURL,
	}
	switch roll := r.IntN(10); {
	case roll < 2:
		u := randTime(r, t, t.Add(time.Duration(d.ValidDays)*24*time.Hour))
		c.Status, c.UseTime = 1, &u
	case roll < 4:
		c.Status = 2
	case roll == 4:
		c.Status = pick(r, []int{3, 7})
	}
	h.coupons[m.ID] = append(h.coupons[m.ID], c)
	h.couponIx[c.Code] = c
	return c
}

func (h *Houcaller) addScore(m HoucallerMember, t time.Time, inc, exp, bal int64, sco int) *HoucallerScoreRecord {
	r := h.rng
	t = t.UTC().Truncate(time.Second)
	rec := &HoucallerScoreRecord{
		ID: strconv.FormatInt(h.nextRec, 10), MemberID: m.ID, CardNo: m.CardNo, BizDate: t,
		Month: t.In(chinaZone()).Format("2006-01"), IncScore: inc, ExpScore: exp, ScoreAmt: bal, ScoType: sco,
		HbsBusiType: pick(r, []int{0, 1, 2, 3, -1, -2}), OrgCode: pick(r, []string{"0101", "0102", "0203"}),
		Remark: pick(r, []string{"", "消费积分", "积分兑换", "积分过期"}),
	}
	if inc > 0 {
		rec.ConsAmt = round2(float64(inc) + float64(r.IntN(100))/100)
		rec.Amount = rec.ConsAmt
	}
	h.nextRec += 1 + r.Int64N(7)
	h.scores[m.ID] = append(h.scores[m.ID], rec)
	return rec
}

// --- HTTP ---

func hcError(code int, msg string) jsonObj { return jsonObj{{"code", code}, {"msg", msg}} }

// hcFaultBodies are Houcaller's fault answers. The vendor publishes no
// error-code table (VA §2.2), so every code and text here is an assumption
// (see doc.go, "Faults").
func hcFaultBodies(path string) faultBodies {
	return faultBodies{
		http500: func(w http.ResponseWriter, v int) {
			if v == 0 {
				writeJSON(w, http.StatusInternalServerError, hcError(500, "服务器内部错误"))
				return
			}
			// a Java backend's default error page (Spring Boot's JSON)
			writeJSON(w, http.StatusInternalServerError, jsonObj{{"timestamp", "2020-02-11T07:28:40.924+0000"}, {"status", 500},
				{"error", "Internal Server Error"}, {"message", "No message available"}, {"path", path}})
		},
		busy: func(w http.ResponseWriter, v int) {
			if v == 0 {
				writeJSON(w, http.StatusOK, hcError(500000, "system busy"))
				return
			}
			writeJSON(w, http.StatusOK, hcError(500, "系统繁忙,请稍后再试"))
		},
		business: func(w http.ResponseWriter, _ int) {
			writeJSON(w, http.StatusOK, hcError(1003, "参数错误"))
		},
	}
}

func (h *Houcaller) handle(w http.ResponseWriter, r *http.Request) {
	if h.cfgErr != nil {
		http.Error(w, h.cfgErr.Error(), http.StatusInternalServerError)
		return
	}
	method := r.PathValue("method")
	var fn func(map[string]any) (any, jsonObj)
	switch method {
	case "listCpnItemByMember":
		fn = h.listCpnItemByMember
	case "queryMemberScoRecordForShop":
		fn = h.queryScore
	case "listCpnForShop":
		fn = h.listCpnForShop
	default:
		http.NotFound(w, r)
		return
	}
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var env struct {
		Param     string `json:"param"`
		Channel   string `json:"channel"`
		Timestamp string `json:"timestamp"`
	}
	envErr := json.Unmarshal(raw, &env)
	fault, ok := h.gate(w, r, method, env.Channel, func(w http.ResponseWriter) {
		writeJSON(w, http.StatusTooManyRequests, hcError(429, "请求过于频繁"))
	})
	if !ok {
		return
	}
	inner := func(w http.ResponseWriter, _ *http.Request) {
		switch {
		case envErr != nil:
			writeJSON(w, http.StatusOK, hcError(1003, "请求参数格式错误"))
			return
		case env.Channel != h.opts.Channel:
			writeJSON(w, http.StatusOK, hcError(1001, "渠道不存在"))
			return
		}
		ts, err := strconv.ParseInt(env.Timestamp, 10, 64)
		if err != nil {
			writeJSON(w, http.StatusOK, hcError(1003, "timestamp不能为空"))
			return
		}
		if win := h.opts.TimestampWindow; win > 0 {
			if d := h.opts.Now().Sub(time.UnixMilli(ts)); d > win || d < -win {
				writeJSON(w, http.StatusOK, hcError(1005, "请求已过期"))
				return
			}
		}
		plain, err := h.codec.decrypt(env.Param)
		var param map[string]any
		if err == nil {
			dec := json.NewDecoder(bytes.NewReader(plain))
			dec.UseNumber()
			err = dec.Decode(&param)
		}
		if err != nil || param == nil {
			writeJSON(w, http.StatusOK, hcError(1002, "param解密失败"))
			return
		}
		data, bizErr := fn(param)
		if bizErr != nil {
			writeJSON(w, http.StatusOK, bizErr)
			return
		}
		h.mu.Lock()
		h.successes++
		msgKey := "msg"
		if h.opts.SmgEvery > 0 && h.successes%h.opts.SmgEvery == 0 {
			msgKey = "smg"
		}
		h.mu.Unlock()
		writeJSON(w, http.StatusOK, jsonObj{{msgKey, "操作成功"}, {"code", 0}, {"data", data}})
	}
	h.faults.serve(w, r, fault, hcFaultBodies(r.URL.Path), func(w http.ResponseWriter, r *http.Request) {
		serveHostile(h.hostileMode(), h.opts.HostileRows, w, r, inner)
	})
}

func paramString(p map[string]any, k string) string {
	switch v := p[k].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

func (h *Houcaller) listCpnItemByMember(p map[string]any) (any, jsonObj) {
	mid, pid := paramString(p, "memberId"), paramString(p, "platformId")
	if mid == "" && pid == "" {
		return nil, hcError(1003, "会员ID和平台ID不可同时为空")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	idx, ok := h.byID[mid]
	if mid == "" {
		idx, ok = h.byOpenID[pid]
	}
	if !ok {
		return nil, hcError(1004, "会员不存在")
	}
	list := []jsonObj{}
	for _, c := range h.coupons[h.members[idx].ID] {
		useTime := ""
		if c.UseTime != nil {
			useTime = c.UseTime.In(chinaZone()).Format(layoutCNTime)
		}
		list = append(list, jsonObj{
			{"begDate", c.BegDate}, {"cacStatus", c.CacStatus}, {"content", ""}, {"cpnCode", c.Code}, {"cpnId", ""},
			{"cpnName", c.Name}, {"cpnType", c.Type}, {"cpnid", c.CouponID}, {"cpnids", []string{}}, {"endDate", c.EndDate},
			{"id", c.ID}, {"mmbid", c.MemberID}, {"openid", c.OpenID}, {"orgName", ""}, {"orgUse", 0}, {"orgcode", ""},
			{"picUrl", c.PicURL}, {"sellScene", c.SellScene}, {"status", c.Status}, {"timeLimit", c.TimeLimit},
			{"useTime", useTime}, {"weekLimit", c.WeekLimit},
		})
	}
	return jsonObj{{"list", list}}, nil
}

func monthPattern() *regexp.Regexp { return regexp.MustCompile(`^\d{4}-(0[1-9]|1[0-2])$`) }

func (h *Houcaller) queryScore(p map[string]any) (any, jsonObj) {
	qt := paramString(p, "queryType")
	if qt == "" {
		qt = "memberId"
	}
	val := paramString(p, qt)
	month := paramString(p, "month")
	if month == "" {
		return nil, hcError(1003, "month不能为空")
	}
	if !monthPattern().MatchString(month) {
		return nil, hcError(1003, "month格式错误,应为YYYY-MM")
	}
	offset, limit := 0, 20
	if pg, ok := p["page"].(map[string]any); ok {
		if n, err := strconv.Atoi(paramString(pg, "offset")); err == nil && n >= 0 {
			offset = n
		}
		if n, err := strconv.Atoi(paramString(pg, "limit")); err == nil && n > 0 {
			limit = min(n, 100)
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	idx := -1
	for i, m := range h.members {
		var k string
		switch qt {
		case "memberId", "id":
			k = m.ID
		case "openId":
			k = m.OpenID
		case "unionId":
			k = m.UnionID
		case "phone":
			k = m.Phone
		default:
			return nil, hcError(1003, "queryType不支持")
		}
		if k != "" && k == val {
			idx = i
			break
		}
	}
	if idx < 0 {
		return nil, hcError(1004, "会员不存在")
	}
	var sel []*HoucallerScoreRecord
	var inc, exp int64
	for _, rec := range h.scores[h.members[idx].ID] {
		if rec.Month != month {
			continue
		}
		if s := paramString(p, "scoType"); s != "" && s != strconv.Itoa(rec.ScoType) {
			continue
		}
		if s := paramString(p, "hbsBusiType"); s != "" && s != strconv.Itoa(rec.HbsBusiType) {
			continue
		}
		sel = append(sel, rec)
		inc += rec.IncScore
		exp += rec.ExpScore
	}
	records := []jsonObj{}
	for _, rec := range sel[min(offset, len(sel)):min(offset+limit, len(sel))] {
		records = append(records, jsonObj{
			{"id", rec.ID}, {"mmbId", rec.MemberID}, {"amount", money(rec.Amount)}, {"bizDate", rec.BizDate.In(chinaZone()).Format(layoutCNTime)},
			{"cardNo", rec.CardNo}, {"consAmt", money(rec.ConsAmt)}, {"expScore", rec.ExpScore}, {"incScore", rec.IncScore},
			{"orgCode", rec.OrgCode}, {"remark", rec.Remark}, {"scoreAmt", rec.ScoreAmt}, {"scoType", rec.ScoType},
			{"hbsBusiType", rec.HbsBusiType},
		})
	}
	pages := (len(sel) + limit - 1) / limit
	return jsonObj{
		{"totalIncScore", inc}, {"totalExpScore", exp}, {"records", records},
		{"page", jsonObj{{"next", offset+limit < len(sel)}, {"pages", pages}}},
	}, nil
}

func (h *Houcaller) listCpnForShop(map[string]any) (any, jsonObj) {
	h.mu.Lock()
	defer h.mu.Unlock()
	list := []jsonObj{}
	for i, d := range h.defs {
		list = append(list, jsonObj{
			{"begSend", "2020-01-01"}, {"begTime", "2020-01-01 00:00:00"}, {"endTime", "2030-12-31 23:59:59"}, {"content", ""},
			{"cpnName", d.Name}, {"cpnType", d.Type}, {"delay", 0}, {"id", d.ID}, {"isBatch", 0}, {"isshow", 1},
			{"picUrl", d.PicURL}, {"posid", fmt.Sprintf("P%04d", i+1)}, {"status", d.Status}, {"barcode", ""},
			{"getLimit", 1}, {"getLimitAll", 0}, {"maxCount", 10000}, {"sendCount", 100 * (i + 1)}, {"seqName", ""},
			{"timeLimit", d.TimeLimit}, {"validDays", d.ValidDays}, {"weekLimit", d.WeekLimit},
		})
	}
	return jsonObj{{"list", list}}, nil
}

// --- ground truth and mutations ---

// Members returns the simulated members in construction order.
func (h *Houcaller) Members() []HoucallerMember {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.members)
}

// Coupons returns a member's coupon instances in issue order.
func (h *Houcaller) Coupons(memberID string) []HoucallerCoupon {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HoucallerCoupon, 0, len(h.coupons[memberID]))
	for _, c := range h.coupons[memberID] {
		cc := *c
		if c.UseTime != nil {
			t := *c.UseTime
			cc.UseTime = &t
		}
		out = append(out, cc)
	}
	return out
}

// CouponDefs returns the coupon definitions served by listCpnForShop.
func (h *Houcaller) CouponDefs() []HoucallerCouponDef {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.defs)
}

// ScoreRecords returns a member's points records in time order.
func (h *Houcaller) ScoreRecords(memberID string) []HoucallerScoreRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]HoucallerScoreRecord, 0, len(h.scores[memberID]))
	for _, r := range h.scores[memberID] {
		out = append(out, *r)
	}
	return out
}

// EncryptParam encrypts v (as compact JSON) with the configured DES scheme
// and returns the uppercase hex "param" value. Intended for simulator tests
// and demo tooling, not for production clients.
func (h *Houcaller) EncryptParam(v any) (string, error) {
	if h.cfgErr != nil {
		return "", h.cfgErr
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return h.codec.encrypt(b), nil
}

// IssueCoupon gives a member a new unused coupon, valid from the clock's day.
func (h *Houcaller) IssueCoupon(memberID string) (HoucallerCoupon, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i, ok := h.byID[memberID]
	if !ok {
		return HoucallerCoupon{}, fmt.Errorf("%w: houcaller member %q", ErrNotFound, memberID)
	}
	c := h.issue(h.members[i], h.opts.Now())
	c.Status, c.UseTime = 0, nil
	return *c, nil
}

// UseCoupon marks a coupon used (status 1) at the clock time.
func (h *Houcaller) UseCoupon(code string) (HoucallerCoupon, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.couponIx[code]
	if !ok {
		return HoucallerCoupon{}, fmt.Errorf("%w: houcaller coupon %q", ErrNotFound, code)
	}
	now := h.opts.Now().UTC().Truncate(time.Second)
	c.Status, c.UseTime = 1, &now
	return *c, nil
}

// AddScore appends a points record at the clock time (delta > 0 accrual,
// delta < 0 redemption).
func (h *Houcaller) AddScore(memberID string, delta int64) (HoucallerScoreRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	i, ok := h.byID[memberID]
	if !ok {
		return HoucallerScoreRecord{}, fmt.Errorf("%w: houcaller member %q", ErrNotFound, memberID)
	}
	var bal int64
	if recs := h.scores[memberID]; len(recs) > 0 {
		bal = recs[len(recs)-1].ScoreAmt
	}
	if delta == 0 || bal+delta < 0 {
		return HoucallerScoreRecord{}, fmt.Errorf("vendorsim: houcaller score change %d with balance %d", delta, bal)
	}
	inc, exp, sco := delta, int64(0), 1
	if delta < 0 {
		inc, exp, sco = 0, -delta, 3
	}
	return *h.addScore(h.members[i], h.opts.Now(), inc, exp, bal+delta, sco), nil
}

func (h *Houcaller) mutate(req MutateRequest) (any, error) {
	switch req.Op {
	case "issue_coupon":
		return h.IssueCoupon(req.MemberID)
	case "use_coupon":
		return h.UseCoupon(req.CouponCode)
	case "add_score":
		return h.AddScore(req.MemberID, req.Delta)
	case "reset_requests":
		h.ResetRequests()
		return struct{}{}, nil
	}
	return nil, fmt.Errorf("houcaller: %w %q", errUnknownOp, req.Op)
}
