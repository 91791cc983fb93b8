package houcaller

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

func utc(s string) *time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &t
}

func fmtTime(t *time.Time) string {
	if t == nil {
		return "<nil>"
	}
	return t.Format(time.RFC3339)
}

func TestMemberCouponsSeedExample(t *testing.T) {
	t.Parallel()
	payload := readTestdata(t, "listCpnItemByMember.json")
	srv, fv := newFakeVendor(t, testKey, func(method, param string) (int, string) {
		return 200, payload
	})
	st, err := newTestConnector(t, srv.URL).Stream(StreamMemberCoupons)
	if err != nil {
		t.Fatal(err)
	}
	req := connectors.Request{Mode: connectors.Incremental, Partition: "K1H93QDKI00B7", Pages: 10}
	b, err := st.Fetch(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Done || b.Pages != 1 || b.Requests != 1 || b.Next != nil || b.Commit != nil || len(b.Rows) != 8 {
		t.Fatalf("batch = done %v pages %d requests %d next %s commit %s rows %d", b.Done, b.Pages, b.Requests, b.Next, b.Commit, len(b.Rows))
	}
	checkRows(t, b.Rows)
	if c := fv.Calls()[0]; c.Method != MethodListCpnItemByMember || c.Param != `{"memberId":"K1H93QDKI00B7"}` {
		t.Fatalf("call %+v", c)
	}
	got := b.Rows[0].(warehouse.MemberCoupon)
	want := warehouse.MemberCoupon{
		Common:       warehouse.Common{Source: testSource},
		CouponCode:   "7270000006699",
		MemberID:     "K1H93QDKI00B7",
		CouponID:     "H3UA24SI6830", // cpnid; cpnId is ""
		CouponName:   "新会员20元全场券",
		Status:       warehouse.CouponUnused,
		VendorStatus: "0",
		StartsAt:     utc("2020-01-16T16:00:00Z"),
		EndsAt:       utc("2020-04-15T15:59:59Z"),
		StartDate:    "2020-01-17",
		EndDate:      "2020-04-15",
	}
	if got.Raw == "" || !strings.HasPrefix(got.Raw, `{"begDate":"2020-01-17","cacStatus":0,`) {
		t.Fatalf("raw = %s", got.Raw)
	}
	got.Raw = ""
	if fmtTime(got.StartsAt) != fmtTime(want.StartsAt) || fmtTime(got.EndsAt) != fmtTime(want.EndsAt) {
		t.Fatalf("times %s %s", fmtTime(got.StartsAt), fmtTime(got.EndsAt))
	}
	got.StartsAt, got.EndsAt, want.StartsAt, want.EndsAt = nil, nil, nil, nil
	if got != want {
		t.Fatalf("row\n got %+v\nwant %+v", got, want)
	}
	// replaying the same request gives the same rows
	b2, err := st.Fetch(context.Background(), req)
	if err != nil || len(b2.Rows) != len(b.Rows) || b2.Rows[7].(warehouse.MemberCoupon).Raw != b.Rows[7].(warehouse.MemberCoupon).Raw {
		t.Fatalf("replay differs: %v", err)
	}
}

func TestMemberCouponsQuirks(t *testing.T) {
	t.Parallel()
	payload := readTestdata(t, "listCpnItemByMember_newer.json")
	srv, fv := newFakeVendor(t, testKey, func(method, param string) (int, string) { return 200, payload })
	st, err := newTestConnector(t, srv.URL, WithKeyField(KeyPlatformID)).Stream(StreamMemberCoupons)
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Fetch(context.Background(), connectors.Request{Partition: "oEv-It_aoh7mzEinzyPhnR0-uVc41", Pages: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, b.Rows)
	if p := fv.Calls()[0].Param; p != `{"platformId":"oEv-It_aoh7mzEinzyPhnR0-uVc41"}` {
		t.Fatalf("param %s", p)
	}
	tests := []struct {
		code, member, coupon, vendor string
		status                       warehouse.CouponStatus
		drawn, redeemed              string
		start, end                   string
	}{
		{"7270000009999", "K4H9095FA0008", "JCUH1EF5R58G8", "3", warehouse.CouponRefunded,
			"2022-02-15T07:30:10Z", "2022-02-16T00:05:01Z", "2022-02-15", "2022-03-15"},
		{"7270000009998", "K4H9095FA0008", "JCUH1EF5R58G8", "7", warehouse.CouponGifting,
			"<nil>", "<nil>", "2022-02-15", "2022-03-15"},
		// numeric cpnCode kept as digits; no member id and a platform key: empty member
		{"7270000009997", "", "", "9", warehouse.CouponUnknown, "<nil>", "<nil>", "", ""},
	}
	if len(b.Rows) != len(tests) {
		t.Fatalf("%d rows", len(b.Rows))
	}
	for i, tt := range tests {
		r := b.Rows[i].(warehouse.MemberCoupon)
		if r.CouponCode != tt.code || r.MemberID != tt.member || r.CouponID != tt.coupon || r.VendorStatus != tt.vendor ||
			r.Status != tt.status || fmtTime(r.DrawnAt) != tt.drawn || fmtTime(r.RedeemedAt) != tt.redeemed ||
			r.StartDate != tt.start || r.EndDate != tt.end {
			t.Errorf("row %d = %+v drawn %s redeemed %s", i, r, fmtTime(r.DrawnAt), fmtTime(r.RedeemedAt))
		}
	}
}

func TestMemberCouponsNeedsAPartition(t *testing.T) {
	t.Parallel()
	st, err := newTestConnector(t, "http://unused.test").Stream(StreamMemberCoupons)
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Fetch(context.Background(), connectors.Request{Pages: 1})
	if connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), "member key") {
		t.Fatalf("err = %v", err)
	}
}

