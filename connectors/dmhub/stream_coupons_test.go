package dmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// couponView is a Coupon without its raw and common columns.
type couponView struct {
	CouponID, Name, CouponType, ValidType, StartDate, EndDate string
}

func viewCoupon(c warehouse.Coupon) couponView {
	return couponView{CouponID: c.CouponID, Name: c.Name, CouponType: c.CouponType, ValidType: c.ValidType,
		StartDate: c.StartDate, EndDate: c.EndDate}
}

func couponRow(c warehouse.Coupon) decoded[couponView] {
	return decoded[couponView]{view: viewCoupon(c), source: c.Source, raw: c.Raw}
}

// docCoupon is the §13.1 example, normalized (a relative validity:
// validType 2, startDays/validDays, so no dates).
var docCoupon = couponView{CouponID: "STxgWromTbt727eBcPOo", Name: "test", CouponType: "1", ValidType: "2"}

func TestDecodeCoupon(t *testing.T) {
	t.Parallel()
	tests := []decodeCase[couponView]{
		{name: "documented example (S000 §13.1)", in: string(fixtureRows(t, "coupons_page_1.json")[0]), want: docCoupon},
		{name: "absolute range", in: `{"couponId":"A1","couponName":"满100减10","couponType":"3","validType":1,
			"validDate":{"startDate":"2017-12-10","endDate":"2017-12-15"},"rule":{"goodsLimit":"null"}}`,
			want: couponView{CouponID: "A1", Name: "满100减10", CouponType: "3", ValidType: "1", StartDate: "2017-12-10", EndDate: "2017-12-15"}},
		{name: "date-time bounds keep their date", in: `{"couponId":"A2","validType":1,
			"validDate":{"startDate":"2017-12-10T00:00:00Z","endDate":"null"}}`,
			want: couponView{CouponID: "A2", ValidType: "1", StartDate: "2017-12-10"}},
		{name: `validDate null, "null" or absent`, in: `{"couponId":"A3","validDate":"null","couponName":"null","couponType":null}`,
			want: couponView{CouponID: "A3"}},
		{name: "rule of any shape is left alone", in: `{"couponId":"A4","rule":"null","channels":null,"c_custom":[1,{"x":2}]}`,
			want: couponView{CouponID: "A4"}},
		{name: "no couponId", in: `{"couponName":"x"}`, err: "coupon without a couponId"},
		{name: "couponId empty", in: `{"couponId":" "}`, err: "coupon without a couponId"},
		{name: "bad name", in: `{"couponId":"A5","couponName":["x"]}`, err: "coupon A5: field couponName"},
		{name: "bad validDate", in: `{"couponId":"A6","validDate":{"startDate":{"y":2017}}}`, err: "coupon A6: field validDate"},
		{name: "not an object", in: `null`, err: "not a JSON object"},
	}
	decoderTest[couponView]{fn: "decodeCoupon", decode: func(in []byte) (decoded[couponView], error) {
		c, err := decodeCoupon("acme", in)
		return couponRow(c), err
	}}.run(t, tests)
}

// TestCouponsStreamDocPage reads the §13.1 example: its total/records
// (12 pages, 10 rows, for a one-row list) feed progress only.
func TestCouponsStreamDocPage(t *testing.T) {
	t.Parallel()
	docPage[warehouse.Coupon, couponView]{stream: "coupons", path: "/loyalty/v1/coupon", fixture: "coupons_page_1.json",
		mode: connectors.Full, pages: 5, total: 10, row: couponRow, want: []couponView{docCoupon}, rawHas: `"goodsLimit":"null"`,
		query: map[string]string{"rows": "20", "page": "1", "sidx": "couponId", "sord": "asc", "needTotal": "true"}}.run(t)
}

// TestCouponsStreamCursor pages across Fetch calls, at most req.Pages
// pages each; replaying a cursor reads the same page; a bad cursor is a
// permanent error.
func TestCouponsStreamCursor(t *testing.T) {
	t.Parallel()
	rows := make([]json.RawMessage, 45)
	for i := range rows {
		rows[i] = json.RawMessage(fmt.Sprintf(`{"couponId":"C%02d","couponName":"n%d","couponType":1,"validType":2}`, i, i))
	}
	f := newFakeVendor().handle("/loyalty/v1/coupon", pagedList(rows, listOpts{lying: true}))
	k := newTestConnector(t, f, func(s *config.Source) { s.PageSize = 20 })
	st, _ := k.Stream("coupons")
	var cursor json.RawMessage
	var got []string
	var fetches int
	for {
		fetches++
		b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Cursor: cursor, Pages: 1})
		if err != nil {
			t.Fatal(err)
		}
		if b.Pages != 1 || b.Requests != 1 {
			t.Fatalf("fetch %d read %d pages, want 1", fetches, b.Pages)
		}
		if fetches == 2 {
			again, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Cursor: cursor, Pages: 1})
			if err != nil || len(again.Rows) != len(b.Rows) || viewCoupon(again.Rows[0].(warehouse.Coupon)) != viewCoupon(b.Rows[0].(warehouse.Coupon)) {
				t.Fatalf("replaying the cursor gave another page: %v", err)
			}
		}
		for _, r := range rowsOf[warehouse.Coupon](t, b.Rows) {
			got = append(got, r.CouponID)
		}
		cursor = b.Next
		if b.Done {
			break
		}
	}
	if fetches != 3 || len(got) != 45 || got[0] != "C00" || got[44] != "C44" {
		t.Fatalf("%d fetches, %d coupons (%v…), want 3 fetches and all 45 once", fetches, len(got), got[:1])
	}
	for _, bad := range []string{`{"pos":{"page":0}}`, `[`, `"x"`} {
		_, err := st.Fetch(context.Background(), connectors.Request{Cursor: json.RawMessage(bad), Pages: 1})
		if connectors.ClassOf(err) != connectors.Permanent {
			t.Errorf("cursor %s: error %v, want permanent", bad, err)
		}
	}
}
