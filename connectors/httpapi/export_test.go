package httpapi

import (
	"context"
	"time"
)

// Reserve exposes the slot reservation to the tests.
func (l *RedisLimiter) Reserve(ctx context.Context) (time.Duration, error) { return l.reserve(ctx) }