func TestMemberCouponsNotFound(t *testing.T) {
	t.Parallel()
	srv, _ := newFakeVendor(t, testKey, func(string, string) (int, string) { return 200, `{"code":1,"msg":"会员不存在"}` })
	st, _ := newTestConnector(t, srv.URL).Stream(StreamMemberCoupons)
	_, err := st.Fetch(context.Background(), connectors.Request{Partition: "NOPE", Pages: 1})
	if !connectors.IsNotFound(err) || connectors.ClassOf(err) != connectors.Permanent {
		t.Fatalf("err = %v", err)
	}
}

// pointsVendor serves 2024-02 as two pages and every other month empty.
func pointsVendor(t *testing.T) (string, *fakeVendor) {
	t.Helper()
	p1, p2, empty := readTestdata(t, "scoRecords_2024-02_p1.json"), readTestdata(t, "scoRecords_2024-02_p2.json"), readTestdata(t, "scoRecords_empty.json")
	srv, fv := newFakeVendor(t, testKey, func(method, param string) (int, string) {
		var p scoParam
		if method != MethodQueryScoRecord || json.Unmarshal([]byte(param), &p) != nil {
			return 200, `{"code":1,"msg":"参数错误"}`
		}
		switch {
		case p.Month == "2024-02" && p.Page.Offset == "0":
			return 200, p1
		case p.Month == "2024-02" && p.Page.Offset == "2":
			return 200, p2
		}
		return 200, empty
	})
	return srv.URL, fv
}

