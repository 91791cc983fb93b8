package houcaller

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// memberCouponsStream reads the coupons one member holds with
// listCpnItemByMember [S002]. The method has no paging, so one request
// returns every coupon of the member and the partition is done; both
// modes read the same, and there is no incremental cursor.
type memberCouponsStream struct {
	c      *Client
	source string
	key    KeyField
}

var _ connectors.Stream = (*memberCouponsStream)(nil)

// memberCouponsParam is the plaintext of `param`: memberId or platformId
// ("cannot both be empty" [S002]).
type memberCouponsParam struct {
	MemberID   string `json:"memberId,omitempty"`
	PlatformID string `json:"platformId,omitempty"`
}

// Fetch implements connectors.Stream. Partition is the member key.
func (s *memberCouponsStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	key, err := connectors.MemberKey(s.source, opName(MethodListCpnItemByMember), req.Partition)
	if err != nil {
		return connectors.Batch{}, err
	}
	p := memberCouponsParam{MemberID: key}
	if s.key == KeyPlatformID {
		p = memberCouponsParam{PlatformID: key}
	}
	data, err := s.c.Call(ctx, MethodListCpnItemByMember, p)
	if err != nil {
		return connectors.Batch{}, err
	}
	fallback := ""
	if s.key == KeyMemberID {
		fallback = key
	}
	rows, err := decodeMemberCoupons(s.source, fallback, data)
	if err != nil {
		return connectors.Batch{}, connectors.DataError(s.source, opName(MethodListCpnItemByMember), err)
	}
	return connectors.Batch{Rows: rows, Done: true, Pages: 1, Requests: 1, Items: 1, Rejected: connectors.Rejected(rows)}, nil
}

// couponItem is a member coupon of listCpnItemByMember [S002] or
// getLastSendCpnItem [H-last]. Both spellings of the coupon and member ids
// are read; whichever is non-empty wins (cpnid is filled and cpnId empty in
// S002; newer endpoints fill cpnId).
type couponItem struct {
	ID       lenient.String `json:"id"`
	CpnCode  lenient.String `json:"cpnCode"`
	CpnIDLow lenient.String `json:"cpnid"`
	CpnID    lenient.String `json:"cpnId"`
	CpnName  lenient.String `json:"cpnName"`
	Status   lenient.String `json:"status"`
	BegDate  lenient.String `json:"begDate"`
	EndDate  lenient.String `json:"endDate"`
	UseTime  lenient.String `json:"useTime"`
	SellTime lenient.String `json:"sellTime"`
	CTime    lenient.String `json:"ctime"`
	MmbIDLow lenient.String `json:"mmbid"`
	MmbID    lenient.String `json:"mmbId"`
}

// listData is a `data` holding `list`; some responses send the array as
// `data` itself, which decodeList accepts too.
type listData struct {
	List []json.RawMessage `json:"list"`
}

// decodeList returns the records of data: {"list":[…]}, […], or nothing
// for an absent or null data.
func decodeList(data json.RawMessage) ([]json.RawMessage, error) {
	if lenient.Absent(data) {
		return nil, nil
	}
	d := bytes.TrimSpace(data)
	if d[0] == '[' {
		var list []json.RawMessage
		if err := json.Unmarshal(d, &list); err != nil {
			return nil, fmt.Errorf("data: %w", err)
		}
		return list, nil
	}
	var ld listData
	if err := json.Unmarshal(d, &ld); err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	return ld.List, nil
}

// decodeMemberCoupons turns the `data` of listCpnItemByMember into
// member_coupons rows. member is used when an item names no member.
func decodeMemberCoupons(source, member string, data json.RawMessage) ([]warehouse.Row, error) {
	list, err := decodeList(data)
	if err != nil {
		return nil, err
	}
	return connectors.DecodeRecords(source, "member_coupons", "list", list, func(raw json.RawMessage) (warehouse.MemberCoupon, error) {
		return decodeMemberCoupon(source, member, raw)
	}, "cpnCode", "id"), nil
}

func decodeMemberCoupon(source, member string, raw json.RawMessage) (warehouse.MemberCoupon, error) {
	var it couponItem
	rawText, err := connectors.ReadRecord("coupon item", raw, &it)
	if err != nil {
		return warehouse.MemberCoupon{}, err
	}
	code := lenient.First(it.CpnCode.V, it.ID.V)
	if code == "" {
		return warehouse.MemberCoupon{}, fmt.Errorf("coupon without cpnCode or id: %s", lenient.Clip(string(raw)))
	}
	if err := lenient.CheckTimes(lenient.Shanghai, "begDate", it.BegDate.V, "endDate", it.EndDate.V, "useTime", it.UseTime.V,
		"sellTime", it.SellTime.V, "ctime", it.CTime.V); err != nil {
		return warehouse.MemberCoupon{}, fmt.Errorf("coupon %s: %w", lenient.Clip(code), err)
	}
	startDate, startsAt := dateBound(it.BegDate.V, lenient.DayStart)
	endDate, endsAt := dateBound(it.EndDate.V, lenient.DayEnd)
	vs := strings.TrimSpace(it.Status.V)
	return warehouse.MemberCoupon{
		Common:       warehouse.Common{Source: source},
		CouponCode:   code,
		MemberID:     lenient.First(it.MmbIDLow.V, it.MmbID.V, member),
		CouponID:     lenient.First(it.CpnIDLow.V, it.CpnID.V),
		CouponName:   strings.TrimSpace(it.CpnName.V),
		Status:       CouponStatus(vs),
		VendorStatus: vs,
		StartsAt:     startsAt,
		EndsAt:       endsAt,
		DrawnAt:      firstTime(it.SellTime.V, it.CTime.V),
		RedeemedAt:   firstTime(it.UseTime.V),
		StartDate:    startDate,
		EndDate:      endDate,
		Raw:          rawText,
	}, nil
}
