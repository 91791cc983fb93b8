package jobs

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// This file is the one place where error classes become asynq behaviour:
//   - Permanent and Auth errors skip retries (the task is archived, i.e.
//     dead-lettered, and the run marked failed);
//   - RateLimited errors are retried after the vendor's Retry-After and do
//     not count against MaxRetry (isFailure);
//   - everything else is retried with capped exponential backoff and jitter.

// classifyForQueue wraps permanent errors with asynq.SkipRetry.
func classifyForQueue(err error) error {
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		return err
	}
	switch connectors.ClassOf(err) {
	case connectors.Permanent, connectors.Auth:
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
	return err
}

// isFailure reports whether err counts against the task's retry budget.
func isFailure(err error) bool {
	return connectors.ClassOf(err) != connectors.RateLimited
}

// retryDelay is the asynq RetryDelayFunc: Retry-After for rate limits,
// else 1s·2^n capped at 5 minutes, with ±20% jitter.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if d, ok := connectors.RetryAfter(err); ok && d > 0 {
		return d
	}
	d := time.Second << min(n, 9)
	d = min(d, 5*time.Minute)
	j := time.Duration(rand.Int64N(int64(d)/5 + 1))
	return d - d/10 + j
}

// finalFailure reports whether this failure ends the task (no retry left).
func finalFailure(ctx context.Context, err error) bool {
	if errors.Is(err, asynq.SkipRetry) {
		return true
	}
	if !isFailure(err) {
		return false
	}
	n, ok1 := asynq.GetRetryCount(ctx)
	m, ok2 := asynq.GetMaxRetry(ctx)
	return ok1 && ok2 && n >= m
}
