package zvcms

import (
	"context"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

func TestMemberCouponsSeedExample(t *testing.T) {
	t.Parallel()
	payload := readTestdata(t, "getCustomerCoupons.json")
	srv, fv := newFakeVendor(t, testSecret, func(call) (int, string) { return 200, payload })
	st, _ := newTestConnector(t, srv.URL).Stream(StreamMemberCoupons)
	req := connectors.Request{Mode: connectors.Incremental, Partition: testCustomer, Pages: 5}
	b, err := st.Fetch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, b.Rows)
	if !b.Done || b.Pages != 1 || b.Next != nil || b.Commit != nil || len(b.Rows) != 1 {
		t.Fatalf("batch done %v pages %d next %s rows %d", b.Done, b.Pages, b.Next, len(b.Rows))
	}
	if c := fv.Calls()[0]; c.Path != "/v3/crm/coupon/getCustomerCoupons" || c.Params != `{"customerId":"383933091455959041"}` {
		t.Fatalf("call %+v", c)
	}
	got := b.Rows[0].(warehouse.MemberCoupon)
	if got.CouponCode != "390913445498200065" || got.MemberID != testCustomer || got.CouponID != "390913445519171584" ||
		got.CouponName != "" || got.Status != warehouse.CouponUnused || got.VendorStatus != "0" ||
		fmtTime(got.StartsAt) != "2019-08-23T16:00:00Z" || fmtTime(got.EndsAt) != "2019-11-03T15:59:59Z" ||
		fmtTime(got.DrawnAt) != "2019-10-15T09:10:28Z" || got.RedeemedAt != nil || got.StartDate != "" || got.EndDate != "" {
		t.Fatalf("row %+v starts %s ends %s drawn %s", got, fmtTime(got.StartsAt), fmtTime(got.EndsAt), fmtTime(got.DrawnAt))
	}
	if !strings.Contains(got.Raw, `"updatedAt":"2019-10-15 17:10:2"`) || strings.Contains(got.Raw, ": ") {
		t.Fatalf("raw %s", got.Raw)
	}
}

func TestMemberCouponsArrayAndQuirks(t *testing.T) {
	t.Parallel()
	payload := readTestdata(t, "getCustomerCoupons_list.json")
	srv, _ := newFakeVendor(t, testSecret, func(call) (int, string) { return 200, payload })
	st, _ := newTestConnector(t, srv.URL).Stream(StreamMemberCoupons)
	b, err := st.Fetch(context.Background(), connectors.Request{Partition: testCustomer, Pages: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, b.Rows)
	tests := []struct {
		code, vendor             string
		status                   warehouse.CouponStatus
		startDate, startsAt      string
		endDate, endsAt, drawnAt string
	}{
		{"390913445498200065", "1", warehouse.CouponUsed, "", "2019-08-23T16:00:00Z", "", "2019-11-03T15:59:59Z", "2019-10-15T09:10:28Z"},
		// numeric cardId kept as digits; date-only bounds: day start / day end; single-digit clock
		{"390913445498200066", "5", warehouse.CouponUnused, "2019-09-01", "2019-08-31T16:00:00Z", "2019-12-31", "2019-12-31T15:59:59Z", "2019-10-16T01:05:03Z"},
		{"390913445498200067", "7", warehouse.CouponDeleted, "", "<nil>", "", "<nil>", "<nil>"},
	}
	if len(b.Rows) != len(tests) {
		t.Fatalf("%d rows", len(b.Rows))
	}
	for i, tt := range tests {
		r := b.Rows[i].(warehouse.MemberCoupon)
		if r.CouponCode != tt.code || r.VendorStatus != tt.vendor || r.Status != tt.status || r.MemberID != testCustomer ||
			r.StartDate != tt.startDate || fmtTime(r.StartsAt) != tt.startsAt || r.EndDate != tt.endDate ||
			fmtTime(r.EndsAt) != tt.endsAt || fmtTime(r.DrawnAt) != tt.drawnAt {
			t.Errorf("row %d = %+v starts %s ends %s drawn %s", i, r, fmtTime(r.StartsAt), fmtTime(r.EndsAt), fmtTime(r.DrawnAt))
		}
	}
}

func TestMemberCouponsEmptyAndNotFound(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		body     string
		rows     int
		notFound bool
	}{
		{"data null", `{"status":"true","code":"0","message":"ok","data":null}`, 0, false},
		{"data empty object", `{"status":"true","code":"0","message":"ok","data":{}}`, 0, false},
		{"data empty array", `{"status":"true","code":"0","message":"ok","data":[]}`, 0, false},
		{"no data", `{"status":"true","code":"0","message":"ok"}`, 0, false},
		{"unknown customer", readTestdata(t, "getCustomerCoupons_business_error.json"), 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newFakeVendor(t, testSecret, func(call) (int, string) { return 200, tt.body })
			st, _ := newTestConnector(t, srv.URL).Stream(StreamMemberCoupons)
			b, err := st.Fetch(context.Background(), connectors.Request{Partition: testCustomer, Pages: 1})
			if tt.notFound {
				if !connectors.IsNotFound(err) || connectors.ClassOf(err) != connectors.Permanent {
					t.Fatalf("err = %v, want a Permanent not-found", err)
				}
				return
			}
			if err != nil || !b.Done || len(b.Rows) != tt.rows {
				t.Fatalf("err %v done %v rows %d", err, b.Done, len(b.Rows))
			}
		})
	}
}

