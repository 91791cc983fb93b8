package jobs

import (
	"context"
	"fmt"
	"hash/fnv"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// partitioned runs a connectors.Stream partitioned by member key (the
// Houcaller and zvcms look-ups) as a MemberStream: one member is read to
// the end of its partition. The stream's committed cursor (e.g. the last
// month Houcaller points were read to) is source-wide: every member's read
// starts from it, and the pass commits the cursor its members returned.
//
// A member's read is bounded: it reads one vendor page per Fetch and stops
// after MemberRequest.MaxPages pages (the source's max_member_pages), or
// at a non-empty page whose records repeat the previous page's (a vendor
// that ignores paging), keeping what it read, logged and reported as
// MemberBatch.Capped. Memory stays bounded by the cap times the page size.
type partitioned struct {
	s connectors.Stream
}

// FetchMember implements connectors.MemberStream.
func (p *partitioned) FetchMember(ctx context.Context, req connectors.MemberRequest) (connectors.MemberBatch, error) {
	maxPages := req.MaxPages
	if maxPages <= 0 {
		maxPages = config.DefaultMaxMemberPages
	}
	log := req.Logger()
	var out connectors.MemberBatch
	var cursor json.RawMessage
	var last uint64
	for out.Pages < maxPages {
		b, err := p.s.Fetch(ctx, connectors.Request{Mode: req.Mode, Partition: req.Member, Cursor: cursor, Since: req.Since, Pages: 1,
			Log: req.Log})
		if err != nil { // a member the vendor does not know: connectors.ErrNotFound
			return out, err
		}
		out.Pages += max(b.Pages, 1)
		out.Requests += b.Requests
		sum := fingerprint(b.Rows)
		if sum != 0 && sum == last {
			log.Warn("a per-member read got the same records twice in a row: the vendor ignores paging; the member's read stops here",
				"member", req.Member, "pages", out.Pages)
			out.Capped = true
			return out, nil
		}
		last = sum
		out.Rows = append(out.Rows, b.Rows...)
		if b.Commit != nil {
			out.Commit = b.Commit
		}
		if b.Done {
			return out, nil
		}
		cursor = b.Next
	}
	log.Warn("a per-member read hit the page cap (max_member_pages); the member's read stops here",
		"member", req.Member, "pages", out.Pages, "max_member_pages", maxPages)
	out.Capped = true
	// the committed cursor is not advanced past an unfinished read
	out.Commit = nil
	return out, nil
}

// fingerprint hashes the records of one page (their text values: ids,
// raw), 0 for an empty page.
func fingerprint(rows []warehouse.Row) uint64 {
	if len(rows) == 0 {
		return 0
	}
	h := fnv.New64a()
	for _, r := range rows {
		h.Write([]byte(r.Table().Name))
		for _, v := range warehouse.OwnValues(r) {
			switch x := v.(type) {
			case string:
				h.Write([]byte(x))
			case int64, int32, uint64:
				fmt.Fprint(h, x)
			}
			h.Write([]byte{0})
		}
		h.Write([]byte{1})
	}
	if s := h.Sum64(); s != 0 {
		return s
	}
	return 1
}
