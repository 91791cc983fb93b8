package vendorsim

import (
	"net/http"
	"sync"
	"time"
)

// simBase holds what the Houcaller and zvcms simulators share: request
// counters, latency, rate limiting and fault injection.
type simBase struct {
	latency time.Duration
	limiter *limiter
	faults  *faultModel

	cmu      sync.Mutex
	requests map[string]int64
	hostile  Hostile
}

func newSimBase(seed int64, stream uint64, latency time.Duration, errorRate float64, mix FaultMix, hostile Hostile, rateLimit float64, now func() time.Time) simBase {
	return simBase{
		hostile:  hostile,
		latency:  latency,
		limiter:  newLimiter(rateLimit, now),
		faults:   newFaultModel(seed, stream, errorRate, mix),
		requests: make(map[string]int64),
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

// SetHostile switches the hostile-payload mode ("" = none) from the next
// request on.
func (b *simBase) SetHostile(m Hostile) {
	b.cmu.Lock()
	b.hostile = m
	b.cmu.Unlock()
}

func (b *simBase) hostileMode() Hostile {
	b.cmu.Lock()
	defer b.cmu.Unlock()
	return b.hostile
}

// Faults returns the counts of the faults and 429s injected so far.
func (b *simBase) Faults() FaultStats { return b.faults.stats() }

// ResetFaults zeroes the fault counters (the fault sequence goes on).
func (b *simBase) ResetFaults() { b.faults.reset() }

// gate runs the shared pre-handler steps: count, latency, rate limit (per
// key) and fault selection. It returns false when the response was already
// written (429); otherwise the fault to apply with serve.
func (b *simBase) gate(w http.ResponseWriter, r *http.Request, name, key string, tooMany func(http.ResponseWriter)) (faultPick, bool) {
	b.count(name)
	sleepCtx(r.Context(), b.latency)
	if ok, retry := b.limiter.allow(key); !ok {
		b.faults.rateLimited()
		writeRetryAfter(w, retry)
		tooMany(w)
		return faultPick{}, false
	}
	return b.faults.pick(name, false), true
}
