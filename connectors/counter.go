package connectors

import (
	"context"
	"errors"
	"fmt"
)

// Counter is implemented by connectors whose vendor reports its own
// record totals (DM Hub's needTotal): `loyaltybridge reconcile` compares
// them with the warehouse. Each call costs one small vendor request.
type Counter interface {
	// CountList returns the vendor's number of records of a source-wide
	// list stream (e.g. members, coupons); ok is false when the vendor
	// cannot tell for that stream (no such total, or it was not sent).
	CountList(ctx context.Context, stream string) (n int64, ok bool, err error)
	// CountMember returns the vendor's number of records of one member in
	// a per-member stream (e.g. points, member_coupons); ok is false when
	// the vendor cannot tell. A member the vendor does not know is an
	// error wrapping ErrNotFound.
	CountMember(ctx context.Context, stream, member string) (n int64, ok bool, err error)
	// MemberPoint returns the member's current points balance as the
	// vendor holds it. A member the vendor does not know is an error
	// wrapping ErrNotFound.
	MemberPoint(ctx context.Context, member string) (int64, error)
}

// MaxCountPages bounds CountByReading: a member whose records take more
// pages is reported as not countable rather than read without end.
const MaxCountPages = 200

// ErrTooManyPages is returned by CountByReading for a partition that did
// not end within MaxCountPages.
var ErrTooManyPages = errors.New("the vendor's list did not end within the page bound")

// CountByReading counts what the vendor returns for one partition (a
// member key of a looked-up stream: Houcaller, zvcms) by reading it in
// full, as a full sync would, without storing anything: the rows per
// table, and the member ids they name (a look-up key need not be the
// vendor's member id). Rejected records count under "rejected_records".
func CountByReading(ctx context.Context, s Stream, key string) (perTable map[string]int64, members map[string]bool, err error) {
	perTable, members = map[string]int64{}, map[string]bool{}
	req := Request{Mode: Full, Partition: key, Pages: 1}
	for pages := 0; ; {
		b, err := s.Fetch(ctx, req)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range b.Rows {
			t := r.Table()
			perTable[t.Name]++
			if i := t.Col("member_id"); i >= 0 {
				if id, ok := r.Values()[i].(string); ok && id != "" {
					members[id] = true
				}
			}
		}
		pages += max(b.Pages, 1)
		if b.Done {
			return perTable, members, nil
		}
		if pages >= MaxCountPages {
			return nil, nil, fmt.Errorf("member %s: %w (%d pages)", key, ErrTooManyPages, pages)
		}
		req.Cursor = b.Next
	}
}
