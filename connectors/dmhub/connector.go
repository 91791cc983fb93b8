package dmhub

import (
	"fmt"
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

type options struct {
	tokens func(FetchFunc) *TokenStore
	now    func() time.Time
}

// Option configures a Connector.
type Option func(*options)

// WithTokens sets how the connector's access token is shared: tokens
// builds the store over the client's FetchToken (see NewTokenStore).
// Required: DM Hub allows one live token per app, so every process of a
// deployment must share it.
func WithTokens(tokens func(FetchFunc) *TokenStore) Option {
	return func(o *options) { o.tokens = tokens }
}

// WithClock sets the connector's clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// New builds a connector from the source's configuration. hc carries the
// source's rate limiter and timeout. The access token store is required
// (WithTokens).
func New(src *config.Source, hc *httpapi.Client, opts ...Option) (*Connector, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.tokens == nil {
		return nil, fmt.Errorf("%s: dmhub connector built without an access token store (WithTokens)", src.Name)
	}
	c := NewClient(src, hc)
	c.UseTokens(o.tokens(c.FetchToken))
	return &Connector{src: src, c: c, now: o.now}, nil
}

// Client returns the connector's API client.
func (k *Connector) Client() *Client { return k.c }

// Stream implements connectors.Connector.
func (k *Connector) Stream(name string) (connectors.Stream, error) {
	switch name {
	case StreamMembers:
		return &membersStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, lookback: k.src.Lookback,
			tolerance: k.src.ClockTolerance, now: k.clock()}, nil
	case StreamLevels:
		return &levelsStream{c: k.c, source: k.src.Name}, nil
	case StreamCoupons:
		return &couponsStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize}, nil
	case StreamIdentities:
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
	case StreamPoints:
		return &pointsStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, maxPages: k.src.MaxMemberPages}, true
	case StreamExperience:
		return &experienceStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, maxPages: k.src.MaxMemberPages}, true
	case StreamMemberCoupons:
		return &memberCouponsStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, maxPages: k.src.MaxMemberPages}, true
	}
	return nil, false
}
