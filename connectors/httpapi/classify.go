package httpapi

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// ErrTokenRejected is wrapped by errors whose response rejected the access
// token the request carried (expired, or superseded by a newer token of the
// app). Such an error is Retryable: the caller retries with the newest
// token. It is set only by a Rule with Token, i.e. by the vendor's code,
// never by the word "token" in a message.
var ErrTokenRejected = errors.New("access token rejected")

// Rule is one row of a vendor's classification table: a response whose
// code equals Code (when Code is set), or whose message contains one of
// Match (case-insensitive, when Code is empty), gets Class.
type Rule struct {
	Code  string   // the vendor's error code, exactly
	Match []string // message fragments, lower case; used when Code is ""
	Class connectors.Class
	// Write, when set, is the class of the same answer to a
	// non-idempotent request (a business error on a write is final even
	// where the same code on a read is a blip).
	Write connectors.Class
	// NotFound marks "the looked-up member or record does not exist":
	// the error is Permanent and wraps connectors.ErrNotFound.
	NotFound bool
	// Token marks "the access token is invalid, expired or superseded":
	// the error is Retryable and wraps ErrTokenRejected.
	Token bool
	// Doc names the source of the rule (a vendor-api.md section or a
	// simulator choice), for docs/errors.md.
	Doc string
}

// Envelope is what a vendor's JSON body says, as decoded by the vendor's
// Policy.Parse.
type Envelope struct {
	OK      bool   // the body reports success; Data is the payload
	Data    []byte // the payload of a success
	Code    string // the vendor's error code ("" when none)
	Message string // the vendor's message
	// Business says the envelope itself marks the error as a business
	// error (zvcms: status true with a non-zero code): a code no rule
	// knows is then Permanent instead of the policy's Unknown class.
	Business bool
}

// Policy is how one vendor's responses are classified: its body decoding
// and its tables. The decisions themselves are made by Client.Classify, the
// one classifier of every vendor.
type Policy struct {
	// Parse decodes a body that is valid JSON into an Envelope.
	Parse func(body []byte) Envelope
	// Codes are looked up first, by exact code.
	Codes []Rule
	// Messages are tried in order when no code rule applies.
	Messages []Rule
	// Unknown is the class of a non-success answer that no rule matches
	// and whose HTTP status says nothing (default Retryable: an unknown
	// or internal error is retried within the budget, then the task
	// fails with it).
	Unknown connectors.Class
	// TokenStatuses are HTTP statuses that, without a matching rule, mean
	// the access token was rejected (DM Hub API: 401), not the
	// credentials.
	TokenStatuses []int
}

// rule returns the rule of a code and message, if any.
func (p *Policy) rule(code, msg string) (Rule, bool) {
	if code != "" {
		for _, r := range p.Codes {
			if r.Code == code {
				return r, true
			}
		}
	}
	lower := strings.ToLower(msg)
	for _, r := range p.Messages {
		for _, m := range r.Match {
			if strings.Contains(lower, m) {
				return r, true
			}
		}
	}
	return Rule{}, false
}

