package httpapi

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimiter paces requests to perSecond in Redis, so every worker
// process of a deployment shares one budget per source.
//
// It hands out send times ("slots") one emission interval apart: a caller
// reserves the next free slot in one Redis call and sleeps until it. A
// caller that wakes late (timer slack, a busy CPU, the Redis round trip)
// does not push the following slots back, so under steady demand the
// vendor sees exactly perSecond. The previous limiter (GCRA with burst 1,
// asking again after each wait) restarted the schedule from every late
// wake-up and lost that lateness each interval: 0.92-0.95 of the rate at
// 50/s (docs/benchmarks.md). There is no burst: after an idle spell the
// next slot is now, the one after it an interval later.
type RedisLimiter struct {
	rdb      redis.UniversalClient
	key      string
	interval time.Duration
}

// NewRedisLimiter allows perSecond requests per second (fractions allowed)
// under key, evenly spaced.
func NewRedisLimiter(rdb redis.UniversalClient, key string, perSecond float64) *RedisLimiter {
	iv := time.Duration(float64(time.Second) / perSecond)
	if perSecond <= 0 || math.IsInf(perSecond, 0) || math.IsNaN(perSecond) || iv < time.Microsecond {
		iv = time.Microsecond
	}
	return &RedisLimiter{rdb: rdb, key: key + ":slots", interval: iv}
}

// reserveScript takes the next slot of KEYS[1] (the time, in µs of the
// Redis clock, at which the last reserved slot ends) for an interval of
// ARGV[1] µs and returns how many µs the caller must wait for its slot.
// The Redis clock is the one every worker shares.
var reserveScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local slot = tonumber(redis.call('GET', KEYS[1]) or '0')
if slot < now then slot = now end
redis.call('SET', KEYS[1], string.format('%.0f', slot + interval), 'PX', math.ceil((slot + interval - now) / 1000) + 1000)
return slot - now
`)

// reserve takes the next slot and returns the wait until it.
func (l *RedisLimiter) reserve(ctx context.Context) (time.Duration, error) {
	us, err := reserveScript.Run(ctx, l.rdb, []string{l.key}, l.interval.Microseconds()).Int64()
	if err != nil {
		return 0, fmt.Errorf("rate limiter: %w", err)
	}
	return time.Duration(us) * time.Microsecond, nil
}

// Wait blocks until a request may be sent. A Wait ended by ctx leaves its
// slot unused.
func (l *RedisLimiter) Wait(ctx context.Context) error {
	d, err := l.reserve(ctx)
	if err != nil || d <= 0 {
		return err
	}
	return sleep(ctx, d)
}
