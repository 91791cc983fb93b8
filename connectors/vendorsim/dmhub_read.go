package vendorsim

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// dmDefaultRows is the page size when rows is absent (the v1 customers
// default; the loyalty doc is silent).
const dmDefaultRows = 20

type pageReq struct {
	rows, page int
	sidx, sord string
	needTotal  bool
}

// parsePage reads rows/page/sidx/sord/needTotal. rows above MaxRows is
// silently capped. It returns a non-empty message for invalid values.
func (h *DMHub) parsePage(q url.Values) (pageReq, string) {
	p := pageReq{rows: dmDefaultRows, page: 1, sidx: q.Get("sidx"), sord: q.Get("sord")}
	if v := q.Get("rows"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, "Invalid rows(" + v + ")!"
		}
		p.rows = n
	}
	p.rows = min(p.rows, h.opts.MaxRows)
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return p, "Invalid page(" + v + ")!"
		}
		p.page = n
	}
	switch p.sord {
	case "", "asc", "desc":
	default:
		return p, "Invalid sord(" + p.sord + ")!"
	}
	if v := q.Get("needTotal"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return p, "Invalid needTotal(" + v + ")!"
		}
		p.needTotal = b
	}
	return p, ""
}

// pageOf returns the requested page of items (empty past the end).
func pageOf[T any](items []T, p pageReq) []T {
	start := (p.page - 1) * p.rows
	if start >= len(items) || start < 0 {
		return []T{}
	}
	return items[start:min(start+p.rows, len(items))]
}

// listBody builds {"rows":[...]} plus total (pages) and records (rows) when
// withTotal.
func listBody(rows any, n int, p pageReq, withTotal bool) jsonObj {
	o := jsonObj{{"rows", rows}}
	if withTotal {
		pages := (n + p.rows - 1) / p.rows
		o = append(o, jsonField{"total", pages}, jsonField{"records", n})
	}
	return o
}

// badRequest answers a validation error (400005 / 400001) with HTTP 400.
func badRequest(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusBadRequest, dmError(code, false, msg))
}

// bizError answers a business error (409xxx) with HTTP 200, as the vendor
// does for 409200.
func bizError(w http.ResponseWriter, code, msg string) {
	writeJSON(w, http.StatusOK, dmError(code, false, msg))
}

func notFound(w http.ResponseWriter) { bizError(w, "409200", "Not found") }

// lookupMember resolves the {id} path value; it writes the error itself and
// returns nil when the member does not exist. Caller holds h.mu.
func (h *DMHub) lookupMember(w http.ResponseWriter, r *http.Request) *dmMember {
	raw := r.PathValue("id")
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		badRequest(w, "400001", "Invalid membershipId("+raw+")!")
		return nil
	}
	m, ok := h.data.byID[n]
	if !ok {
		notFound(w)
		return nil
	}
	return m
}

func (h *DMHub) handleMemberList(w http.ResponseWriter, r *http.Request) {
	p, bad := h.parsePage(r.URL.Query())
	if bad != "" {
		badRequest(w, "400001", bad)
		return
	}
	sidx, sord := p.sidx, p.sord
	if h.opts.IgnoreSort {
		sidx, sord = "", ""
	}
	if sidx != "" && sidx != "id" && sidx != "lastUpdated" {
		badRequest(w, "400001", "Invalid sidx("+sidx+")!")
		return
	}
	h.mu.Lock()
	ms := slices.Clone(h.data.members)
	if sidx == "lastUpdated" {
		slices.SortStableFunc(ms, func(a, b *dmMember) int {
			c := a.LastUpdated.Compare(b.LastUpdated)
			if sord == "desc" {
				c = -c
			}
			return cmp.Or(c, cmp.Compare(a.num, b.num))
		})
	} else if sord == "desc" {
		slices.Reverse(ms)
	}
	sel := pageOf(ms, p)
	rows := make([]jsonObj, 0, len(sel))
	for _, m := range sel {
		rows = append(rows, memberJSON(m))
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, listBody(rows, len(ms), p, p.needTotal))
}

func (h *DMHub) handleMemberGet(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.lookupMember(w, r)
	if m == nil {
		return
	}
	writeJSON(w, http.StatusOK, memberJSON(m))
}

// sortedHistory returns records in id (= creation) order, reversed for desc.
func sortedHistory[T any](recs []T, sord string) []T {
	out := slices.Clone(recs)
	if sord == "desc" {
		slices.Reverse(out)
	}
	return out
}