func TestPointsWalksMonthsAndPages(t *testing.T) {
	t.Parallel()
	url, fv := pointsVendor(t)
	now := func() time.Time { return time.Date(2024, 3, 10, 1, 0, 0, 0, time.UTC) }
	st, err := newTestConnector(t, url, WithClock(now), WithMonthsBack(2)).Stream(StreamPoints)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	req := connectors.Request{Mode: connectors.Full, Partition: "K1H93QDKI00B7", Pages: 2}
	b1, err := st.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	// a full read walks back from the current month
	if b1.Done || b1.Pages != 2 || len(b1.Rows) != 2 || string(b1.Next) != `{"month":"2024-02","offset":2,"until":"2024-03","from":"2024-01","empty":1}` {
		t.Fatalf("batch 1: done %v pages %d rows %d next %s", b1.Done, b1.Pages, len(b1.Rows), b1.Next)
	}
	// a replay of the same request reads the same pages
	again, err := st.Fetch(ctx, req)
	if err != nil || !bytes.Equal(again.Next, b1.Next) || again.Rows[1].(warehouse.PointEntry).EntryID != b1.Rows[1].(warehouse.PointEntry).EntryID {
		t.Fatalf("replay differs: %v", err)
	}
	req.Cursor = b1.Next
	b2, err := st.Fetch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if !b2.Done || b2.Pages != 2 || len(b2.Rows) != 1 || string(b2.Commit) != `{"month":"2024-03"}` {
		t.Fatalf("batch 2: done %v pages %d rows %d commit %s", b2.Done, b2.Pages, len(b2.Rows), b2.Commit)
	}
	rows := append(b1.Rows, b2.Rows...)
	checkRows(t, rows)

	var months []string
	for _, c := range fv.Calls() {
		var p scoParam
		if err := json.Unmarshal([]byte(c.Param), &p); err != nil {
			t.Fatal(err)
		}
		if p.QueryType != "memberId" || p.MemberID != "K1H93QDKI00B7" || p.Page.Limit != "2" {
			t.Fatalf("param %s", c.Param)
		}
		months = append(months, p.Month+"@"+p.Page.Offset)
	}
	if got := strings.Join(months, " "); got != "2024-03@0 2024-02@0 2024-03@0 2024-02@0 2024-02@2 2024-01@0" {
		t.Fatalf("requests %s", got)
	}

	e0, e1, e2 := rows[0].(warehouse.PointEntry), rows[1].(warehouse.PointEntry), rows[2].(warehouse.PointEntry)
	if e0.Delta != 30 || e0.Pattern != "1" || e0.PatternName != "积分累计" || e0.EntryType != "0" || e0.MemberID != "K1H93QDKI00B7" ||
		fmtTime(e0.OccurredAt) != "2024-02-02T16:00:00Z" || !strings.HasPrefix(e0.EntryID, "h1:") || len(e0.EntryID) != 35 {
		t.Fatalf("entry 0 %+v at %s", e0, fmtTime(e0.OccurredAt))
	}
	if e1.Delta != -12 || e1.Pattern != "5" || e1.PatternName != "积分商城支出" || e1.EntryType != "1" || e1.Remark != "轻烹商城兑券(反结账)(反结账)" || e1.EntryID == e0.EntryID {
		t.Fatalf("entry 1 %+v", e1)
	}
	if e2.EntryID != "620b5682d806f71fc46e4d72" || e2.Delta != 10 || e2.ExternalID != "1234567890123" || e2.EntryType != "-5" ||
		fmtTime(e2.OccurredAt) != "2024-02-15T07:30:10Z" {
		t.Fatalf("entry 2 %+v at %s", e2, fmtTime(e2.OccurredAt))
	}
}

// TestPointsFullStopsAfterEmptyMonths: a full read walks back from the
// current month and stops after emptyStop consecutive months without a
// record (houcaller.points_empty_months); history beyond such a gap is not
// read (the documented price), and a negative stop reads every month.
func TestPointsFullStopsAfterEmptyMonths(t *testing.T) {
	t.Parallel()
	one := readTestdata(t, "scoRecords_2024-02_p2.json") // one record, no next page
	empty := readTestdata(t, "scoRecords_empty.json")
	withData := map[string]bool{"2024-12": true, "2024-10": true, "2024-06": true}
	now := func() time.Time { return time.Date(2024, 12, 10, 1, 0, 0, 0, time.UTC) }
	tests := []struct {
		name      string
		emptyStop int
		want      string
		rows      int
	}{
		{"default 3: the gap 2024-09..07 ends the read", DefaultEmptyMonthsStop, "2024-12 2024-11 2024-10 2024-09 2024-08 2024-07", 2},
		{"4: reads past the 3-month gap", 4, "2024-12 2024-11 2024-10 2024-09 2024-08 2024-07 2024-06 2024-05 2024-04 2024-03 2024-02", 3},
		{"1: the first empty month ends it", 1, "2024-12 2024-11", 1},
		{"negative: every month", -1, "2024-12 2024-11 2024-10 2024-09 2024-08 2024-07 2024-06 2024-05 2024-04 2024-03 2024-02 2024-01 2023-12", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, fv := newFakeVendor(t, testKey, func(method, param string) (int, string) {
				var p scoParam
				if method != MethodQueryScoRecord || json.Unmarshal([]byte(param), &p) != nil {
					return 200, `{"code":1,"msg":"参数错误"}`
				}
				if withData[p.Month] && p.Page.Offset == "0" {
					return 200, one
				}
				return 200, empty
			})
			st, err := newTestConnector(t, srv.URL, WithClock(now), WithMonthsBack(12), WithEmptyMonthsStop(tt.emptyStop)).Stream(StreamPoints)
			if err != nil {
				t.Fatal(err)
			}
			// one page per Fetch: the stop survives the cursor round trip
			req := connectors.Request{Mode: connectors.Full, Partition: "K1", Pages: 1}
			var rows int
			for i := 0; ; i++ {
				b, err := st.Fetch(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				rows += len(b.Rows)
				if b.Done {
					if string(b.Commit) != `{"month":"2024-12"}` {
						t.Errorf("commit %s", b.Commit)
					}
					break
				}
				if i > 30 {
					t.Fatal("the read does not end")
				}
				req.Cursor = b.Next
			}
			var months []string
			for _, c := range fv.Calls() {
				var p scoParam
				_ = json.Unmarshal([]byte(c.Param), &p)
				months = append(months, p.Month)
			}
			if got := strings.Join(months, " "); got != tt.want || rows != tt.rows {
				t.Errorf("months %s, %d rows; want %s, %d rows", got, rows, tt.want, tt.rows)
			}
		})
	}
}

