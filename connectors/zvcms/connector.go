package zvcms

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// DefaultPageSize is the page size when the source sets no page_size.
const DefaultPageSize = 100

type options struct {
	now    func() time.Time
	nonce  func() int64
	signer Signer
}

// Option configures a Connector.
type Option func(*options)

// WithClock sets the clock of the request timestamps (default time.Now).
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithNonce sets the source of request nonces; values ≤ 0 are sent as 1.
// The default draws uniformly from 1..2^31-1.
func WithNonce(nonce func() int64) Option { return func(o *options) { o.nonce = nonce } }

// WithSigner replaces the signer chosen by credentials.signer, for a
// tenant whose vendor guide specifies another token scheme.
func WithSigner(s Signer) Option { return func(o *options) { o.signer = s } }

// Compile-time checks: the connector and its factory fit the registry.
var (
	_ connectors.Connector = (*Connector)(nil)
	_ connectors.Factory   = Factory
)

// Connector serves the streams of one zvcms source.
type Connector struct {
	src      string
	pageSize int
	c        *Client
}

// New builds a connector from the source's configuration. hc carries the
// source's rate limiter and timeout; the secret and grant code are added to
// its scrub list. Configuration errors name the source, never a secret.
func New(src *config.Source, hc *httpapi.Client, opts ...Option) (*Connector, error) {
	o := options{now: time.Now, nonce: func() int64 { return rand.Int64N(math.MaxInt32) + 1 }}
	for _, opt := range opts {
		opt(&o)
	}
	cr := CredentialsOf(src)
	if strings.TrimSpace(cr.OpenID) == "" || cr.GrantCode == "" || cr.Secret == "" {
		return nil, fmt.Errorf("%s: zvcms credentials need open_id, grant_code and secret", src.Name)
	}
	if o.signer == nil {
		s, err := NewSigner(cr.Signer, cr.Secret.Reveal())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", src.Name, err)
		}
		o.signer = s
	}
	hc.Secrets = append(hc.Secrets, cr.Secret.Reveal(), cr.GrantCode.Reveal())
	c := &Client{source: src.Name, base: trimBase(src.BaseURL), openID: strings.TrimSpace(cr.OpenID),
		grantCode: cr.GrantCode, signer: o.signer, hc: hc, now: o.now, nonce: o.nonce}
	size := src.PageSize
	if size <= 0 {
		size = DefaultPageSize
	}
	return &Connector{src: src.Name, pageSize: size, c: c}, nil
}

// Client returns the connector's API client.
func (k *Connector) Client() *Client { return k.c }

// Stream implements connectors.Connector: members, member_coupons or
// points.
func (k *Connector) Stream(name string) (connectors.Stream, error) {
	switch name {
	case StreamMembers:
		return &membersStream{c: k.c, source: k.src, pageSize: k.pageSize}, nil
	case StreamMemberCoupons:
		return &memberCouponsStream{c: k.c, source: k.src}, nil
	case StreamPoints:
		return &pointsStream{c: k.c, source: k.src, pageSize: k.pageSize}, nil
	}
	return nil, fmt.Errorf("%s: %w %q (zvcms streams: %s)", k.src, connectors.ErrUnknownStream, name,
		strings.Join(Spec.StreamNames(), ", "))
}
