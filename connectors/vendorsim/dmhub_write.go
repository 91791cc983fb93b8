package vendorsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"
)

// dmDeal is a stored order.
type dmDeal struct {
	id       int64
	orderNo  string
	memberID int64
	header   map[string]any // header fields as received (json.Number for numbers)
	lines    []any
	state    string
	refund   *dmRefund
}

type dmRefund struct {
	total      json.Number
	dateRefund string
	reason     any
	lines      []any
}

// reqBody is a decoded JSON object request with first-error validation.
type reqBody struct {
	f    map[string]any
	raw  []byte
	code string // first error: 400005 or 400001
	msg  string
}

// readBody decodes a JSON object body (numbers kept as json.Number).
func readBody(r *http.Request) (*reqBody, bool) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var f map[string]any
	if err := dec.Decode(&f); err != nil || f == nil {
		return nil, false
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return nil, false
	}
	return &reqBody{f: f, raw: c.Bytes()}, true
}

func (b *reqBody) fail(code, msg string) {
	if b.code == "" {
		b.code, b.msg = code, msg
	}
}

func (b *reqBody) failed() bool { return b.code != "" }

func isMissing(v any, ok bool) bool {
	if !ok || v == nil {
		return true
	}
	s, isStr := v.(string)
	return isStr && s == ""
}

func render(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	bs, _ := json.Marshal(v)
	return string(bs)
}

// str returns a string field; a non-string value is invalid (400001).
func (b *reqBody) str(k string, required bool) string {
	v, ok := b.f[k]
	if isMissing(v, ok) {
		if required {
			b.fail("400005", "Missing field "+k+"!")
		}
		return ""
	}
	s, isStr := v.(string)
	if !isStr {
		b.fail("400001", "Invalid "+k+"("+render(v)+")!")
	}
	return s
}

// num returns a numeric field; strings are invalid (the doc types it Number).
func (b *reqBody) num(k string, required bool) json.Number {
	v, ok := b.f[k]
	if isMissing(v, ok) {
		if required {
			b.fail("400005", "Missing field "+k+"!")
		}
		return ""
	}
	n, isNum := v.(json.Number)
	if !isNum {
		b.fail("400001", "Invalid "+k+"("+render(v)+")!")
	}
	return n
}

// dateTime returns a DM Hub date-time field ("2016-11-11T11:11:11", UTC).
func (b *reqBody) dateTime(k string, required bool) (time.Time, string) {
	s := b.str(k, required)
	if s == "" {
		return time.Time{}, ""
	}
	t, ok := parseDMTime(s)
	if !ok {
		b.fail("400001", "Invalid "+k+"("+s+")!")
	}
	return t, s
}

// memberID reads membershipId: a JSON number, or a numeric string (the push
// doc shows it quoted). Returns 0 when absent.
func (b *reqBody) memberID(required bool) int64 {
	v, ok := b.f["membershipId"]
	if isMissing(v, ok) {
		if required {
			b.fail("400005", "Missing field membershipId!")
		}
		return 0
	}
	var s string
	switch x := v.(type) {
	case json.Number:
		s = x.String()
	case string:
		s = x
	default:
		s = render(v)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		b.fail("400001", "Invalid membershipId("+s+")!")
		return 0
	}
	return n
}

// array returns a non-empty JSON array field.
func (b *reqBody) array(k string, required bool) []any {
	v, ok := b.f[k]
	if isMissing(v, ok) {
		if required {
			b.fail("400005", "Missing field "+k+"!")
		}
		return nil
	}
	a, isArr := v.([]any)
	if !isArr {
		b.fail("400001", "Invalid "+k+"("+render(v)+")!")
		return nil
	}
	if len(a) == 0 && required {
		b.fail("400005", "Missing field "+k+"!")
	}
	return a
}

// lineIDs validates deal lines (lineId, productName, qty required; lineId
// unique) and returns their ids.
func (b *reqBody) dealLines(lines []any) map[string]bool {
	ids := make(map[string]bool)
	for _, l := range lines {
		obj, ok := l.(map[string]any)
		if !ok {
			b.fail("400001", "Invalid dealLines("+render(l)+")!")
			return ids
		}
		lb := &reqBody{f: obj}
		id := lb.str("lineId", true)
		lb.str("productName", true)
		lb.num("qty", true)
		lb.str("productId", false)
		lb.str("skuId", false)
		lb.str("category", false)
		lb.num("priceUnit", false)
		lb.num("priceSubTotal", false)
		if lb.failed() {
			b.fail(lb.code, lb.msg)
			return ids
		}
		if ids[id] {
			b.fail("400001", "Invalid lineId("+id+")!")
			return ids
		}
		ids[id] = true
	}
	return ids
}

func (b *reqBody) answerIfFailed(w http.ResponseWriter) bool {
	if !b.failed() {
		return false
	}
	badRequest(w, b.code, b.msg)
	return true
}

