package webhooks

import (
	"bytes"
	"context"
	"errors"
	"net/http"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
)

// HTTP serves the webhook intake (mount it on serve's router outside the
// bearer token: each call is authenticated by its signature):
//
//	POST /v1/webhooks/{source}  one DM Hub event (JSON object)
//	  200 {"event_id","event_type"[,"duplicate":true]}  stored (durable)
//	  401 missing or wrong signature (the source has a webhook_secret)
//	  400 not a JSON object; 404 unknown source (or not dmhub);
//	  413 body above the bound; 503 could not store (nothing acknowledged)
//
// Bodies, headers and signatures are never logged.
type HTTP struct {
	W *Webhooks
	// MaxBody caps every source's own bound (sources[].webhook.max_body_bytes),
	// e.g. with serve.max_body_bytes; 0 = no cap beyond the source's.
	MaxBody int64
}

// Routes registers the intake on mux.
func (h *HTTP) Routes(mux *http.ServeMux) {
	mux.HandleFunc("POST /v1/webhooks/{source}", h.post)
}

func (h *HTTP) post(w http.ResponseWriter, r *http.Request) {
	source := r.PathValue("source")
	src, err := h.W.Source(source)
	if err != nil {
		ops.WriteError(w, http.StatusNotFound, "no dmhub source "+clipName(source)+" takes webhooks")
		return
	}
	limit := src.WebhookMaxBody()
	if h.MaxBody > 0 {
		limit = min(limit, h.MaxBody)
	}
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			h.W.Reject(r.Context(), source, "too_large")
			ops.WriteError(w, http.StatusRequestEntityTooLarge, "body larger than the limit (sources[].webhook.max_body_bytes)")
			return
		}
		ops.WriteError(w, http.StatusBadRequest, "could not read the body")
		return
	}
	res, err := h.W.Receive(r.Context(), source, buf.Bytes(), r.Header.Get(VerifierOf(src).HeaderName()))
	var se *SignatureError
	switch {
	case errors.As(err, &se):
		w.Header().Set("WWW-Authenticate", `HMAC-SHA256 header="`+VerifierOf(src).HeaderName()+`"`)
		ops.WriteError(w, http.StatusUnauthorized, se.Error())
	case errors.Is(err, ErrUnknownSource):
		ops.WriteError(w, http.StatusNotFound, "no dmhub source "+clipName(source)+" takes webhooks")
	case errors.Is(err, ErrMalformed):
		ops.WriteError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		ops.WriteError(w, http.StatusServiceUnavailable, "timed out storing the event; nothing was acknowledged, send again")
	case err != nil:
		h.W.log().Error("webhooks: store", "source", source, "err", err)
		ops.WriteError(w, http.StatusServiceUnavailable, "could not store the event; nothing was acknowledged, send again")
	default:
		ops.WriteJSON(w, http.StatusOK, res)
	}
}

// clipName quotes a path value for an error message, bounded.
func clipName(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	b, _ := json.Marshal(s)
	return string(b)
}
