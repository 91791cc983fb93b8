package dmhub

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// memberCouponsStream reads one member's coupons,
// GET /loyalty/v1/membership/{id}/coupon (vendor-api.md §1.5 #13.6), into
// member_coupons. It is not a Ledger: a coupon's status changes in place,
// so every read takes all of the member's coupons (every page, both
// modes). No `status` filter is sent, so coupons of every status come
// back. Paging is rows/page like the other lists ([INF] §1.4: only
// `status` is documented, yet the answer carries total/records).
type memberCouponsStream struct {
	c        *Client
	source   string
	pageSize int
	maxPages int // per member (max_member_pages)
}

var _ connectors.MemberStream = (*memberCouponsStream)(nil)

// FetchMember implements connectors.MemberStream. A member the vendor
// does not know gives no rows and an error wrapping connectors.ErrNotFound.
func (s *memberCouponsStream) FetchMember(ctx context.Context, req connectors.MemberRequest) (connectors.MemberBatch, error) {
	member, err := connectors.MemberKey(s.source, "GET /loyalty/v1/membership/{id}/coupon", req.Member)
	if err != nil {
		return connectors.MemberBatch{}, err
	}
	p := newPager(s.c, s.source, memberPath(member, "/coupon"), s.pageSize, nil).bounded(s.maxPages, req)
	decode := func(raw json.RawMessage) (warehouse.MemberCoupon, error) {
		return decodeMemberCoupon(s.source, member, raw)
	}
	var b connectors.MemberBatch
	for !p.done() {
		rows, err := p.next(ctx)
		if err != nil {
			return p.memberFailed(err)
		}
		b.Rows = append(b.Rows, connectors.DecodeRecords(s.source, "member_coupons", "", rows, decode, "couponCode")...)
	}
	b.Pages, b.Requests, b.Capped = p.pages, p.requests, p.capped
	return b, nil
}

// couponStatuses maps membershipCoupon.status (vendor-api.md §1.9,
// docs/normalization.md §1); any other value is CouponUnknown.
var couponStatuses = map[string]warehouse.CouponStatus{
	"notStarted": warehouse.CouponNotStarted,
	"normal":     warehouse.CouponUnused,
	"used":       warehouse.CouponUsed,
}

// decodeMemberCoupon turns one membershipCoupon (vendor-api.md §1.6) into
// a member_coupons row.
//
//   - coupon_code = couponCode (required); member_id = membershipId, else
//     member; coupon_name = couponName, one of the parent coupon's fields
//     that follow couponType.
//   - status: notStarted → not_started, normal → unused, used → used,
//     anything else (absent included) → unknown; vendor_status keeps the
//     vendor's string as sent.
//   - drawn_at = dateDraw, redeemed_at = dateRedeem: UTC instants (§1.8).
//   - startDate/endDate are tenant-local calendar dates ([INF] §1.8), kept
//     as "YYYY-MM-DD" text in start_date/end_date; starts_at is that day's
//     00:00:00 Asia/Shanghai and ends_at that day's 23:59:59 Asia/Shanghai,
//     both in UTC, so the coupon is usable through its whole end day (the
//     convention of docs/normalization.md §5). A value with a clock is an
//     instant (zoneless means UTC): the text column stays empty.
//   - uuid is trimmed of whitespace, including the trailing "\r\n" the
//     documents show (§1.10 #10), whether sent as control characters or
//     as a literal backslash sequence.
//   - The string "null" reads as null in every field.
func decodeMemberCoupon(source, member string, raw []byte) (warehouse.MemberCoupon, error) {
	var (
		code, membership, couponID, name, status lenient.String
		draw, redeem, start, end, uuid           lenient.String
	)
	compact, err := decodeObject("membershipCoupon", raw,
		field{"couponCode", &code}, field{"membershipId", &membership}, field{"couponId", &couponID},
		field{"couponName", &name}, field{"status", &status}, field{"dateDraw", &draw}, field{"dateRedeem", &redeem},
		field{"startDate", &start}, field{"endDate", &end}, field{"uuid", &uuid})
	if err != nil {
		return warehouse.MemberCoupon{}, err
	}
	cc := strings.TrimSpace(code.V)
	if cc == "" {
		return warehouse.MemberCoupon{}, fmt.Errorf("membershipCoupon without a couponCode: %s", lenient.Clip(compact))
	}
	vs := strings.TrimSpace(status.V)
	st, ok := couponStatuses[vs]
	if !ok {
		st = warehouse.CouponUnknown
	}
	var times lenient.Times
	m := warehouse.MemberCoupon{
		Common:       warehouse.Common{Source: source},
		CouponCode:   cc,
		MemberID:     orStr(strings.TrimSpace(membership.V), member),
		CouponID:     strings.TrimSpace(couponID.V),
		CouponName:   name.V,
		Status:       st,
		VendorStatus: vs,
		DrawnAt:      times.Parse("dateDraw", draw.V, time.UTC),
		RedeemedAt:   times.Parse("dateRedeem", redeem.V, time.UTC),
		UUID:         trimUUID(uuid.V),
		Raw:          compact,
	}
	m.StartDate, m.StartsAt = localDay(&times, "startDate", start.V, 0)
	m.EndDate, m.EndsAt = localDay(&times, "endDate", end.V, 24*time.Hour-time.Second)
	if err := times.Err(); err != nil {
		return warehouse.MemberCoupon{}, fmt.Errorf("membershipCoupon %s: %w", lenient.Clip(cc), err)
	}
	return m, nil
}

// localDay reads a date-only value as a tenant-local (Asia/Shanghai) day:
// its "YYYY-MM-DD" text and the instant at offset into that day, in UTC.
// A value with a clock is an instant (zoneless = UTC) with no date text;
// an unreadable one is recorded in times (the record is rejected).
func localDay(times *lenient.Times, field, s string, offset time.Duration) (string, *time.Time) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if strings.ContainsAny(s, "T :") {
		return "", times.Parse(field, s, time.UTC)
	}
	d := lenient.Date(s)
	if d == "" {
		if s != "null" {
			times.Parse(field, s, time.UTC) // records why s is not a date
		}
		return "", nil
	}
	day, err := time.ParseInLocation("2006-01-02", d, lenient.Shanghai)
	if err != nil {
		return d, nil
	}
	t := day.Add(offset).UTC()
	if t.Before(lenient.MinTime) || t.After(lenient.MaxTime) {
		return d, nil
	}
	return d, &t
}

// trimUUID trims whitespace and literal `\r`/`\n` escapes from both ends.
func trimUUID(s string) string {
	for {
		t := strings.TrimSpace(s)
		for _, esc := range []string{`\r`, `\n`} {
			t = strings.TrimSuffix(strings.TrimPrefix(t, esc), esc)
		}
		if t == s {
			return t
		}
		s = t
	}
}
