package jobs

import (
	"context"
	"errors"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// partitioned runs a connectors.Stream partitioned by member key (the
// Houcaller and zvcms look-ups) as a MemberStream: one member is read to
// the end of its partition. The stream's committed cursor (e.g. the last
// month Houcaller points were read to) is source-wide: every member's read
// starts from it, and the pass commits the cursor its members returned.
type partitioned struct {
	s connectors.Stream
}

// maxPartitionFetches bounds one member's read (a runaway vendor paging).
const maxPartitionFetches = 1000

// FetchMember implements connectors.MemberStream.
func (p *partitioned) FetchMember(ctx context.Context, req connectors.MemberRequest) (connectors.MemberBatch, error) {
	var out connectors.MemberBatch
	var cursor json.RawMessage
	for i := 0; i < maxPartitionFetches; i++ {
		b, err := p.s.Fetch(ctx, connectors.Request{Mode: req.Mode, Partition: req.Member, Cursor: cursor, Since: req.Since, Pages: 100})
		if errors.Is(err, connectors.ErrNotFound) {
			out.NotFound = true
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out.Rows = append(out.Rows, b.Rows...)
		out.Pages += b.Pages
		out.Requests += b.Requests
		if b.Commit != nil {
			out.Commit = b.Commit
		}
		if b.Done {
			return out, nil
		}
		cursor = b.Next
	}
	return out, errors.New("partition did not finish after 1000 fetches")
}
