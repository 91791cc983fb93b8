package webhooks

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// The DM Hub loyalty events (vendor-api.md §1.4; the vendor's webhook
// document §5.3), as sent in the payload's "event" field.
const (
	TypeLevelUp        = "loyalty/membership_level_up"
	TypeLevelDown      = "loyalty/membership_level_down"
	TypeDispatchCoupon = "loyalty/loyalty_dispatch_coupon"
	TypeDrawCoupon     = "loyalty/membership_draw_coupon"
	TypeRedeemCoupon   = "loyalty/membership_redeem_coupon"
)

// Kind is what an event makes the worker refresh.
type Kind int

// Event kinds.
const (
	KindUnknown Kind = iota // stored and counted, nothing refreshed
	KindLevel               // the member record (and its level)
	KindCoupon              // the member's coupons and the coupon definition
)

var kinds = map[string]Kind{
	TypeLevelUp: KindLevel, TypeLevelDown: KindLevel,
	TypeDispatchCoupon: KindCoupon, TypeDrawCoupon: KindCoupon, TypeRedeemCoupon: KindCoupon,
}

// KindOf returns the kind of an event type (canonical form, see Decode).
func KindOf(eventType string) Kind { return kinds[eventType] }

// Envelope is what the intake and the worker need of one pushed event.
type Envelope struct {
	// EventID identifies the event across redeliveries: the payload's own
	// "eventId" (or "messageId") when it has one, else "sha256:" and the
	// hex SHA-256 of the compacted payload, so the same payload sent again
	// is the same event.
	EventID string
	// Type is the event type: "loyalty/…" for the known DM Hub events
	// (also when sent without the prefix), else the value as sent (at
	// most 200 bytes; "" when absent).
	Type       string
	Kind       Kind
	MemberID   string // membershipId (a number or a string)
	CouponCode string
	CouponID   string
	TenantID   string
	Date       string // as sent: the vendor does not document its format
	// Compact is the payload as compact JSON: the form stored.
	Compact []byte
}

// Bounds of the values kept from a payload.
const (
	maxTypeLen = 200
	maxIDLen   = 200
)

// ErrNotObject is returned for a body that is not one JSON object.
var ErrNotObject = errors.New("the body is not a JSON object")

// Decode reads a pushed event. Every field is optional at this stage:
// an event the worker cannot act on is still stored (and counted), only a
// body that is not a JSON object, or whose known fields have the wrong
// JSON type, is refused. Ids and codes may be strings or numbers.
func Decode(body []byte) (Envelope, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return Envelope{}, ErrNotObject
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil {
		return Envelope{}, ErrNotObject
	}
	var e Envelope
	e.Compact = compact.Bytes()
	str := func(key string) (string, error) {
		raw, ok := m[key]
		if !ok {
			return "", nil
		}
		var s lenient.String
		if err := s.UnmarshalJSON(raw); err != nil {
			return "", fmt.Errorf("field %s: want a string or a number", key)
		}
		v := strings.TrimSpace(s.V)
		if len(v) > maxIDLen {
			return "", fmt.Errorf("field %s: longer than %d bytes", key, maxIDLen)
		}
		if !utf8.ValidString(v) {
			return "", fmt.Errorf("field %s: not valid UTF-8", key)
		}
		return v, nil
	}
	var err error
	var typ, id string
	for _, f := range []struct {
		key string
		dst *string
	}{{"event", &typ}, {"membershipId", &e.MemberID}, {"couponCode", &e.CouponCode}, {"couponId", &e.CouponID},
		{"tenantId", &e.TenantID}, {"date", &e.Date}, {"eventId", &id}} {
		if *f.dst, err = str(f.key); err != nil {
			return Envelope{}, err
		}
	}
	if id == "" {
		if id, err = str("messageId"); err != nil {
			return Envelope{}, err
		}
	}
	e.Type = canonicalType(typ)
	e.Kind = kinds[e.Type]
	if id != "" {
		e.EventID = "id:" + id
	} else {
		sum := sha256.Sum256(e.Compact)
		e.EventID = "sha256:" + hex.EncodeToString(sum[:])
	}
	return e, nil
}

// canonicalType maps "membership_level_up" and "loyalty/membership_level_up"
// to the latter; an unknown type is kept as sent, clipped.
func canonicalType(t string) string {
	if _, ok := kinds[t]; ok {
		return t
	}
	if _, ok := kinds["loyalty/"+t]; ok {
		return "loyalty/" + t
	}
	if len(t) > maxTypeLen {
		t = t[:maxTypeLen]
		for !utf8.ValidString(t) {
			t = t[:len(t)-1]
		}
	}
	return t
}
