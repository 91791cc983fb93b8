package vendorsim

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// dmTenantID is the tenantId carried by point and experience records.
const dmTenantID = 26

// Generated DM Hub history lies within [dmGenStart(), dmGenEnd()] (UTC), so
// the data set does not depend on the wall clock.
func dmGenStart() time.Time { return time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC) }

func dmGenEnd() time.Time { return time.Date(2024, 12, 31, 0, 0, 0, 0, time.UTC) }

// dmMember is the stored member: ground truth plus its numeric id.
type dmMember struct {
	DMHubMember
	num int64
}

// dmData is the whole simulated DM Hub tenant. It is guarded by DMHub.mu.
type dmData struct {
	rng *rand.Rand // generation and mutation randomness
	v   vocab

	members    []*dmMember // id ascending
	byID       map[int64]*dmMember
	identities map[int64][]DMHubIdentity
	identityIx map[string]int64 // type + "\x00" + value → member id
	points     map[int64][]*DMHubPointRecord
	exps       map[int64][]*DMHubExpRecord
	coupons    []*DMHubCoupon
	couponByID map[string]*DMHubCoupon
	mcoupons   map[int64][]*DMHubMemberCoupon
	mcouponIx  map[string]*DMHubMemberCoupon
	levels     []DMHubLevel

	nextMemberID   int64
	nextPointID    int64
	nextExpID      int64
	nextCouponCode int64
	drawCursor     int

	usedMobiles map[string]bool
	usedHou     map[string]bool
	usedZv      map[string]bool
}

// vocab holds the read-only word lists used for generation.
type vocab struct {
	surnames, given, education, industry, income []string
	createMethod, createChannel, emailDomains    []string
	sources, remarks                             []string
	cities                                       [][3]string
}

