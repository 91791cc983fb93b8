package dmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
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

// docCoupon is the §13.1 example, normalized (a relative validity:
// validType 2, startDays/validDays, so no dates).
var docCoupon = couponView{CouponID: "STxgWromTbt727eBcPOo", Name: "test", CouponType: "1", ValidType: "2"}

func TestDecodeCoupon(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want couponView
		err  string
	}{
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
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := decodeCoupon("acme", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := viewCoupon(c); got != tt.want {
				t.Errorf("decodeCoupon =\n %+v\nwant\n %+v", got, tt.want)
			}
			checkRaw(t, c.Source, c.Raw)
			if c.Raw != compactJSON(t, tt.in) {
				t.Errorf("raw = %s, want the record as sent", c.Raw)
			}
		})
	}
}

// TestCouponsStreamDocPage reads the §13.1 example: its total/records
// (12 pages, 10 rows, for a one-row list) feed progress only.
func TestCouponsStreamDocPage(t *testing.T) {
	t.Parallel()
	f := newFakeVendor().handle("/loyalty/v1/coupon", fixture(t, "coupons_page_1.json"))
	k := newTestConnector(t, f, nil)
	st, err := k.Stream("coupons")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 5})
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf[warehouse.Coupon](t, b.Rows)
	if len(rows) != 1 || viewCoupon(rows[0]) != docCoupon || !b.Done || b.Commit != nil {
		t.Fatalf("batch = %+v, want the §13.1 example, done, no commit", b)
	}
	if !strings.Contains(rows[0].Raw, `"goodsLimit":"null"`) {
		t.Errorf("raw lost goodsLimit as sent: %s", rows[0].Raw)
	}
	if b.Total != 10 || b.Pages != 1 || b.Requests != 1 {
		t.Errorf("total %d pages %d requests %d, want records=10 and 1 request (one row cannot be a vendor cap)", b.Total, b.Pages, b.Requests)
	}
	reqs := f.requests()
	for i, want := range []string{"rows=20 page=1 sidx=couponId sord=asc needTotal=true"} {
		q := reqs[i].Query
		got := fmt.Sprintf("rows=%s page=%s sidx=%s sord=%s needTotal=%s", q.Get("rows"), q.Get("page"), q.Get("sidx"),
			q.Get("sord"), q.Get("needTotal"))
		if got != want {
			t.Errorf("request %d: %s, want %s", i, got, want)
		}
	}
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
