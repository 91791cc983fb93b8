package zvcms

import (
	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// Factory builds a zvcms connector for the registry: its rate limit is
// shared through Redis by every worker process when deps.Redis is set.
func Factory(src *config.Source, deps connectors.Deps) (connectors.Connector, error) {
	return connectors.Build(New(src, httpapi.NewClient(src, deps), WithClock(deps.Clock())))
}