func (h *DMHub) handlePointList(w http.ResponseWriter, r *http.Request) {
	p, bad := h.parsePage(r.URL.Query())
	if bad != "" {
		badRequest(w, "400001", bad)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.lookupMember(w, r)
	if m == nil {
		return
	}
	recs := sortedHistory(h.data.points[m.num], p.sord)
	sel := pageOf(recs, p)
	rows := make([]jsonObj, 0, len(sel))
	for _, rec := range sel {
		rows = append(rows, pointJSON(rec))
	}
	writeJSON(w, http.StatusOK, listBody(rows, len(recs), p, p.needTotal))
}

func (h *DMHub) handleExpList(w http.ResponseWriter, r *http.Request) {
	p, bad := h.parsePage(r.URL.Query())
	if bad != "" {
		badRequest(w, "400001", bad)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.lookupMember(w, r)
	if m == nil {
		return
	}
	recs := sortedHistory(h.data.exps[m.num], p.sord)
	sel := pageOf(recs, p)
	rows := make([]jsonObj, 0, len(sel))
	for _, rec := range sel {
		rows = append(rows, expJSON(rec))
	}
	writeJSON(w, http.StatusOK, listBody(rows, len(recs), p, p.needTotal))
}

func (h *DMHub) handleMemberCouponList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p, bad := h.parsePage(q)
	if bad != "" {
		badRequest(w, "400001", bad)
		return
	}
	status := q.Get("status")
	h.mu.Lock()
	defer h.mu.Unlock()
	m := h.lookupMember(w, r)
	if m == nil {
		return
	}
	var all []*DMHubMemberCoupon
	for _, mc := range h.data.mcoupons[m.num] {
		if status == "" || mc.Status == status {
			all = append(all, mc)
		}
	}
	all = sortedHistory(all, p.sord)
	sel := pageOf(all, p)
	rows := make([]jsonObj, 0, len(sel))
	for _, mc := range sel {
		rows = append(rows, memberCouponJSON(mc, h.data.couponByID[mc.CouponID]))
	}
	// §13.6 documents total/records on this list without needTotal.
	writeJSON(w, http.StatusOK, listBody(rows, len(all), p, true))
}

func (h *DMHub) handleCouponList(w http.ResponseWriter, r *http.Request) {
	p, bad := h.parsePage(r.URL.Query())
	if bad != "" {
		badRequest(w, "400001", bad)
		return
	}
	if p.sidx != "" && p.sidx != "couponId" {
		badRequest(w, "400001", "Invalid sidx("+p.sidx+")!")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	cs := slices.Clone(h.data.coupons)
	if p.sidx == "couponId" {
		slices.SortFunc(cs, func(a, b *DMHubCoupon) int { return cmp.Compare(a.ID, b.ID) })
	}
	if p.sord == "desc" {
		slices.Reverse(cs)
	}
	sel := pageOf(cs, p)
	rows := make([]jsonObj, 0, len(sel))
	for _, c := range sel {
		rows = append(rows, couponJSON(c))
	}
	writeJSON(w, http.StatusOK, listBody(rows, len(cs), p, p.needTotal))
}

func (h *DMHub) handleCouponGet(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	c, ok := h.data.couponByID[r.PathValue("couponId")]
	if !ok {
		bizError(w, "409000", "error info")
		return
	}
	writeJSON(w, http.StatusOK, couponJSON(c))
}

func (h *DMHub) handleMemberCouponGet(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	mc, ok := h.data.mcouponIx[r.PathValue("code")]
	if !ok {
		bizError(w, "409000", "error info")
		return
	}
	writeJSON(w, http.StatusOK, memberCouponJSON(mc, h.data.couponByID[mc.CouponID]))
}

func (h *DMHub) handleLevelRules(w http.ResponseWriter, _ *http.Request) {
	h.mu.Lock()
	defer h.mu.Unlock()
	rows := make([]jsonObj, 0, len(h.data.levels))
	for _, l := range h.data.levels {
		rows = append(rows, levelRuleJSON(l))
	}
	writeJSON(w, http.StatusOK, jsonObj{{"rows", rows}})
}

// identityPairJSON renders {"identities":[...],"membership":{...}}.
func (h *DMHub) identityPairJSON(m *dmMember) jsonObj {
	return jsonObj{{"identities", identitiesJSON(h.data.identities[m.num])}, {"membership", memberJSON(m)}}
}

func (h *DMHub) handleListByIdentities(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		badRequest(w, "400001", "Invalid request body!")
		return
	}
	var req []struct {
		Type  *string `json:"type"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		badRequest(w, "400001", "Invalid request body!")
		return
	}
	if len(req) == 0 {
		badRequest(w, "400005", "Missing field identities!")
		return
	}
	if len(req) > h.opts.MaxRows {
		badRequest(w, "400001", "Invalid identities size("+strconv.Itoa(len(req))+"), max "+strconv.Itoa(h.opts.MaxRows)+"!")
		return
	}
	for _, it := range req {
		if it.Type == nil || *it.Type == "" {
			badRequest(w, "400005", "Missing field type!")
			return
		}
		if it.Value == nil || *it.Value == "" {
			badRequest(w, "400005", "Missing field value!")
			return
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	seen := make(map[int64]bool)
	rows := []jsonObj{}
	for _, it := range req {
		id, ok := h.data.identityIx[*it.Type+"\x00"+*it.Value]
		if !ok || seen[id] {
			continue
		}
		seen[id] = true
		rows = append(rows, h.identityPairJSON(h.data.byID[id]))
	}
	writeJSON(w, http.StatusOK, jsonObj{{"rows", rows}})
}

func (h *DMHub) handleGetByIdentity(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ, val := q.Get("type"), q.Get("value")
	if typ == "" {
		badRequest(w, "400005", "Missing field type!")
		return
	}
	if val == "" {
		badRequest(w, "400005", "Missing field value!")
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	id, ok := h.data.identityIx[typ+"\x00"+val]
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, h.identityPairJSON(h.data.byID[id]))
}
