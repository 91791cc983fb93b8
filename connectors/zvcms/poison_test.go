package zvcms

import (
	"context"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestPoisonRecords: a record that does not decode goes to
// rejected_records in its place and the rest of the page loads; only data
// that cannot be parsed at all fails the task, permanently.
func TestPoisonRecords(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, stream, data string
		good               int
		rejected           []string // error substrings, in order
		err                string
	}{
		{name: "member coupons", stream: StreamMemberCoupons,
			data: `[{"cardId":"C1","useStatus":"0"},{"title":"no card"},{"cardId":"C2","createdAt":"yesterday"},{"cardId":"C3","useStatus":[1]}]`,
			good: 1, rejected: []string{"without a cardId", "field createdAt", "want a string or number"}},
		{name: "members: a bad member value rejects the member, not its coupons", stream: StreamMembers,
			data: `{"customerId":"383933091455959041","totalPoints":"12.5x","couponList":[{"cardId":"C1"},{"cardId":"C2","endAt":"2019-13-01 00:00:00"}]}`,
			good: 1, rejected: []string{`"12.5x" is not a number`, "field endAt"}},
		{name: "points", stream: StreamPoints,
			data: `{"last_page":1,"item_list":[{"id":"p1","type":1,"points":5,"created_at":"2019-10-17 12:00:00"},{"id":"p2","type":1,"points":"N/A"},{"id":"p3","type":1,"points":1,"created_at":"later"}]}`,
			good: 1, rejected: []string{`"N/A" is not a number`, "field created_at"}},
		{name: "data not an object", stream: StreamMembers, data: `"oops"`, err: "not an object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, _ := newFakeVendor(t, testSecret, func(call) (int, string) {
				return 200, `{"status":true,"code":0,"message":"ok","data":` + tt.data + `}`
			})
			st, _ := newTestConnector(t, srv.URL).Stream(tt.stream)
			b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Partition: testCustomer, Pages: 1})
			if tt.err != "" {
				if connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want a permanent error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("a poison record failed the run: %v", err)
			}
			if b.Rejected != len(tt.rejected) {
				t.Errorf("Batch.Rejected = %d, want %d", b.Rejected, len(tt.rejected))
			}
			var good int
			var rejected []warehouse.RejectedRecord
			for _, r := range b.Rows {
				if rr, ok := r.(warehouse.RejectedRecord); ok {
					rejected = append(rejected, rr)
				} else {
					good++
				}
			}
			if good != tt.good || len(rejected) != len(tt.rejected) {
				t.Fatalf("%d good and %d rejected rows, want %d and %d: %+v", good, len(rejected), tt.good, len(tt.rejected), b.Rows)
			}
			for i, r := range rejected {
				if r.Source != testSource || r.Stream == "" || !strings.Contains(r.Error, tt.rejected[i]) || r.RecordKey == "" {
					t.Errorf("rejected[%d] = %+v, want an error with %q", i, r, tt.rejected[i])
				}
			}
		})
	}
}
