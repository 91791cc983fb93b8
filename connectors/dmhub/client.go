package dmhub

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// Client calls the DM Hub loyalty v1 API for one source: it attaches the
// shared access token, classifies every response in one place (classify)
// and refreshes the token once when the vendor rejects it.
type Client struct {
	src    string
	base   string
	appID  string
	secret string
	hc     *httpapi.Client
	tokens TokenSource
}

// TokenSource hands out the app's access token; *TokenStore is the
// production one (shared through Redis).
type TokenSource interface {
	Token(ctx context.Context) (string, error)
	Invalidate(ctx context.Context, token string) error
}

// NewClient builds a client; tokens may be nil for a client that only
// fetches tokens (tests).
func NewClient(src *config.Source, hc *httpapi.Client) *Client {
	c := &Client{src: src.Name, base: strings.TrimRight(src.BaseURL, "/"), appID: src.Credentials.AppID,
		secret: src.Credentials.AppSecret.Reveal(), hc: hc}
	hc.Secrets = append(hc.Secrets, c.secret)
	return c
}

// UseTokens sets the token source (see NewTokenStore, with c.FetchToken).
func (c *Client) UseTokens(t TokenSource) { c.tokens = t }

// FetchToken asks /security/accesstoken for a new token. Rejected
// credentials are an Auth error.
func (c *Client) FetchToken(ctx context.Context) (string, time.Duration, error) {
	q := url.Values{"grant_type": {"client_credentials"}, "appid": {c.appID}, "secret": {c.secret}}
	const op = "GET /security/accesstoken"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+"/security/accesstoken?"+q.Encode(), nil)
	if err != nil {
		return "", 0, fmt.Errorf("%s: %s: %w", c.src, op, err)
	}
	resp, err := c.hc.Do(ctx, op, req)
	if err != nil {
		return "", 0, err
	}
	body, err := c.classify(op, resp)
	if err != nil {
		var ce *connectors.Error
		if errors.As(err, &ce) && (ce.Class == connectors.Permanent || errors.Is(err, errTokenRejected)) {
			ce.Class = connectors.Auth // the token endpoint rejects only credentials
		}
		return "", 0, err
	}
	var t struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   lenient.Int `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", 0, &connectors.Error{Class: connectors.Retryable, Source: c.src, Op: op, Status: resp.Status,
			Message: "no access_token in the response"}
	}
	return t.AccessToken, time.Duration(t.ExpiresIn.V) * time.Second, nil
}

// errTokenRejected marks a response that rejected our access token.
var errTokenRejected = errors.New("access token rejected")

// Get calls path with query q and returns the classified body. A rejected
// token is invalidated and the call repeated once with a fresh token; a
// second rejection is an Auth error.
func (c *Client) Get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	return c.call(ctx, http.MethodGet, path, q, nil)
}

// Post sends body as JSON to path.
func (c *Client) Post(ctx context.Context, path string, body []byte) ([]byte, error) {
	return c.call(ctx, http.MethodPost, path, nil, body)
}

// Blip retries: a few short, jittered retries inside one task for
// transient failures; anything longer is left to the queue's backoff.
const (
	blipRetries  = 3
	blipBase     = 200 * time.Millisecond
	maxInlineRAW = 3 * time.Second // longer Retry-After waits go back to the queue
)

func (c *Client) call(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	var out []byte
	var err error
	for i := 0; ; i++ {
		out, err = c.callOnce(ctx, method, path, q, body)
		if err == nil || i == blipRetries || ctx.Err() != nil {
			return out, err
		}
		var wait time.Duration
		switch connectors.ClassOf(err) {
		case connectors.Retryable:
			wait = blipBase << i
			wait += time.Duration(rand.Int64N(int64(wait)))
		case connectors.RateLimited:
			d, _ := connectors.RetryAfter(err)
			if d > maxInlineRAW {
				return out, err
			}
			wait = d
		default:
			return out, err
		}
		if method != http.MethodGet && !idempotentPost(path) {
			return out, err // a write may have reached the vendor: the outbound layer decides
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return out, err
		case <-t.C:
		}
	}
}

// idempotentPost lists POST endpoints that only read.
func idempotentPost(path string) bool {
	return path == "/loyalty/v1/membershipService/listMembershipByIdentities"
}

func (c *Client) callOnce(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	op := method + " " + path
	if q == nil {
		q = url.Values{}
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		q.Set("access_token", tok)
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path+"?"+q.Encode(), rd)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", c.src, op, err)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := c.hc.Do(ctx, op, req)
		if err != nil {
			return nil, err
		}
		out, err := c.classify(op, resp)
		if errors.Is(err, errTokenRejected) {
			if attempt == 0 {
				if ierr := c.tokens.Invalidate(ctx, tok); ierr != nil {
					return nil, ierr
				}
				continue
			}
			var ce *connectors.Error
			if errors.As(err, &ce) {
				ce.Class = connectors.Auth
			}
		}
		return out, err
	}
}

// envelope is the error part of any DM Hub body: {"error":{code,message}}
// on the API, {"error_code","error_description"} on the token endpoint
// (and some 500s). Codes arrive as strings or numbers.
type envelope struct {
	Error *struct {
		Code    lenient.String `json:"code"`
		Message lenient.String `json:"message"`
	} `json:"error"`
	ErrorCode        *lenient.String `json:"error_code"`
	ErrorDescription lenient.String  `json:"error_description"`
}

// tokenCodes are error codes that mean "bad or expired access token".
var tokenCodes = map[string]bool{"40001": true, "40014": true, "41001": true, "42001": true, "401": true, "401001": true}

// classify is the one place that decides what a DM Hub response means:
// success (the body), or a *connectors.Error that is Retryable (5xx, HTML
// pages, truncated or invalid JSON), RateLimited (429 with Retry-After, or
// a throttling error body), Permanent (other 4xx, business errors such as
// 409000 even inside HTTP 200), or a token rejection (errTokenRejected,
// which the caller turns into one refresh and then Auth).
func (c *Client) classify(op string, r *httpapi.Response) ([]byte, error) {
	e := &connectors.Error{Source: c.src, Op: op, Status: r.Status}
	isJSON := json.Valid(r.Body)
	var env envelope
	if isJSON {
		_ = json.Unmarshal(r.Body, &env) // best effort: the body may be an array
	}
	code, msg := "", ""
	switch {
	case env.Error != nil:
		code, msg = env.Error.Code.V, env.Error.Message.V
	case env.ErrorCode != nil && env.ErrorCode.V != "0" && env.ErrorCode.V != "":
		code, msg = env.ErrorCode.V, env.ErrorDescription.V
	}
	e.Code, e.Message = c.hc.Clip(code, 40), c.hc.Clip(msg, 200)
	if code != "" || (r.Status >= 400 && isJSON) {
		lower := strings.ToLower(msg)
		switch {
		case tokenCodes[code] || strings.Contains(lower, "token") || strings.Contains(msg, "令牌"):
			e.Class, e.Err = connectors.Permanent, errTokenRejected
			return nil, e
		case r.Status == http.StatusTooManyRequests || code == "429" || strings.Contains(lower, "too many") ||
			strings.Contains(lower, "rate limit") || strings.Contains(lower, "frequen") || strings.Contains(msg, "频繁"):
			e.Class = connectors.RateLimited
			e.RetryAfter = httpapi.ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
			return nil, e
		}
	}
	if err := c.hc.CheckStatus(op, r); err != nil {
		var se *connectors.Error
		if errors.As(err, &se) && code != "" {
			se.Code, se.Message = e.Code, e.Message
		}
		return nil, err
	}
	switch {
	case httpapi.IsHTML(r.Body):
		e.Class, e.Message = connectors.Retryable, c.hc.Excerpt(r.Body)+" instead of JSON"
		return nil, e
	case !isJSON:
		e.Class = connectors.Retryable
		e.Message = fmt.Sprintf("invalid or truncated JSON (%d bytes)", len(r.Body))
		return nil, e
	case code != "" && (permanentCodes[code] || !strings.HasPrefix(op, "GET ")):
		e.Class = connectors.Permanent
		return nil, e
	case code != "":
		// An undocumented error on a read (e.g. a bare 409000 "error
		// info"): reads are safe to repeat, so retry a bounded number
		// of times before giving up.
		e.Class = connectors.Retryable
		return nil, e
	}
	return r.Body, nil
}

// permanentCodes are the documented errors that no retry can fix
// (vendor-api.md §1.3).
var permanentCodes = map[string]bool{
	"400001": true, "400005": true, "409200": true, "409224": true, "409225": true, "C0002": true, "40004": true,
}

// IsNotFound reports a DM Hub "not found" (409200, or a 500 with 40201,
// which DM Hub returns for a deleted id).
func IsNotFound(err error) bool {
	var ce *connectors.Error
	return errors.As(err, &ce) && (ce.Code == "409200" || ce.Code == "40201")
}

func itoa(n int) string { return strconv.Itoa(n) }
