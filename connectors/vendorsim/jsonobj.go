package vendorsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"
)

// jsonObj is a JSON object whose keys are emitted in the given order, so
// simulated payloads look like the vendors' examples and may carry dynamic
// keys (custom attributes) next to fixed ones.
type jsonObj []jsonField

type jsonField struct {
	k string
	v any
}

// MarshalJSON implements json.Marshaler.
func (o jsonObj) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, err := json.Marshal(f.k)
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		v, err := marshalNoHTMLEscape(f.v)
		if err != nil {
			return nil, fmt.Errorf("key %q: %w", f.k, err)
		}
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// marshalNoHTMLEscape is json.Marshal without HTML escaping and without the
// trailing newline json.Encoder adds.
func marshalNoHTMLEscape(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// writeJSON writes v as a JSON body with the given HTTP status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalNoHTMLEscape(v)
	if err != nil {
		http.Error(w, "vendorsim: encode response: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// nullStr returns nil (JSON null) for "" and s otherwise.
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// money renders a 2-decimal amount as a raw JSON number ("128.50").
func money(v float64) json.Number {
	return json.Number(strconv.FormatFloat(v, 'f', 2, 64))
}

// round2 rounds to 2 decimals.
func round2(v float64) float64 { return math.Round(v*100) / 100 }

const (
	layoutUTCZ   = "2006-01-02T15:04:05Z"
	layoutUTCNoZ = "2006-01-02T15:04:05"
	layoutDate   = "2006-01-02"
	layoutCNTime = "2006-01-02 15:04:05"
)

// dmTime renders an instant the DM Hub way: UTC, second precision, trailing
// "Z" unless noZ (a few records in the wild lack it).
func dmTime(t time.Time, noZ bool) string {
	if noZ {
		return t.UTC().Format(layoutUTCNoZ)
	}
	return t.UTC().Format(layoutUTCZ)
}

// dmTimePtr is dmTime for an optional instant (nil → JSON null).
func dmTimePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return dmTime(*t, false)
}

// parseDMTime parses a DM Hub request date-time: "2016-11-11T11:11:11" (UTC,
// as documented) or RFC 3339.
func parseDMTime(s string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), true
	}
	if t, err := time.ParseInLocation(layoutUTCNoZ, s, time.UTC); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// chinaZone is UTC+8 without tzdata (Asia/Shanghai has had no DST since 1991).
func chinaZone() *time.Location { return time.FixedZone("CST", 8*3600) }
