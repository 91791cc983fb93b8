package dmhub

import (
	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// Factory builds a DM Hub connector whose rate limit and access token are
// shared through Redis by every worker process of the deployment. The
// token is keyed by app id (never the secret), so two sources of one app
// share it, as DM Hub requires.
func Factory(src *config.Source, deps connectors.Deps) (connectors.Connector, error) {
	hc := httpapi.NewClient(src, deps)
	opts := []Option{WithTokens(func(f FetchFunc) *TokenStore {
		ts := NewTokenStore(deps.Redis, deps.Namespace+":dmhub:"+CredentialsOf(src).AppID, f)
		if deps.Now != nil {
			ts.Now = deps.Now
		}
		return ts
	})}
	if deps.Now != nil {
		opts = append(opts, WithClock(deps.Now))
	}
	k, err := New(src, hc, opts...)
	if err != nil {
		return nil, err
	}
	k.WithKeys(deps.Keys)
	return k, nil
}
