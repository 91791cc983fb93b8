package outbound

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
)

// HTTP serves the outbound API (mount it on serve's router, behind the
// bearer-token check):
//
//	POST /v1/outbound/{source}/{kind}  one JSON object, or JSON Lines
//	                                   → 202 {"accepted","rejected","results":[…]}
//	                                   (400 when every line was rejected)
//	GET  /v1/outbound/{id}             → 200 the write's state, 404 unknown
//
// Bodies are never logged. MaxBody bounds a request body (413 above it).
type HTTP struct {
	O       *Outbound
	MaxBody int64

	// accept replaces O.Accept in tests (nil: O.Accept).
	accept func(ctx context.Context, source, kind string, lines []Line) ([]Result, error)
}

// Routes registers the API on mux.
func (h *HTTP) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/outbound/{source}/{kind}", h.post)
	mux.HandleFunc("GET /v1/outbound/{id}", h.get)
}

// PostResponse is the answer to an intake request.
type PostResponse struct {
	Accepted int      `json:"accepted"`
	Rejected int      `json:"rejected"`
	Results  []Result `json:"results"`
}

// WriteView is the answer to GET /v1/outbound/{id}.
type WriteView struct {
	ID             string          `json:"id"`
	Source         string          `json:"source"`
	Kind           string          `json:"kind"`
	IdempotencyKey string          `json:"idempotency_key"`
	OrderNo        string          `json:"order_no,omitempty"`
	State          string          `json:"state"`
	Attempts       uint32          `json:"attempts"`
	LastError      string          `json:"last_error,omitempty"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	UpdatedAt      time.Time       `json:"updated_at"`
	Request        json.RawMessage `json:"request,omitempty"`
	Response       json.RawMessage `json:"response,omitempty"`
}

// View turns a write's latest event into its API view.
func View(e Event) WriteView {
	v := WriteView{ID: e.WriteID, Source: e.Source, Kind: e.Kind, IdempotencyKey: e.Key, OrderNo: e.OrderNo, State: e.State,
		Attempts: e.Attempts, LastError: e.LastError, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	if e.State == StateFailed {
		t := e.NextAt
		v.NextAttemptAt = &t
	}
	if json.Valid([]byte(e.Request)) {
		v.Request = json.RawMessage(e.Request)
	}
	if e.Response != "" && json.Valid([]byte(e.Response)) {
		v.Response = json.RawMessage(e.Response)
	}
	return v
}

func (h *HTTP) post(w http.ResponseWriter, r *http.Request) {
	limit := h.MaxBody
	if limit <= 0 {
		limit = 8 << 20
	}
	body, err := readAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			ops.WriteError(w, http.StatusRequestEntityTooLarge, "body larger than the limit (serve.max_body_bytes)")
			return
		}
		ops.WriteError(w, http.StatusBadRequest, "could not read the body")
		return
	}
	lines := SplitLines(body)
	if len(lines) == 0 {
		ops.WriteError(w, http.StatusBadRequest, "empty body: send one JSON object or JSON Lines")
		return
	}
	if len(lines) > MaxLinesPerRequest {
		ops.WriteError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("%d lines: at most %d per request, split it", len(lines), MaxLinesPerRequest))
		return
	}
	accept := h.O.Accept
	if h.accept != nil {
		accept = h.accept
	}
	res, err := accept(r.Context(), r.PathValue("source"), r.PathValue("kind"), lines)
	var re *RequestError
	switch {
	case errors.As(err, &re):
		ops.WriteError(w, http.StatusNotFound, re.Msg)
		return
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ops.WriteError(w, http.StatusServiceUnavailable, "timed out storing the writes; nothing was acknowledged, send again")
		return
	case err != nil:
		h.O.log().Error("outbound intake: store", "err", err)
		ops.WriteError(w, http.StatusServiceUnavailable, "could not store the writes; nothing was acknowledged, send again")
		return
	}
	out := PostResponse{Results: res}
	for _, x := range res {
		if x.ID != "" {
			out.Accepted++
		} else {
			out.Rejected++
		}
	}
	status := http.StatusAccepted
	if out.Accepted == 0 {
		status = http.StatusBadRequest
	}
	ops.WriteJSON(w, status, out)
}

func (h *HTTP) get(w http.ResponseWriter, r *http.Request) {
	e, ok, err := h.O.Store.Find(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		h.O.log().Error("outbound: read", "err", err)
		ops.WriteError(w, http.StatusServiceUnavailable, "could not read the write")
	case !ok:
		ops.WriteError(w, http.StatusNotFound, "no outbound write with this id")
	default:
		ops.WriteJSON(w, http.StatusOK, View(e))
	}
}

func readAll(r interface{ Read([]byte) (int, error) }) ([]byte, error) {
	var b bytes.Buffer
	_, err := b.ReadFrom(r)
	return b.Bytes(), err
}

// SplitLines cuts an intake body into lines: one JSON value (even
// pretty-printed over several lines) is one line; otherwise every
// non-blank line is one, numbered from 1.
func SplitLines(body []byte) []Line {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil
	}
	if json.Valid(trimmed) {
		return []Line{{N: 1, Body: trimmed}}
	}
	var out []Line
	for i, l := range bytes.Split(body, []byte("\n")) {
		l = bytes.TrimSpace(l)
		if len(l) == 0 {
			continue
		}
		out = append(out, Line{N: i + 1, Body: l})
	}
	return out
}
