package httpapi

import (
	"context"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// PriorityLimiter is a source's shared rate limit with a cap on backfills:
// a request of a full run (connectors.ModeFrom(ctx) == Full) first takes a
// token from Backfill, which allows share × rate, then one from Shared,
// which allows the whole rate. Backfills together therefore never use
// more than share of the source's rate, and a scheduled incremental sync
// always finds at least (1 - share) of it, however many backfill tasks
// run. Both limiters live in Redis, so the split holds across workers.
type PriorityLimiter struct {
	Shared   Limiter
	Backfill Limiter // nil: backfills take from Shared only
}

var _ Limiter = (*PriorityLimiter)(nil)

// NewPriorityLimiter allows perSecond requests per second under key, of
// which backfills may use share (0 < share <= 1; 1 is no cap).
func NewPriorityLimiter(rdb redis.UniversalClient, key string, perSecond, share float64) *PriorityLimiter {
	l := &PriorityLimiter{Shared: NewRedisLimiter(rdb, key, perSecond)}
	if share > 0 && share < 1 {
		l.Backfill = NewRedisLimiter(rdb, key+":backfill", perSecond*share)
	}
	return l
}

// Wait blocks until a request of ctx's run may be sent.
func (l *PriorityLimiter) Wait(ctx context.Context) error {
	if l.Backfill != nil && connectors.ModeFrom(ctx) == connectors.Full {
		if err := l.Backfill.Wait(ctx); err != nil {
			return err
		}
	}
	return l.Shared.Wait(ctx)
}