func TestMembersProfileBalancesAndCouponPages(t *testing.T) {
	t.Parallel()
	p1, p2 := readTestdata(t, "allCustomerInfo_p1.json"), readTestdata(t, "allCustomerInfo_p2.json")
	srv, fv := newFakeVendor(t, testSecret, func(c call) (int, string) {
		if strings.Contains(c.Params, `"pageNum":2`) {
			return 200, p2
		}
		return 200, p1
	})
	st, _ := newTestConnector(t, srv.URL).Stream(StreamMembers)
	ctx := context.Background()
	req := connectors.Request{Mode: connectors.Full, Partition: testCustomer, Pages: 1}
	b1, err := st.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if b1.Done || len(b1.Rows) != 3 || string(b1.Next) != `{"page_num":2}` || b1.Items != 1 {
		t.Fatalf("batch 1: done %v rows %d next %s items %d", b1.Done, len(b1.Rows), b1.Next, b1.Items)
	}
	req.Cursor = b1.Next
	b2, err := st.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.Done || len(b2.Rows) != 1 || b2.Commit != nil {
		t.Fatalf("batch 2: done %v rows %d", b2.Done, len(b2.Rows))
	}
	checkRows(t, append(b1.Rows, b2.Rows...))
	calls := fv.Calls()
	if len(calls) != 2 || calls[0].Path != "/v3/crm/customer/allCustomerInfo" ||
		calls[0].Params != `{"customerId":"383933091455959041","pageNum":1,"pageSize":2}` {
		t.Fatalf("calls %+v", calls)
	}

	m := b1.Rows[0].(warehouse.Member)
	if m.MemberID != testCustomer || m.CustomerID != testCustomer || m.Name != "张三" || m.Mobile != "13800138000" ||
		m.Gender != "1" || m.Birthday != "1968-11-09" || m.LevelID != "2" || m.LevelName != "金卡会员" ||
		m.MemberCode != "8800012345" || m.Point != 1250 || m.Balance == nil || m.Balance.String() != "120.5" ||
		fmtTime(m.LastUpdated) != "2019-10-15T09:10:28Z" {
		t.Fatalf("member %+v balance %v updated %s", m, m.Balance, fmtTime(m.LastUpdated))
	}
	wantAttrs := `{"cardName":"奈雪会员卡","expiredTime":"2020-12-31 23:59:59","foreverPoints":"0","giftBalance":"20.50",` +
		`"rechargeBalance":"100.00","soonExpiredPoints":"30","totalGiftAmount":"50.00","totalRechargeAmount":"500.00"}`
	if m.CustomAttrs != wantAttrs {
		t.Fatalf("custom_attrs\n got %s\nwant %s", m.CustomAttrs, wantAttrs)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(m.Raw), &raw); err != nil || raw["couponList"] == nil {
		t.Fatalf("raw %s", m.Raw)
	}
	statuses := []warehouse.CouponStatus{}
	for _, r := range append(b1.Rows[1:], b2.Rows...) {
		statuses = append(statuses, r.(warehouse.MemberCoupon).Status)
	}
	if got := strings.TrimSpace(strings.Join([]string{string(statuses[0]), string(statuses[1]), string(statuses[2])}, " ")); got != "gifting frozen invalid" {
		t.Fatalf("statuses %s", got)
	}
}

