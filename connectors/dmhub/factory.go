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
	k := New(src, hc, func(f FetchFunc) *TokenStore {
		ts := NewTokenStore(deps.Redis, deps.Namespace+":dmhub:"+src.Credentials.AppID, f)
		if deps.Now != nil {
			ts.Now = deps.Now
		}
		return ts
	}).WithKeys(deps.Keys)
	k.now = deps.Now
	return k, nil
}