func badBody(w http.ResponseWriter) { badRequest(w, "400001", "Invalid request body!") }

// recordWrite appends an accepted write. Caller holds h.mu.
func (h *DMHub) recordWrite(kind, dir, endpoint string, member int64, orderNo string, body []byte) {
	mid := ""
	if member > 0 {
		mid = strconv.FormatInt(member, 10)
	}
	h.writes = append(h.writes, DMHubWrite{
		Seq: int64(len(h.writes) + 1), Kind: kind, Direction: dir, Endpoint: endpoint,
		MemberID: mid, OrderNo: orderNo, Body: append(json.RawMessage(nil), body...), At: h.opts.Now().UTC(),
	})
}

// Writes returns every write the simulator accepted over HTTP, in order.
// Rejected requests (validation, duplicates, faults) are not included; a
// write answered with a truncated body (fault) is included, because the
// vendor applied it.
func (h *DMHub) Writes() []DMHubWrite {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]DMHubWrite, len(h.writes))
	for i, wr := range h.writes {
		wr.Body = append(json.RawMessage(nil), wr.Body...)
		out[i] = wr
	}
	return out
}

// dealHeaderKeys lists the optional deal header fields in response order.
func dealHeaderKeys() []string {
	return []string{
		"salesChannel", "store", "type", "dateOrder", "amountDiscount", "couponCode", "groupId", "amountTotal", "amountPaid",
		"paymentTerm", "paymentNo", "shippingMethod", "contactName", "contactTel", "shippingProvince", "shippingCity",
		"shippingCounty", "shippingStreet", "shippingAddress",
	}
}

func (d *dmDeal) json(withState bool) jsonObj {
	o := jsonObj{{"membershipId", d.memberID}}
	if ids, ok := d.header["identities"]; ok {
		o = append(o, jsonField{"identities", ids})
	}
	o = append(o, jsonField{"orderNo", d.orderNo}, jsonField{"id", strconv.FormatInt(d.id, 10)})
	for _, k := range dealHeaderKeys() {
		if v, ok := d.header[k]; ok {
			o = append(o, jsonField{k, v})
		}
	}
	o = append(o, jsonField{"dealLines", d.lines})
	if withState {
		o = append(o, jsonField{"state", d.state})
	}
	return o
}

// validateDealHeader checks the documented deal header fields.
func (b *reqBody) validateDealHeader() {
	b.str("salesChannel", true)
	b.str("store", true)
	b.str("orderNo", true)
	b.str("type", false)
	b.dateTime("dateOrder", true)
	b.num("amountDiscount", true)
	b.str("couponCode", false)
	b.str("groupId", false)
	b.num("amountTotal", false)
	b.num("amountPaid", true)
	for _, k := range []string{"paymentTerm", "paymentNo", "shippingMethod", "contactName", "contactTel",
		"shippingProvince", "shippingCity", "shippingCounty", "shippingStreet", "shippingAddress"} {
		b.str(k, false)
	}
}

func (h *DMHub) dealCreate(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	b.validateDealHeader()
	mid := b.memberID(false)
	idents := b.array("identities", false)
	if mid == 0 && len(idents) == 0 && !b.failed() {
		b.fail("400005", "Missing field membershipId!")
	}
	lines := b.array("dealLines", true)
	if !b.failed() {
		b.dealLines(lines)
	}
	if b.answerIfFailed(w) {
		return
	}
	orderNo := b.f["orderNo"].(string)
	h.mu.Lock()
	defer h.mu.Unlock()
	if mid != 0 {
		if _, ok := h.data.byID[mid]; !ok {
			badRequest(w, "400001", "Invalid membershipId("+strconv.FormatInt(mid, 10)+")!")
			return
		}
	} else {
		for _, it := range idents {
			obj, _ := it.(map[string]any)
			t, _ := obj["type"].(string)
			v, _ := obj["value"].(string)
			if id, ok := h.data.identityIx[t+"\x00"+v]; ok {
				mid = id
				break
			}
		}
		if mid == 0 {
			badRequest(w, "400001", "Invalid identities("+render(idents)+")!")
			return
		}
	}
	if _, dup := h.deals[orderNo]; dup {
		bizError(w, "409000", "error info: order "+orderNo+" already exists")
		return
	}
	h.dealSeq++
	d := &dmDeal{id: h.dealSeq, orderNo: orderNo, memberID: mid, header: map[string]any{}, lines: lines, state: "已付款"}
	for k, v := range b.f {
		if k != "membershipId" && k != "orderNo" && k != "dealLines" {
			d.header[k] = v
		}
	}
	h.deals[orderNo] = d
	h.recordWrite("deal", "", "deal.create", mid, orderNo, b.raw)
	writeJSON(w, http.StatusOK, d.json(true))
}

