package zvcms

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// membersStream reads one customer with V3 crm/customer/allCustomerInfo
// ("会员三合一查询" [Z-all3]): profile, points and balances, plus the
// customer's coupon list, paged with pageNum/pageSize. The first page
// yields the members row and every page its member_coupons rows, in the
// same Batch. The partition is done after a short or empty coupon page,
// when pageNum × pageSize reaches the coupon total when one is sent, or
// after a page longer than pageSize (the vendor ignored paging and sent
// every coupon). Both modes read the same; there is no incremental cursor.
type membersStream struct {
	c        *Client
	source   string
	pageSize int
}

var _ connectors.Stream = (*membersStream)(nil)

// MembersCursor is the position inside one customer's coupon pages.
type MembersCursor struct {
	PageNum int `json:"page_num"`
}

type allInfoParams struct {
	CustomerID string `json:"customerId"`
	PageNum    int    `json:"pageNum"`
	PageSize   int    `json:"pageSize"`
}

// Fetch implements connectors.Stream. Partition is the customerId.
func (s *membersStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	const op = "POST /v3/" + PathAllCustomerInfo
	key, err := connectors.MemberKey(s.source, op, req.Partition)
	if err != nil {
		return connectors.Batch{}, err
	}
	cur := MembersCursor{PageNum: 1}
	if err := connectors.ReadCursor(s.source, op, "members cursor", req.Cursor, &cur,
		func(c MembersCursor) bool { return c.PageNum >= 1 }); err != nil {
		return connectors.Batch{}, err
	}
	var b connectors.Batch
	for b.Pages < max(req.Pages, 1) {
		data, err := s.c.CallV3(ctx, PathAllCustomerInfo, allInfoParams{CustomerID: key, PageNum: cur.PageNum, PageSize: s.pageSize})
		b.Pages++
		b.Requests++
		if err != nil {
			return connectors.Batch{}, err
		}
		page, err := decodeAllCustomerInfo(s.source, key, data)
		if err != nil {
			return connectors.Batch{}, connectors.DataError(s.source, op, err)
		}
		if cur.PageNum == 1 {
			b.Add([]warehouse.Row{page.member})
			b.Items++
		}
		b.Add(page.coupons)
		n := len(page.coupons)
		if n == 0 || n < s.pageSize || n > s.pageSize || (page.total > 0 && int64(cur.PageNum)*int64(s.pageSize) >= page.total) {
			b.Done = true
			return b, nil
		}
		cur.PageNum++
	}
	b.Next, _ = json.Marshal(cur)
	return b, nil
}

// profile holds the member fields of allCustomerInfo. Its published table
// lists only points and balances; the profile names follow the same
// vendor's member look-up gatherCustomerInfo [Z-info2: username, mobile,
// gender, memberLevel, memberLevelName, customerId, cardNo], plus email,
// birthday and createdAt when present.
type profile struct {
	CustomerID      lenient.String `json:"customerId"`
	Username        lenient.String `json:"username"`
	Name            lenient.String `json:"name"`
	Mobile          lenient.String `json:"mobile"`
	Email           lenient.String `json:"email"`
	Gender          lenient.String `json:"gender"`
	Birthday        lenient.String `json:"birthday"`
	MemberLevel     lenient.String `json:"memberLevel"`
	MemberLevelName lenient.String `json:"memberLevelName"`
	CardNo          lenient.String `json:"cardNo"`
	CreatedAt       lenient.String `json:"createdAt"`
}

// merge fills p's empty fields from q.
func (p *profile) merge(q *profile) {
	if q == nil {
		return
	}
	for _, f := range []struct{ dst, src *lenient.String }{
		{&p.CustomerID, &q.CustomerID}, {&p.Username, &q.Username}, {&p.Name, &q.Name}, {&p.Mobile, &q.Mobile},
		{&p.Email, &q.Email}, {&p.Gender, &q.Gender}, {&p.Birthday, &q.Birthday}, {&p.MemberLevel, &q.MemberLevel},
		{&p.MemberLevelName, &q.MemberLevelName}, {&p.CardNo, &q.CardNo}, {&p.CreatedAt, &q.CreatedAt},
	} {
		if strings.TrimSpace(f.dst.V) == "" {
			*f.dst = *f.src
		}
	}
}

