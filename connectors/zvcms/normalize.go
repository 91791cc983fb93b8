package zvcms

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// CouponStatus maps a coupon `useStatus` onto the normalized statuses:
// 0 未使用/已冲正 unused, 1 已核销 used, 2 已冻结 frozen, 6 已失效 invalid,
// 7 已删除/已回收 deleted [S003], 4 转赠中 gifting and 5 转赠超时 unused
// [Z-all3]. Anything else is unknown; the caller keeps the vendor's value
// as vendor_status.
//
// 5 (gift timed out) is unused: the recipient did not accept the gift in
// time, so the transfer lapsed and the coupon stays with — and usable by —
// the customer whose list it appears in (4 is the pending transfer,
// during which it is locked). vendor_status "5" keeps the distinction.
func CouponStatus(vendor string) warehouse.CouponStatus {
	switch normCode(vendor) {
	case "0":
		return warehouse.CouponUnused
	case "1":
		return warehouse.CouponUsed
	case "2":
		return warehouse.CouponFrozen
	case "4":
		return warehouse.CouponGifting
	case "5":
		return warehouse.CouponUnused
	case "6":
		return warehouse.CouponInvalid
	case "7":
		return warehouse.CouponDeleted
	}
	return warehouse.CouponUnknown
}

// normCode reads an integer code sent as 0, "0" or "0.0"; other text is
// returned trimmed.
func normCode(s string) string {
	s = strings.TrimSpace(s)
	if n, err := lenient.ParseInt(s); err == nil {
		return strconv.FormatInt(n, 10)
	}
	return s
}

// isDateOnly reports whether s is a calendar date without a clock.
func isDateOnly(s string) bool {
	s = strings.TrimSpace(s)
	return s != "" && !strings.ContainsAny(s, " T") && lenient.Date(s) != ""
}

// startOf reads a validity start: a date-time is China local time; a
// date-only value is 00:00:00 of that China day. Both come back as UTC,
// with the date text for date-only values ("" otherwise).
func startOf(s string) (string, *time.Time) {
	if isDateOnly(s) {
		d := lenient.Date(s)
		return d, lenient.TimePtr(d, lenient.Shanghai)
	}
	return "", lenient.TimePtr(strings.TrimSpace(s), lenient.Shanghai)
}

// endOf reads a validity end: a date-only value is the last second,
// 23:59:59, of that China day (zvcms writes its own ends that way,
// "2019-11-03 23:59:59" [S003]).
func endOf(s string) (string, *time.Time) {
	if isDateOnly(s) {
		d := lenient.Date(s)
		return d, lenient.TimePtr(d+" 23:59:59", lenient.Shanghai)
	}
	return "", lenient.TimePtr(strings.TrimSpace(s), lenient.Shanghai)
}

// instant reads a timestamp that is either epoch seconds (≤ 11 digits),
// epoch milliseconds (more digits), or a China-local date-time; nil when
// absent or unreadable.
func instant(s string) *time.Time {
	s = strings.TrimSpace(s)
	if s == "" || s == "0" {
		return nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		var t time.Time
		if len(strings.TrimPrefix(s, "-")) > 11 {
			t = time.UnixMilli(n).UTC()
		} else {
			t = time.Unix(n, 0).UTC()
		}
		if t.Before(lenient.MinTime) || t.After(lenient.MaxTime) {
			return nil
		}
		return &t
	}
	return lenient.TimePtr(s, lenient.Shanghai)
}

func first(vals ...string) string {
	for _, v := range vals {
		if v = strings.TrimSpace(v); v != "" {
			return v
		}
	}
	return ""
}

// compact returns raw as compact JSON text.
func compact(raw []byte) (string, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", err
	}
	return b.String(), nil
}

// hashID is a stable id for a record without one: "h1:" and the first
// 32 hex digits (128 bits) of SHA-256 over the identifying fields joined
// by the unit separator 0x1F.
func hashID(fields ...string) string {
	h := sha256.Sum256([]byte(strings.Join(fields, "\x1f")))
	return "h1:" + hex.EncodeToString(h[:16])
}

// occurrences numbers repeated ids within one response: the second
// identical record gets "#1", the third "#2".
type occurrences map[string]int

func (o occurrences) id(base string) string {
	n := o[base]
	o[base] = n + 1
	if n == 0 {
		return base
	}
	return base + "#" + strconv.Itoa(n)
}
