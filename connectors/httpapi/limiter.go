package httpapi

import (
	"context"
	"math"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// RedisLimiter is a GCRA rate limiter kept in Redis, so every worker
// process of a deployment shares one budget per source.
type RedisLimiter struct {
	lim   *redis_rate.Limiter
	key   string
	limit redis_rate.Limit
}

// NewRedisLimiter allows perSecond requests per second (fractions allowed)
// under key, evenly spaced (burst 1).
func NewRedisLimiter(rdb redis.UniversalClient, key string, perSecond float64) *RedisLimiter {
	// emission interval = Period/Rate = 1/perSecond; the scale keeps
	// fractional rates exact enough.
	const scale = 1000
	rate := max(1, int(math.Round(perSecond*scale)))
	return &RedisLimiter{
		lim:   redis_rate.NewLimiter(rdb),
		key:   key,
		limit: redis_rate.Limit{Rate: rate, Burst: 1, Period: scale * time.Second},
	}
}

// Wait blocks until a request may be sent.
func (l *RedisLimiter) Wait(ctx context.Context) error {
	for {
		res, err := l.lim.Allow(ctx, l.key, l.limit)
		if err != nil {
			return err
		}
		if res.Allowed > 0 {
			return nil
		}
		t := time.NewTimer(res.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}