// allCustomerInfo is the `data` of allCustomerInfo [Z-all3]. A nested
// customerInfo or baseInfo object, if the tenant sends one, fills profile
// fields missing at the top level. The coupon list is read from couponList
// (or coupons): an array, or an object with list/data/records and total.
type allCustomerInfo struct {
	profile
	CustomerInfo    *profile        `json:"customerInfo"`
	BaseInfo        *profile        `json:"baseInfo"`
	TotalPoints     lenient.Decimal `json:"totalPoints"`
	GiftBalance     lenient.Decimal `json:"giftBalance"`
	RechargeBalance lenient.Decimal `json:"rechargeBalance"`
	UpdatedAt       lenient.String  `json:"updatedAt"`
	CouponList      json.RawMessage `json:"couponList"`
	Coupons         json.RawMessage `json:"coupons"`
}

// isStandardKey lists the allCustomerInfo keys that have their own
// column (or are the coupon list); every other key — the other balances
// giftBalance, rechargeBalance, totalGiftAmount, totalRechargeAmount,
// expiredTime, foreverPoints, soonExpiredPoints, and anything undocumented
// — goes to custom_attrs.
func isStandardKey(k string) bool {
	switch k {
	case "customerId", "username", "name", "mobile", "email", "gender", "birthday", "memberLevel",
		"memberLevelName", "cardNo", "createdAt", "totalPoints", "updatedAt", "couponList", "coupons",
		"customerInfo", "baseInfo":
		return true
	}
	return false
}

// allInfoPage is one decoded allCustomerInfo page.
type allInfoPage struct {
	member  warehouse.Row // a warehouse.Member, or its rejected_records row
	coupons []warehouse.Row
	total   int64 // coupon total when the vendor sends one, else 0
}

