package connectors_test

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// pagedStream serves pages of rows for one partition, one page per
// Fetch, following the cursor; endless never says Done.
type pagedStream struct {
	pages   [][]warehouse.Row
	endless bool
	seen    []string // partitions asked for
}

func (s *pagedStream) Fetch(_ context.Context, req connectors.Request) (connectors.Batch, error) {
	s.seen = append(s.seen, req.Partition)
	i := 0
	if req.Cursor != nil {
		if err := json.Unmarshal(req.Cursor, &i); err != nil {
			return connectors.Batch{}, err
		}
	}
	if s.endless {
		return connectors.Batch{Next: json.RawMessage(strconv.Itoa(i + 1)), Pages: 1}, nil
	}
	return connectors.Batch{Rows: s.pages[i], Next: json.RawMessage(strconv.Itoa(i + 1)), Done: i == len(s.pages)-1, Pages: 1}, nil
}

func TestCountByReading(t *testing.T) {
	t.Parallel()
	s := &pagedStream{pages: [][]warehouse.Row{
		{warehouse.MemberCoupon{CouponCode: "c1", MemberID: "m1"}, warehouse.PointEntry{EntryID: "e1", MemberID: "m1"}},
		{},
		{warehouse.MemberCoupon{CouponCode: "c2", MemberID: "m2"}, warehouse.NewRejected("s", "member_coupons", "c3", nil, errors.New("bad"))},
	}}
	perTable, members, err := connectors.CountByReading(context.Background(), s, "k1")
	if err != nil {
		t.Fatal(err)
	}
	if perTable["member_coupons"] != 2 || perTable["points_ledger"] != 1 || perTable["rejected_records"] != 1 || len(perTable) != 3 {
		t.Errorf("per table = %v", perTable)
	}
	if len(members) != 2 || !members["m1"] || !members["m2"] {
		t.Errorf("members = %v", members)
	}
	if len(s.seen) != 3 || s.seen[0] != "k1" || s.seen[2] != "k1" {
		t.Errorf("partitions asked = %v, want k1 three times", s.seen)
	}
	if _, _, err := connectors.CountByReading(context.Background(), &pagedStream{endless: true}, "k"); !errors.Is(err, connectors.ErrTooManyPages) {
		t.Errorf("a list without end: %v, want ErrTooManyPages", err)
	}
}
