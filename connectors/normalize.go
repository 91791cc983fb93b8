package connectors

import (
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// CouponStatuses maps a vendor's coupon status codes onto the normalized
// statuses: each vendor's table is data in its normalize.go.
type CouponStatuses map[string]warehouse.CouponStatus

// Of returns the normalized status of a vendor code (compared in
// lenient.Code form: "1", 1 and "1.0" alike); a code the table does not
// have is unknown, and the caller keeps the vendor's value as
// vendor_status.
func (t CouponStatuses) Of(vendor string) warehouse.CouponStatus {
	if s, ok := t[lenient.Code(vendor)]; ok {
		return s
	}
	return warehouse.CouponUnknown
}

// Build adapts a connector package's New, which returns its own type, to
// a Factory's result, so that an error never comes with a typed nil
// Connector: `return connectors.Build(New(src, hc, opts...))`.
func Build[C Connector](k C, err error) (Connector, error) {
	if err != nil {
		return nil, err
	}
	return k, nil
}
