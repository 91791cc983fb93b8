package outbound

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
)

// prepareOnly is a DM Hub writer for intake tests: Prepare only.
type prepareOnly struct{}

func (prepareOnly) Prepare(kind string, body json.RawMessage, key string) (connectors.Prepared, error) {
	return dmhub.PrepareWrite(kind, body, key)
}

func (prepareOnly) Deliver(context.Context, connectors.Write) (connectors.Delivery, error) {
	panic("intake tests deliver nothing")
}

func intakeOnly() *Outbound {
	return &Outbound{Writers: func(source string) (connectors.Writer, error) {
		if source != "acme" {
			return nil, errors.New("unknown source " + source)
		}
		return prepareOnly{}, nil
	}}
}

// intakeSeeds are lines of every kind, valid and hostile.
var intakeSeeds = []string{
	`{"salesChannel":"web","store":"s1","orderNo":"P-1","dateOrder":"2024-03-15T12:00:00","membershipId":7,"amountDiscount":0,"amountPaid":5,"dealLines":[{"lineId":"a","productName":"x","qty":1}]}`,
	`{"salesChannel":"web","store":"s1","orderNo":"P-1","dateOrder":"2024-03-15T20:00:00+08:00","membershipId":"7","amountDiscount":0,"amountPaid":5,"dealLine":[{"lineId":"a","productName":"x","qty":1}],"idempotencyKey":"k-1"}`,
	`{"orderNo":"P-1","membershipId":7,"amountPaid":4}`,
	`{"orderNo":"P-1","membershipId":7,"refundLines":[{"lineId":"a","qty":1}],"dateRefund":"2024-03-16T10:00:00"}`,
	`{"provider":"jpush","appKey":"k","pushId":"p-1","membershipId":7,"platform":"ios"}`,
	`{"membershipId":7,"direction":"incr","point":10,"description":"bonus","externalId":"E-1"}`,
	`{"membershipId":7,"direction":"decr","point":"10","idempotencyKey":"pts-1"}`,
	`{"orderNo":"A","orderNo":"B"}`, "{\"store\":\"s\xff\"}", `{"a":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`,
	`{"idempotencyKey":5}`, `[1]`, `null`, `{"orderNo":"\u0000\ud800"}`, ``, `{`,
}

// FuzzIntakeLine: any line of any kind is either accepted, with a body
// that is valid UTF-8 JSON within the intake's bounds, without the
// idempotencyKey field, a non-empty key and the id of that key, and that
// Prepare leaves as it is (a replay or resumed write sends what was
// validated), or rejected with a short error; never a panic.
func FuzzIntakeLine(f *testing.F) {
	for i, s := range intakeSeeds {
		f.Add(uint8(i), []byte(s))
	}
	o := intakeOnly()
	f.Fuzz(func(t *testing.T, k uint8, line []byte) {
		kind := dmhub.WriteKinds[int(k)%len(dmhub.WriteKinds)]
		res, todo, err := o.validate("acme", kind, []Line{{N: 7, Body: line}})
		if err != nil || len(res) != 1 || res[0].Line != 7 {
			t.Fatalf("validate(%s, %q) = %+v, %v", kind, line, res, err)
		}
		r := res[0]
		if r.ID == "" {
			if r.Error == "" || len(r.Error) > 300 || len(todo) != 0 || !utf8.ValidString(r.Error+r.Field) {
				t.Fatalf("rejected %q without a short clear error: %+v", line, r)
			}
			return
		}
		if len(todo) != 1 || r.Error != "" {
			t.Fatalf("accepted %q: %+v, %d writes", line, r, len(todo))
		}
		p := todo[0].p
		if p.Key == "" || WriteID("acme", p.Key) != r.ID || p.WriteID != r.ID {
			t.Fatalf("accepted %q with key %q, id %s", line, p.Key, r.ID)
		}
		if !json.Valid(p.Body) || !utf8.Valid(p.Body) || CheckLine(p.Body) != nil {
			t.Fatalf("accepted %q as a body that is not valid JSON within bounds: %q (%v)", line, p.Body, CheckLine(p.Body))
		}
		var m map[string]json.RawMessage
		if json.Unmarshal(p.Body, &m) != nil {
			t.Fatalf("body %q is not an object", p.Body)
		}
		if _, ok := m[IdempotencyKeyField]; ok {
			t.Fatalf("body %q keeps %s", p.Body, IdempotencyKeyField)
		}
		again, err := dmhub.PrepareWrite(kind, p.Body, p.Key)
		if err != nil || again.Key != p.Key || !bytes.Equal(again.Body, p.Body) {
			t.Fatalf("Prepare is not stable on its own output %q: %q %q %v", p.Body, again.Body, again.Key, err)
		}
	})
}

