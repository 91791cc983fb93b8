package vendorsim

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Members returns copies of all members, id ascending.
func (h *DMHub) Members() []DMHubMember {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]DMHubMember, len(h.data.members))
	for i, m := range h.data.members {
		out[i] = m.clone()
	}
	return out
}

// Member returns a copy of one member.
func (h *DMHub) Member(id string) (DMHubMember, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.data.member(id)
	if err != nil {
		return DMHubMember{}, false
	}
	return m.clone(), true
}

// memberNum resolves an id without failing (0 when unknown). Caller holds h.mu.
func (h *DMHub) memberNum(id string) int64 {
	m, err := h.data.member(id)
	if err != nil {
		return 0
	}
	return m.num
}

// PointRecords returns a member's points history in id (creation) order.
func (h *DMHub) PointRecords(memberID string) []DMHubPointRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	recs := h.data.points[h.memberNum(memberID)]
	out := make([]DMHubPointRecord, len(recs))
	for i, r := range recs {
		out[i] = *r
		if r.ExpireDate != nil {
			t := *r.ExpireDate
			out[i].ExpireDate = &t
		}
	}
	return out
}

// ExpRecords returns a member's experience history in id (creation) order.
func (h *DMHub) ExpRecords(memberID string) []DMHubExpRecord {
	h.mu.Lock()
	defer h.mu.Unlock()
	recs := h.data.exps[h.memberNum(memberID)]
	out := make([]DMHubExpRecord, len(recs))
	for i, r := range recs {
		out[i] = *r
	}
	return out
}

// MemberCoupons returns a member's coupons in draw (creation) order.
func (h *DMHub) MemberCoupons(memberID string) []DMHubMemberCoupon {
	h.mu.Lock()
	defer h.mu.Unlock()
	recs := h.data.mcoupons[h.memberNum(memberID)]
	out := make([]DMHubMemberCoupon, len(recs))
	for i, r := range recs {
		out[i] = r.clone()
	}
	return out
}

// AllMemberCoupons returns every member coupon, by member id then draw order.
func (h *DMHub) AllMemberCoupons() []DMHubMemberCoupon {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []DMHubMemberCoupon
	for _, m := range h.data.members {
		for _, r := range h.data.mcoupons[m.num] {
			out = append(out, r.clone())
		}
	}
	return out
}

// Coupons returns the coupon definitions in list (creation) order.
func (h *DMHub) Coupons() []DMHubCoupon {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]DMHubCoupon, len(h.data.coupons))
	for i, c := range h.data.coupons {
		out[i] = c.clone()
	}
	return out
}

// Levels returns the membership levels, priority ascending.
func (h *DMHub) Levels() []DMHubLevel {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]DMHubLevel(nil), h.data.levels...)
}

// Identities returns a member's identities (mobile, wechat, wechat-unionid,
// taobao-account, c_houcaller, c_zvcms), in the order the API returns them.
func (h *DMHub) Identities(memberID string) []DMHubIdentity {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]DMHubIdentity(nil), h.data.identities[h.memberNum(memberID)]...)
}

// HoucallerIDs returns the non-null c_houcaller_id values in member order;
// NewServer seeds the Houcaller simulator with them.
func (h *DMHub) HoucallerIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.data.members {
		if m.HoucallerID != "" {
			out = append(out, m.HoucallerID)
		}
	}
	return out
}

// ZvcmsIDs returns the non-null c_zvcms_id values in member order.
func (h *DMHub) ZvcmsIDs() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, m := range h.data.members {
		if m.ZvcmsID != "" {
			out = append(out, m.ZvcmsID)
		}
	}
	return out
}

// RevokeToken invalidates the current access token (as if another process
// had requested a new one).
func (h *DMHub) RevokeToken() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if old, ok := h.tokens[h.opts.AppID]; ok {
		h.oldTokens[old.token] = h.opts.AppID
	}
	delete(h.tokens, h.opts.AppID)
}

// ErrNotFound is returned by mutations for an unknown member or coupon code.
var ErrNotFound = errors.New("vendorsim: not found")

// now returns the injected clock, UTC, second precision.
func (h *DMHub) now() time.Time { return h.opts.Now().UTC().Truncate(time.Second) }

// touch advances lastUpdated to now (or 1s past the old value if the clock
// is behind it, so lastUpdated never goes backwards). Caller holds h.mu.
func (h *DMHub) touch(m *dmMember) {
	now := h.now()
	if !now.After(m.LastUpdated) {
		now = m.LastUpdated.Add(time.Second)
	}
	m.LastUpdated = now
}

