package httpapi

import (
	"strings"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// The message rules of vendors that publish no error-code table and say
// what went wrong only in words (Houcaller, zvcms): the same Chinese and
// English fragments mean the same thing everywhere. A vendor's Policy
// lists them among its own rules (order matters: the first match decides);
// doc names the vendor's source of the rule for docs/errors.md.

// RateLimitMessages matches throttling texts: RateLimited.
func RateLimitMessages(doc string) Rule {
	return Rule{Match: []string{"频繁", "限流", "请求过多", "too many", "rate limit"}, Class: connectors.RateLimited, Doc: doc}
}

// NotFoundMessages matches "does not exist" texts: a NotFound rule.
func NotFoundMessages(doc string) Rule {
	return Rule{Match: []string{"不存在", "未找到", "查无", "找不到", "not exist", "not found"}, NotFound: true, Doc: doc}
}

// BusyMessages matches busy, internal-error, timeout and expired-request
// texts: Retryable (an expired request is sent again with a new
// timestamp).
func BusyMessages(doc string) Rule {
	return Rule{Match: []string{"繁忙", "稍后", "busy", "系统异常", "系统错误", "内部错误", "internal error", "超时", "timeout",
		"请求已过期", "expired"}, Class: connectors.Retryable, Doc: doc}
}

// CodeEnvelope is the Envelope of a body {code, message, data} whose code
// 0 (number or string) is success: the data on success, else the code and
// the trimmed message; without a code, the zero Envelope (not the vendor's
// answer: Classify makes it Retryable).
func CodeEnvelope(code *lenient.String, message string, data []byte) Envelope {
	c, present, success := ParseCode(code)
	switch {
	case !present:
		return Envelope{}
	case success:
		return Envelope{OK: true, Data: data}
	}
	return Envelope{Code: c, Message: strings.TrimSpace(message)}
}
