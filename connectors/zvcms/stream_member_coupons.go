package zvcms

import (
	"context"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// memberCouponsStream reads one customer's coupons with V3
// crm/coupon/getCustomerCoupons [S003], asking by customerId alone (no
// cardId, no useStatus filter). The method has no paging, so one request
// completes the partition, in both modes; there is no incremental cursor.
// `data` may be one coupon object (the documented example) or an array.
type memberCouponsStream struct {
	c      *Client
	source string
}

var _ connectors.Stream = (*memberCouponsStream)(nil)

type couponsParams struct {
	CustomerID string `json:"customerId"`
}

// Fetch implements connectors.Stream. Partition is the customerId.
func (s *memberCouponsStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	const op = "POST /v3/" + PathGetCustomerCoupons
	key, err := connectors.MemberKey(s.source, op, req.Partition)
	if err != nil {
		return connectors.Batch{}, err
	}
	data, err := s.c.CallV3(ctx, PathGetCustomerCoupons, couponsParams{CustomerID: key})
	if err != nil {
		return connectors.Batch{}, err
	}
	rows, err := decodeCustomerCoupons(s.source, key, data)
	if err != nil {
		return connectors.Batch{}, connectors.DataError(s.source, op, err)
	}
	return connectors.Batch{Rows: rows, Done: true, Pages: 1, Requests: 1, Items: 1, Rejected: connectors.Rejected(rows)}, nil
}

// decodeCustomerCoupons decodes the `data` of getCustomerCoupons.
func decodeCustomerCoupons(source, member string, data json.RawMessage) ([]warehouse.Row, error) {
	list, err := couponRecords(data)
	if err != nil {
		return nil, err
	}
	return decodeCoupons(source, "member_coupons", member, list), nil
}
