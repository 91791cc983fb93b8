package dmhub

import (
	"context"
	"strings"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

var _ connectors.MemberConnector = (*Connector)(nil)

// MemberStream implements connectors.MemberConnector: points, experience
// and member_coupons are read member by member (the engine runs them over
// the members synced into ClickHouse).
func (k *Connector) MemberStream(name string) (connectors.MemberStream, bool) {
	switch name {
	case "points":
		return &pointsStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, maxPages: k.src.MaxMemberPages}, true
	case "experience":
		return &experienceStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, maxPages: k.src.MaxMemberPages}, true
	case "member_coupons":
		return &memberCouponsStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, maxPages: k.src.MaxMemberPages}, true
	}
	return nil, false
}

// partitionStream serves a per-member stream as a connectors.Stream over
// one member, req.Partition: one Fetch reads all of that member's records
// (every page, no known-entry early stop) and is Done. A member the vendor
// does not know is Done with no rows.
type partitionStream struct {
	ms     connectors.MemberStream
	source string
	name   string
}

var _ connectors.Stream = (*partitionStream)(nil)

// Fetch implements connectors.Stream.
func (s *partitionStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	member := strings.TrimSpace(req.Partition)
	if member == "" {
		return connectors.Batch{}, &connectors.Error{Class: connectors.Permanent, Source: s.source, Op: s.name,
			Message: "per-member stream fetched without a member id (empty Request.Partition)"}
	}
	r, err := s.ms.FetchMember(ctx, connectors.MemberRequest{Mode: req.Mode, Member: member})
	if err != nil {
		return connectors.Batch{}, err
	}
	return connectors.Batch{Rows: r.Rows, Done: true, Pages: r.Pages, Requests: r.Requests, Items: 1}, nil
}
