package houcaller

import (
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// CouponStatus maps a member-coupon `status` of listCpnItemByMember
// (0 未使用, 1 已使用, 2 已过期 [S002]) and of getLastSendCpnItem, the
// wider set (0 未使用, 1 已核销, 2 已过期, 3 已退款, 7 赠送中 [H-last]), onto
// the normalized statuses. Anything else is unknown; the caller keeps the
// vendor's value as vendor_status.
func CouponStatus(vendor string) warehouse.CouponStatus {
	switch lenient.Code(vendor) {
	case "0":
		return warehouse.CouponUnused
	case "1":
		return warehouse.CouponUsed
	case "2":
		return warehouse.CouponExpired
	case "3":
		return warehouse.CouponRefunded
	case "7":
		return warehouse.CouponGifting
	}
	return warehouse.CouponUnknown
}

// ScoTypeName is the vendor's name of a points `scoType` [H-sco].
func ScoTypeName(code string) string {
	switch lenient.Code(code) {
	case "0":
		return "积分初始化转入"
	case "1":
		return "积分累计"
	case "2":
		return "积分清理"
	case "3":
		return "积分兑换"
	case "4":
		return "积分补送"
	case "5":
		return "积分商城支出"
	case "6":
		return "积分商城收入"
	case "7":
		return "积分商城游戏"
	case "8":
		return "积分过期"
	case "9":
		return "开放平台支出"
	case "10":
		return "开放平台收入"
	}
	return ""
}

// dateStart reads a begin date. A date-only value ("2020-01-17") gives
// the date text and 00:00:00 of that day in China (UTC+8) as UTC; a value
// with a clock gives its date part and the instant itself.
func dateStart(s string) (string, *time.Time) {
	d := lenient.Date(s)
	if d == "" {
		return "", nil
	}
	return d, lenient.TimePtr(strings.TrimSpace(s), lenient.Shanghai)
}

// dateEnd reads an end date. A date-only value gives the date text and
// the last second of that China day, 23:59:59 +08:00, as UTC: the coupon
// is usable through the whole end day (zvcms writes its endAt the same
// way, "2019-11-03 23:59:59"). A value with a clock is taken as is.
func dateEnd(s string) (string, *time.Time) {
	d := lenient.Date(s)
	if d == "" {
		return "", nil
	}
	v := strings.TrimSpace(s)
	if !strings.ContainsAny(v, " T") {
		v = d + " 23:59:59"
	}
	return d, lenient.TimePtr(v, lenient.Shanghai)
}

// firstTime returns the first of the values that parses as a China-local
// timestamp, as UTC.
func firstTime(vals ...string) *time.Time {
	for _, v := range vals {
		if t := lenient.TimePtr(strings.TrimSpace(v), lenient.Shanghai); t != nil {
			return t
		}
	}
	return nil
}

// checkTimes takes (field name, value) pairs and reports the first value
// that is sent but is not a time (lenient.Time): such a record is
// rejected rather than stored with the field silently NULL.
func checkTimes(pairs ...string) error {
	var times lenient.Times
	for i := 0; i+1 < len(pairs); i += 2 {
		times.Parse(pairs[i], pairs[i+1], lenient.Shanghai)
	}
	return times.Err()
}
