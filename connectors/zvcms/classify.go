package zvcms

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

// ErrNotFound marks a business error that says the looked-up customer (or
// coupon) does not exist, e.g. "查询的信息不存在" [S003]. It is wrapped in a
// Permanent *connectors.Error; the engine may treat IsNotFound errors of a
// per-member stream as "this member has no rows".
var ErrNotFound = fmt.Errorf("zvcms: %w", connectors.ErrNotFound)

// IsNotFound reports whether err is the vendor saying the looked-up
// customer or record does not exist.
func IsNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// response is the V3 and V2 body envelope [S003, Z-pts2]: status and code
// arrive as strings or as a bool and a number.
type response struct {
	Status  *lenient.String `json:"status"`
	Code    *lenient.String `json:"code"`
	Message text            `json:"message"`
	Data    json.RawMessage `json:"data"`
}

// text is a message field: a string, number or bool as text; any other
// JSON value is kept as its raw text.
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
//     envelope without `code`: Retryable;
//   - code "0" (string or number): success, whatever `status` says;
//   - any other code — a business error even when status is true [S003]:
//     Auth when the message is about the signature or credentials (see
//     authFailure), RateLimited when it is about call frequency, Permanent
//     wrapping ErrNotFound when it says the record does not exist; then
//     Retryable when status is false (the vendor's "system error", whose
//     global code table is not public) and Permanent otherwise.
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
	msg := strings.TrimSpace(string(env.Message))
	e := fail(connectors.Permanent, c.hc.Clip(msg, 200))
	e.Code = c.hc.Clip(code, 40)
	switch {
	case authFailure(msg):
		e.Class = connectors.Auth
	case rateLimited(msg):
		e.Class, e.RetryAfter = connectors.RateLimited, httpapi.DefaultRetryAfter
	case notFound(msg):
		e.Err = ErrNotFound
	case env.Status != nil && strings.EqualFold(strings.TrimSpace(env.Status.V), "false"):
		e.Class = connectors.Retryable
	}
	return nil, e
}

// authFailure reports whether a vendor message means the request was not
// authenticated. zvcms publishes no code table, so it matches the texts
// (case-insensitively): 签名/验签 (signature), 令牌/token (token), 授权
// (grant), grantCode, openId, 密钥/秘钥 (key), 鉴权/认证 (authentication),
// 权限 (permission: the API is not enabled for this openId, "开启令牌和权限后
// 可调用"), 非法请求 (illegal request), and the English signature, sign
// error/check/fail, invalid sign, unauthorized.
func authFailure(msg string) bool {
	return lenient.ContainsAny(strings.ToLower(msg),
		"签名", "验签", "令牌", "token", "授权", "grantcode", "openid", "密钥", "秘钥", "鉴权", "认证", "权限",
		"非法请求", "signature", "sign error", "sign check", "sign fail", "invalid sign", "unauthorized")
}

// rateLimited reports whether a vendor message asks us to slow down:
// 频繁 (too frequent), 限流 (throttled), 请求过多 (too many requests).
func rateLimited(msg string) bool {
	return lenient.ContainsAny(strings.ToLower(msg), "频繁", "限流", "请求过多", "too many", "rate limit")
}

// notFound reports whether a vendor message says the record does not
// exist: 不存在 (as in 查询的信息不存在 [S003]), 未找到, 查无, 找不到, not exist,
// not found.
func notFound(msg string) bool {
	return lenient.ContainsAny(strings.ToLower(msg), "不存在", "未找到", "查无", "找不到", "not exist", "not found")
}
