package dmhub

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestPoisonRecords: in every DM Hub stream, a record that does not decode
// is emitted as a rejected_records row in its place and the good records
// of the page still load; the run goes on.
func TestPoisonRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stream, path string
		rows               []string
		member             bool
		wantGood           int
		wantErr            []string // one per rejected record, in order
		wantKey            []string
	}{
		{name: "members", stream: "members", path: "/loyalty/v1/membership",
			rows: []string{`{"id":1,"name":"ok"}`, `{"id":2,"point":"12.5"}`, `{"id":3,"level":"gold"}`, `{"id":4,"balance":"N/A"}`,
				`{"id":5,"lastUpdated":"yesterday"}`, `{"id":6,"balance":1e20}`, `{"id":7}`, `"not an object"`},
			wantGood: 2, wantErr: []string{"field point", "field level", "field balance", "field lastUpdated", "Decimal(18, 2)", "not a JSON object"},
			wantKey: []string{"2", "3", "4", "5", "6", "sha256:"}},
		{name: "points", stream: "points", path: "/loyalty/v1/membership/9/point", member: true,
			rows:     []string{`{"id":"p1","point":5,"type":1}`, `{"id":"p2","point":"12.5"}`, `{"id":"p3","dateCreated":"2024-13-45 99:00"}`},
			wantGood: 1, wantErr: []string{"field point", "field dateCreated"}, wantKey: []string{"p2", "p3"}},
		{name: "experience", stream: "experience", path: "/loyalty/v1/membership/9/exp/changeLogs", member: true,
			rows:     []string{`{"id":"e1","expValue":3}`, `{"id":"e2","oldExp":"many"}`},
			wantGood: 1, wantErr: []string{"field oldExp"}, wantKey: []string{"e2"}},
		{name: "member coupons", stream: "member_coupons", path: "/loyalty/v1/membership/9/coupon", member: true,
			rows:     []string{`{"couponCode":"c1","status":"normal"}`, `{"couponCode":"c2","dateDraw":"soon"}`, `{"couponCode":"c3","endDate":"2018-02-30"}`},
			wantGood: 1, wantErr: []string{"field dateDraw", "field endDate"}, wantKey: []string{"c2", "c3"}},
		{name: "coupons", stream: "coupons", path: "/loyalty/v1/coupon",
			rows:     []string{`{"couponId":1,"couponName":"a"}`, `{"couponName":"no id"}`},
			wantGood: 1, wantErr: []string{"without a couponId"}, wantKey: []string{"sha256:"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var rows []json.RawMessage
			for _, r := range tt.rows {
				rows = append(rows, json.RawMessage(r))
			}
			k := newTestConnector(t, newFakeVendor().handle(tt.path, pagedList(rows, listOpts{})), nil)
			var got []warehouse.Row
			if tt.member {
				ms, _ := k.MemberStream(tt.stream)
				b, err := ms.FetchMember(context.Background(), connectors.MemberRequest{Mode: connectors.Full, Member: "9"})
				if err != nil {
					t.Fatalf("FetchMember: %v; a poison record must not fail the read", err)
				}
				got = b.Rows
			} else {
				s, _ := k.Stream(tt.stream)
				b, err := s.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 5})
				if err != nil {
					t.Fatalf("Fetch: %v; a poison record must not fail the run", err)
				}
				if b.Rejected != len(tt.wantErr) {
					t.Errorf("Batch.Rejected = %d, want %d", b.Rejected, len(tt.wantErr))
				}
				got = b.Rows
			}
			good := 0
			var rejected []warehouse.RejectedRecord
			for _, r := range got {
				if rr, ok := r.(warehouse.RejectedRecord); ok {
					rejected = append(rejected, rr)
				} else {
					good++
				}
			}
			if good != tt.wantGood || len(rejected) != len(tt.wantErr) {
				t.Fatalf("%d good rows and %d rejected, want %d and %d: %+v", good, len(rejected), tt.wantGood, len(tt.wantErr), rejected)
			}
			for i, r := range rejected {
				if r.Source != "acme" || r.Stream != tt.stream || !strings.Contains(r.Error, tt.wantErr[i]) ||
					!strings.HasPrefix(r.RecordKey, tt.wantKey[i]) || r.Raw == "" {
					t.Errorf("rejected[%d] = %+v, want stream %s, key %s…, error naming %q", i, r, tt.stream, tt.wantKey[i], tt.wantErr[i])
				}
			}
		})
	}
}

// TestPoisonRecordLoadsOnce: a members page with one poison record among
// good ones loads the good members and one rejected_records row; running
// it again does not duplicate either after FINAL.
func TestPoisonRecordLoadsOnce(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	rows := []json.RawMessage{json.RawMessage(`{"id":1,"name":"a"}`), json.RawMessage(`{"id":2,"point":"12.5"}`), json.RawMessage(`{"id":3,"name":"c"}`)}
	k := newTestConnector(t, newFakeVendor().handle("/loyalty/v1/membership", pagedList(rows, listOpts{})), nil)
	s, _ := k.Stream("members")
	ctx := context.Background()
	for run := 0; run < 2; run++ {
		b, err := s.Fetch(ctx, connectors.Request{Mode: connectors.Full, Pages: 5})
		if err != nil || !b.Done {
			t.Fatalf("run %d: done %v, %v", run, b.Done, err)
		}
		if err := wh.Load(ctx, b.Rows); err != nil {
			t.Fatal(err)
		}
	}
	var members, rejected uint64
	var key, msg string
	if err := wh.Conn().QueryRow(ctx, "SELECT (SELECT count() FROM "+wh.Q("members")+" FINAL), (SELECT count() FROM "+wh.Q("rejected_records")+
		" FINAL), (SELECT any(record_key) FROM "+wh.Q("rejected_records")+"), (SELECT any(error) FROM "+wh.Q("rejected_records")+")").
		Scan(&members, &rejected, &key, &msg); err != nil {
		t.Fatal(err)
	}
	if members != 2 || rejected != 1 || key != "2" || !strings.Contains(msg, "12.5") {
		t.Errorf("members %d, rejected %d (key %q, error %q): want 2 members and member 2 rejected once", members, rejected, key, msg)
	}
}