// Classify is the one place that decides what a vendor response means,
// for every vendor. It returns the payload of a success or a
// *connectors.Error:
//
//  1. the body's code (or, for vendors without codes, its message) found
//     in the policy's tables decides, whatever the HTTP status;
//  2. otherwise a status of the policy's TokenStatuses is a token
//     rejection, and another non-2xx status decides (CheckStatus: 429
//     RateLimited, 408/5xx Retryable, 401/403 Auth, other 4xx Permanent);
//  3. otherwise (2xx) an empty body, an HTML page, invalid JSON or a body
//     without a code is Retryable (a gateway or a cut connection), and an
//     error code no rule knows is Permanent when the envelope marks it a
//     business error, else gets the policy's Unknown class (Retryable).
//
// write says the request is not idempotent (Rule.Write applies); secrets
// are scrubbed from the error in addition to the client's (e.g. the access
// token the request carried).
func (c *Client) Classify(op string, write bool, p *Policy, r *Response, secrets ...string) ([]byte, error) {
	scrub := func(s string) string { return scrubAll(c.Scrub(s), secrets) }
	clip := func(s string, n int) string { return connectors.Truncate(scrub(s), n) }
	excerptOf := func(b []byte) string { return excerpt([]byte(scrub(string(b)))) }
	e := &connectors.Error{Source: c.Source, Op: op, Status: r.Status}
	// only JSON's own whitespace (RFC 8259): a body padded with other
	// spaces (\v, \f, U+0085) is not valid JSON
	body := bytes.Trim(r.Body, " \t\r\n")
	valid := len(body) > 0 && json.Valid(body)
	var env Envelope
	if valid {
		env = p.Parse(r.Body)
	}
	if !env.OK && (env.Code != "" || env.Message != "") {
		e.Code, e.Message = clip(env.Code, 40), clip(env.Message, 200)
		if rule, ok := p.rule(env.Code, env.Message); ok {
			return nil, c.apply(e, rule, write, p, r)
		}
	}
	if slices.Contains(p.TokenStatuses, r.Status) {
		e.Class, e.Err = connectors.Retryable, ErrTokenRejected
		if e.Message == "" {
			e.Message = excerptOf(r.Body)
		}
		return nil, e
	}
	if r.Status < 200 || r.Status >= 300 {
		se := c.CheckStatus(op, r).(*connectors.Error)
		se.Message = excerptOf(r.Body)
		if e.Code != "" {
			se.Code, se.Message = e.Code, e.Message
		}
		return nil, se
	}
	e.Class = connectors.Retryable
	switch {
	case len(body) == 0:
		e.Message = "empty response body (truncated?)"
	case IsHTML(body):
		e.Message = excerptOf(body) + " instead of JSON"
	case !valid:
		e.Message = fmt.Sprintf("invalid or truncated JSON (%d bytes): %s", len(body), clip(string(body), 60))
	case env.OK:
		return env.Data, nil
	case env.Code == "":
		e.Message = "response without a code: " + excerptOf(body)
	case env.Business:
		e.Class = connectors.Permanent
	default:
		e.Class = p.Unknown
		if e.Class == 0 {
			e.Class = connectors.Retryable
		}
		e.Err = errUnknownCode
	}
	return nil, e
}

// errUnknownCode marks an error code that no rule of the vendor's table
// knows.
var errUnknownCode = errors.New("undocumented error code")

func (c *Client) apply(e *connectors.Error, rule Rule, write bool, p *Policy, r *Response) *connectors.Error {
	e.Class = rule.Class
	if write && rule.Write != 0 {
		e.Class = rule.Write
	}
	switch {
	case rule.Token:
		e.Class, e.Err = connectors.Retryable, ErrTokenRejected
	case rule.NotFound:
		e.Class, e.Err = connectors.Permanent, connectors.ErrNotFound
	}
	if e.Class == connectors.RateLimited {
		e.RetryAfter = DefaultRetryAfter
		if r.Header != nil {
			e.RetryAfter = ParseRetryAfter(r.Header.Get("Retry-After"), c.now())
		}
	}
	return e
}

func scrubAll(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) >= 4 {
			s = strings.ReplaceAll(s, sec, "[redacted]")
		}
	}
	return s
}

// MetricClass is the result class of an attempt as the Observer sees it:
// "ok", "retryable", "rate_limited", "permanent", "auth" or "not_found".
func MetricClass(err error) string {
	if err == nil {
		return "ok"
	}
	if errors.Is(err, connectors.ErrNotFound) {
		return "not_found"
	}
	switch connectors.ClassOf(err) {
	case connectors.RateLimited:
		return "rate_limited"
	case connectors.Permanent:
		return "permanent"
	case connectors.Auth:
		return "auth"
	}
	return "retryable"
}

// statusOf is the HTTP status of an attempt's error (0 without a response).
func statusOf(err error, r *Response) int {
	if r != nil {
		return r.Status
	}
	var ce *connectors.Error
	if errors.As(err, &ce) {
		return ce.Status
	}
	return 0
}
