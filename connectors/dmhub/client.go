package dmhub

import (
	"context"
	"errors"
	"fmt"
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
// shared access token, has every response classified by httpapi with DM
// Hub's table (classify.go), and when the vendor rejects the token (expired,
// or superseded by a newer token of the app) retries with the newest one.
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
	cr := CredentialsOf(src)
	c := &Client{src: src.Name, base: strings.TrimRight(src.BaseURL, "/"), appID: cr.AppID, secret: cr.AppSecret.Reveal(), hc: hc}
	hc.Secrets = append(hc.Secrets, c.secret)
	return c
}

// UseTokens sets the token source (see NewTokenStore, with c.FetchToken).
func (c *Client) UseTokens(t TokenSource) { c.tokens = t }

// FetchToken asks /security/accesstoken for a new token. Rejected
// credentials are an Auth error; this is the only Auth error of DM Hub.
func (c *Client) FetchToken(ctx context.Context) (string, time.Duration, error) {
	q := url.Values{"grant_type": {"client_credentials"}, "appid": {c.appID}, "secret": {c.secret}}
	const op = "GET /security/accesstoken"
	body, err := c.hc.Call(ctx, httpapi.Request{Op: op, Idempotent: true, Policy: &tokenPolicy,
		New: func(ctx context.Context) (*http.Request, error) {
			return c.newRequest(ctx, op, http.MethodGet, c.base+"/security/accesstoken?"+q.Encode(), nil)
		}})
	if err != nil {
		return "", 0, err
	}
	var t struct {
		AccessToken string      `json:"access_token"`
		ExpiresIn   lenient.Int `json:"expires_in"`
	}
	if err := json.Unmarshal(body, &t); err != nil || t.AccessToken == "" {
		return "", 0, &connectors.Error{Class: connectors.Retryable, Source: c.src, Op: op, Status: http.StatusOK,
			Message: "no access_token in the response"}
	}
	return t.AccessToken, time.Duration(t.ExpiresIn.V) * time.Second, nil
}

// Get calls path with query q and returns the body of a success. Failed
// reads are retried in place (httpapi.Client.Call); a rejected token is
// replaced by the newest one (see call).
func (c *Client) Get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	return c.call(ctx, http.MethodGet, path, q, nil)
}

// Post sends body as JSON to path. Only the POSTs that read
// (idempotentPost) are retried in place; a write is sent once (besides a
// resend after the vendor rejected its token, which it did before doing
// anything).
func (c *Client) Post(ctx context.Context, path string, body []byte) ([]byte, error) {
	return c.call(ctx, http.MethodPost, path, nil, body)
}

// MaxTokenRetries bounds how often one request is repeated with a newer
// token after the vendor rejected the one it carried.
const MaxTokenRetries = 4

// idempotentPost lists POST endpoints that only read.
func idempotentPost(path string) bool {
	return path == "/loyalty/v1/membershipService/listMembershipByIdentities"
}

// call sends one API request. A token rejection (by code, see classify.go)
// means another process refreshed the app's token (DM Hub keeps one live
// token per app) or it expired: the token is forgotten if it is still the
// stored one, and the request repeated with the newest token, up to
// MaxTokenRetries times; then it is a Retryable error (not Auth: only the
// token endpoint rejects credentials).
func (c *Client) call(ctx context.Context, method, path string, q url.Values, body []byte) ([]byte, error) {
	op := method + " " + path
	r := httpapi.Request{Op: op, Endpoint: method + " " + endpointOf(path), Policy: &apiPolicy,
		Idempotent: method == http.MethodGet || idempotentPost(path)}
	qq := url.Values{}
	for k, v := range q {
		qq[k] = v
	}
	for attempt := 0; ; attempt++ {
		tok, err := c.tokens.Token(ctx)
		if err != nil {
			return nil, err
		}
		qq.Set("access_token", tok)
		u := c.base + path + "?" + qq.Encode()
		r.Secrets = []string{tok}
		r.New = func(ctx context.Context) (*http.Request, error) { return c.newRequest(ctx, op, method, u, body) }
		out, err := c.hc.Call(ctx, r)
		if !errors.Is(err, httpapi.ErrTokenRejected) {
			return out, err
		}
		if attempt == MaxTokenRetries {
			var ce *connectors.Error
			if errors.As(err, &ce) {
				ce.Message += fmt.Sprintf(" (rejected %d tokens in a row)", attempt+1)
			}
			return nil, err
		}
		if ierr := c.tokens.Invalidate(ctx, tok); ierr != nil {
			return nil, ierr
		}
	}
}

func (c *Client) newRequest(ctx context.Context, op, method, u string, body []byte) (*http.Request, error) {
	return c.hc.NewJSONRequest(ctx, op, method, u, body)
}

// endpointOf replaces the id segments of a path (any segment with a digit)
// by {id}, for low-cardinality metrics.
func endpointOf(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.ContainsAny(s, "0123456789") && i > 3 {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// classify classifies one response of the loyalty API (tests and fuzzing;
// Call does the same for every attempt).
func (c *Client) classify(op string, r *httpapi.Response) ([]byte, error) {
	return c.hc.Classify(op, !strings.HasPrefix(op, "GET "), &apiPolicy, r)
}

func itoa(n int) string { return strconv.Itoa(n) }
