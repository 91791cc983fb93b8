package httpapi

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// Observer is told about every HTTP attempt a vendor client makes:
//
//	Request(source, endpoint, class string, status int, elapsed time.Duration)
//
// with source the source name, endpoint a stable low-cardinality name such
// as "GET /loyalty/v1/membership" (no ids, no query), class one of "ok",
// "retryable", "rate_limited", "permanent", "auth", "not_found" (see
// MetricClass), status the HTTP status (0 if none). It is declared in
// package connectors (so connectors.Deps can carry it without an import
// cycle); this is the same interface.
type Observer = connectors.Observer

// Retry is the in-place retry budget of one idempotent request: a failed
// read is retried a few times inside the task, with capped exponential
// backoff and jitter, before the error goes to the queue (whose retries
// are slower and coarser). Zero fields take the defaults.
type Retry struct {
	// Attempts is the total number of attempts, the first included
	// (default 4; 1 disables in-place retries).
	Attempts int
	// Base is the first backoff (default 200ms); each retry doubles it.
	Base time.Duration
	// Max caps one backoff (default 5s).
	Max time.Duration
	// MaxRateLimitWait is the longest Retry-After waited in place; a
	// longer one goes back to the queue at once (default 5s).
	MaxRateLimitWait time.Duration
	// RateLimitBudget bounds the total time one request waits in place
	// for rate limits (default 15s); beyond it the RateLimited error goes
	// to the queue, whose own budget is in jobs/retry.go.
	RateLimitBudget time.Duration
}

// The default in-place retry budget.
const (
	DefaultAttempts         = 4
	DefaultBackoffBase      = 200 * time.Millisecond
	DefaultBackoffMax       = 5 * time.Second
	DefaultMaxRateLimitWait = 5 * time.Second
	DefaultRateLimitBudget  = 15 * time.Second
)

func (r Retry) withDefaults() Retry {
	if r.Attempts <= 0 {
		r.Attempts = DefaultAttempts
	}
	if r.Base <= 0 {
		r.Base = DefaultBackoffBase
	}
	if r.Max <= 0 {
		r.Max = DefaultBackoffMax
	}
	if r.MaxRateLimitWait <= 0 {
		r.MaxRateLimitWait = DefaultMaxRateLimitWait
	}
	if r.RateLimitBudget <= 0 {
		r.RateLimitBudget = DefaultRateLimitBudget
	}
	return r
}

// Backoff is the wait before retry n (0-based): Base·2^n capped at Max,
// with equal jitter (a uniform draw from its upper half).
func (r Retry) Backoff(n int, rnd func(int64) int64) time.Duration {
	r = r.withDefaults()
	d := r.Max
	if n < 30 && r.Base<<n < r.Max && r.Base<<n > 0 {
		d = r.Base << n
	}
	half := d / 2
	return half + time.Duration(rnd(int64(half)+1))
}

// Request is one logical vendor call.
type Request struct {
	// Op names the call in errors ("GET /loyalty/v1/membership/123"); it
	// must not contain credentials.
	Op string
	// Endpoint is the low-cardinality name the Observer gets (no ids);
	// default Op.
	Endpoint string
	// Idempotent requests (reads) are retried in place; others are sent
	// exactly once (a write may have reached the vendor: the outbound
	// layer decides).
	Idempotent bool
	// Policy classifies the responses.
	Policy *Policy
	// New builds the HTTP request of one attempt (each attempt gets a
	// fresh signature, timestamp or body reader).
	New func(ctx context.Context) (*http.Request, error)
	// Secrets of this request (e.g. the access token it carries) are
	// scrubbed from its errors, besides the client's.
	Secrets []string
}

// Call sends r, classifies every answer (Classify) and retries an
// idempotent request in place while it fails with a Retryable or (short)
// RateLimited error, within the client's Retry budget and ctx. Errors that
// wrap ErrTokenRejected are returned at once: the caller retries with a new
// token. Every attempt is reported to the Observer.
func (c *Client) Call(ctx context.Context, r Request) ([]byte, error) {
	budget := c.Retry.withDefaults()
	var rateWaited time.Duration
	for n := 0; ; n++ {
		out, err := c.attempt(ctx, r)
		if err == nil || !r.Idempotent || n+1 >= budget.Attempts || ctx.Err() != nil ||
			errors.Is(err, ErrTokenRejected) {
			return out, err
		}
		var wait time.Duration
		switch connectors.ClassOf(err) {
		case connectors.Retryable:
			wait = budget.Backoff(n, c.rand())
		case connectors.RateLimited:
			d, _ := connectors.RetryAfter(err)
			if d <= 0 {
				d = DefaultRetryAfter // a zero wait must not spin
			}
			if d > budget.MaxRateLimitWait || rateWaited+d > budget.RateLimitBudget {
				return out, err
			}
			wait, rateWaited = d, rateWaited+d
			n-- // a rate limit is not a failed attempt
		default:
			return out, err
		}
		if serr := c.sleep(ctx, wait); serr != nil {
			return out, err // the task is ending: report the vendor's error
		}
	}
}

// attempt sends one attempt of r and classifies it.
func (c *Client) attempt(ctx context.Context, r Request) ([]byte, error) {
	start := c.now()
	var (
		resp *Response
		out  []byte
	)
	req, err := r.New(ctx)
	if err == nil {
		resp, err = c.Do(ctx, r.Op, req)
	}
	if err == nil {
		out, err = c.Classify(r.Op, !r.Idempotent, r.Policy, resp, r.Secrets...)
	}
	if c.Observer != nil && !(errors.Is(err, context.Canceled) && ctx.Err() != nil) {
		ep := r.Endpoint
		if ep == "" {
			ep = r.Op
		}
		c.Observer.Request(c.Source, ep, MetricClass(err), statusOf(err, resp), c.now().Sub(start))
	}
	return out, err
}

// NewJSONRequest builds an attempt's request with a JSON body (nil: none).
// A URL that does not parse is a Permanent error naming base_url.
func (c *Client) NewJSONRequest(ctx context.Context, op, method, url string, body []byte) (*http.Request, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Source: c.Source, Op: op,
			Message: "cannot build the request (check base_url)"}
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	return req, nil
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

func (c *Client) rand() func(int64) int64 {
	if c.Rand != nil {
		return c.Rand
	}
	return rand.Int64N
}

// sleep waits d or until ctx ends.
func (c *Client) sleep(ctx context.Context, d time.Duration) error {
	if c.Sleep != nil {
		return c.Sleep(ctx, d)
	}
	return sleep(ctx, d)
}

// sleep waits d, or until ctx ends (its error).
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
