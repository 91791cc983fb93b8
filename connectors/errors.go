package connectors

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// ErrNotFound is wrapped by connector errors that mean "the vendor does
// not know this member or record": a per-member pass counts such a member
// as having no records instead of failing. It is the one not-found
// convention of every connector: httpapi's classifier wraps it for a
// vendor rule marked NotFound, streams return it as it comes (a
// MemberStream with the Pages and Requests it used), and callers test it
// with IsNotFound.
var ErrNotFound = errors.New("not found")

// IsNotFound reports whether err says the vendor does not know the
// member or record (it wraps ErrNotFound).
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Class says what the caller should do about an error. Every vendor
// response is classified exactly once, by httpapi.Client.Classify with the
// vendor's table (its package's classify.go), into one of these classes;
// jobs/retry.go maps the classes onto asynq retry behaviour in one place.
// docs/errors.md is the policy.
type Class int

// The error classes.
const (
	// Retryable errors (5xx, timeouts, truncated bodies, HTML error pages,
	// busy/internal/unknown vendor codes, a superseded access token) are
	// retried in place a few times (idempotent reads), then by the queue
	// with exponential backoff, max_retry times; then the run fails with
	// the error.
	Retryable Class = iota + 1
	// RateLimited errors (HTTP 429, throttling codes) are retried after
	// the vendor's Retry-After without counting as a failure, within a
	// time budget per task (worker.rate_limit_budget).
	RateLimited
	// Permanent errors (other 4xx, business errors, bad records) are not
	// retried.
	Permanent
	// Auth errors are credentials the vendor rejects (the DM Hub token
	// endpoint refusing appid/secret, a Houcaller DES key or channel, a
	// zvcms signature or grant code; an HTTP 401/403). An access token
	// the API rejects is not Auth (it is retried with a newer token).
	// They are permanent: retrying cannot help.
	Auth
)

func (c Class) String() string {
	switch c {
	case Retryable:
		return "retryable"
	case RateLimited:
		return "rate-limited"
	case Permanent:
		return "permanent"
	case Auth:
		return "authentication failed"
	}
	return fmt.Sprintf("Class(%d)", int(c))
}

// Error is a classified vendor error. Message and Code come from the vendor
// and never contain our credentials; Op names the call without its query
// string.
type Error struct {
	Class      Class
	Source     string        // the configured source name
	Op         string        // e.g. "GET /loyalty/v1/membership"
	Status     int           // HTTP status, 0 when there was no response
	Code       string        // the vendor's error code, as text
	Message    string        // the vendor's message, truncated
	RetryAfter time.Duration // for RateLimited: how long the vendor asked us to wait
	Err        error         // the underlying cause, if any
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Source != "" {
		b.WriteString(e.Source)
		b.WriteString(": ")
	}
	if e.Class == Auth {
		b.WriteString("authentication failed: ")
	}
	b.WriteString(e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Code != "" {
		fmt.Fprintf(&b, ": code %s", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	if e.Class == RateLimited && e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	return b.String()
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// ClassOf classifies any error. A *Error in the chain decides; context
// cancellation and network errors are Retryable; anything else unknown is
// Retryable too, so a bounded number of retries happens before the task
// is dead-lettered.
func ClassOf(err error) Class {
	if err == nil {
		return 0
	}
	var ce *Error
	if errors.As(err, &ce) {
		return ce.Class
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return Retryable
	}
	return Retryable
}

// RetryAfter returns the wait a RateLimited error asks for.
func RetryAfter(err error) (time.Duration, bool) {
	var ce *Error
	if errors.As(err, &ce) && ce.Class == RateLimited {
		return ce.RetryAfter, true
	}
	return 0, false
}

// Truncate shortens vendor text for error messages.
func Truncate(s string, n int) string {
	s = strings.TrimSpace(s)
	if len(s) <= n {
		return s
	}
	// do not cut a UTF-8 sequence in half
	for n > 0 && n < len(s) && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
