package zvcms

import (
	"testing"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestCouponStatus is the zvcms table of docs/normalization.md.
func TestCouponStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vendor string
		want   warehouse.CouponStatus
	}{
		{"0", warehouse.CouponUnused},  // 未使用/已冲正 [S003]
		{"1", warehouse.CouponUsed},    // 已核销
		{"2", warehouse.CouponFrozen},  // 已冻结
		{"4", warehouse.CouponGifting}, // 转赠中 [Z-all3]
		{"5", warehouse.CouponUnused},  // 转赠超时: the gift lapsed, the coupon stays with the holder
		{"6", warehouse.CouponInvalid}, // 已失效
		{"7", warehouse.CouponDeleted}, // 已删除/已回收
		{"3", warehouse.CouponUnknown},
		{"8", warehouse.CouponUnknown},
		{"", warehouse.CouponUnknown},
		{"07", warehouse.CouponDeleted},
		{"1.0", warehouse.CouponUsed},
		{"used", warehouse.CouponUnknown},
	}
	for _, tt := range tests {
		t.Run(tt.vendor, func(t *testing.T) {
			t.Parallel()
			if got := CouponStatus(tt.vendor); got != tt.want {
				t.Fatalf("CouponStatus(%q) = %s, want %s", tt.vendor, got, tt.want)
			}
		})
	}
}

func TestInstant(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"1571130628", "2019-10-15T09:10:28Z"},    // epoch seconds
		{"1571130628000", "2019-10-15T09:10:28Z"}, // epoch milliseconds
		{"2019-10-15 17:10:2", "2019-10-15T09:10:02Z"},
		{"2019-10-15T17:10:28+08:00", "2019-10-15T09:10:28Z"},
		{"0", "<nil>"},
		{"", "<nil>"},
		{"-5", "<nil>"},
		{"99999999999999999", "<nil>"},
		{"yesterday", "<nil>"},
	}
	for _, tt := range tests {
		if got := fmtTime(instant(tt.in)); got != tt.want {
			t.Errorf("instant(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
