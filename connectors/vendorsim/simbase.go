package vendorsim

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// simBase holds what the Houcaller and zvcms simulators share: request
// counters, latency, rate limiting and fault injection.
type simBase struct {
	latency   time.Duration
	errorRate float64
	limiter   *limiter

	cmu      sync.Mutex
	faultRNG *rand.Rand
	requests map[string]int64
}

func newSimBase(seed int64, stream uint64, latency time.Duration, errorRate, rateLimit float64, now func() time.Time) simBase {
	return simBase{
		latency:   latency,
		errorRate: min(max(errorRate, 0), 1),
		limiter:   newLimiter(rateLimit, now),
		faultRNG:  rand.New(rand.NewPCG(uint64(seed), stream)),
		requests:  make(map[string]int64),
	}
}

func (b *simBase) count(name string) {
	b.cmu.Lock()
	b.requests[name]++
	b.cmu.Unlock()
}

// Requests returns a copy of the per-endpoint request counters (every
// request that reached a known endpoint, including rate-limited and faulted
// ones).
func (b *simBase) Requests() map[string]int64 {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	out := make(map[string]int64, len(b.requests))
	for k, v := range b.requests {
		out[k] = v
	}
	return out
}

// ResetRequests zeroes the request counters.
func (b *simBase) ResetRequests() {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	clear(b.requests)
}

// simple fault kinds for Houcaller and zvcms
const (
	sfNone = iota
	sf502HTML
	sfVendorError
	sfTruncated
)

func (b *simBase) pickFault() int {
	if b.errorRate <= 0 {
		return sfNone
	}
	b.cmu.Lock()
	defer b.cmu.Unlock()
	roll := b.faultRNG.Float64()
	kind := 1 + b.faultRNG.IntN(3)
	if roll >= b.errorRate {
		return sfNone
	}
	return kind
}

// gate runs the shared pre-handler steps: count, latency, rate limit (per
// key) and fault selection. It returns false when the response was already
// written (429 or an immediate fault); otherwise the fault kind still to
// apply (sfNone or sfTruncated).
func (b *simBase) gate(w http.ResponseWriter, r *http.Request, name, key string, vendorError func(http.ResponseWriter), tooMany func(http.ResponseWriter)) (int, bool) {
	b.count(name)
	sleepCtx(r.Context(), b.latency)
	if ok, retry := b.limiter.allow(key); !ok {
		writeRetryAfter(w, retry)
		tooMany(w)
		return 0, false
	}
	switch f := b.pickFault(); f {
	case sf502HTML:
		writeBadGateway(w)
		return 0, false
	case sfVendorError:
		vendorError(w)
		return 0, false
	default:
		return f, true
	}
}

// serveMaybeTruncated runs fn, truncating its body when fault is sfTruncated.
func serveMaybeTruncated(w http.ResponseWriter, r *http.Request, fault int, fn http.HandlerFunc) {
	if fault != sfTruncated {
		fn(w, r)
		return
	}
	buf := newBufferedResponse()
	fn(buf, r)
	buf.writeTruncated(w)
}
