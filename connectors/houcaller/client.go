package houcaller

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// The openapi methods the streams call.
const (
	MethodListCpnItemByMember = "listCpnItemByMember"
	MethodQueryScoRecord      = "queryMemberScoRecordForShop"
	MethodListCpnForShop      = "listCpnForShop"
)

// Client calls the Houcaller openapi for one source: it encrypts the
// business parameters into the `param` envelope, POSTs it and classifies
// the response in one place (classify). It is safe for concurrent use.
type Client struct {
	source  string
	base    string
	channel string
	cipher  *Cipher
	hc      *httpapi.Client
	now     func() time.Time
}

// envelope is the outer request body [vendor-api.md §2.1, S002]. Field
// order follows the vendor's example.
type envelope struct {
	Param     string `json:"param"`
	Channel   string `json:"channel"`
	Timestamp string `json:"timestamp"`
}

// Envelope returns the request body for params: params marshalled to
// compact JSON, DES-encrypted to uppercase hex in `param`, the channel, and
// the current time in epoch milliseconds as a string.
func (c *Client) Envelope(params any) ([]byte, error) {
	plain, err := json.Marshal(params)
	if err != nil {
		return nil, err
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, plain); err != nil {
		return nil, err
	}
	param, err := c.cipher.Encrypt(compact.Bytes())
	if err != nil {
		return nil, err
	}
	return json.Marshal(envelope{
		Param:     param,
		Channel:   c.channel,
		Timestamp: strconv.FormatInt(c.now().UnixMilli(), 10),
	})
}

// readMethods are the openapi methods that only read: they are retried in
// place (httpapi.Client.Call); any other method is sent once.
var readMethods = map[string]bool{
	MethodListCpnItemByMember: true, MethodQueryScoRecord: true, MethodListCpnForShop: true,
	"getCpnDetailByIds": true, "listCpnForStcPro": true, "getLastSendCpnItem": true,
}

// Call POSTs params to {base_url}/openapi/v1/{method} and returns the
// `data` of a successful response (nil when the vendor sent none). Every
// failure is a *connectors.Error (classified by httpapi with this
// package's table), except context cancellation. Each attempt gets a fresh
// envelope (timestamp).
func (c *Client) Call(ctx context.Context, method string, params any) (json.RawMessage, error) {
	op := opName(method)
	return c.hc.Call(ctx, httpapi.Request{Op: op, Idempotent: readMethods[method], Policy: &policy,
		New: func(ctx context.Context) (*http.Request, error) {
			body, err := c.Envelope(params)
			if err != nil {
				return nil, &connectors.Error{Class: connectors.Permanent, Source: c.source, Op: op,
					Message: "cannot build the request envelope", Err: err}
			}
			return c.hc.NewJSONRequest(ctx, op, http.MethodPost, c.base+"/openapi/v1/"+method, body)
		}})
}

func opName(method string) string { return "POST /openapi/v1/" + method }

// trimBase drops trailing slashes of a base URL.
func trimBase(u string) string { return strings.TrimRight(strings.TrimSpace(u), "/") }
