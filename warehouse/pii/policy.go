package pii

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"unicode/utf8"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// Policy is the deployment's privacy policy: the rules of each source
// whose pii block changes anything. Safe for concurrent use (read-only).
type Policy struct {
	sources map[string]*Rules
}

// New builds the policy of cfg. config.Load has validated it; a Config
// built in code with an unknown action, or with hash and no pii_key,
// fails closed: such a field is dropped.
func New(cfg *config.Config) *Policy {
	p := &Policy{sources: map[string]*Rules{}}
	for i := range cfg.Sources {
		s := cfg.Sources[i]
		if !s.PIIActive() {
			continue
		}
		p.sources[s.Name] = &Rules{src: &s, key: []byte(cfg.PIIKey.Reveal())}
	}
	return p
}

// For returns the rules of source, nil when it keeps every field (also
// on a nil Policy).
func (p *Policy) For(source string) *Rules {
	if p == nil {
		return nil
	}
	return p.sources[source]
}

// Active reports whether any source changes any field.
func (p *Policy) Active() bool { return p != nil && len(p.sources) > 0 }

// Rules is one source's policy.
type Rules struct {
	src *config.Source
	key []byte
}

// Action is the action for field (a named field or a c_ key), after
// fail-closed checks.
func (r *Rules) Action(field string) config.PIIAction {
	if r == nil {
		return config.PIIKeep
	}
	a := r.src.PIIPolicy(field)
	switch a {
	case config.PIIKeep, config.PIIMask, config.PIIDrop:
		return a
	case config.PIIHash:
		if len(r.key) > 0 {
			return a
		}
	}
	return config.PIIDrop
}

// Value applies the action of field to one value (a typed column).
// Empty stays empty: hashing "" would make every member without a mobile
// join every other.
func (r *Rules) Value(field, v string) string {
	return r.apply(field, r.Action(field), v)
}

func (r *Rules) apply(field string, a config.PIIAction, v string) string {
	switch a {
	case config.PIIKeep:
		return v
	case config.PIIDrop:
		return ""
	case config.PIIHash:
		n := Normalize(field, v)
		if n == "" {
			return ""
		}
		m := hmac.New(sha256.New, r.key)
		m.Write([]byte(n))
		return hex.EncodeToString(m.Sum(nil))
	case config.PIIMask:
		return Mask(field, v)
	}
	return ""
}

// RecordKey is the key of a rejected record whose key was the hash of its
// plain body, which a short body would let anyone brute-force: the hex
// HMAC-SHA256 of the body under pii_key ("hmac:…"), unique per body and
// stable across replays; "" when the deployment has no pii_key.
func (r *Rules) RecordKey(raw string) string {
	if r == nil || len(r.key) == 0 {
		return ""
	}
	m := hmac.New(sha256.New, r.key)
	m.Write([]byte(raw))
	return "hmac:" + hex.EncodeToString(m.Sum(nil))
}

// IdentityField is the PII field of an identity type: mobile and phone
// are mobile, email is email, id_card and idCard are id_card, a c_ type
// (a tenant's custom identity) is looked up as a c_ key; "" otherwise
// (wechat, wechat-unionid, taobao-account: pseudonymous ids, kept).
func IdentityField(typ string) string {
	t := strings.TrimSpace(typ)
	switch strings.ToLower(t) {
	case "mobile", "phone":
		return config.FieldMobile
	case "email":
		return config.FieldEmail
	case "id_card", "idcard":
		return config.FieldIDCard
	}
	if strings.HasPrefix(t, config.CustomPrefix) {
		return t
	}
	return ""
}

// Identity applies the policy to the value of an identity of type typ.
func (r *Rules) Identity(typ, value string) string {
	f := IdentityField(typ)
	if f == "" {
		return value
	}
	return r.Value(f, value)
}

// Normalize is the form of a value that is hashed, so that the same
// person's value hashes the same in every source:
//   - mobile: its digits (full-width digits too), without a leading 86 or
//     0086 country code on a Chinese mobile (+86 138 0013 8000 →
//     13800138000); a value without digits is only trimmed;
//   - email: trimmed, lower-cased;
//   - id_card: without spaces, upper-cased (the check letter X);
//   - address, name: trimmed, runs of white space (also U+3000) as one
//     space;
//   - c_ keys and anything else: trimmed.
func Normalize(field, v string) string {
	switch field {
	case config.FieldMobile:
		d := digits(v)
		if d == "" {
			return strings.TrimSpace(v)
		}
		switch {
		case len(d) == 13 && strings.HasPrefix(d, "861"):
			d = d[2:]
		case len(d) == 15 && strings.HasPrefix(d, "00861"):
			d = d[4:]
		}
		return d
	case config.FieldEmail:
		return strings.ToLower(strings.TrimSpace(v))
	case config.FieldIDCard:
		return strings.ToUpper(strings.Join(strings.Fields(v), ""))
	case config.FieldAddress, config.FieldName:
		return strings.Join(strings.Fields(v), " ")
	}
	return strings.TrimSpace(v)
}

// digits returns the decimal digits of s, full-width ones as ASCII.
func digits(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= '0' && c <= '9':
			b.WriteRune(c)
		case c >= '０' && c <= '９':
			b.WriteRune('0' + c - '０')
		}
	}
	return b.String()
}

// Mask stars most of a value, per field:
//   - mobile: the first 3 and last 4 digits of the normalized number
//     (138****5678; country code dropped), when it has at least 7 digits;
//   - email: the first character of the local part, *** and the domain
//     (z***@example.com);
//   - id_card: the first 3 and the last 4 characters (310***********123X);
//   - address: the first 6 characters (at most half) and **** (上海市黄浦区****);
//   - name: the first character, a star for each other (王**; one
//     character: *);
//   - c_ keys, and values too short for their field's shape: the first
//     and last quarter of the characters kept, the rest starred (a value
//     under 4 characters is all stars).
//
// Empty stays empty.
func Mask(field, v string) string {
	s := strings.TrimSpace(v)
	if s == "" {
		return ""
	}
	switch field {
	case config.FieldMobile:
		if d := Normalize(field, s); len(d) >= 7 && digits(d) == d {
			return d[:3] + "****" + d[len(d)-4:]
		}
	case config.FieldEmail:
		if at := strings.LastIndexByte(s, '@'); at > 0 {
			first, _ := utf8.DecodeRuneInString(s)
			return string(first) + "***" + s[at:]
		}
	case config.FieldIDCard:
		n := []rune(Normalize(field, s))
		if len(n) >= 8 {
			return string(n[:3]) + strings.Repeat("*", len(n)-7) + string(n[len(n)-4:])
		}
	case config.FieldAddress:
		n := []rune(Normalize(field, s))
		if len(n) >= 2 {
			return string(n[:min(6, len(n)/2)]) + "****"
		}
	case config.FieldName:
		n := []rune(Normalize(field, s))
		if len(n) == 1 {
			return "*"
		}
		return string(n[:1]) + strings.Repeat("*", len(n)-1)
	}
	return maskGeneric(s)
}

func maskGeneric(s string) string {
	n := []rune(s)
	k := len(n) / 4
	if k == 0 {
		return strings.Repeat("*", len(n))
	}
	out := make([]rune, 0, len(n))
	out = append(out, n[:k]...)
	for range len(n) - 2*k {
		out = append(out, '*')
	}
	return string(append(out, n[len(n)-k:]...))
}
