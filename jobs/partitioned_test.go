package jobs

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// endlessStream is a per-member stream of a vendor that never ends its
// pages: it serves distinct records, or (repeat) the same records on every
// page, one page per Fetch, never Done.
type endlessStream struct{ repeat bool }

func (s endlessStream) Fetch(_ context.Context, req connectors.Request) (connectors.Batch, error) {
	var page int
	_ = json.Unmarshal(req.Cursor, &page)
	id := page
	if s.repeat {
		id = 0
	}
	var rows []warehouse.Row
	for i := 0; i < 10; i++ {
		rows = append(rows, warehouse.MemberCoupon{Common: warehouse.Common{Source: "s"}, CouponCode: fmt.Sprintf("c%d-%d", id, i),
			MemberID: req.Partition, Raw: "{}"})
	}
	next, _ := json.Marshal(page + 1)
	return connectors.Batch{Rows: rows, Next: next, Pages: 1, Requests: 1}, nil
}

// TestPartitionedPageCap: a per-member read (Houcaller, zvcms) of a vendor
// that ignores paging stops at the first repeated page, and one that pages
// forever at MaxPages; both keep what they read, log it and report Capped.
func TestPartitionedPageCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		repeat    bool
		wantPages int
		wantLog   string
	}{
		{name: "repeated page", repeat: true, wantPages: 2, wantLog: "ignores paging"},
		{name: "endless pages", wantPages: 7, wantLog: "page cap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var logs bytes.Buffer
			p := &partitioned{s: endlessStream{repeat: tt.repeat}}
			b, err := p.FetchMember(context.Background(), connectors.MemberRequest{Mode: connectors.Full, Member: "K1", MaxPages: 7,
				Log: slog.New(slog.NewTextHandler(&logs, nil))})
			if err != nil {
				t.Fatalf("FetchMember: %v", err)
			}
			wantRows := 10 * tt.wantPages
			if tt.repeat {
				wantRows = 10
			}
			if b.Pages != tt.wantPages || len(b.Rows) != wantRows || !b.Capped || !strings.Contains(logs.String(), tt.wantLog) {
				t.Errorf("pages %d rows %d capped %v log %q; want %d pages, %d rows, capped, a log naming %q",
					b.Pages, len(b.Rows), b.Capped, logs.String(), tt.wantPages, wantRows, tt.wantLog)
			}
		})
	}
}
