package dmhub

import (
	"fmt"
	"slices"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// Connector serves the streams of one DM Hub source.
type Connector struct {
	src  *config.Source
	c    *Client
	keys connectors.KeyLister // identity_keys (see WithKeys)
	now  func() time.Time     // nil: time.Now
}

// clock returns the connector's clock.
func (k *Connector) clock() func() time.Time {
	if k.now != nil {
		return k.now
	}
	return time.Now
}

// New builds a connector. tokens shares the app's access token (see
// NewTokenStore); hc carries the source's rate limiter and timeout.
func New(src *config.Source, hc *httpapi.Client, tokens func(FetchFunc) *TokenStore) *Connector {
	c := NewClient(src, hc)
	c.UseTokens(tokens(c.FetchToken))
	return &Connector{src: src, c: c}
}

// Client returns the connector's API client.
func (k *Connector) Client() *Client { return k.c }

// Stream implements connectors.Connector.
func (k *Connector) Stream(name string) (connectors.Stream, error) {
	if !slices.Contains(config.KindStreams[config.DMHub], name) {
		return nil, fmt.Errorf("%s: %w %q", k.src.Name, connectors.ErrUnknownStream, name)
	}
	switch name {
	case "members":
		return &membersStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, lookback: k.src.Lookback,
			tolerance: k.src.ClockTolerance, now: k.clock()}, nil
	case "levels":
		return &levelsStream{c: k.c, source: k.src.Name}, nil
	case "coupons":
		return &couponsStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize}, nil
	case "identities":
		return k.identitiesStream()
	}
	return nil, fmt.Errorf("%s: %w %q", k.src.Name, connectors.ErrUnknownStream, name)
}

var _ connectors.MemberConnector = (*Connector)(nil)

// MemberStream implements connectors.MemberConnector: points, experience
// and member_coupons are read member by member (the engine runs them over
// the members synced into ClickHouse); Stream does not serve them.
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