// decodeAllCustomerInfo maps the `data` of one allCustomerInfo page: the
// members row (member_id = customerId, else the key; point = totalPoints
// truncated to an integer; balance = rechargeBalance + giftBalance in
// yuan, rounded to 2 places; last_updated = updatedAt as epoch seconds or
// milliseconds or a China-local time; member_code = cardNo; gender the
// vendor's code 0/1/2 as text) and the page's member_coupons rows.
//
// Only data that is not a JSON object, or a coupon list that is not a
// list, fails the page; a member or coupon record whose values do not
// decode is a rejected_records row in its place.
func decodeAllCustomerInfo(source, key string, data json.RawMessage) (allInfoPage, error) {
	d := bytes.TrimSpace(data)
	if len(d) == 0 || d[0] != '{' {
		return allInfoPage{}, fmt.Errorf("data is not an object: %s", lenient.Clip(string(d)))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(d, &fields); err != nil {
		return allInfoPage{}, fmt.Errorf("data: %w", err)
	}
	list := fields["couponList"]
	if lenient.Absent(list) {
		list = fields["coupons"]
	}
	records, total, err := couponPage(list)
	if err != nil {
		return allInfoPage{}, err
	}
	var member warehouse.Row
	m, err := decodeMemberInfo(source, key, d, fields)
	if err != nil {
		member = connectors.Reject(source, "members", d, err, "customerId")
	} else {
		member = m
	}
	id := m.MemberID
	if id == "" {
		id = key
	}
	coupons := decodeCoupons(source, "members", id, records)
	return allInfoPage{member: member, coupons: coupons, total: total}, nil
}

// decodeMemberInfo maps the member fields of an allCustomerInfo page.
func decodeMemberInfo(source, key string, d []byte, fields map[string]json.RawMessage) (warehouse.Member, error) {
	// the coupon lists ride along in data (and in raw) and are bounded by
	// their own records' checks; the profile itself must be a record's size
	if n := len(d) - len(fields["couponList"]) - len(fields["coupons"]); n > connectors.MaxRecordBytes {
		return warehouse.Member{}, connectors.CheckRecordSize("member profile", d[:n])
	}
	var info allCustomerInfo
	if err := json.Unmarshal(d, &info); err != nil {
		return warehouse.Member{}, fmt.Errorf("data: %w", err)
	}
	p := info.profile
	p.merge(info.CustomerInfo)
	p.merge(info.BaseInfo)
	custom, err := customAttrs(fields)
	if err != nil {
		return warehouse.Member{}, err
	}
	raw, err := lenient.Compact(d)
	if err != nil {
		return warehouse.Member{}, err
	}
	if instant(p.CreatedAt.V) == nil {
		if err := lenient.CheckTimes(lenient.Shanghai, "createdAt", p.CreatedAt.V); err != nil {
			return warehouse.Member{}, err
		}
	}
	id := lenient.First(p.CustomerID.V, key)
	m := warehouse.Member{
		Common:      warehouse.Common{Source: source},
		MemberID:    id,
		CustomerID:  id,
		Name:        lenient.First(p.Username.V, p.Name.V),
		Mobile:      strings.TrimSpace(p.Mobile.V),
		Email:       strings.TrimSpace(p.Email.V),
		Gender:      lenient.Code(p.Gender.V),
		Birthday:    lenient.Date(p.Birthday.V),
		LevelID:     lenient.Code(p.MemberLevel.V),
		LevelName:   strings.TrimSpace(p.MemberLevelName.V),
		LastUpdated: instant(info.UpdatedAt.V),
		DateCreated: instant(p.CreatedAt.V),
		CustomAttrs: custom,
		MemberCode:  strings.TrimSpace(p.CardNo.V),
		Raw:         raw,
	}
	if info.TotalPoints.Valid {
		pt := info.TotalPoints.V.Truncate(0)
		if pt.Abs().BigInt().BitLen() > 62 {
			return warehouse.Member{}, fmt.Errorf("totalPoints out of range: %s", lenient.Clip(pt.String()))
		}
		m.Point = pt.IntPart()
	}
	if info.RechargeBalance.Valid || info.GiftBalance.Valid {
		bal := info.RechargeBalance.V.Add(info.GiftBalance.V).Round(2)
		if bal.Abs().BigInt().BitLen() > 53 { // Decimal(18, 2) holds < 10^16
			return warehouse.Member{}, fmt.Errorf("balance out of range: %s", lenient.Clip(bal.String()))
		}
		m.Balance = &bal
	}
	return m, nil
}

// couponPage reads an embedded coupon list: an array, or an object
// holding the array in list, data or records and the total count in total.
func couponPage(raw json.RawMessage) ([]json.RawMessage, int64, error) {
	d := bytes.TrimSpace(raw)
	switch {
	case len(d) == 0, string(d) == "null", string(d) == `""`:
		return nil, 0, nil
	case d[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(d, &list); err != nil {
			return nil, 0, fmt.Errorf("coupon list: %w", err)
		}
		return list, 0, nil
	case d[0] == '{':
		var pg struct {
			List    []json.RawMessage `json:"list"`
			Data    []json.RawMessage `json:"data"`
			Records []json.RawMessage `json:"records"`
			Total   lenient.Int       `json:"total"`
		}
		if err := json.Unmarshal(d, &pg); err != nil {
			return nil, 0, fmt.Errorf("coupon list: %w", err)
		}
		return slices.Concat(pg.List, pg.Data, pg.Records), pg.Total.V, nil
	}
	return nil, 0, fmt.Errorf("coupon list is neither an array nor an object: %s", lenient.Clip(string(d)))
}

// customAttrs is the JSON object of every non-standard key, sorted, with
// the values as the vendor sent them (compacted).
func customAttrs(fields map[string]json.RawMessage) (string, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if !isStandardKey(k) {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	var b bytes.Buffer
	b.WriteByte('{')
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		kb, err := json.Marshal(k)
		if err != nil {
			return "", err
		}
		b.Write(kb)
		b.WriteByte(':')
		if err := json.Compact(&b, fields[k]); err != nil {
			return "", fmt.Errorf("custom attribute %s: %w", lenient.Clip(k), err)
		}
	}
	b.WriteByte('}')
	return b.String(), nil
}
