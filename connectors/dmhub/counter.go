package dmhub

import (
	"context"
	"fmt"
	"net/url"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

var _ connectors.Counter = (*Connector)(nil)

// listTotals are the source-wide lists whose totals DM Hub reports with
// needTotal=true (vendor-api.md §1.4: `records` = number of rows).
var listTotals = map[string]string{
	"members": "/loyalty/v1/membership",
	"coupons": couponsPath,
}

// memberTotals are the per-member lists and their path suffixes; the
// member's coupon list (§13.6) carries total/records even without
// needTotal, and needTotal is sent anyway.
var memberTotals = map[string]string{
	"points":         "/point",
	"experience":     "/exp/changeLogs",
	"member_coupons": "/coupon",
}

// CountList implements connectors.Counter: one request, rows=1 with
// needTotal=true, reading `records`.
func (k *Connector) CountList(ctx context.Context, stream string) (int64, bool, error) {
	path, ok := listTotals[stream]
	if !ok {
		return 0, false, nil
	}
	return k.records(ctx, path)
}

// CountMember implements connectors.Counter.
func (k *Connector) CountMember(ctx context.Context, stream, member string) (int64, bool, error) {
	suffix, ok := memberTotals[stream]
	if !ok {
		return 0, false, nil
	}
	return k.records(ctx, memberPath(member, suffix))
}

// records asks a list for its `records` total. A body without it (the
// vendor did not send one) is "cannot tell", not zero.
func (k *Connector) records(ctx context.Context, path string) (int64, bool, error) {
	body, err := k.c.Get(ctx, path, url.Values{"rows": {"1"}, "page": {"1"}, "needTotal": {"true"}})
	if err != nil {
		return 0, false, err
	}
	var page struct {
		Records *lenient.Int `json:"records"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return 0, false, &connectors.Error{Class: connectors.Permanent, Source: k.src.Name, Op: "GET " + path,
			Message: "unexpected response", Err: fmt.Errorf("not a {\"rows\":[…]} list: %w", err)}
	}
	if page.Records == nil || !page.Records.Valid {
		return 0, false, nil
	}
	return page.Records.V, true, nil
}

// MemberPoint implements connectors.Counter: the member's `point` from
// GET /loyalty/v1/membership/{id}.
func (k *Connector) MemberPoint(ctx context.Context, member string) (int64, error) {
	body, err := k.c.Get(ctx, memberPath(member, ""), nil)
	if err != nil {
		return 0, err
	}
	var point lenient.Int
	if _, err := decodeObject("membership", body, field{"point", &point}); err != nil {
		return 0, &connectors.Error{Class: connectors.Permanent, Source: k.src.Name, Op: "GET /loyalty/v1/membership/{id}",
			Message: "unexpected response", Err: err}
	}
	return point.V, nil
}
