package zvcms

import (
	"strconv"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// CouponStatus maps a coupon `useStatus` onto the normalized statuses:
// 0 未使用/已冲正 unused, 1 已核销 used, 2 已冻结 frozen, 6 已失效 invalid,
// 7 已删除/已回收 deleted [S003], 4 转赠中 gifting and 5 转赠超时 unused
// [Z-all3]. Anything else is unknown; the caller keeps the vendor's value
// as vendor_status.
//
// 5 (gift timed out) is unused: the recipient did not accept the gift in
// time, so the transfer lapsed and the coupon stays with — and usable by —
// the customer whose list it appears in (4 is the pending transfer,
// during which it is locked). vendor_status "5" keeps the distinction.
func CouponStatus(vendor string) warehouse.CouponStatus { return couponStatuses.Of(vendor) }

var couponStatuses = connectors.CouponStatuses{
	"0": warehouse.CouponUnused,
	"1": warehouse.CouponUsed,
	"2": warehouse.CouponFrozen,
	"4": warehouse.CouponGifting,
	"5": warehouse.CouponUnused,
	"6": warehouse.CouponInvalid,
	"7": warehouse.CouponDeleted,
}

// instant reads a timestamp that is either epoch seconds (≤ 11 digits),
// epoch milliseconds (more digits), or a China-local date-time; nil when
// absent or unreadable.
func instant(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		var t time.Time
		if len(strings.TrimPrefix(s, "-")) > 11 {
			t = time.UnixMilli(n).UTC()
		} else {
			t = time.Unix(n, 0).UTC()
		}
		if t.Before(lenient.MinTime) || t.After(lenient.MaxTime) {
			return nil
		}
		return &t
	}
	return lenient.TimePtr(s, lenient.Shanghai)
}
