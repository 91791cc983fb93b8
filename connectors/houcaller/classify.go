package houcaller

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// ErrNotFound marks a vendor error that says the requested member (or
// record) does not exist. It is wrapped in a Permanent *connectors.Error;
// callers test it with IsNotFound and may treat the member as having no
// rows.
var ErrNotFound = fmt.Errorf("houcaller: %w", connectors.ErrNotFound)

// IsNotFound reports whether err is the vendor saying the looked-up member
// or record does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// response is the vendor's body envelope [vendor-api.md §2.2]:
// {"msg":"操作成功","code":0,"data":{…}}, with `smg` for `msg` in some
// responses.
type response struct {
	Code *lenient.String `json:"code"`
	Msg  text            `json:"msg"`
	Smg  text            `json:"smg"`
	Data json.RawMessage `json:"data"`
}

// text is a message field: a string, number or bool as text; any other
// JSON value is kept as its raw text, so an odd message never turns a
// vendor error into a decode error.
type text string

func (t *text) UnmarshalJSON(b []byte) error {
	var s lenient.String
	if err := s.UnmarshalJSON(b); err == nil {
		*t = text(s.V)
		return nil
	}
	*t = text(b)
	return nil
}

// classify turns every response into the `data` of a success or a
// classified *connectors.Error. It is the only place that interprets the
// vendor's status codes and envelopes:
//
//   - non-2xx: httpapi.Client.CheckStatus (429 RateLimited with
//     Retry-After, 408/5xx Retryable, 401/403 Auth, other 4xx Permanent);
//   - an HTML page, an empty body, invalid or truncated JSON, or an
//     envelope without `code`: Retryable (a gateway or a cut connection,
//     not the vendor's answer);
//   - code 0 (number or string): success;
//   - any other code, with the text of `msg`, else `smg`:
//     Auth when the message says the request could not be decrypted or
//     authenticated (see authFailure), RateLimited when it says we call
//     too often, Permanent wrapping ErrNotFound when it says the member
//     does not exist, Permanent otherwise. Houcaller publishes no error
//     code table, so these decisions rest on the message text.
func (c *Client) classify(op string, r *httpapi.Response) (json.RawMessage, error) {
	if err := c.hc.CheckStatus(op, r); err != nil {
		return nil, err
	}
	fail := func(class connectors.Class, msg string) *connectors.Error {
		return &connectors.Error{Class: class, Source: c.source, Op: op, Status: r.Status, Message: c.hc.Scrub(msg)}
	}
	body := bytes.TrimSpace(r.Body)
	switch {
	case len(body) == 0:
		return nil, fail(connectors.Retryable, "empty response body (truncated?)")
	case httpapi.IsHTML(body):
		return nil, fail(connectors.Retryable, "HTML page instead of JSON: "+c.hc.Excerpt(body))
	}
	var env response
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fail(connectors.Retryable, "invalid or truncated JSON: "+c.hc.Excerpt(body))
	}
	if env.Code == nil || env.Code.Null || strings.TrimSpace(env.Code.V) == "" {
		return nil, fail(connectors.Retryable, "response without a code: "+c.hc.Excerpt(body))
	}
	code := strings.TrimSpace(env.Code.V)
	if n, err := lenient.ParseInt(code); err == nil && n == 0 {
		return env.Data, nil
	}
	msg := strings.TrimSpace(string(env.Msg))
	if msg == "" {
		msg = strings.TrimSpace(string(env.Smg))
	}
	e := fail(connectors.Permanent, c.hc.Clip(msg, 200))
	e.Code = c.hc.Clip(code, 40)
	switch {
	case authFailure(msg):
		e.Class = connectors.Auth
	case rateLimited(msg):
		e.Class, e.RetryAfter = connectors.RateLimited, httpapi.DefaultRetryAfter
	case notFound(msg):
		e.Err = ErrNotFound
	}
	return nil, e
}

// authFailure reports whether a vendor message means our credentials were
// rejected. Our plaintext is always valid JSON, so a `param` the vendor
// cannot decrypt or parse means the DES key, mode or padding is wrong; an
// unknown channel or a failed signature check means the same. Matched
// (case-insensitively): 解密 (decrypt), 加密 (encrypt), 密钥/秘钥 (key),
// 签名/验签 (signature), 渠道 (channel), 参数解析/解析参数 (param parse),
// 非法请求 (illegal request), 鉴权/认证/授权 (authentication), and the
// English decrypt, signature, sign error, channel, unauthorized.
// Generic parameter errors (参数错误, 不能为空) stay Permanent.
func authFailure(msg string) bool {
	return lenient.ContainsAny(strings.ToLower(msg),
		"解密", "加密", "密钥", "秘钥", "签名", "验签", "渠道", "参数解析", "解析参数", "非法请求",
		"鉴权", "认证", "授权", "decrypt", "signature", "sign error", "channel", "unauthorized")
}

// rateLimited reports whether a vendor message asks us to slow down:
// 频繁 (too frequent), 限流 (throttled), 请求过多 (too many requests).
func rateLimited(msg string) bool {
	return lenient.ContainsAny(strings.ToLower(msg), "频繁", "限流", "请求过多", "too many", "rate limit")
}

// notFound reports whether a vendor message says the looked-up member or
// record does not exist: 不存在, 未找到, 查无, 找不到, not exist, not found.
func notFound(msg string) bool {
	return lenient.ContainsAny(strings.ToLower(msg), "不存在", "未找到", "查无", "找不到", "not exist", "not found")
}
