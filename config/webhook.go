package config

import (
	"regexp"
	"slices"
)

// WebhookOptions are the details of DM Hub's webhook signature the vendor
// documents loosely (docs/webhooks.md). Every field is optional.
type WebhookOptions struct {
	// SignatureHeader is the request header carrying the signature;
	// default "X-Clab-Hmac-Signature" (the vendor's document).
	SignatureHeader string `yaml:"signature_header"`
	// SignatureEncoding is how the HMAC-SHA256 digest is written: hex
	// (default, the vendor's hmacSha256Hex; either case) or base64.
	SignatureEncoding string `yaml:"signature_encoding"`
	// MaxBodyBytes bounds one pushed event; default 1 MiB (a DM Hub event
	// is a few hundred bytes). Never more than serve.max_body_bytes.
	MaxBodyBytes int64 `yaml:"max_body_bytes"`
}

// Webhook defaults and values.
const (
	DefaultWebhookHeader   = "X-Clab-Hmac-Signature"
	WebhookEncodingHex     = "hex"
	WebhookEncodingBase64  = "base64"
	DefaultWebhookMaxBody  = 1 << 20
	maxWebhookBodyAbsolute = 16 << 20
)

// WebhookHeader is the source's signature header (default applied).
func (s *Source) WebhookHeader() string {
	if s.Webhook != nil && s.Webhook.SignatureHeader != "" {
		return s.Webhook.SignatureHeader
	}
	return DefaultWebhookHeader
}

// WebhookEncoding is the source's signature encoding (default applied).
func (s *Source) WebhookEncoding() string {
	if s.Webhook != nil && s.Webhook.SignatureEncoding != "" {
		return s.Webhook.SignatureEncoding
	}
	return WebhookEncodingHex
}

// WebhookMaxBody is the source's bound on one pushed event (default
// applied).
func (s *Source) WebhookMaxBody() int64 {
	if s.Webhook != nil && s.Webhook.MaxBodyBytes > 0 {
		return s.Webhook.MaxBodyBytes
	}
	return DefaultWebhookMaxBody
}

// headerName is an HTTP header field name (RFC 9110 token characters).
var headerName = regexp.MustCompile("^[A-Za-z0-9!#$%&'*+.^_`|~-]+$")

// validateWebhook checks webhook_secret and the webhook block: a header
// name, a known encoding, a body bound in range. Which kinds take them is
// their declaration's (KindSpec.Fields; validateKindFields refuses them on
// any other kind).
func (c *Config) validateWebhook(p string, s *Source) error {
	if !slices.Contains(s.spec.Fields, "webhook_secret") {
		return nil
	}
	if sec := s.WebhookSecret.Reveal(); sec != "" && len(sec) < 8 {
		return c.fieldErr(p+".webhook_secret", "is %d characters; use the key configured in DM Hub (at least 8)", len(sec))
	}
	w := s.Webhook
	if w == nil {
		return nil
	}
	if w.SignatureHeader != "" && !headerName.MatchString(w.SignatureHeader) {
		return c.fieldErr(p+".webhook.signature_header", "%q is not an HTTP header name", w.SignatureHeader)
	}
	switch w.SignatureEncoding {
	case "", WebhookEncodingHex, WebhookEncodingBase64:
	default:
		return c.fieldErr(p+".webhook.signature_encoding", "%q is not hex or base64", w.SignatureEncoding)
	}
	if w.MaxBodyBytes < 0 || w.MaxBodyBytes > maxWebhookBodyAbsolute {
		return c.fieldErr(p+".webhook.max_body_bytes", "%d is out of range 1..%d", w.MaxBodyBytes, maxWebhookBodyAbsolute)
	}
	return nil
}