func TestPointsIncrementalStartsAMonthBeforeTheCommit(t *testing.T) {
	t.Parallel()
	url, fv := pointsVendor(t)
	now := func() time.Time { return time.Date(2024, 3, 31, 17, 0, 0, 0, time.UTC) } // already April in China
	st, _ := newTestConnector(t, url, WithClock(now), WithMonthLayout("200601")).Stream(StreamPoints)
	b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Partition: "K1",
		Since: json.RawMessage(`{"month":"2024-03"}`), Pages: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !b.Done || b.Pages != 3 || string(b.Commit) != `{"month":"2024-04"}` {
		t.Fatalf("done %v pages %d commit %s", b.Done, b.Pages, b.Commit)
	}
	var months []string
	for _, c := range fv.Calls() {
		var p scoParam
		_ = json.Unmarshal([]byte(c.Param), &p)
		months = append(months, p.Month)
	}
	if got := strings.Join(months, " "); got != "202402 202403 202404" {
		t.Fatalf("months %s", got)
	}
}

func TestPointsPlatformKey(t *testing.T) {
	t.Parallel()
	url, fv := pointsVendor(t)
	st, _ := newTestConnector(t, url, WithKeyField(KeyPlatformID), WithMonthsBack(0)).Stream(StreamPoints)
	if _, err := st.Fetch(context.Background(), connectors.Request{Partition: "oEv-It", Pages: 1}); err != nil {
		t.Fatal(err)
	}
	if p := fv.Calls()[0].Param; p != `{"queryType":"openId","openId":"oEv-It","month":"2020-02","page":{"offset":"0","limit":"2"}}` {
		t.Fatalf("param %s", p)
	}
}