// dealFor validates membershipId+orderNo and finds the order. Caller holds h.mu.
func (h *DMHub) dealFor(w http.ResponseWriter, b *reqBody) *dmDeal {
	mid := b.memberID(true)
	orderNo := b.str("orderNo", true)
	if b.answerIfFailed(w) {
		return nil
	}
	d, ok := h.deals[orderNo]
	if !ok {
		bizError(w, "409000", "error info: order "+orderNo+" not found")
		return nil
	}
	if d.memberID != mid {
		bizError(w, "409000", "error info: order "+orderNo+" does not belong to membership "+strconv.FormatInt(mid, 10))
		return nil
	}
	return d
}

func (h *DMHub) dealUpdate(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	lines := b.array("dealLines", true)
	if !b.failed() {
		b.dealLines(lines)
	}
	// Optional header fields must still have the documented types.
	for _, k := range dealHeaderKeys() {
		if _, present := b.f[k]; present {
			switch k {
			case "amountDiscount", "amountTotal", "amountPaid":
				b.num(k, false)
			case "dateOrder":
				b.dateTime(k, false)
			default:
				b.str(k, false)
			}
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.dealFor(w, b)
	if d == nil {
		return
	}
	before := render(d.json(true))
	for _, k := range dealHeaderKeys() {
		if v, present := b.f[k]; present {
			d.header[k] = v
		}
	}
	d.lines = lines
	// An update that changes nothing (a repeated update) is not a new
	// write in the ledger: the order is already in that state.
	if render(d.json(true)) != before {
		h.recordWrite("deal-update", "", "deal.update", d.memberID, d.orderNo, b.raw)
	}
	writeJSON(w, http.StatusOK, d.json(true))
}

func (h *DMHub) dealCancel(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.dealFor(w, b)
	if d == nil {
		return
	}
	if d.state == "已取消" {
		bizError(w, "409000", "error info: order "+d.orderNo+" already cancelled")
		return
	}
	d.state = "已取消"
	h.recordWrite("deal-cancel", "", "deal.cancel", d.memberID, d.orderNo, b.raw)
	writeJSON(w, http.StatusOK, d.json(true))
}

func (h *DMHub) dealDelete(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.dealFor(w, b)
	if d == nil {
		return
	}
	delete(h.deals, d.orderNo)
	h.recordWrite("deal-delete", "", "deal.delete", d.memberID, d.orderNo, b.raw)
	writeJSON(w, http.StatusOK, d.json(false))
}

func (h *DMHub) refund(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	_, dateRefund := b.dateTime("dateRefund", true)
	total := b.num("refundTotal", true)
	reason := b.str("reason", false)
	lines := b.array("refundLines", true)
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.dealFor(w, b)
	if d == nil {
		return
	}
	known := make(map[string]bool)
	for _, l := range d.lines {
		if obj, ok := l.(map[string]any); ok {
			if id, ok := obj["lineId"].(string); ok {
				known[id] = true
			}
		}
	}
	for _, l := range lines {
		obj, ok := l.(map[string]any)
		if !ok {
			badRequest(w, "400001", "Invalid refundLines("+render(l)+")!")
			return
		}
		lb := &reqBody{f: obj}
		id := lb.str("lineId", true)
		if lb.answerIfFailed(w) {
			return
		}
		if !known[id] {
			badRequest(w, "400001", "Invalid lineId("+id+")!")
			return
		}
	}
	if d.refund != nil {
		bizError(w, "409000", "error info: refund for order "+d.orderNo+" already exists")
		return
	}
	d.refund = &dmRefund{total: total, dateRefund: dateRefund, reason: nullStr(reason), lines: lines}
	h.recordWrite("refund", "", "deal.refund", d.memberID, d.orderNo, b.raw)
	// Quirk (§11.4): refundTotal comes back as a string.
	writeJSON(w, http.StatusOK, jsonObj{
		{"membershipId", d.memberID}, {"orderNo", d.orderNo}, {"refundTotal", total.String()}, {"refundLines", lines},
	})
}

func (h *DMHub) refundDelete(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	d := h.dealFor(w, b)
	if d == nil {
		return
	}
	if d.refund == nil {
		bizError(w, "409000", "error info: no refund for order "+d.orderNo)
		return
	}
	rf := d.refund
	d.refund = nil
	h.recordWrite("refund-delete", "", "deal.deleteRefund", d.memberID, d.orderNo, b.raw)
	writeJSON(w, http.StatusOK, jsonObj{
		{"refundTotal", rf.total}, {"orderNo", d.orderNo}, {"membershipId", d.memberID},
		{"dateRefund", rf.dateRefund}, {"refundLines", rf.lines},
	})
}

func (h *DMHub) pushRegister(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	provider := b.str("provider", true)
	appKey := b.str("appKey", true)
	pushID := b.str("pushId", true)
	osName := b.str("os", true)
	mid := b.memberID(false)
	mobile := b.str("mobile", false)
	if !b.failed() && provider != "jpush" && provider != "getui" {
		b.fail("400001", "Invalid provider("+provider+")!")
	}
	if !b.failed() && osName != "android" && osName != "ios" {
		b.fail("400001", "Invalid os("+osName+")!")
	}
	if b.answerIfFailed(w) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	var member any
	var resolved int64
	if _, ok := h.data.byID[mid]; ok && mid != 0 {
		resolved = mid
	} else if mobile != "" {
		if id, ok := h.data.identityIx["mobile\x00"+mobile]; ok {
			resolved = id
		}
	}
	if resolved != 0 {
		member = resolved
	}
	dk := provider + "\x00" + appKey + "\x00" + pushID
	// Registering a device again with the same body changes nothing: it
	// is not a new write in the ledger.
	if !bytes.Equal(h.devices[dk], b.raw) {
		h.devices[dk] = append(json.RawMessage(nil), b.raw...)
		h.recordWrite("push-device", "", "appPush.register", resolved, "", b.raw)
	}
	writeJSON(w, http.StatusOK, jsonObj{{"appKey", appKey}, {"membershipId", member}, {"os", osName}, {"provider", provider}, {"pushId", pushID}})
}

// pointChange serves point/incr and point/decr.
func (h *DMHub) pointChange(dir string) http.HandlerFunc {
	maxPattern := 5
	if dir == "decr" {
		maxPattern = 6
	}
	return func(w http.ResponseWriter, r *http.Request) {
		b, ok := readBody(r)
		if !ok {
			badBody(w)
			return
		}
		pt := b.num("point", true)
		pat := b.num("pattern", true)
		date, _ := b.dateTime("date", false)
		x := pointExtras{
			remark: b.str("remark", false), source: b.str("source", false), contentName: b.str("contentName", false),
			campaignID: b.str("campaignId", false), externalID: b.str("externalId", false),
		}
		var point int64
		var pattern int
		if !b.failed() {
			n, err := pt.Int64()
			if err != nil || n <= 0 {
				b.fail("400001", "Invalid point("+pt.String()+")!")
			}
			point = n
			p, err := strconv.Atoi(pat.String())
			if err != nil || p < 0 || p > maxPattern {
				b.fail("400001", "Invalid pattern("+pat.String()+")!")
			}
			pattern = p
		}
		if b.answerIfFailed(w) {
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		m := h.lookupMember(w, r)
		if m == nil {
			return
		}
		delta := point
		if dir == "decr" {
			if point > m.Point {
				bizError(w, "409000", "error info: point not enough")
				return
			}
			delta = -point
		}
		now := h.opts.Now().UTC()
		if date.IsZero() {
			date = now
		}
		h.data.applyPoint(m, delta, pattern, date, now, x)
		h.recordWrite("points", dir, "point."+dir, m.num, "", b.raw)
		// S000 shows the request echoed back.
		w.Header().Set("Content-Type", "application/json;charset=UTF-8")
		_, _ = w.Write(b.raw)
	}
}

func (h *DMHub) handleCouponDraw(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	cid := b.str("couponId", true)
	if b.answerIfFailed(w) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.lookupMember(w, r)
	if m == nil {
		return
	}
	c, ok := h.data.couponByID[cid]
	if !ok {
		bizError(w, "409000", "error info")
		return
	}
	mc := h.data.newMemberCoupon(m, c, h.opts.Now())
	h.recordWrite("coupon-draw", "", "coupon.draw", m.num, "", b.raw)
	h.emitCoupon("loyalty/membership_draw_coupon", mc)
	writeJSON(w, http.StatusOK, memberCouponJSON(mc, c))
}

func (h *DMHub) handleCouponRedeem(w http.ResponseWriter, r *http.Request) {
	b, ok := readBody(r)
	if !ok {
		badBody(w)
		return
	}
	mid := b.memberID(true)
	if b.answerIfFailed(w) {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	mc, ok := h.data.mcouponIx[r.PathValue("code")]
	if !ok || mc.MemberID != strconv.FormatInt(mid, 10) {
		bizError(w, "409000", "error info")
		return
	}
	if mc.Status == "used" {
		bizError(w, "409000", "error info: coupon already used")
		return
	}
	now := h.opts.Now().UTC().Truncate(time.Second)
	mc.Status, mc.DateRedeem = "used", &now
	h.recordWrite("coupon-redeem", "", "coupon.redeem", mid, "", b.raw)
	h.emitCoupon("loyalty/membership_redeem_coupon", mc)
	writeJSON(w, http.StatusOK, memberCouponJSON(mc, h.data.couponByID[mc.CouponID]))
}
