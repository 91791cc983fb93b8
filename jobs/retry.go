package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// This file is the one place where error classes become asynq behaviour
// (docs/errors.md):
//   - every error gets one class (classOf): a vendor error keeps the class
//     the connector's table gave it (httpapi.Classify); a ClickHouse error
//     gets warehouse.ClassifyError's (bad data or statement: permanent;
//     connection, timeout, busy server: retryable); anything else is
//     retryable;
//   - Permanent and Auth errors skip retries (the task is archived, i.e.
//     dead-lettered, and the run marked failed with the error);
//   - RateLimited errors are retried after the vendor's Retry-After and do
//     not count against max_retry (isFailure), within a time budget per
//     task (worker.rate_limit_budget, default 30m, counted in Redis by task
//     id, chargeRateLimit): past it, each further rate limit is a Retryable
//     error that counts, so a task throttled for ever ends after max_retry
//     more attempts with the reason;
//   - Retryable errors (after the in-place retries of httpapi) are retried
//     with capped exponential backoff and jitter, max_retry times, then
//     the task is archived and the run failed with the last error;
//   - except when ClickHouse or Redis cannot be reached at all (refused or
//     reset connection, failed dial, closed connection, cut stream:
//     unreachable): such a task is retried every unreachableRetry and
//     does not count against max_retry, however long the outage lasts (a
//     run could not even be marked failed meanwhile). Without this a
//     5-minute ClickHouse outage (the reliability suite's long form)
//     archived the task after its 8 retries (~4 min of backoff) and
//     failed the run.

// classOf is the class of any error a task returns.
func classOf(err error) connectors.Class {
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return ce.Class
	}
	switch warehouse.ClassifyError(err) {
	case warehouse.ErrorPermanent:
		return connectors.Permanent
	case warehouse.ErrorRetryable:
		return connectors.Retryable
	}
	return connectors.ClassOf(err)
}

// classifyForQueue wraps permanent errors with asynq.SkipRetry.
func classifyForQueue(err error) error {
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		return err
	}
	switch classOf(err) {
	case connectors.Permanent, connectors.Auth:
		return fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	}
	return err
}

// unreachableRetry is how often a task that could not reach ClickHouse or
// Redis is tried again (its retry count does not grow, so its backoff
// would not either).
const unreachableRetry = 5 * time.Second

// isFailure reports whether err counts against the task's retry budget.
func isFailure(err error) bool {
	return classOf(err) != connectors.RateLimited && !unreachable(err)
}

// unreachable reports an error that says our own storage (ClickHouse,
// Redis) could not be reached at all: a refused or reset connection, a
// failed dial, a connection closed or cut mid-answer. An answer of the
// server (a ClickHouse exception), a timeout of a running query, and
// every vendor error (a *connectors.Error, classified by its connector)
// are not.
func unreachable(err error) bool {
	var ce *connectors.Error
	var ex *clickhouse.Exception
	if err == nil || errors.As(err, &ce) || errors.As(err, &ex) {
		return false
	}
	var op *net.OpError
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, clickhouse.ErrConnectionClosed) ||
		(errors.As(err, &op) && op.Op == "dial")
}

// retryDelay is the asynq RetryDelayFunc: Retry-After for rate limits,
// unreachableRetry when ClickHouse or Redis is unreachable, else 1s·2^n
// capped at 5 minutes, with ±10% jitter.
func retryDelay(n int, err error, _ *asynq.Task) time.Duration {
	if d, ok := connectors.RetryAfter(err); ok && d > 0 {
		return d
	}
	if unreachable(err) {
		j := time.Duration(rand.Int64N(int64(unreachableRetry)/5 + 1))
		return unreachableRetry - unreachableRetry/10 + j
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

// rateLimitLedger counts, per task id in Redis, the time a task was sent
// back to the queue for rate limits.
type rateLimitLedger struct {
	rdb    redis.UniversalClient // nil: no budget
	prefix string                // e.g. "<namespace>:ratelimit-waits:"
	budget time.Duration
}

// chargeRateLimit charges the rate-limit wait err asks for to the task of
// ctx (see charge); it is the handler boundary's first step.
func chargeRateLimit(ctx context.Context, l rateLimitLedger, err error) error {
	id, ok := asynq.GetTaskID(ctx)
	if !ok {
		return err
	}
	return l.charge(ctx, id, err)
}

// charge adds the Retry-After of a RateLimited err to the task's total
// (not a wait for the source's own max_tasks: errSourceCapped);
// once the total passes the budget the error is returned as Retryable (it
// counts against max_retry), with the reason in its message. Other errors
// pass unchanged, and so does err when Redis cannot count (the queue's
// own bound then applies).
func (l rateLimitLedger) charge(ctx context.Context, taskID string, err error) error {
	d, ok := connectors.RetryAfter(err)
	if !ok || l.rdb == nil || l.budget <= 0 || errors.Is(err, errSourceCapped) {
		return err
	}
	d = max(d, time.Second)
	key := l.prefix + taskID
	var total *redis.IntCmd
	_, rerr := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		total = p.IncrBy(ctx, key, d.Milliseconds())
		p.Expire(ctx, key, 7*24*time.Hour)
		return nil
	})
	if rerr != nil {
		return err
	}
	spent := time.Duration(total.Val()) * time.Millisecond
	if spent <= l.budget {
		return err
	}
	var ce *connectors.Error
	errors.As(err, &ce)
	out := *ce
	out.Class = connectors.Retryable
	out.RetryAfter = 0
	out.Message = fmt.Sprintf("%s (rate-limited for %s in total, over the task's budget of %s: counted as a failure)",
		ce.Message, spent.Round(time.Second), l.budget)
	return &out
}
