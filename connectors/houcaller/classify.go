package houcaller

import (
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// This file is Houcaller's classification table: data read by
// httpapi.Client.Classify, the one classifier of every vendor.
// docs/errors.md renders it.

// policy: Houcaller publishes no error-code table (vendor-api.md §2.2, §5
// Q10), so the rules are on the message (`msg`, else `smg`); the simulator's
// codes (vendorsim/doc.go) match the same messages. Order matters: the
// first rule whose fragment the message contains decides. A code no rule
// knows is Retryable (bounded), never silently permanent.
var policy = httpapi.Policy{
	Parse:   parseEnvelope,
	Unknown: connectors.Retryable,
	Messages: []httpapi.Rule{
		// our plaintext is always valid JSON: a param the vendor cannot
		// decrypt or parse means the DES key, mode or padding is wrong;
		// an unknown channel or a failed signature means the same
		{Match: []string{"解密", "加密", "密钥", "秘钥", "签名", "验签", "渠道", "参数解析", "解析参数", "非法请求",
			"鉴权", "认证", "授权", "权限", "decrypt", "signature", "sign error", "channel", "unauthorized",
			"permission", "forbidden"}, Class: connectors.Auth, Doc: "§2.1 DES envelope; sim 1001/1002"},
		httpapi.RateLimitMessages("sim 429"),
		httpapi.NotFoundMessages("sim 1004 会员不存在"),
		httpapi.BusyMessages("sim 500 系统繁忙, 1005 请求已过期 (a new timestamp)"),
		{Match: []string{"参数", "为空", "格式错误", "不支持", "不合法", "无效", "invalid", "missing", "required"},
			Class: connectors.Permanent, Doc: "sim 1003 parameter errors"},
	},
}

// response is the vendor's body envelope [vendor-api.md §2.2]:
// {"msg":"操作成功","code":0,"data":{…}}, with `smg` for `msg` in some
// responses.
type response struct {
	Code *lenient.String `json:"code"`
	Msg  httpapi.Text    `json:"msg"`
	Smg  httpapi.Text    `json:"smg"`
	Data json.RawMessage `json:"data"`
}

// parseEnvelope: code 0 (number or string) is success; any other code is
// an error with the text of `msg`, else `smg`; no code at all is neither
// (Classify makes it Retryable: not the vendor's answer).
func parseEnvelope(body []byte) httpapi.Envelope {
	var env response
	_ = json.Unmarshal(body, &env) // valid JSON; a wrong shape has no code
	msg := string(env.Msg)
	if strings.TrimSpace(msg) == "" {
		msg = string(env.Smg)
	}
	return httpapi.CodeEnvelope(env.Code, msg, env.Data)
}

// classify classifies one response (tests and fuzzing; Call does the same
// for every attempt).
func (c *Client) classify(op string, r *httpapi.Response) (json.RawMessage, error) {
	return c.hc.Classify(op, false, &policy, r)
}