// FuzzHTTPIntake drives POST /v1/outbound/{source}/{kind} with any body
// (the store replaced by validation only): the answer is 202/400 with one
// result per line in line order, or 404/413 with an error, always JSON;
// never a panic.
func FuzzHTTPIntake(f *testing.F) {
	for i, s := range intakeSeeds {
		f.Add(uint8(i), []byte(s))
		f.Add(uint8(i), []byte(s+"\n"+intakeSeeds[(i+1)%len(intakeSeeds)]+"\n\n"+s))
	}
	f.Add(uint8(0), []byte(strings.Repeat("{}\n", 40)))
	o := intakeOnly()
	h := &HTTP{O: o, MaxBody: 64 << 10, accept: func(_ context.Context, source, kind string, lines []Line) ([]Result, error) {
		res, _, err := o.validate(source, kind, lines)
		return res, err
	}}
	mux := http.NewServeMux()
	h.Routes(mux)
	kinds := append([]string{"nope"}, dmhub.WriteKinds...)
	f.Fuzz(func(t *testing.T, k uint8, body []byte) {
		kind := kinds[int(k)%len(kinds)]
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/v1/outbound/acme/"+kind, bytes.NewReader(body)))
		out := rec.Body.Bytes()
		if !json.Valid(out) {
			t.Fatalf("%d answer is not JSON: %q", rec.Code, out)
		}
		switch rec.Code {
		case http.StatusAccepted, http.StatusBadRequest:
			var pr PostResponse
			if err := json.Unmarshal(out, &pr); err != nil {
				t.Fatal(err)
			}
			lines := SplitLines(body)
			if len(lines) == 0 {
				if rec.Code != http.StatusBadRequest || len(pr.Results) != 0 {
					t.Fatalf("empty body: %d %s", rec.Code, out)
				}
				return
			}
			if len(pr.Results) != len(lines) || pr.Accepted+pr.Rejected != len(lines) ||
				(rec.Code == http.StatusBadRequest) != (pr.Accepted == 0) {
				t.Fatalf("%d lines: %d %s", len(lines), rec.Code, out)
			}
			for i, r := range pr.Results {
				if r.Line != lines[i].N || (r.ID == "") == (r.Error == "") {
					t.Fatalf("result %d: %+v (line %d)", i, r, lines[i].N)
				}
			}
		case http.StatusNotFound:
			if kind != "nope" {
				t.Fatalf("404 for kind %s: %s", kind, out)
			}
		case http.StatusRequestEntityTooLarge:
			if len(body) <= 64<<10 && len(SplitLines(body)) <= MaxLinesPerRequest {
				t.Fatalf("413 for %d bytes: %s", len(body), out)
			}
		default:
			t.Fatalf("status %d: %s", rec.Code, out)
		}
	})
}

// FuzzCheckLine: CheckLine never panics, and accepts no line that is
// longer, deeper or less valid than its bounds say.
func FuzzCheckLine(f *testing.F) {
	for _, s := range intakeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		err := CheckLine(line)
		if err == nil && !utf8.Valid(line) {
			t.Fatalf("accepted invalid UTF-8 %q", line)
		}
		if err == nil && json.Valid(line) {
			// no container deeper than MaxDepth (stdlib decoder's view)
			depth, deepest := 0, 0
			dec := json.NewDecoder(bytes.NewReader(line))
			for {
				tok, err := dec.Token()
				if err != nil {
					break
				}
				switch tok {
				case json.Delim('{'), json.Delim('['):
					depth++
					deepest = max(deepest, depth)
				case json.Delim('}'), json.Delim(']'):
					depth--
				}
			}
			if deepest > MaxDepth {
				t.Fatalf("accepted depth %d: %q", deepest, line)
			}
		}
		var fe *connectors.FieldError
		if err != nil && !errors.As(err, &fe) {
			t.Fatalf("%T %v, want a *connectors.FieldError", err, err)
		}
	})
}
