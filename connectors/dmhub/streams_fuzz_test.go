package dmhub

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// seedCorpus adds the rows of testdata files and extra inputs.
func seedCorpus(f *testing.F, files []string, extra ...string) {
	for _, name := range files {
		for _, r := range fixtureRows(f, name) {
			f.Add(r)
		}
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// validRaw: raw is the compact JSON object sent.
func validRaw(t *testing.T, in []byte, raw string) {
	t.Helper()
	if !json.Valid([]byte(raw)) || strings.ContainsAny(raw, "\n\r\t") || !strings.HasPrefix(raw, "{") {
		t.Fatalf("raw %q of %q is not a compact JSON object", raw, in)
	}
}

// inRange: stored instants fit a ClickHouse DateTime.
func inRange(t *testing.T, ts ...*time.Time) {
	t.Helper()
	for _, p := range ts {
		if p != nil && (p.Before(lenient.MinTime) || p.After(lenient.MaxTime) || p.Location() != time.UTC) {
			t.Fatalf("time %v out of range or not UTC", p)
		}
	}
}

// FuzzDecodePointRecord: any bytes give an error or an entry with an id,
// a member, compact raw and a delta whose sign matches its pattern.
func FuzzDecodePointRecord(f *testing.F) {
	seedCorpus(f, []string{"points_page_1.json"},
		`{"id":1,"point":10,"oldPoint":100,"newPoint":90,"pattern":"2"}`, `{"id":2,"point":-7,"pattern":6,"type":"x"}`,
		`{"id":"3","point":"8","type":"1","pattern":6.0,"date":"2018-07-11T09:55:35","membershipId":"null"}`,
		`{"id":4,"point":-9223372036854775808}`, `{"id":5,"oldPoint":-9223372036854775808,"newPoint":1}`,
		`{"id":6,"oldPoint":1e3,"newPoint":"2e2","type":-1}`, `{"id":null}`, `[]`, `{`, `null`)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, created, err := decodePointRecord("s", "m", b)
		if err != nil {
			return
		}
		if e.EntryID == "" || e.MemberID == "" || e.Source != "s" {
			t.Fatalf("decodePointRecord(%q) = %+v", b, e)
		}
		validRaw(t, b, e.Raw)
		inRange(t, e.OccurredAt, created)
		// pattern is the vendor's number; its label follows the sign of delta
		switch {
		case strings.Contains(e.Pattern, ":"),
			e.Delta < 0 && e.PatternName != "" && e.PatternName != patternNames["decr"][e.Pattern],
			e.Delta > 0 && e.PatternName != "" && e.PatternName != patternNames["incr"][e.Pattern]:
			t.Fatalf("delta %d against pattern %q (%s)", e.Delta, e.Pattern, e.PatternName)
		}
	})
}

// FuzzDecodeExpRecord: any bytes give an error or an entry with an id, a
// member and compact raw.
func FuzzDecodeExpRecord(f *testing.F) {
	seedCorpus(f, []string{"experience_page_1.json"},
		`{"id":1,"expValue":5,"oldExp":20,"newExp":15}`, `{"id":2,"expValue":"-3","dateObtain":"2018-01-22T10:09:17"}`,
		`{"id":3,"oldExp":-9223372036854775808,"newExp":1}`, `{"id":"null"}`, `[]`, `{`)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, created, err := decodeExpRecord("s", "m", b)
		if err != nil {
			return
		}
		if e.EntryID == "" || e.MemberID == "" || e.Source != "s" {
			t.Fatalf("decodeExpRecord(%q) = %+v", b, e)
		}
		validRaw(t, b, e.Raw)
		inRange(t, e.OccurredAt, created)
	})
}

// FuzzDecodeMemberCoupon: any bytes give an error or a coupon with a
// code, a known status, a trimmed uuid, dates as YYYY-MM-DD and compact
// raw.
func FuzzDecodeMemberCoupon(f *testing.F) {
	seedCorpus(f, []string{"member_coupons_page_1.json", "coupon_draw.json", "member_coupons_redeem.json"},
		`{"couponCode":"9","status":"expired","uuid":" abc\\r\\n"}`, `{"couponCode":9,"status":1,"startDate":"1960-01-01"}`,
		`{"couponCode":"9","startDate":"2017-12-10T00:00:00Z","endDate":"2017-12-15 12:00:00"}`,
		`{"couponCode":"9","endDate":"9999-12-31","dateDraw":"0001-01-01T00:00:00Z"}`, `{"couponCode":"null"}`, `{}`)
	statuses := map[string]bool{"not_started": true, "unused": true, "used": true, "unknown": true}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMemberCoupon("s", "m", b)
		if err != nil {
			return
		}
		if m.CouponCode == "" || m.MemberID == "" || m.Source != "s" || !statuses[string(m.Status)] {
			t.Fatalf("decodeMemberCoupon(%q) = %+v", b, m)
		}
		if m.UUID != strings.TrimSpace(m.UUID) || strings.HasSuffix(m.UUID, `\n`) || strings.HasSuffix(m.UUID, `\r`) {
			t.Fatalf("uuid %q not trimmed", m.UUID)
		}
		for _, d := range []string{m.StartDate, m.EndDate} {
			if _, err := time.Parse("2006-01-02", d); d != "" && err != nil {
				t.Fatalf("date %q is not YYYY-MM-DD", d)
			}
		}
		validRaw(t, b, m.Raw)
		inRange(t, m.StartsAt, m.EndsAt, m.DrawnAt, m.RedeemedAt)
	})
}

// FuzzDecodeCoupon: any bytes give an error or a coupon with an id and
// compact raw.
func FuzzDecodeCoupon(f *testing.F) {
	seedCorpus(f, []string{"coupons_page_1.json"},
		`{"couponId":"A1","validType":1,"validDate":{"startDate":"2017-12-10","endDate":"2017-12-15"}}`,
		`{"couponId":"A3","validDate":"null","rule":"null"}`, `{"couponId":7,"validDate":{"startDate":{}}}`, `{"couponId":" "}`)
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := decodeCoupon("s", b)
		if err != nil {
			return
		}
		if c.CouponID == "" || c.Source != "s" {
			t.Fatalf("decodeCoupon(%q) = %+v", b, c)
		}
		validRaw(t, b, c.Raw)
	})
}