func TestMembersShortPageEnds(t *testing.T) {
	t.Parallel()
	body := `{"status":"true","code":"0","data":{"customerId":"1","totalPoints":"12.9","couponList":[` +
		`{"cardId":"c1","useStatus":"0"}]}}`
	srv, fv := newFakeVendor(t, testSecret, func(call) (int, string) { return 200, body })
	st, _ := newTestConnector(t, srv.URL).Stream(StreamMembers)
	b, err := st.Fetch(context.Background(), connectors.Request{Partition: "1", Pages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Done || len(b.Rows) != 2 || len(fv.Calls()) != 1 {
		t.Fatalf("done %v rows %d calls %d", b.Done, len(b.Rows), len(fv.Calls()))
	}
	m := b.Rows[0].(warehouse.Member)
	if m.Point != 12 || m.Balance != nil || m.CustomAttrs != `{}` {
		t.Fatalf("member %+v", m)
	}
}

func TestPointsPagesAndSigns(t *testing.T) {
	t.Parallel()
	p1, p2 := readTestdata(t, "userPointsRecords_p1.json"), readTestdata(t, "userPointsRecords_p2.json")
	srv, fv := newFakeVendor(t, testSecret, func(c call) (int, string) {
		if strings.Contains(c.Params, `"page":2`) {
			return 200, p2
		}
		return 200, p1
	})
	st, _ := newTestConnector(t, srv.URL).Stream(StreamPoints)
	ctx := context.Background()
	req := connectors.Request{Mode: connectors.Incremental, Partition: testCustomer, Pages: 1}
	b1, err := st.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if b1.Done || string(b1.Next) != `{"page":2}` || len(b1.Rows) != 2 || b1.Total != 3 {
		t.Fatalf("batch 1: done %v next %s rows %d total %d", b1.Done, b1.Next, len(b1.Rows), b1.Total)
	}
	replay, err := st.Fetch(ctx, req)
	if err != nil || replay.Rows[0].(warehouse.PointEntry).EntryID != b1.Rows[0].(warehouse.PointEntry).EntryID {
		t.Fatalf("replay differs: %v", err)
	}
	req.Cursor = b1.Next
	b2, err := st.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.Done || len(b2.Rows) != 1 || b2.Commit != nil {
		t.Fatalf("batch 2: done %v rows %d", b2.Done, len(b2.Rows))
	}
	rows := append(b1.Rows, b2.Rows...)
	checkRows(t, rows)
	c := fv.Calls()[0]
	if c.Path != "/api/v2" || c.Action != ActionPointsRecords || c.Params != `{"user_id":383933091455959041,"page":1,"page_size":2}` {
		t.Fatalf("call %+v", c)
	}
	tests := []struct {
		delta         int64
		pattern, name string
		old, new      int64
		at, remark    string
	}{
		{25, "0", "消费奖励", 100, 125, "2019-10-15T09:10:28Z", "消费送积分"},
		{-10, "1", "兑换优惠券", 125, 115, "2019-10-16T01:05:03Z", "兑换满30减5券"},
		{-15, "2", "订单购买力", 115, 100, "2019-10-17T04:00:00Z", "订单抵扣"}, // negative points on type 2 stay negative
	}
	ids := map[string]bool{}
	for i, tt := range tests {
		e := rows[i].(warehouse.PointEntry)
		if e.Delta != tt.delta || e.Pattern != tt.pattern || e.PatternName != tt.name || *e.OldPoint != tt.old ||
			*e.NewPoint != tt.new || fmtTime(e.OccurredAt) != tt.at || e.Remark != tt.remark || e.MemberID != testCustomer ||
			!strings.HasPrefix(e.EntryID, "h1:") {
			t.Errorf("entry %d = %+v at %s", i, e, fmtTime(e.OccurredAt))
		}
		ids[e.EntryID] = true
	}
	if len(ids) != 3 {
		t.Fatal("entry ids collide")
	}
}

func TestPerMemberStreamsNeedAPartitionAndValidCursors(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, "http://unused.test")
	tests := []struct {
		stream, partition, cursor string
	}{
		{StreamMembers, "", ""},
		{StreamMemberCoupons, "", ""},
		{StreamPoints, "", ""},
		{StreamMembers, testCustomer, `{"page_num":0}`},
		{StreamPoints, testCustomer, `{"page":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.stream+tt.cursor, func(t *testing.T) {
			t.Parallel()
			st, _ := k.Stream(tt.stream)
			req := connectors.Request{Partition: tt.partition, Pages: 1}
			if tt.cursor != "" {
				req.Cursor = json.RawMessage(tt.cursor)
			}
			if _, err := st.Fetch(context.Background(), req); connectors.ClassOf(err) != connectors.Permanent {
				t.Fatalf("err = %v, want Permanent", err)
			}
		})
	}
}
