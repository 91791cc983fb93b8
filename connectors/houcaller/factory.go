package houcaller

import (
	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// Factory builds a Houcaller connector for the registry: its rate limit
// is shared through Redis by every worker process when deps.Redis is set.
func Factory(src *config.Source, deps connectors.Deps) (connectors.Connector, error) {
	opts := []Option{WithClock(deps.Clock())}
	if h := src.Houcaller; h != nil {
		opts = append(opts, WithKeyField(KeyField(h.MemberKeyAs)), WithMonthsBack(h.PointsMonths),
			WithEmptyMonthsStop(h.PointsEmptyMonths), WithMonthLayout(h.MonthFormat))
	}
	return connectors.Build(New(src, httpapi.NewClient(src, deps), opts...))
}
