package webhooks

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		body string
		want Envelope // EventID checked separately; Compact ignored
		err  string   // substring; "" = ok
	}{
		{name: "draw, membershipId as string (the document's form)",
			body: `{"tenantId":1001,"event":"loyalty/membership_draw_coupon","membershipId":"12","date":"2024-03-01T10:00:00Z","couponId":"c7","couponName":"满100减10","couponCode":"34636772868722689","startDate":"2024-03-01","endDate":"2024-04-01"}`,
			want: Envelope{Type: TypeDrawCoupon, Kind: KindCoupon, MemberID: "12", CouponCode: "34636772868722689", CouponID: "c7",
				TenantID: "1001", Date: "2024-03-01T10:00:00Z"}},
		{name: "level up, membershipId as a number above 2^53",
			body: `{"event":"loyalty/membership_level_up","membershipId":9007199254740993,"oldLevelId":422,"newLevelId":423}`,
			want: Envelope{Type: TypeLevelUp, Kind: KindLevel, MemberID: "9007199254740993"}},
		{name: "type without the loyalty/ prefix",
			body: `{"event":"membership_redeem_coupon","membershipId":"5","couponCode":"9"}`,
			want: Envelope{Type: TypeRedeemCoupon, Kind: KindCoupon, MemberID: "5", CouponCode: "9"}},
		{name: "dispatch", body: `{"event":"loyalty/loyalty_dispatch_coupon","membershipId":"5","couponCode":"9","batchId":"b1"}`,
			want: Envelope{Type: TypeDispatchCoupon, Kind: KindCoupon, MemberID: "5", CouponCode: "9"}},
		{name: "level down", body: `{"event":"loyalty/membership_level_down","membershipId":"5"}`,
			want: Envelope{Type: TypeLevelDown, Kind: KindLevel, MemberID: "5"}},
		{name: "unknown type kept", body: `{"event":"loyalty/points_changed","membershipId":"5"}`,
			want: Envelope{Type: "loyalty/points_changed", Kind: KindUnknown, MemberID: "5"}},
		{name: "no type", body: `{"membershipId":"5"}`, want: Envelope{Kind: KindUnknown, MemberID: "5"}},
		{name: "null member", body: `{"event":"loyalty/membership_level_up","membershipId":null}`,
			want: Envelope{Type: TypeLevelUp, Kind: KindLevel}},
		{name: "blank padded id", body: `{"event":"loyalty/membership_level_up","membershipId":" 7 "}`,
			want: Envelope{Type: TypeLevelUp, Kind: KindLevel, MemberID: "7"}},
		{name: "array", body: `[{"event":"loyalty/membership_level_up"}]`, err: "not a JSON object"},
		{name: "null", body: `null`, err: "not a JSON object"},
		{name: "truncated", body: `{"event":"loyalty/membership_level_up"`, err: "not a JSON object"},
		{name: "member as object", body: `{"event":"loyalty/membership_level_up","membershipId":{"id":1}}`, err: "field membershipId"},
		{name: "event as array", body: `{"event":["x"]}`, err: "field event"},
		{name: "huge id", body: `{"membershipId":"` + strings.Repeat("9", 300) + `"}`, err: "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode([]byte(tt.body))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Decode error = %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !strings.HasPrefix(got.EventID, "sha256:") || len(got.EventID) != len("sha256:")+64 {
				t.Errorf("EventID = %q, want sha256:<64 hex>", got.EventID)
			}
			got.EventID, got.Compact = "", nil
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Decode = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeEventID(t *testing.T) {
	t.Parallel()
	a, err := Decode([]byte(`{"event":"loyalty/membership_level_up","membershipId":"5","date":"2024-01-01 10:00:00"}`))
	if err != nil {
		t.Fatal(err)
	}
	// the same payload, formatted differently: the same event
	b, err := Decode([]byte("{\n  \"event\": \"loyalty/membership_level_up\",\n  \"membershipId\": \"5\",\n  \"date\": \"2024-01-01 10:00:00\"\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if a.EventID != b.EventID {
		t.Errorf("reformatted payload: %s != %s", a.EventID, b.EventID)
	}
	// another date: another event
	c, _ := Decode([]byte(`{"event":"loyalty/membership_level_up","membershipId":"5","date":"2024-01-01 10:00:01"}`))
	if c.EventID == a.EventID {
		t.Errorf("different payloads share the id %s", a.EventID)
	}
	// an explicit id wins over the payload
	d, _ := Decode([]byte(`{"eventId":"e-1","event":"loyalty/membership_level_up","membershipId":"5"}`))
	e, _ := Decode([]byte(`{"eventId":"e-1","event":"loyalty/membership_level_up","membershipId":"6"}`))
	if d.EventID != "id:e-1" || e.EventID != d.EventID {
		t.Errorf("eventId: %q, %q, want id:e-1", d.EventID, e.EventID)
	}
	f, _ := Decode([]byte(`{"messageId":42,"event":"x"}`))
	if f.EventID != "id:42" {
		t.Errorf("messageId: %q", f.EventID)
	}
}

// FuzzDecode checks the event envelope decoder on arbitrary bodies: no
// panic; an accepted body has an id, a compact valid JSON form that
// decodes to the same event, bounded valid UTF-8 fields and a kind that
// matches its type.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{
		`{"tenantId":1001,"event":"loyalty/membership_draw_coupon","membershipId":"12","couponCode":"1","couponId":"c"}`,
		`{"event":"membership_level_up","membershipId":12}`,
		`{"eventId":"x","event":"loyalty/points"}`,
		`{"event":"\u00ff\ud800"}`,
		`{"membershipId":1e400}`,
		`[]`, `null`, `{}`, `{"a":`, "{\"event\":\"a\xffb\"}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Decode(body)
		if err != nil {
			return
		}
		if e.EventID == "" {
			t.Fatal("accepted without an event id")
		}
		if !json.Valid(e.Compact) {
			t.Fatalf("Compact is not valid JSON: %q", e.Compact)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, e.Compact); err != nil || !bytes.Equal(buf.Bytes(), e.Compact) {
			t.Fatalf("Compact is not compact: %q", e.Compact)
		}
		again, err := Decode(e.Compact)
		if err != nil {
			t.Fatalf("the stored form does not decode: %v", err)
		}
		if again.EventID != e.EventID || again.Type != e.Type || again.MemberID != e.MemberID || again.CouponCode != e.CouponCode {
			t.Fatalf("stored form decodes to another event: %+v vs %+v", again, e)
		}
		for name, v := range map[string]string{"type": e.Type, "member": e.MemberID, "code": e.CouponCode, "coupon": e.CouponID} {
			if len(v) > 200 || !utf8.ValidString(v) {
				t.Fatalf("%s %q: too long or not UTF-8", name, v)
			}
		}
		if KindOf(e.Type) != e.Kind {
			t.Fatalf("kind %v does not match type %q", e.Kind, e.Type)
		}
	})
}
