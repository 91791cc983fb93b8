package dmhub

import (
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// memberCouponView is a MemberCoupon with comparable fields.
type memberCouponView struct {
	CouponCode, MemberID, CouponID, CouponName string
	Status                                     warehouse.CouponStatus
	VendorStatus                               string
	StartsAt, EndsAt, DrawnAt, RedeemedAt      string
	StartDate, EndDate, UUID                   string
}

func viewMemberCoupon(m warehouse.MemberCoupon) memberCouponView {
	return memberCouponView{CouponCode: m.CouponCode, MemberID: m.MemberID, CouponID: m.CouponID, CouponName: m.CouponName,
		Status: m.Status, VendorStatus: m.VendorStatus, StartsAt: fmtTime(m.StartsAt), EndsAt: fmtTime(m.EndsAt),
		DrawnAt: fmtTime(m.DrawnAt), RedeemedAt: fmtTime(m.RedeemedAt), StartDate: m.StartDate, EndDate: m.EndDate, UUID: m.UUID}
}

func memberCouponRow(m warehouse.MemberCoupon) decoded[memberCouponView] {
	return decoded[memberCouponView]{view: viewMemberCoupon(m), source: m.Source, raw: m.Raw}
}

// docMemberCoupon is the §13.6 example, normalized: the dates are
// Asia/Shanghai days (2017-12-10 00:00:00 +08:00 … 2017-12-15 23:59:59
// +08:00), and the uuid loses its "\r\n".
var docMemberCoupon = memberCouponView{CouponCode: "34636772868722688", MemberID: "1", CouponID: "STxgWromTbt727eBcPOo",
	CouponName: "test", Status: warehouse.CouponNotStarted, VendorStatus: "notStarted",
	StartsAt: "2017-12-09T16:00:00Z", EndsAt: "2017-12-15T15:59:59Z", DrawnAt: "2017-12-05T05:54:10Z", RedeemedAt: "<nil>",
	StartDate: "2017-12-10", EndDate: "2017-12-15", UUID: "cnik8caw3EqPVCLAFP4IsmVeXwqb-EtxJSw3gugIq-0"}

func TestDecodeMemberCoupon(t *testing.T) {
	t.Parallel()
	with := func(edit func(*memberCouponView)) memberCouponView {
		v := docMemberCoupon
		edit(&v)
		return v
	}
	tests := []decodeCase[memberCouponView]{
		{name: "documented list row (S000 §13.6)", in: string(fixtureRows(t, "member_coupons_page_1.json")[0]), want: docMemberCoupon},
		{name: "documented draw answer (S000 §13.4)", in: string(readFixture(t, "coupon_draw.json")), want: docMemberCoupon},
		{name: "documented redeem answer (S000 §13.7): used", in: string(readFixture(t, "member_coupons_redeem.json")),
			want: with(func(v *memberCouponView) { v.Status, v.VendorStatus = warehouse.CouponUsed, "used" })},
		{name: "normal is unused; redeemed instant", in: `{"couponCode":"9","membershipId":2,"couponId":"C","status":"normal",
			"dateDraw":"2018-03-01T01:02:03","dateRedeem":"2018-03-02T04:05:06Z"}`,
			want: memberCouponView{CouponCode: "9", MemberID: "2", CouponID: "C", Status: warehouse.CouponUnused, VendorStatus: "normal",
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "2018-03-01T01:02:03Z", RedeemedAt: "2018-03-02T04:05:06Z"}},
		{name: "unknown status kept as sent", in: `{"couponCode":"9","status":"expired"}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUnknown, VendorStatus: "expired",
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>"}},
		{name: "numeric status (typed Number in the model)", in: `{"couponCode":"9","status":1}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUnknown, VendorStatus: "1",
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>"}},
		{name: "no status", in: `{"couponCode":"9"}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUnknown,
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>"}},
		{name: `"null" strings read as null`, in: `{"couponCode":"9","membershipId":"null","couponId":"null","couponName":"null",
			"status":"null","dateDraw":"null","dateRedeem":"null","startDate":"null","endDate":"null","uuid":"null"}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUnknown,
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>"}},
		{name: `uuid with a literal backslash "\r\n"`, in: `{"couponCode":"9","status":"used","uuid":" abc-0\\r\\n "}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUsed, VendorStatus: "used",
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>", UUID: "abc-0"}},
		{name: "dates with a clock are instants", in: `{"couponCode":"9","status":"normal","startDate":"2017-12-10T00:00:00Z",
			"endDate":"2017-12-15 12:00:00"}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUnused, VendorStatus: "normal",
				StartsAt: "2017-12-10T00:00:00Z", EndsAt: "2017-12-15T12:00:00Z", DrawnAt: "<nil>", RedeemedAt: "<nil>"}},
		{name: "pre-1970 end date keeps its text only", in: `{"couponCode":"9","status":"normal","endDate":"1960-01-01"}`,
			want: memberCouponView{CouponCode: "9", MemberID: "1", Status: warehouse.CouponUnused, VendorStatus: "normal",
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>", EndDate: "1960-01-01"}},
		{name: "18-digit code as a number keeps its digits", in: `{"couponCode":34636772868722688,"status":"used"}`,
			want: memberCouponView{CouponCode: "34636772868722688", MemberID: "1", Status: warehouse.CouponUsed, VendorStatus: "used",
				StartsAt: "<nil>", EndsAt: "<nil>", DrawnAt: "<nil>", RedeemedAt: "<nil>"}},
		{name: "no couponCode", in: `{"couponId":"C","status":"used"}`, err: "membershipCoupon without a couponCode"},
		{name: "status object", in: `{"couponCode":"9","status":{"a":1}}`, err: "membershipCoupon 9: field status"},
		{name: "not an object", in: `"x"`, err: "not a JSON object"},
	}
	decoderTest[memberCouponView]{fn: "decodeMemberCoupon", decode: func(in []byte) (decoded[memberCouponView], error) {
		m, err := decodeMemberCoupon("acme", "1", in)
		return memberCouponRow(m), err
	}}.run(t, tests)
}

// TestMemberCouponsStreamDocPage reads the §13.6 example through the
// stream: every status (no filter), paged.
func TestMemberCouponsStreamDocPage(t *testing.T) {
	t.Parallel()
	// incremental mode with a Known set still reads everything; no
	// ledger (statuses change in place), no status filter
	docPage[warehouse.MemberCoupon, memberCouponView]{stream: "member_coupons", path: "/loyalty/v1/membership/1/coupon",
		fixture: "member_coupons_page_1.json", member: "1", mode: connectors.Incremental, known: func(string) bool { return true },
		row: memberCouponRow, want: []memberCouponView{docMemberCoupon}, rawHas: `"goodsLimit":"null"`,
		query: map[string]string{"rows": "20", "page": "1", "status": ""}}.run(t)
}
