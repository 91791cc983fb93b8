// Package httpapi is the HTTP edge shared by the vendor connectors: a rate
// limiter shared across worker processes, timeouts, bounded body reads, no
// redirects to another host, secret redaction, the one response classifier
// of every vendor (Classify, driven by each vendor's Policy tables), bounded
// in-place retries of idempotent reads (Call) and the metrics seam
// (Observer). docs/errors.md is the policy.
package httpapi

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// DefaultMaxBody caps a response body.
const DefaultMaxBody = 64 << 20

// Limiter spaces requests. Wait blocks until one request may be sent.
type Limiter interface {
	Wait(ctx context.Context) error
}

// Client sends requests for one source. It is safe for concurrent use.
type Client struct {
	Source  string        // the configured source name, for errors
	HTTP    *http.Client  // default: a client with Timeout
	Limiter Limiter       // nil: no limit
	Timeout time.Duration // per request, including reading the body
	MaxBody int64         // default DefaultMaxBody
	// Secrets are scrubbed from every error message this client builds.
	Secrets []string
	// Retry is the in-place retry budget of idempotent calls (Call).
	Retry Retry
	// Observer, when set, is told about every attempt Call makes.
	Observer Observer
	// Now, Sleep and Rand replace the clock, the backoff wait and the
	// jitter source in tests (nil: the real ones).
	Now   func() time.Time
	Sleep func(ctx context.Context, d time.Duration) error
	Rand  func(n int64) int64
}

// NewClient is the HTTP client of one source: its timeout, its in-place
// retry budget (request_attempts), the Observer of deps, and the rate
// limit shared through Redis by every worker process of the deployment
// (none when deps has no Redis, as in unit tests).
func NewClient(src *config.Source, deps connectors.Deps) *Client {
	hc := &Client{Source: src.Name, HTTP: deps.HTTP, Timeout: src.Timeout, Observer: deps.Observer,
		Retry: Retry{Attempts: src.RequestAttempts}}
	if deps.Redis != nil {
		hc.Limiter = NewPriorityLimiter(deps.Redis, deps.Namespace+":ratelimit:"+src.Name, src.RateLimit, src.BackfillShare) // priority.go
	}
	return hc
}

// Response is a fully read HTTP response.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Do waits for the rate limiter, sends req and reads the whole body. Op
// names the call in errors ("GET /loyalty/v1/membership"); it must not
// contain credentials. Transport failures and truncated bodies are
// Retryable *connectors.Error values with the URL's query removed.
func (c *Client) Do(ctx context.Context, op string, req *http.Request) (*Response, error) {
	if c.Limiter != nil {
		if err := c.Limiter.Wait(ctx); err != nil {
			return nil, err
		}
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	hc := http.Client{}
	if c.HTTP != nil {
		hc = *c.HTTP
	}
	hc.CheckRedirect = sameHostOnly(hc.CheckRedirect)
	resp, err := hc.Do(req.WithContext(ctx))
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, err // shutdown: not a vendor problem
		}
		class := connectors.Retryable
		if errors.Is(err, ErrRedirectElsewhere) {
			class = connectors.Permanent // base_url is wrong or the vendor moved: retrying cannot help
		}
		return nil, &connectors.Error{Class: class, Source: c.Source, Op: op, Err: c.redact(err)}
	}
	defer resp.Body.Close()
	limit := c.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, &connectors.Error{Class: connectors.Retryable, Source: c.Source, Op: op, Status: resp.StatusCode,
			Message: "response body cut short", Err: c.redact(err)}
	}
	if int64(len(body)) > limit {
		return nil, &connectors.Error{Class: connectors.Permanent, Source: c.Source, Op: op, Status: resp.StatusCode,
			Message: fmt.Sprintf("response body larger than %d bytes", limit)}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// ErrRedirectElsewhere is wrapped by the error of a vendor response that
// redirects to another host (or from https to http): it is never followed,
// so credentials in the query or body never leave for another server.
var ErrRedirectElsewhere = errors.New("redirect to another host refused")

// sameHostOnly wraps a CheckRedirect policy (nil: Go's default of 10
// redirects) so that only redirects to the same scheme and host are
// followed.
func sameHostOnly(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Host != first.Host || (req.URL.Scheme != first.Scheme && req.URL.Scheme != "https") {
			return fmt.Errorf("%w (%s://%s)", ErrRedirectElsewhere, req.URL.Scheme, req.URL.Host)
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
}

// redact removes the query string (access tokens) from *url.Error and
// scrubs configured secrets from the message.
func (c *Client) redact(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		u := ue.URL
		if i := strings.IndexByte(u, '?'); i >= 0 {
			u = u[:i]
		}
		err = &url.Error{Op: ue.Op, URL: u, Err: ue.Err}
	}
	msg := c.Scrub(err.Error())
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// Scrub replaces every configured secret in s.
func (c *Client) Scrub(s string) string {
	for _, sec := range c.Secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// Clip scrubs s, then shortens it to n bytes for an error message (in
// that order: a secret cut in two by the shortening would escape Scrub).
func (c *Client) Clip(s string, n int) string { return connectors.Truncate(c.Scrub(s), n) }

// Excerpt is a short single-line summary of a body for an error message
// (the <title> of an HTML page), with the secrets scrubbed first.
func (c *Client) Excerpt(body []byte) string { return excerpt([]byte(c.Scrub(string(body)))) }

// CheckStatus classifies a non-2xx response: 429 is RateLimited (honouring
// Retry-After), 408 and 5xx Retryable, 401/403 Auth, other 4xx Permanent.
// It returns nil for 2xx; the vendor's body envelope is the connector's to
// check. Message is a short, scrubbed excerpt of the body (the <title> of
// an HTML page).
func (c *Client) CheckStatus(op string, r *Response) error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	e := &connectors.Error{Source: c.Source, Op: op, Status: r.Status, Message: c.Excerpt(r.Body)}
	switch {
	case r.Status == http.StatusTooManyRequests:
		e.Class = connectors.RateLimited
		e.RetryAfter = ParseRetryAfter(r.Header.Get("Retry-After"), c.now())
	case r.Status == http.StatusRequestTimeout || r.Status >= 500:
		e.Class = connectors.Retryable
	case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden:
		e.Class = connectors.Auth
	default:
		e.Class = connectors.Permanent
	}
	return e
}

// DefaultRetryAfter is the wait of a 429 without a usable Retry-After.
const DefaultRetryAfter = time.Second

// ParseRetryAfter reads a Retry-After header: delay-seconds or an
// HTTP-date. Missing or invalid values give DefaultRetryAfter; the result
// is capped at 10 minutes.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	d := DefaultRetryAfter
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		d = DefaultRetryAfter
	}
	return min(d, 10*time.Minute)
}

// IsHTML reports whether a body is an HTML page (a gateway or proxy error
// page rather than the vendor's JSON).
func IsHTML(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && b[0] == '<'
}

var titleRE = regexp.MustCompile(`(?is)<title>(.*?)</title>`)

// excerpt summarizes a body; callers use Client.Excerpt, which scrubs.
func excerpt(body []byte) string {
	if IsHTML(body) {
		if m := titleRE.FindSubmatch(body); m != nil {
			return "HTML page: " + connectors.Truncate(string(m[1]), 80)
		}
		return "HTML page"
	}
	s := strings.Join(strings.Fields(string(body)), " ")
	return connectors.Truncate(s, 200)
}
