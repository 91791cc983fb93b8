package houcaller

import (
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestCouponStatus is the Houcaller table of docs/normalization.md.
func TestCouponStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		vendor string
		want   warehouse.CouponStatus
	}{
		{"0", warehouse.CouponUnused},   // 未使用 [S002, H-last]
		{"1", warehouse.CouponUsed},     // 已使用 / 已核销
		{"2", warehouse.CouponExpired},  // 已过期
		{"3", warehouse.CouponRefunded}, // 已退款 [H-last]
		{"7", warehouse.CouponGifting},  // 赠送中 [H-last]
		{" 0 ", warehouse.CouponUnused},
		{"0.0", warehouse.CouponUnused},
		{"4", warehouse.CouponUnknown},
		{"-1", warehouse.CouponUnknown},
		{"", warehouse.CouponUnknown},
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

func TestDateBounds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in                  string
		startDate, startsAt string
		endDate, endsAt     string
	}{
		{"2020-01-17", "2020-01-17", "2020-01-16T16:00:00Z", "2020-01-17", "2020-01-17T15:59:59Z"},
		{"2020-1-7", "2020-01-07", "2020-01-06T16:00:00Z", "2020-01-07", "2020-01-07T15:59:59Z"},
		{"2022-02-15 15:30:10", "2022-02-15", "2022-02-15T07:30:10Z", "2022-02-15", "2022-02-15T07:30:10Z"},
		{"1969-12-31", "1969-12-31", "<nil>", "1969-12-31", "<nil>"}, // a DateTime cannot hold it; the text stays
		{"", "", "<nil>", "", "<nil>"},
		{"soon", "", "<nil>", "", "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			sd, sa := dateBound(tt.in, lenient.DayStart)
			ed, ea := dateBound(tt.in, lenient.DayEnd)
			if sd != tt.startDate || fmtTime(sa) != tt.startsAt || ed != tt.endDate || fmtTime(ea) != tt.endsAt {
				t.Fatalf("got %s %s / %s %s", sd, fmtTime(sa), ed, fmtTime(ea))
			}
		})
	}
}

func TestScoTypeName(t *testing.T) {
	t.Parallel()
	if ScoTypeName("8") != "积分过期" || ScoTypeName("10") != "开放平台收入" || ScoTypeName("11") != "" {
		t.Fatal("scoType names")
	}
}
