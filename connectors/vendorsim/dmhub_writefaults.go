package vendorsim

import (
	"math/rand/v2"
	"net/http"
	"time"
)

// DMHubWriteFaults injects the failures an outbound writer must survive
// into the DM Hub write endpoints (deal create/update/cancel/delete,
// refund, deleteRefund, appPush/register, point incr/decr). Rates are in
// [0,1] and independent of the read fault mix (DMHubOptions.ErrorRate);
// the sequence is deterministic for DMHubOptions.Seed.
//
// A fault "after applying" runs the write first (the ledger, Writes and
// the points log change) and then loses the answer: HTTP 502 with an HTML
// page, the vendor's answer cut in half, or (HangFor > 0) a stall followed
// by a reset connection. A fault "before applying" answers 500/502/503 or
// stalls and resets without touching anything. A write the vendor rejects
// (validation, duplicate, unknown order) is answered as usual: only
// applied writes lose their answer.
type DMHubWriteFaults struct {
	// AppliedThenFailRate is the fraction of writes applied and then
	// answered with a failure.
	AppliedThenFailRate float64
	// FailBeforeRate is the fraction of writes failed before applying.
	FailBeforeRate float64
	// HangFor is how long a stalled write hangs before its connection is
	// reset; 0 disables stalls (the other fault shapes remain).
	HangFor time.Duration
	// Latency is added to every write request (a slow vendor), on top of
	// DMHubOptions.Latency.
	Latency time.Duration
}

// write fault shapes
const (
	wfNone = iota
	wfBefore5xx
	wfBeforeHang
	wfAfter502
	wfAfterTruncated
	wfAfterHang
)

// pickWriteFault draws the fault of one write request.
func (h *DMHub) pickWriteFault() int {
	f := h.opts.WriteFaults
	if f.AppliedThenFailRate <= 0 && f.FailBeforeRate <= 0 {
		return wfNone
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.wf.rng == nil {
		h.wf.rng = rand.New(rand.NewPCG(uint64(h.opts.Seed), 0x3417e))
	}
	roll, shape := h.wf.rng.Float64(), h.wf.rng.IntN(3)
	switch {
	case roll < f.AppliedThenFailRate:
		if shape == 2 && f.HangFor <= 0 {
			shape = 0
		}
		return wfAfter502 + shape
	case roll < f.AppliedThenFailRate+f.FailBeforeRate:
		if shape == 2 && f.HangFor > 0 {
			return wfBeforeHang
		}
		return wfBefore5xx
	}
	return wfNone
}

// faultyWrite serves one write request through the write-fault injection.
func (h *DMHub) faultyWrite(w http.ResponseWriter, r *http.Request, fn http.HandlerFunc) {
	sleepCtx(r.Context(), h.opts.WriteFaults.Latency)
	fault := h.pickWriteFault()
	switch fault {
	case wfNone:
		fn(w, r)
		return
	case wfBefore5xx:
		h.countWriteFault("before")
		writeJSON(w, http.StatusServiceUnavailable, dmError("503000", false, "service unavailable"))
		return
	case wfBeforeHang:
		h.countWriteFault("before")
		hang(r, h.opts.WriteFaults.HangFor)
	}
	buf := newBufferedResponse()
	fn(buf, r)
	if buf.status != http.StatusOK || h.isErrorBody(buf) {
		buf.writeTo(w) // rejected: nothing was applied, answer as usual
		return
	}
	h.countWriteFault("after")
	switch fault {
	case wfAfter502:
		writeBadGateway(w)
	case wfAfterTruncated:
		buf.writeTruncated(w)
	case wfAfterHang:
		hang(r, h.opts.WriteFaults.HangFor)
	}
}

// hang stalls, then resets the connection (the client sees a timeout or
// a reset, never an answer).
func hang(r *http.Request, d time.Duration) {
	sleepCtx(r.Context(), d)
	panic(http.ErrAbortHandler)
}

func (h *DMHub) isErrorBody(b *bufferedResponse) bool {
	body := b.body.Bytes()
	return len(body) > 10 && string(body[:10]) == `{"error":{`
}

func (b *bufferedResponse) writeTo(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status == 0 {
		b.status = http.StatusOK
	}
	w.WriteHeader(b.status)
	_, _ = w.Write(b.body.Bytes())
}

// writeFaultState is the write-fault injection's state (under DMHub.mu).
type writeFaultState struct {
	rng           *rand.Rand // created on first use
	before, after int64
}

func (h *DMHub) countWriteFault(when string) {
	h.mu.Lock()
	if when == "before" {
		h.wf.before++
	} else {
		h.wf.after++
	}
	h.mu.Unlock()
}

// WriteFaultCounts returns how many writes were failed before applying
// and how many were applied and then lost their answer.
func (h *DMHub) WriteFaultCounts() (before, after int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.wf.before, h.wf.after
}

// The write endpoints, each through faultyWrite.

func (h *DMHub) handleDealCreate(w http.ResponseWriter, r *http.Request) {
	h.faultyWrite(w, r, h.dealCreate)
}

func (h *DMHub) handleDealUpdate(w http.ResponseWriter, r *http.Request) {
	h.faultyWrite(w, r, h.dealUpdate)
}

func (h *DMHub) handleDealCancel(w http.ResponseWriter, r *http.Request) {
	h.faultyWrite(w, r, h.dealCancel)
}

func (h *DMHub) handleDealDelete(w http.ResponseWriter, r *http.Request) {
	h.faultyWrite(w, r, h.dealDelete)
}

func (h *DMHub) handleRefund(w http.ResponseWriter, r *http.Request) { h.faultyWrite(w, r, h.refund) }

func (h *DMHub) handleRefundDelete(w http.ResponseWriter, r *http.Request) {
	h.faultyWrite(w, r, h.refundDelete)
}

func (h *DMHub) handlePushRegister(w http.ResponseWriter, r *http.Request) {
	h.faultyWrite(w, r, h.pushRegister)
}

func (h *DMHub) handlePointChange(dir string) http.HandlerFunc {
	fn := h.pointChange(dir)
	return func(w http.ResponseWriter, r *http.Request) { h.faultyWrite(w, r, fn) }
}
