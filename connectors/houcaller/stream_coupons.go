package houcaller

import (
	"context"
	"fmt"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// couponsStream reads the coupon definitions of the mall with
// listCpnForShop, whose param is the encrypted empty object `{}` [H-shop].
// The method has no paging: one request is the whole stream, in both
// modes, and there is no incremental cursor. Partition is ignored.
type couponsStream struct {
	c      *Client
	source string
}

var _ connectors.Stream = (*couponsStream)(nil)

// Fetch implements connectors.Stream.
func (s *couponsStream) Fetch(ctx context.Context, _ connectors.Request) (connectors.Batch, error) {
	data, err := s.c.Call(ctx, MethodListCpnForShop, struct{}{})
	if err != nil {
		return connectors.Batch{}, err
	}
	rows, err := decodeCoupons(s.source, data)
	if err != nil {
		return connectors.Batch{}, connectors.DataError(s.source, opName(MethodListCpnForShop), err)
	}
	return connectors.Batch{Rows: rows, Done: true, Pages: 1, Requests: 1, Items: int64(len(rows)), Rejected: connectors.Rejected(rows),
		Total: int64(len(rows))}, nil
}

// couponDef is a coupon definition of listCpnForShop / getCpnDetailByIds
// [H-detail, H-shop]: begTime/endTime bound its validity.
type couponDef struct {
	ID       lenient.String `json:"id"`
	CpnIDLow lenient.String `json:"cpnid"`
	CpnID    lenient.String `json:"cpnId"`
	CpnName  lenient.String `json:"cpnName"`
	CpnType  lenient.String `json:"cpnType"`
	BegTime  lenient.String `json:"begTime"`
	EndTime  lenient.String `json:"endTime"`
}

// decodeCoupons turns the `data` of listCpnForShop ({"list":[…]} or […])
// into coupons rows.
func decodeCoupons(source string, data json.RawMessage) ([]warehouse.Row, error) {
	list, err := decodeList(data)
	if err != nil {
		return nil, err
	}
	return connectors.DecodeRecords(source, "coupons", "list", list, func(raw json.RawMessage) (warehouse.Coupon, error) {
		return decodeCoupon(source, raw)
	}, "id", "cpnId", "cpnid"), nil
}

// decodeCoupon maps one coupon definition.
func decodeCoupon(source string, raw json.RawMessage) (warehouse.Coupon, error) {
	var d couponDef
	rawText, err := connectors.ReadRecord("coupon", raw, &d)
	if err != nil {
		return warehouse.Coupon{}, err
	}
	id := lenient.First(d.ID.V, d.CpnID.V, d.CpnIDLow.V)
	if id == "" {
		return warehouse.Coupon{}, fmt.Errorf("coupon definition without an id: %s", lenient.Clip(string(raw)))
	}
	if err := lenient.CheckTimes(lenient.Shanghai, "begTime", d.BegTime.V, "endTime", d.EndTime.V); err != nil {
		return warehouse.Coupon{}, fmt.Errorf("coupon definition %s: %w", lenient.Clip(id), err)
	}
	return warehouse.Coupon{
		Common:     warehouse.Common{Source: source},
		CouponID:   id,
		Name:       strings.TrimSpace(d.CpnName.V),
		CouponType: lenient.Code(d.CpnType.V),
		StartDate:  lenient.Date(d.BegTime.V),
		EndDate:    lenient.Date(d.EndTime.V),
		Raw:        rawText,
	}, nil
}
