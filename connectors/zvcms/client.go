package zvcms

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// The API paths (V3, under /v3/) and actions (V2) the streams call.
const (
	PathAllCustomerInfo    = "crm/customer/allCustomerInfo"
	PathGetCustomerCoupons = "crm/coupon/getCustomerCoupons"
	ActionPointsRecords    = "user.user-points-records"
)

// Client calls the zvcms openapi for one source: it signs every request,
// POSTs the V3 or V2 envelope and classifies the response in one place
// (httpapi, with the table of classify.go). It is safe for concurrent use.
type Client struct {
	source    string
	base      string
	openID    string
	grantCode config.Secret
	signer    Signer
	hc        *httpapi.Client
	now       func() time.Time
	nonce     func() int64
}

// v3Envelope is the V3 body [S003]: lowerCamel public parameters, the
// business parameters in `params`.
type v3Envelope struct {
	OpenID    string `json:"openId"`
	GrantCode string `json:"grantCode"`
	Token     string `json:"token"`
	Timestamp string `json:"timestamp"`
	Nonce     string `json:"nonce"`
	Params    any    `json:"params"`
}

// v2Envelope is the V2 body [Z-pts2]: PascalCase public parameters and
// the method in Action.
type v2Envelope struct {
	OpenID    string `json:"OpenId"`
	GrantCode string `json:"GrantCode"`
	Token     string `json:"Token"`
	Timestamp string `json:"Timestamp"`
	Nonce     string `json:"Nonce"`
	Action    string `json:"Action"`
	Params    any    `json:"Params"`
}

// sign returns the signed public fields of a new request: timestamp in
// epoch seconds and a fresh positive nonce, both as strings.
func (c *Client) sign() (SignFields, string) {
	n := c.nonce()
	if n <= 0 {
		n = 1
	}
	f := SignFields{OpenID: c.openID, GrantCode: c.grantCode.Reveal(),
		Timestamp: strconv.FormatInt(c.now().Unix(), 10), Nonce: strconv.FormatInt(n, 10)}
	return f, c.signer.Sign(f)
}

// EnvelopeV3 returns the body of a V3 request carrying params.
func (c *Client) EnvelopeV3(params any) ([]byte, error) {
	f, tok := c.sign()
	return json.Marshal(v3Envelope{OpenID: f.OpenID, GrantCode: f.GrantCode, Token: tok,
		Timestamp: f.Timestamp, Nonce: f.Nonce, Params: params})
}

// EnvelopeV2 returns the body of a V2 request of action carrying params.
func (c *Client) EnvelopeV2(action string, params any) ([]byte, error) {
	f, tok := c.sign()
	return json.Marshal(v2Envelope{OpenID: f.OpenID, GrantCode: f.GrantCode, Token: tok,
		Timestamp: f.Timestamp, Nonce: f.Nonce, Action: action, Params: params})
}

// writePaths are the V3 paths and V2 actions that change data: they are
// sent once; every other call reads and is retried in place
// (httpapi.Client.Call).
var writePaths = map[string]bool{"crm/points/addCustomerPoints": true}

// CallV3 POSTs params to {base_url}/v3/{path} (e.g. path
// "crm/coupon/getCustomerCoupons") and returns the `data` of a successful
// response. Each attempt is signed anew.
func (c *Client) CallV3(ctx context.Context, path string, params any) (json.RawMessage, error) {
	return c.post(ctx, "POST /v3/"+path, "/v3/"+path, !writePaths[path], func() ([]byte, error) { return c.EnvelopeV3(params) })
}

// CallV2 POSTs action with params to {base_url}/api/v2 and returns the
// `data` of a successful response. Each attempt is signed anew.
func (c *Client) CallV2(ctx context.Context, action string, params any) (json.RawMessage, error) {
	return c.post(ctx, "POST /api/v2 "+action, "/api/v2", !writePaths[action],
		func() ([]byte, error) { return c.EnvelopeV2(action, params) })
}

func (c *Client) post(ctx context.Context, op, path string, idempotent bool, envelope func() ([]byte, error)) (json.RawMessage, error) {
	return c.hc.Call(ctx, httpapi.Request{Op: op, Idempotent: idempotent, Policy: &policy,
		New: func(ctx context.Context) (*http.Request, error) {
			body, err := envelope()
			if err != nil {
				return nil, &connectors.Error{Class: connectors.Permanent, Source: c.source, Op: op,
					Message: "cannot build the request envelope", Err: err}
			}
			return c.hc.NewJSONRequest(ctx, op, http.MethodPost, c.base+path, body)
		}})
}

// trimBase drops trailing slashes of a base URL.
func trimBase(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }
