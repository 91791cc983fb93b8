package zvcms

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// couponItem is a customer coupon as getCustomerCoupons returns it [S003]
// and, presumably, as allCustomerInfo lists it. Every field may arrive as
// a string or a number (useStatus "0", templateId "951").
type couponItem struct {
	CardID     lenient.String `json:"cardId"`
	CouponID   lenient.String `json:"couponId"`
	CustomerID lenient.String `json:"customerId"`
	Title      lenient.String `json:"title"`
	UseStatus  lenient.String `json:"useStatus"`
	BeginAt    lenient.String `json:"beginAt"`
	EndAt      lenient.String `json:"endAt"`
	CreatedAt  lenient.String `json:"createdAt"`
}

// couponRecords splits a coupon `data` into records: an array is a list,
// an object is one coupon (the documented shape with cardId); absent,
// null, "" and {} are no coupons.
func couponRecords(data json.RawMessage) ([]json.RawMessage, error) {
	d := bytes.TrimSpace(data)
	switch {
	case len(d) == 0, string(d) == "null", string(d) == `""`:
		return nil, nil
	case d[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(d, &list); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return list, nil
	case d[0] == '{':
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(d, &fields); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		if len(fields) == 0 {
			return nil, nil
		}
		return []json.RawMessage{d}, nil
	}
	return nil, fmt.Errorf("data is neither an object nor an array: %s", lenient.Clip(string(d)))
}

// decodeCoupons maps coupon records to member_coupons rows; member is the
// customer id used when a record names none. A record that does not
// decode is a rejected_records row of stream in its place.
func decodeCoupons(source, stream, member string, list []json.RawMessage) []warehouse.Row {
	return connectors.DecodeRecords(source, stream, "coupons", list, func(raw json.RawMessage) (warehouse.MemberCoupon, error) {
		return decodeCoupon(source, member, raw)
	}, "cardId")
}

// decodeCoupon maps one coupon: coupon_code = cardId (券编码), coupon_id =
// couponId, drawn_at = createdAt, starts_at/ends_at = beginAt/endAt read
// in China time. zvcms sends no redemption time, so redeemed_at stays
// empty; start_date/end_date are filled only for date-only values.
func decodeCoupon(source, member string, raw json.RawMessage) (warehouse.MemberCoupon, error) {
	var it couponItem
	rawText, err := connectors.ReadRecord("coupon", raw, &it)
	if err != nil {
		return warehouse.MemberCoupon{}, err
	}
	code := strings.TrimSpace(it.CardID.V)
	if code == "" {
		return warehouse.MemberCoupon{}, fmt.Errorf("coupon without a cardId: %s", lenient.Clip(string(raw)))
	}
	if err := lenient.CheckTimes(lenient.Shanghai, "beginAt", it.BeginAt.V, "endAt", it.EndAt.V, "createdAt", it.CreatedAt.V); err != nil {
		return warehouse.MemberCoupon{}, fmt.Errorf("coupon %s: %w", lenient.Clip(code), err)
	}
	startDate, startsAt := lenient.DayStart(it.BeginAt.V, lenient.Shanghai)
	endDate, endsAt := lenient.DayEnd(it.EndAt.V, lenient.Shanghai)
	vs := strings.TrimSpace(it.UseStatus.V)
	return warehouse.MemberCoupon{
		Common:       warehouse.Common{Source: source},
		CouponCode:   code,
		MemberID:     lenient.First(it.CustomerID.V, member),
		CouponID:     strings.TrimSpace(it.CouponID.V),
		CouponName:   strings.TrimSpace(it.Title.V),
		Status:       CouponStatus(vs),
		VendorStatus: vs,
		StartsAt:     startsAt,
		EndsAt:       endsAt,
		DrawnAt:      lenient.TimePtr(strings.TrimSpace(it.CreatedAt.V), lenient.Shanghai),
		StartDate:    startDate,
		EndDate:      endDate,
		Raw:          rawText,
	}, nil
}
