package zvcms

import (
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// This file is zvcms's classification table: data read by
// httpapi.Client.Classify, the one classifier of every vendor.
// docs/errors.md renders it.

// policy: the global return-code table of zvcms is not public
// (vendor-api.md §3.2, §5 Q12), so the rules are on the message; the
// envelope says the rest: "status": true with a non-zero code is a
// business error (Permanent unless a rule says otherwise), "status": false
// a system error (Retryable unless a rule says otherwise). The simulator's
// codes (vendorsim/doc.go) carry the same messages.
var policy = httpapi.Policy{
	Parse:   parseEnvelope,
	Unknown: connectors.Retryable,
	Messages: []httpapi.Rule{
		// signature, credentials, or the API not enabled for this openId
		// ("开启令牌和权限后可调用", §3.1)
		{Match: []string{"签名", "验签", "授权", "grantcode", "openid", "密钥", "秘钥", "鉴权", "认证", "权限", "非法请求",
			"signature", "sign error", "sign check", "sign fail", "invalid sign", "unauthorized", "permission", "forbidden"},
			Class: connectors.Auth, Doc: "§3.1; sim 40003, 40005"},
		httpapi.RateLimitMessages("sim 42900"),
		httpapi.NotFoundMessages("§3.2 查询的信息不存在; sim 20001"),
		httpapi.BusyMessages("§3.2 system error; sim 50000 系统繁忙, 40004 请求已过期"),
	},
}

// response is the V3 and V2 body envelope [S003, Z-pts2]: status and code
// arrive as strings or as a bool and a number.
type response struct {
	Status  *lenient.String `json:"status"`
	Code    *lenient.String `json:"code"`
	Message httpapi.Text    `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// parseEnvelope: code "0" (string or number) is success, whatever
// `status` says; any other code is an error, a business error unless
// status is false [S003].
func parseEnvelope(body []byte) httpapi.Envelope {
	var env response
	_ = json.Unmarshal(body, &env) // valid JSON; a wrong shape has no code
	e := httpapi.CodeEnvelope(env.Code, string(env.Message), env.Data)
	if e.Code != "" {
		system := env.Status != nil && strings.EqualFold(strings.TrimSpace(env.Status.V), "false")
		e.Business = !system
	}
	return e
}

// classify classifies one response (tests and fuzzing; Call does the same
// for every attempt).
func (c *Client) classify(op string, r *httpapi.Response) (json.RawMessage, error) {
	return c.hc.Classify(op, false, &policy, r)
}
