package zvcms

import (
	"strconv"
	"strings"
	"time"

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
func CouponStatus(vendor string) warehouse.CouponStatus {
	switch lenient.Code(vendor) {
	case "0":
		return warehouse.CouponUnused
	case "1":
		return warehouse.CouponUsed
	case "2":
		return warehouse.CouponFrozen
	case "4":
		return warehouse.CouponGifting
	case "5":
		return warehouse.CouponUnused
	case "6":
		return warehouse.CouponInvalid
	case "7":
		return warehouse.CouponDeleted
	}
	return warehouse.CouponUnknown
}

// isDateOnly reports whether s is a calendar date without a clock.
func isDateOnly(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && !strings.ContainsAny(s, " T") && lenient.Date(s) != ""
}

// startOf reads a validity start: a date-time is China local time; a
// date-only value is 00:00:00 of that China day. Both come back as UTC,
// with the date text for date-only values ("" otherwise).
func startOf(s string) (string, *time.Time) {
	if isDateOnly(s) {
		d := lenient.Date(s)
		return d, lenient.TimePtr(d, lenient.Shanghai)
	}
	return "", lenient.TimePtr(strings.TrimSpace(s), lenient.Shanghai)
}

// endOf reads a validity end: a date-only value is the last second,
// 23:59:59, of that China day (zvcms writes its own ends that way,
// "2019-11-03 23:59:59" [S003]).
func endOf(s string) (string, *time.Time) {
	if isDateOnly(s) {
		d := lenient.Date(s)
		return d, lenient.TimePtr(d+" 23:59:59", lenient.Shanghai)
	}
	return "", lenient.TimePtr(strings.TrimSpace(s), lenient.Shanghai)
}

// checkTimes takes (field name, value) pairs and reports the first value
// that is sent but is not a China-local time (lenient.Time): such a
// record is rejected rather than stored with the field silently NULL.
func checkTimes(pairs ...string) error {
	var times lenient.Times
	for i := 0; i+1 < len(pairs); i += 2 {
		times.Parse(pairs[i], pairs[i+1], lenient.Shanghai)
	}
	return times.Err()
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