func TestPointsBadCursors(t *testing.T) {
	t.Parallel()
	st, _ := newTestConnector(t, "http://unused.test").Stream(StreamPoints)
	tests := []struct {
		name          string
		cursor, since string
	}{
		{"not json", `{"month":`, ""},
		{"bad month", `{"month":"2024-13","offset":0,"until":"2024-12"}`, ""},
		{"negative offset", `{"month":"2024-01","offset":-2,"until":"2024-12"}`, ""},
		{"month after until", `{"month":"2025-01","offset":0,"until":"2024-12"}`, ""},
		{"month before from", `{"month":"2023-01","offset":0,"until":"2024-12","from":"2023-12"}`, ""},
		{"bad from", `{"month":"2024-01","offset":0,"until":"2024-12","from":"late"}`, ""},
		{"negative empty count", `{"month":"2024-01","offset":0,"until":"2024-12","from":"2023-12","empty":-1}`, ""},
		{"bad since", "", `{"month":"March"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req := connectors.Request{Mode: connectors.Incremental, Partition: "K1", Pages: 1}
			if tt.cursor != "" {
				req.Cursor = json.RawMessage(tt.cursor)
			}
			if tt.since != "" {
				req.Since = json.RawMessage(tt.since)
			}
			_, err := st.Fetch(context.Background(), req)
			if connectors.ClassOf(err) != connectors.Permanent {
				t.Fatalf("err = %v, want Permanent", err)
			}
		})
	}
}

func TestPointsRepeatedRecordsKeepDistinctIDs(t *testing.T) {
	t.Parallel()
	rec := `{"bizDate":"2024-02-03 00:00:00","incScore":5,"expScore":0,"scoType":1,"remark":"签到"}`
	data := json.RawMessage(`{"records":[` + rec + `,` + rec + `],"page":{"next":false}}`)
	rows, pg, err := decodePoints(testSource, "K1", "K1", data, 10)
	if err != nil || pg.next || len(rows) != 2 {
		t.Fatalf("rows %d next %v err %v", len(rows), pg.next, err)
	}
	a, b := rows[0].(warehouse.PointEntry).EntryID, rows[1].(warehouse.PointEntry).EntryID
	if b != a+"#1" {
		t.Fatalf("ids %s %s", a, b)
	}
	// the id is stable: decoding again gives the same ids
	again, _, _ := decodePoints(testSource, "K1", "K1", data, 10)
	if again[0].(warehouse.PointEntry).EntryID != a {
		t.Fatal("entry id is not stable")
	}
}

func TestCouponsStream(t *testing.T) {
	t.Parallel()
	payload := readTestdata(t, "listCpnForShop.json")
	srv, fv := newFakeVendor(t, testKey, func(string, string) (int, string) { return 200, payload })
	st, _ := newTestConnector(t, srv.URL).Stream(StreamCoupons)
	b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkRows(t, b.Rows)
	if c := fv.Calls()[0]; c.Method != MethodListCpnForShop || c.Param != `{}` || !strings.Contains(c.Body, `"param":"B8A95D7CDD1F7540"`) {
		t.Fatalf("call %+v", c)
	}
	if !b.Done || len(b.Rows) != 1 {
		t.Fatalf("done %v rows %d", b.Done, len(b.Rows))
	}
	got := b.Rows[0].(warehouse.Coupon)
	got.Raw = ""
	want := warehouse.Coupon{Common: warehouse.Common{Source: testSource}, CouponID: "H3UA24SI6830", Name: "新会员20元全场券",
		CouponType: "2", StartDate: "2020-01-01", EndDate: "2020-12-31"}
	if got != want {
		t.Fatalf("coupon\n got %+v\nwant %+v", got, want)
	}
}

// TestPoisonRecords: a record that does not decode goes to
// rejected_records in its place, the rest of the page loads and the run
// goes on; only data that is not a list at all fails, permanently.
func TestPoisonRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stream, data string
		good               int
		rejected           []string // error substrings, in order
		err                string
	}{
		{name: "member coupons", stream: StreamMemberCoupons,
			data: `{"list":[{"cpnName":"no code"},{"cpnCode":"C1","status":"1"},{"cpnCode":"C2","useTime":"not a time"},{"cpnCode":"C3","begDate":{"x":1}}]}`,
			good: 1, rejected: []string{"without cpnCode or id", "field useTime", "want a string or number"}},
		{name: "coupons", stream: StreamCoupons,
			data: `{"list":[{"cpnName":"no id"},{"id":"H1","cpnName":"ok"},{"id":"H2","endTime":"2020-99-99"}]}`,
			good: 1, rejected: []string{"without an id", "field endTime"}},
		{name: "points", stream: StreamPoints,
			data: `{"records":[{"id":"p1","incScore":5},{"id":"p2","incScore":"N/A"},{"id":"p3","ctime":"yesterday"}],"page":{"next":false}}`,
			good: 1, rejected: []string{`"N/A" is not a number`, "field ctime"}},
		{name: "not a list", stream: StreamMemberCoupons, data: `"oops"`, err: "unexpected data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newFakeVendor(t, testKey, func(string, string) (int, string) {
				return 200, `{"code":0,"msg":"操作成功","data":` + tt.data + `}`
			})
			st, _ := newTestConnector(t, srv.URL).Stream(tt.stream)
			var rows []warehouse.Row
			req := connectors.Request{Mode: connectors.Full, Partition: "K1", Pages: 100}
			for i := 0; i < 100; i++ {
				b, err := st.Fetch(context.Background(), req)
				if tt.err != "" {
					if connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), tt.err) {
						t.Fatalf("err = %v, want a permanent error with %q", err, tt.err)
					}
					return
				}
				if err != nil {
					t.Fatalf("a poison record failed the run: %v", err)
				}
				rows = append(rows, b.Rows...)
				if b.Done || tt.stream != StreamPoints {
					break
				}
				req.Cursor = b.Next
			}
			// points read one page per month, the same page each time:
			// count distinct records
			var good int
			var rejected []warehouse.RejectedRecord
			seen := map[string]bool{}
			for _, r := range rows {
				k := fmt.Sprint(r.Values()[3])
				if rr, ok := r.(warehouse.RejectedRecord); ok {
					k = "rejected " + rr.RecordKey
				}
				if seen[k] {
					continue
				}
				seen[k] = true
				if rr, ok := r.(warehouse.RejectedRecord); ok {
					rejected = append(rejected, rr)
				} else {
					good++
				}
			}
			if good != tt.good || len(rejected) != len(tt.rejected) {
				t.Fatalf("%d good and %d rejected rows, want %d and %d: %+v", good, len(rejected), tt.good, len(tt.rejected), rejected)
			}
			for i, r := range rejected {
				if r.Stream != tt.stream || r.Source != testSource || !strings.Contains(r.Error, tt.rejected[i]) || r.RecordKey == "" {
					t.Errorf("rejected[%d] = %+v, want stream %s and an error with %q", i, r, tt.stream, tt.rejected[i])
				}
			}
		})
	}
}
