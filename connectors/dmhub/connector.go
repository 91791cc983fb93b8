package dmhub

import (
	"fmt"
	"slices"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// Connector serves the streams of one DM Hub source.
type Connector struct {
	src *config.Source
	c   *Client
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
		return &membersStream{c: k.c, source: k.src.Name, pageSize: k.src.PageSize, lookback: k.src.Lookback}, nil
	}
	return nil, fmt.Errorf("%s: stream %q: %w", k.src.Name, name, connectors.ErrNotImplemented)
}
