package dmhub

import (
	"bytes"
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// couponsStream pages the coupon definitions,
// GET /loyalty/v1/coupon?rows=&page=&sidx=couponId&sord=asc
// (vendor-api.md §1.5 #13.1), into coupons. Every run reads the whole list:
// no date filter exists (§1.4), and definitions are few. The list
// documents sidx/sord; couponId (the definition's unique key, §1.6) gives
// a stable order while paging across Fetch calls. At most req.Pages pages
// are read per Fetch; the cursor (CouponsCursor) carries the page
// position, including the probed page-size cap (see pager).
type couponsStream struct {
	c        *Client
	source   string
	pageSize int
}

var _ connectors.Stream = (*couponsStream)(nil)

// CouponsCursor is the coupons stream's position within a run.
type CouponsCursor struct {
	Pos PagePos `json:"pos"`
}

const couponsPath = "/loyalty/v1/coupon"

// Fetch implements connectors.Stream.
func (s *couponsStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	cur := CouponsCursor{Pos: PagePos{Page: 1}}
	if err := connectors.ReadCursor(s.source, "GET "+couponsPath, "coupons cursor", req.Cursor, &cur,
		func(c CouponsCursor) bool { return c.Pos.Page >= 1 && c.Pos.Rows >= 0 }); err != nil {
		return connectors.Batch{}, err
	}
	params := url.Values{"sidx": {"couponId"}, "sord": {"asc"}}
	if cur.Pos.Page == 1 {
		params.Set("needTotal", "true") // `records`, for progress only
	}
	p := newPager(s.c, s.source, couponsPath, s.pageSize, params)
	p.pos = cur.Pos
	var b connectors.Batch
	for n := 0; n < max(req.Pages, 1) && !p.done(); n++ {
		rows, err := p.next(ctx)
		if err != nil {
			return connectors.Batch{}, err
		}
		if n == 0 && cur.Pos.Page == 1 {
			if p.records.Valid {
				b.Total = p.records.V
			}
			p.params.Del("needTotal")
		}
		b.Add(connectors.DecodeRecords(s.source, "coupons", "", rows, func(raw json.RawMessage) (warehouse.Coupon, error) {
			return decodeCoupon(s.source, raw)
		}, "couponId"))
	}
	b.Items = int64(len(b.Rows))
	b.Pages, b.Requests, b.Done = p.pages, p.requests, p.done()
	b.Next, _ = json.Marshal(CouponsCursor{Pos: p.pos})
	return b, nil
}

// decodeCoupon turns one coupon definition (vendor-api.md §1.6, S000 §13)
// into a coupons row: coupon_id = couponId (required), name = couponName,
// coupon_type and valid_type as text (1/2/3 and 1/2, §1.9), and
// start_date/end_date from validDate.startDate/endDate when present (an
// absolute range, validType 1), kept as "YYYY-MM-DD". A relative range
// (startDays/validDays) leaves both empty. `rule` is not interpreted:
// its goodsLimit is the string "null" in the documents (§1.10 #9), and
// raw keeps it as sent.
func decodeCoupon(source string, raw []byte) (warehouse.Coupon, error) {
	var (
		id, name, couponType, validType lenient.String
		valid                           validDate
	)
	compact, err := decodeObject("coupon", raw, field{"couponId", &id}, field{"couponName", &name},
		field{"couponType", &couponType}, field{"validType", &validType}, field{"validDate", &valid})
	if err != nil {
		return warehouse.Coupon{}, err
	}
	cid := strings.TrimSpace(id.V)
	if cid == "" {
		return warehouse.Coupon{}, fmt.Errorf("coupon without a couponId: %s", lenient.Clip(compact))
	}
	return warehouse.Coupon{
		Common:     warehouse.Common{Source: source},
		CouponID:   cid,
		Name:       name.V,
		CouponType: strings.TrimSpace(couponType.V),
		ValidType:  strings.TrimSpace(validType.V),
		StartDate:  lenient.Date(valid.start.V),
		EndDate:    lenient.Date(valid.end.V),
		Raw:        compact,
	}, nil
}

// validDate reads the dates of coupon.validDate; anything but an object
// (null, "null") means no absolute range.
type validDate struct{ start, end lenient.String }

func (v *validDate) UnmarshalJSON(b []byte) error {
	*v = validDate{}
	if b = bytes.TrimSpace(b); len(b) == 0 || b[0] != '{' {
		return nil
	}
	_, err := decodeObject("validDate", b, field{"startDate", &v.start}, field{"endDate", &v.end})
	return err
}
