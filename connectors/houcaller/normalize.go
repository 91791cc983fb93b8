package houcaller

import (
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// CouponStatus maps a member-coupon `status` of listCpnItemByMember
// (0 未使用, 1 已使用, 2 已过期 [S002]) and of getLastSendCpnItem, the
// wider set (0 未使用, 1 已核销, 2 已过期, 3 已退款, 7 赠送中 [H-last]), onto
// the normalized statuses. Anything else is unknown; the caller keeps the
// vendor's value as vendor_status.
func CouponStatus(vendor string) warehouse.CouponStatus { return couponStatuses.Of(vendor) }

var couponStatuses = connectors.CouponStatuses{
	"0": warehouse.CouponUnused,
	"1": warehouse.CouponUsed,
	"2": warehouse.CouponExpired,
	"3": warehouse.CouponRefunded,
	"7": warehouse.CouponGifting,
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

// dateBound reads a validity bound: the date text of any value with a
// date, and the instant bound gives it in China time, as UTC. With
// lenient.DayStart (a begin date) that is 00:00:00 of a date-only value's
// day; with lenient.DayEnd (an end date) its last second, 23:59:59 +08:00,
// so the coupon is usable through the whole end day. A value with a clock
// is taken as is.
func dateBound(s string, bound func(string, *time.Location) (string, *time.Time)) (string, *time.Time) {
	d := lenient.Date(s)
	if d == "" {
		return "", nil
	}
	_, t := bound(s, lenient.Shanghai)
	return d, t
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
