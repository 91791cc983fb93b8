package zvcms

import (
	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// Factory builds a zvcms connector for the registry: its rate limit is
// shared through Redis by every worker process when deps.Redis is set.
func Factory(src *config.Source, deps connectors.Deps) (connectors.Connector, error) {
	hc := httpapi.NewClient(src, deps)
	var opts []Option
	if deps.Now != nil {
		opts = append(opts, WithClock(deps.Now))
	}
	return connectors.Build(New(src, hc, opts...))
}