func (h *DMHub) mustMember(id string) (*dmMember, error) {
	m, err := h.data.member(id)
	if err != nil {
		return nil, fmt.Errorf("%w: dmhub member %q", ErrNotFound, id)
	}
	return m, nil
}

// UpdateMember changes some profile fields of a member (email, city,
// education, balance, name) and advances its lastUpdated.
func (h *DMHub) UpdateMember(id string) (DMHubMember, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.mustMember(id)
	if err != nil {
		return DMHubMember{}, err
	}
	r := h.data.rng
	m.Email = strings.ToLower(randString(r, alnumMixed, 7)) + "@" + pick(r, h.data.v.emailDomains)
	m.EducationBackground = pick(r, h.data.v.education)
	if !m.LegacyLevel {
		c := pick(r, h.data.v.cities)
		m.Country, m.Province, m.City, m.County = "中国", c[0], c[1], c[2]
	}
	b := round2(float64(r.IntN(200000)) / 100)
	m.Balance = &b
	if m.GivenName != "" {
		m.GivenName = pick(r, h.data.v.given)
		m.Name = m.FamilyName + m.GivenName
	}
	h.touch(m)
	return m.clone(), nil
}

// CreateMembers adds n members created now (dateCreated = dateJoin =
// lastUpdated = clock), each with identities and possibly an initial points
// record. New members have no c_houcaller_id / c_zvcms_id.
func (h *DMHub) CreateMembers(n int) []DMHubMember {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]DMHubMember, 0, n)
	for range n {
		idx := len(h.data.members)
		m := h.data.genMember(idx, false, h.now())
		out = append(out, m.clone())
	}
	return out
}

// AddPointRecord applies a signed point change with the given pattern (as
// the vendor would for a change made elsewhere, e.g. in-store): it appends a
// point record and updates the member's point and lastUpdated. A decrease
// larger than the balance is an error.
func (h *DMHub) AddPointRecord(memberID string, delta int64, pattern int) (DMHubPointRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.mustMember(memberID)
	if err != nil {
		return DMHubPointRecord{}, err
	}
	if delta == 0 || m.Point+delta < 0 {
		return DMHubPointRecord{}, fmt.Errorf("vendorsim: dmhub point change %d for member %s with balance %d", delta, memberID, m.Point)
	}
	now := h.now()
	if !now.After(m.LastUpdated) {
		now = m.LastUpdated.Add(time.Second)
	}
	rec := h.data.applyPoint(m, delta, pattern, now, now, pointExtras{remark: "门店调整", source: "门店"})
	out := *rec
	return out, nil
}

// AddExpRecord appends an experience change (signed delta). The member's
// lastUpdated is NOT changed: the membership object has no experience field.
func (h *DMHub) AddExpRecord(memberID string, delta int64) (DMHubExpRecord, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.mustMember(memberID)
	if err != nil {
		return DMHubExpRecord{}, err
	}
	now := h.now()
	return *h.data.applyExp(m, delta, now, now), nil
}

// DrawCoupon issues the next coupon definition (round robin) to a member.
// Like the real vendor, this does NOT touch the member's lastUpdated. It
// pushes loyalty/membership_draw_coupon (SetWebhooks).
func (h *DMHub) DrawCoupon(memberID string) (DMHubMemberCoupon, error) {
	return h.drawCoupon(memberID, "loyalty/membership_draw_coupon")
}

func (h *DMHub) drawCoupon(memberID, event string) (DMHubMemberCoupon, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.mustMember(memberID)
	if err != nil {
		return DMHubMemberCoupon{}, err
	}
	c := h.data.coupons[h.data.drawCursor%len(h.data.coupons)]
	h.data.drawCursor++
	mc := h.data.newMemberCoupon(m, c, h.now())
	h.emitCoupon(event, mc)
	return mc.clone(), nil
}

// RedeemCoupon marks a member coupon used now. It does NOT touch the
// member's lastUpdated. It pushes loyalty/membership_redeem_coupon.
func (h *DMHub) RedeemCoupon(code string) (DMHubMemberCoupon, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	mc, ok := h.data.mcouponIx[code]
	if !ok {
		return DMHubMemberCoupon{}, fmt.Errorf("%w: dmhub coupon code %q", ErrNotFound, code)
	}
	if mc.Status == "used" {
		return DMHubMemberCoupon{}, fmt.Errorf("vendorsim: dmhub coupon %s already used", code)
	}
	now := h.now()
	mc.Status, mc.DateRedeem = "used", &now
	h.emitCoupon("loyalty/membership_redeem_coupon", mc)
	return mc.clone(), nil
}
