package dmhub

import (
	"context"
	"log/slog"
	"net/url"
	"strings"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// The single-record reads pushed events (webhooks) refresh through: the
// same endpoints' objects, decoded by the same functions as the list
// streams, so a row refreshed by an event equals the row polling loads
// (docs/webhooks.md). A record that does not decode comes back as a
// rejected_records row, as in the streams.

// Member reads one membership, GET /loyalty/v1/membership/{id}
// (vendor-api.md §1.5 #3), into a members row; a bare-number level is
// resolved against the level rules as the members stream does. found is
// false when the vendor does not know the member.
func (k *Connector) Member(ctx context.Context, id string) (row warehouse.Row, found bool, err error) {
	id = strings.TrimSpace(id)
	body, err := k.c.Get(ctx, memberPath(id, ""), nil)
	if err != nil {
		if connectors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, err
	}
	m, lvl, err := decodeMemberLevel(k.src.Name, body)
	if err != nil {
		return connectors.Reject(k.src.Name, "members", body, err, "id"), true, nil
	}
	if lvl.Bare {
		rules, err := (&membersStream{c: k.c, source: k.src.Name}).levelRules(ctx, slog.Default())
		if err != nil {
			return nil, false, err
		}
		rules.resolveLevel(&m, lvl.Priority.V)
	}
	return m, true, nil
}

// Coupon reads one coupon definition, GET /loyalty/v1/coupon/{couponId}
// (§1.5 #13.2), into a coupons row. found is false when the vendor does
// not know it (it answers 409000 or 409200).
func (k *Connector) Coupon(ctx context.Context, couponID string) (row warehouse.Row, found bool, err error) {
	body, err := k.c.Get(ctx, "/loyalty/v1/coupon/"+url.PathEscape(strings.TrimSpace(couponID)), nil)
	if err != nil {
		if connectors.IsNotFound(err) || connectors.ClassOf(err) == connectors.Permanent {
			return nil, false, nil
		}
		return nil, false, err
	}
	c, err := decodeCoupon(k.src.Name, body)
	if err != nil {
		return connectors.Reject(k.src.Name, "coupons", body, err, "id"), true, nil
	}
	return c, true, nil
}

// MemberCoupon reads one member coupon, GET
// /loyalty/v1/membershipCoupon/{couponCode} (§1.5 #13.5), into a
// member_coupons row; member is the owner when the answer does not name
// one. found is false when the vendor does not know the code.
func (k *Connector) MemberCoupon(ctx context.Context, code, member string) (row warehouse.Row, found bool, err error) {
	body, err := k.c.Get(ctx, "/loyalty/v1/membershipCoupon/"+url.PathEscape(strings.TrimSpace(code)), nil)
	if err != nil {
		if connectors.IsNotFound(err) || connectors.ClassOf(err) == connectors.Permanent {
			return nil, false, nil
		}
		return nil, false, err
	}
	mc, err := decodeMemberCoupon(k.src.Name, member, body)
	if err != nil {
		return connectors.Reject(k.src.Name, "member_coupons", body, err, "couponCode"), true, nil
	}
	return mc, true, nil
}