func newVocab() vocab {
	return vocab{
		surnames:      []string{"王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭", "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "欧阳", "司马"},
		given:         []string{"伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "浩然", "子涵", "欣怡", "梓萱", "宇轩", "一诺", "思远", "雨桐", "俊杰", "嘉怡", "晨曦", "文博", "佳琪"},
		education:     []string{"本科", "硕士", "大专", "高中", "博士"},
		industry:      []string{"互联网", "金融", "教育", "制造业", "零售"},
		income:        []string{"5000以下", "5000-10000", "10000-20000", "20000以上"},
		createMethod:  []string{"外部系统导入", "微信注册", "门店注册", "小程序注册"},
		createChannel: []string{"wechat", "pos", "miniprogram"},
		emailDomains:  []string{"qq.com", "163.com", "126.com", "gmail.com", "sina.com"},
		sources:       []string{"微信", "天猫", "门店", "小程序"},
		remarks:       []string{"", "消费送积分", "积分兑换", "生日奖励", "活动赠送", "积分调整", "退单扣回"},
		cities: [][3]string{
			{"上海市", "上海市", "浦东新区"}, {"北京市", "北京市", "朝阳区"}, {"广东省", "广州市", "天河区"},
			{"广东省", "深圳市", "南山区"}, {"浙江省", "杭州市", "西湖区"}, {"江苏省", "南京市", "鼓楼区"},
			{"四川省", "成都市", "武侯区"}, {"湖北省", "武汉市", "洪山区"}, {"安徽省", "合肥市", "蜀山区"},
		},
	}
}

const (
	alnumUpper = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	alnumMixed = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b64url     = alnumMixed + "-_"
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randString(r *rand.Rand, alphabet string, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(alphabet[r.IntN(len(alphabet))])
	}
	return b.String()
}

func randDigits(r *rand.Rand, n int) string { return randString(r, "0123456789", n) }

// randTime returns a second-precision instant uniformly in [from, to].
func randTime(r *rand.Rand, from, to time.Time) time.Time {
	span := int64(to.Sub(from) / time.Second)
	if span <= 0 {
		return from.Truncate(time.Second)
	}
	return from.Add(time.Duration(r.Int64N(span+1)) * time.Second).Truncate(time.Second)
}

func randUUID(r *rand.Rand) string {
	h := randString(r, "0123456789abcdef", 32)
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + h[16:20] + "-" + h[20:32]
}

func chance(r *rand.Rand, p float64) bool { return r.Float64() < p }

// newDMData generates the deterministic tenant for (seed, members).
func newDMData(seed int64, members int) *dmData {
	d := &dmData{
		rng:            rand.New(rand.NewPCG(uint64(seed), 0x646d687562)), // "dmhub"
		v:              newVocab(),
		byID:           make(map[int64]*dmMember),
		identities:     make(map[int64][]DMHubIdentity),
		identityIx:     make(map[string]int64),
		points:         make(map[int64][]*DMHubPointRecord),
		exps:           make(map[int64][]*DMHubExpRecord),
		couponByID:     make(map[string]*DMHubCoupon),
		mcoupons:       make(map[int64][]*DMHubMemberCoupon),
		mcouponIx:      make(map[string]*DMHubMemberCoupon),
		nextMemberID:   10001,
		nextPointID:    248,
		nextExpID:      256,
		nextCouponCode: 34636772868722688,
		usedMobiles:    make(map[string]bool),
		usedHou:        make(map[string]bool),
		usedZv:         make(map[string]bool),
	}
	d.levels = []DMHubLevel{
		{ID: "422", Name: "青铜会员", Priority: 0, IsForever: true, Operator: "or"},
		{ID: "423", Name: "白银会员", Priority: 1, IsForever: false, Operator: "or"},
		{ID: "424", Name: "黄金会员", Priority: 2, IsForever: true, Operator: "or"},
		{ID: "425", Name: "铂金会员", Priority: 3, IsForever: false, Operator: "or"},
		{ID: "426", Name: "钻石会员", Priority: 4, IsForever: false, Operator: "or"},
	}
	d.genCoupons()
	for i := range members {
		d.genMember(i, true, time.Time{})
	}
	return d
}

func (d *dmData) genCoupons() {
	r := d.rng
	type spec struct {
		name, label string
		typ         int
		freeFee     float64
		discount    float64
		amountLimit float64
	}
	specs := []spec{
		{"新会员20元代金券", "新人礼", 1, 20, 0, 100},
		{"全场8.5折券", "折扣", 2, 0, 0.85, 0},
		{"免费甜品券", "甜品", 3, 0, 0, 0},
		{"生日50元礼券", "生日礼", 1, 50, 0, 200},
		{"满200减30", "满减", 1, 30, 0, 200},
		{"饮品买一送一", "饮品", 3, 0, 0, 0},
		{"会员日9折", "会员日", 2, 0, 0.9, 50},
		{"午餐8元券", "午餐", 1, 8, 0, 40},
		{"周末7.5折", "周末", 2, 0, 0.75, 100},
		{"积分兑换牛排券", "兑换", 3, 0, 0, 0},
		{"外卖免配送费", "外卖", 1, 6, 0, 30},
		{"黄金会员专享100元券", "专享", 1, 100, 0, 500},
	}
	for i, s := range specs {
		c := &DMHubCoupon{
			ID:        randString(r, alnumMixed, 20),
			Name:      s.name,
			Label:     s.label,
			SubLabel:  "仅限" + pick(r, []string{"门店", "线上", "全渠道"}) + "使用",
			Type:      s.typ,
			DrawLimit: pick(r, []int{1, 2, 5, 100}),
			Total:     pick(r, []int{1000, 5000, 100000}),
			Note:      "不可与其他优惠同享",
		}
		if i%2 == 0 {
			c.ValidType = 2
			c.StartDays = r.IntN(6)
			c.ValidDays = pick(r, []int{5, 15, 30, 90})
		} else {
			c.ValidType = 1
			start := randTime(r, dmGenStart(), dmGenEnd().AddDate(-1, 0, 0))
			c.StartDate = start.Format(layoutDate)
			c.EndDate = start.AddDate(0, 6+r.IntN(18), 0).Format(layoutDate)
		}
		c.Channels = []DMHubCouponChannel{{CouponID: "OFF" + randDigits(r, 6), CouponChannel: "offline"}}
		if i%3 != 2 {
			c.Channels = append(c.Channels, DMHubCouponChannel{
				CouponID: "ON" + randDigits(r, 6), CouponChannel: "online",
				URL: "https://m.example-brand.cn/coupon/" + strconv.Itoa(i+1),
			})
		}
		if s.freeFee > 0 {
			v := s.freeFee
			c.FreeFee = &v
		}
		if s.discount > 0 {
			v := s.discount
			c.Discount = &v
		}
		if s.amountLimit > 0 {
			v := s.amountLimit
			c.AmountLimit = &v
		}
		switch i % 3 {
		case 0:
			c.GoodsLimitNullString = true // the string "null", as in the doc examples
		case 2:
			c.GoodsLimit = "SKU10086,SKU10087"
		}
		d.coupons = append(d.coupons, c)
		d.couponByID[c.ID] = c
	}
}

func (d *dmData) uniqueMobile() string {
	for {
		m := "1" + pick(d.rng, []string{"3", "5", "7", "8", "9"}) + randDigits(d.rng, 9)
		if !d.usedMobiles[m] {
			d.usedMobiles[m] = true
			return m
		}
	}
}

func (d *dmData) uniqueHoucallerID() string {
	for {
		id := pick(d.rng, []string{"K1H9", "JBLE", "K2A0", "K1J5"}) + randString(d.rng, alnumUpper, 9)
		if !d.usedHou[id] {
			d.usedHou[id] = true
			return id
		}
	}
}

func (d *dmData) uniqueZvcmsID() string {
	for {
		id := pick(d.rng, []string{"38", "39"}) + randDigits(d.rng, 16)
		if !d.usedZv[id] {
			d.usedZv[id] = true
			return id
		}
	}
}

// genMember creates member number idx. initial members get a generated
// history in [dmGenStart(), dmGenEnd]; later ones (CreateMembers) are created
// at now with only an initial-points record and no vendor cross ids.
func (d *dmData) genMember(idx int, initial bool, now time.Time) *dmMember {
	r := d.rng
	id := d.nextMemberID
	d.nextMemberID += 1 + int64(r.IntN(3)) // gaps, as after deletions
	m := &dmMember{num: id}
	m.ID = strconv.FormatInt(id, 10)

	surname := pick(r, d.v.surnames)
	given := pick(r, d.v.given)
	m.Name = surname + given
	if chance(r, 0.5) {
		m.FamilyName, m.GivenName = surname, given
	}
	m.Gender = r.IntN(2)
	switch {
	case idx%7 == 1:
		m.CustomerID = strconv.FormatInt(400000000000000000+r.Int64N(90000000000000000), 10) // > 2^53
	case idx%4 == 0:
		// null
	default:
		m.CustomerID = strconv.FormatInt(10000000+r.Int64N(90000000), 10)
	}
	if chance(r, 0.6) {
		m.MembershipCode = "M" + randDigits(r, 8)
	}
	if chance(r, 0.05) {
		m.IDCard = "3101" + randDigits(r, 13) + pick(r, []string{"X", "1", "7"})
	}
	if chance(r, 0.4) {
		m.EducationBackground = pick(r, d.v.education)
	}
	if chance(r, 0.3) {
		m.Img = "https://thirdwx.qlogo.cn/mmopen/" + randString(r, alnumMixed, 24) + "/132"
	}
	if idx%8 != 7 {
		m.Mobile = d.uniqueMobile()
	}
	if chance(r, 0.7) {
		m.Email = strings.ToLower(randString(r, alnumMixed, 6)) + strconv.Itoa(r.IntN(1000)) + "@" + pick(r, d.v.emailDomains)
	}
	switch {
	case idx%11 == 6:
		// null birthday
	case idx%6 == 2:
		m.Birthday = randTime(r, time.Date(1940, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(1969, 12, 31, 0, 0, 0, 0, time.UTC)).Format(layoutDate)
	default:
		m.Birthday = randTime(r, time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2006, 12, 31, 0, 0, 0, 0, time.UTC)).Format(layoutDate)
	}
	m.CreateMethod = pick(r, d.v.createMethod)
	if chance(r, 0.5) {
		m.CreateChannel = pick(r, d.v.createChannel)
	}
	if chance(r, 0.2) {
		m.Industry = pick(r, d.v.industry)
	}
	if chance(r, 0.2) {
		m.Income = pick(r, d.v.income)
	}
	if idx%2 == 0 {
		b := round2(float64(r.IntN(200000)) / 100)
		m.Balance = &b
	}
	m.LegacyLevel = idx%9 == 3
	m.NoZ = idx%13 == 5
	lv := d.levels[pick(r, []int{0, 0, 0, 0, 1, 1, 1, 2, 2, 3, 4})]
	m.LevelID, m.LevelName, m.LevelPriority = lv.ID, lv.Name, lv.Priority
	if !m.LegacyLevel {
		if chance(r, 0.6) {
			m.Source = pick(r, d.v.sources)
		}
		if chance(r, 0.3) {
			m.ContentName = "会员招募H5"
			m.CampaignID = randString(r, "0123456789abcdef", 32)
		}
		if chance(r, 0.8) {
			c := pick(r, d.v.cities)
			m.Country, m.Province, m.City, m.County = "中国", c[0], c[1], c[2]
			if chance(r, 0.5) {
				m.Address = c[1] + c[2] + pick(r, []string{"人民路", "解放路", "中山路", "建设路"}) + strconv.Itoa(1+r.IntN(999)) + "号"
			}
		}
	} else if chance(r, 0.3) {
		m.Referrer = pick(r, d.v.surnames) + pick(r, d.v.given)
	}
	if initial {
		if idx%5 != 3 {
			m.HoucallerID = d.uniqueHoucallerID()
		}
		if idx%3 != 2 {
			m.ZvcmsID = d.uniqueZvcmsID()
		}
	}
	m.CustomAttrs = map[string]any{
		"c_houcaller_id": nullStr(m.HoucallerID),
		"c_zvcms_id":     nullStr(m.ZvcmsID),
		"c_驱蚊器":          nil,
		"c_vip_store":    nil,
		"cm_test2":       nil,
	}
	if chance(r, 0.4) {
		m.CustomAttrs["c_vip_store"] = pick(r, []string{"上海南京西路店", "北京三里屯店", "广州天河城店"})
	}
	if chance(r, 0.5) {
		m.CustomAttrs["cm_test2"] = chance(r, 0.5)
	}
	if chance(r, 0.3) {
		m.CustomAttrs["c_visit_count"] = int64(r.IntN(50))
	}

	d.members = append(d.members, m)
	d.byID[id] = m

	if initial {
		created := randTime(r, dmGenStart(), dmGenEnd().AddDate(-1, 0, 0))
		m.DateCreated = created
		m.DateJoin = created
		if m.CreateMethod == "外部系统导入" && chance(r, 0.6) {
			m.DateJoin = randTime(r, created.AddDate(-3, 0, 0), created)
		}
		m.LastUpdated = created
		// Points history: an initial grant, then a few changes.
		t := created
		n := r.IntN(7)
		for k := range n {
			t = randTime(r, t.Add(time.Hour), t.Add(120*24*time.Hour))
			if t.After(dmGenEnd()) {
				break
			}
			var delta int64
			pattern := 0
			if k == 0 {
				delta, pattern = int64(50+r.IntN(500)), 1
			} else if chance(r, 0.6) || m.Point == 0 {
				delta, pattern = int64(1+r.IntN(300)), pick(r, []int{0, 2, 3, 4, 5})
			} else {
				delta, pattern = -int64(1+r.Int64N(m.Point)), pick(r, []int{0, 1, 2, 3, 4, 5, 6})
			}
			date := t
			if chance(r, 0.1) {
				date = t.Add(-time.Duration(1+r.IntN(72)) * time.Hour) // back-dated "date"
			}
			d.applyPoint(m, delta, pattern, date, t, pointExtras{
				remark:     pick(r, d.v.remarks),
				source:     pick(r, []string{"", "天猫", "门店", "微信"}),
				externalID: pick(r, []string{"", "wechat_leave_message", "order_" + randDigits(r, 10)}),
				noZ:        chance(r, 0.05),
			})
		}
		// Experience history.
		t = created
		for range r.IntN(4) {
			t = randTime(r, t.Add(time.Hour), t.Add(200*24*time.Hour))
			if t.After(dmGenEnd()) {
				break
			}
			d.applyExp(m, int64(5+r.IntN(100)), t, t.Add(-time.Second))
		}
		// Member lastUpdated: at or after the newest point change.
		if m.LastUpdated.Before(dmGenEnd()) && chance(r, 0.5) {
			m.LastUpdated = randTime(r, m.LastUpdated, minTime(m.LastUpdated.Add(60*24*time.Hour), dmGenEnd()))
		}
		// Coupons: drawing and redeeming do not touch lastUpdated.
		for range r.IntN(5) {
			c := pick(r, d.coupons)
			draw := randTime(r, created, dmGenEnd())
			mc := d.newMemberCoupon(m, c, draw)
			switch roll := r.Float64(); {
			case roll < 0.30:
				red := randTime(r, draw, minTime(draw.Add(60*24*time.Hour), dmGenEnd()))
				mc.Status, mc.DateRedeem = "used", &red
			case roll < 0.40:
				mc.Status = "expired" // undocumented value seen as a plausible extra
			case roll < 0.50:
				mc.Status = "notStarted"
			default:
				mc.Status = "normal"
			}
		}
	} else {
		m.DateCreated, m.DateJoin, m.LastUpdated = now, now, now
		if chance(r, 0.5) {
			d.applyPoint(m, int64(10+r.IntN(200)), 1, now, now, pointExtras{remark: "注册送积分"})
		}
	}
	d.addIdentities(m)
	return m
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

func (d *dmData) addIdentities(m *dmMember) {
	r := d.rng
	var ids []DMHubIdentity
	if m.Mobile != "" {
		ids = append(ids, DMHubIdentity{Type: "mobile", Value: m.Mobile})
	}
	if m.Mobile == "" || chance(r, 0.7) {
		ids = append(ids, DMHubIdentity{Type: "wechat", Value: "oEv-It_" + randString(r, b64url, 21), Name: "官方服务号"})
	}
	if chance(r, 0.35) {
		ids = append(ids, DMHubIdentity{Type: "wechat-unionid", Value: "oUn" + randString(r, b64url, 25)})
	}
	if chance(r, 0.1) {
		ids = append(ids, DMHubIdentity{Type: "taobao-account", Value: "tb_" + strings.ToLower(randString(r, alnumMixed, 10)), Name: "天猫旗舰店"})
	}
	if m.HoucallerID != "" {
		ids = append(ids, DMHubIdentity{Type: "c_houcaller", Value: m.HoucallerID, Name: "豪客来会员"})
	}
	if m.ZvcmsID != "" {
		ids = append(ids, DMHubIdentity{Type: "c_zvcms", Value: m.ZvcmsID})
	}
	d.identities[m.num] = ids
	for _, id := range ids {
		d.identityIx[id.Type+"\x00"+id.Value] = m.num
	}
}

// pointExtras are the optional fields of a point change.
type pointExtras struct {
	remark, source, contentName, campaignID, externalID string
	noZ                                                 bool
}

// applyPoint records a point change of delta (signed) for m at created
// (dateCreated/lastUpdated) with the business date date, and updates the
// member's point and lastUpdated.
func (d *dmData) applyPoint(m *dmMember, delta int64, pattern int, date, created time.Time, x pointExtras) *DMHubPointRecord {
	rec := &DMHubPointRecord{
		ID:          strconv.FormatInt(d.nextPointID, 10),
		MemberID:    m.ID,
		TenantID:    dmTenantID,
		Date:        date.UTC().Truncate(time.Second),
		DateNoZ:     x.noZ,
		DateCreated: created.UTC().Truncate(time.Second),
		LastUpdated: created.UTC().Truncate(time.Second),
		Delta:       delta,
		OldPoint:    m.Point,
		NewPoint:    m.Point + delta,
		Pattern:     pattern,
		Remark:      x.remark,
		Source:      x.source,
		ContentName: x.contentName,
		CampaignID:  x.campaignID,
		ExternalID:  x.externalID,
	}
	d.nextPointID += 1 + int64(d.rng.IntN(5))
	if delta >= 0 {
		rec.Point, rec.Type, rec.Status = delta, 1, 1
		if d.rng.IntN(3) == 0 {
			exp := rec.Date.AddDate(1, 0, 0)
			rec.ExpireDate = &exp
		}
	} else {
		rec.Point, rec.Type, rec.Status = -delta, -1, -1
	}
	rec.LeftPoint = rec.NewPoint
	d.points[m.num] = append(d.points[m.num], rec)
	m.Point = rec.NewPoint
	if rec.LastUpdated.After(m.LastUpdated) {
		m.LastUpdated = rec.LastUpdated
	}
	return rec
}

// applyExp records an experience change; it does not touch the member (the
// membership object carries no experience field).
func (d *dmData) applyExp(m *dmMember, delta int64, created, obtained time.Time) *DMHubExpRecord {
	hist := d.exps[m.num]
	var old int64
	if len(hist) > 0 {
		old = hist[len(hist)-1].NewExp
	}
	rec := &DMHubExpRecord{
		ID:          strconv.FormatInt(d.nextExpID, 10),
		MemberID:    m.ID,
		TenantID:    dmTenantID,
		DateCreated: created.UTC().Truncate(time.Second),
		LastUpdated: created.UTC().Truncate(time.Second),
		DateObtain:  obtained.UTC().Truncate(time.Second),
		ExpType:     1,
		ExpValue:    delta,
		OldExp:      old,
		NewExp:      old + delta,
		ExternalID:  randUUID(d.rng),
	}
	if d.rng.IntN(3) == 0 {
		rec.Remark = "消费获得经验"
	}
	d.nextExpID += 1 + int64(d.rng.IntN(4))
	d.exps[m.num] = append(d.exps[m.num], rec)
	return rec
}

// newMemberCoupon issues coupon c to m at draw, with status "normal" or
// "notStarted" (start date after the draw date).
func (d *dmData) newMemberCoupon(m *dmMember, c *DMHubCoupon, draw time.Time) *DMHubMemberCoupon {
	r := d.rng
	d.nextCouponCode += 1 + r.Int64N(5000)
	token := randString(r, b64url, 41) + "-0"
	mc := &DMHubMemberCoupon{
		Code:       strconv.FormatInt(d.nextCouponCode, 10),
		MemberID:   m.ID,
		CouponID:   c.ID,
		CouponName: c.Name,
		CouponType: c.Type,
		DateDraw:   draw.UTC().Truncate(time.Second),
		UUID:       token + "\r\n",
		BarcodeURL: "http://127.0.0.1:8004/loyalty/barimg/" + token,
		QrcodeURL:  "http://127.0.0.1:8004/loyalty/qrimg/" + token,
	}
	local := draw.In(chinaZone())
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, time.UTC)
	if c.ValidType == 1 {
		mc.StartDate, mc.EndDate = c.StartDate, c.EndDate
	} else {
		start := day.AddDate(0, 0, c.StartDays)
		mc.StartDate = start.Format(layoutDate)
		mc.EndDate = start.AddDate(0, 0, c.ValidDays).Format(layoutDate)
	}
	mc.Status = "normal"
	if mc.StartDate > day.Format(layoutDate) {
		mc.Status = "notStarted"
	}
	d.mcoupons[m.num] = append(d.mcoupons[m.num], mc)
	d.mcouponIx[mc.Code] = mc
	return mc
}

// member looks a member up by its decimal id.
func (d *dmData) member(id string) (*dmMember, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return nil, fmt.Errorf("vendorsim: dmhub member id %q: not a number", id)
	}
	m, ok := d.byID[n]
	if !ok {
		return nil, fmt.Errorf("vendorsim: dmhub member %s: not found", id)
	}
	return m, nil
}
