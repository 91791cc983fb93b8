package vendorsim

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// FaultKind names one kind of injected vendor fault. The bodies each
// simulator sends for each kind are listed in doc.go ("Faults").
type FaultKind string

// The fault kinds. Every kind but FaultBusiness is transient: a client
// that retries the same request eventually gets the real answer.
const (
	// FaultHTTP500 is HTTP 500 with the vendor's JSON error body.
	FaultHTTP500 FaultKind = "http500"
	// FaultHTTP502 is HTTP 502 with an nginx HTML page.
	FaultHTTP502 FaultKind = "http502"
	// FaultBusy is HTTP 200 carrying the vendor's busy / system error.
	FaultBusy FaultKind = "busy"
	// FaultTruncated is the real answer with its JSON body cut mid-way:
	// either a short body with a matching Content-Length, or the full
	// Content-Length declared and the connection closed mid-body. A
	// truncated write IS applied.
	FaultTruncated FaultKind = "truncated"
	// FaultHang sends nothing for FaultMix.Hang (default 60s, past the
	// client's default 30s timeout), then the real answer; it ends as soon
	// as the request's context ends (client timeout, server shutdown), and
	// the connection is then dropped without an answer.
	FaultHang FaultKind = "hang"
	// FaultBusiness is HTTP 200 carrying a documented business error, a
	// PERMANENT failure by the client's policy. It is not in the default
	// mix (a read that meets it fails for good); select it explicitly.
	FaultBusiness FaultKind = "business"
)

// DefaultHang is how long a FaultHang request hangs unless FaultMix.Hang
// says otherwise: past loyaltybridge's default 30s request timeout.
const DefaultHang = 60 * time.Second

// FaultKinds returns every fault kind in a fixed order (the order used to
// map the seeded draw onto a kind).
func FaultKinds() []FaultKind {
	return []FaultKind{FaultHTTP500, FaultHTTP502, FaultBusy, FaultTruncated, FaultHang, FaultBusiness}
}

// DefaultFaultWeights is the default mix: weight 1 for every transient
// kind, FaultBusiness excluded.
func DefaultFaultWeights() map[FaultKind]int {
	return map[FaultKind]int{FaultHTTP500: 1, FaultHTTP502: 1, FaultBusy: 1, FaultTruncated: 1, FaultHang: 1}
}

// FaultMix selects which faults a simulator's ErrorRate injects.
type FaultMix struct {
	// Weights is the relative weight of each kind; nil or empty means
	// DefaultFaultWeights. Kinds with weight ≤ 0 are never chosen; if no
	// kind has a positive weight, nothing is injected.
	Weights map[FaultKind]int
	// Hang is how long a FaultHang request hangs (default DefaultHang).
	Hang time.Duration
}

// ParseFaultWeights parses a fault selection such as
// "http500,http502,busy,truncated,hang" or "busy=3,hang=1": a comma-separated
// list of kinds, each with an optional "=weight" (a non-negative integer,
// default 1). "default" (or "") is DefaultFaultWeights and "all" every kind
// including business. Errors name the offending item.
func ParseFaultWeights(s string) (map[FaultKind]int, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "default":
		return DefaultFaultWeights(), nil
	case "all":
		out := map[FaultKind]int{}
		for _, k := range FaultKinds() {
			out[k] = 1
		}
		return out, nil
	}
	out := map[FaultKind]int{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		name, weight, hasWeight := strings.Cut(item, "=")
		k := FaultKind(strings.TrimSpace(name))
		if !slices.Contains(FaultKinds(), k) {
			return nil, fmt.Errorf("fault kind %q is unknown (want one of %s)", name, joinKinds(FaultKinds()))
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("fault kind %q is listed twice", k)
		}
		w := 1
		if hasWeight {
			n, err := strconv.Atoi(strings.TrimSpace(weight))
			if err != nil || n < 0 {
				return nil, fmt.Errorf("fault weight %q of %q is not a non-negative integer", weight, k)
			}
			w = n
		}
		out[k] = w
	}
	return out, nil
}

func joinKinds(ks []FaultKind) string {
	s := make([]string, len(ks))
	for i, k := range ks {
		s[i] = string(k)
	}
	return strings.Join(s, ", ")
}

// FaultStats counts what a simulator injected.
type FaultStats struct {
	// Kinds counts the faults injected, by kind.
	Kinds map[FaultKind]int64 `json:"kinds"`
	// RateLimited counts the HTTP 429 answers of the rate limit.
	RateLimited int64 `json:"rate_limited"`
}

// Total is the number of faults injected (429s not included).
func (s FaultStats) Total() int64 {
	var n int64
	for _, v := range s.Kinds {
		n += v
	}
	return n
}

// String renders the counts in a fixed order, e.g.
// "http500=3 http502=1 busy=2 truncated=0 hang=1 business=0 429=12".
func (s FaultStats) String() string {
	var b strings.Builder
	for _, k := range FaultKinds() {
		fmt.Fprintf(&b, "%s=%d ", k, s.Kinds[k])
	}
	fmt.Fprintf(&b, "429=%d", s.RateLimited)
	return b.String()
}

// faultPick is one request's fault decision. variant selects among the
// vendor's bodies (or truncation styles) for the kind.
type faultPick struct {
	kind    FaultKind // "" = no fault
	variant int
}

// faultModel draws faults from a seeded PCG: for the same seed and the
// same sequence of requests it makes the same decisions. Every decision
// draws the same amount of randomness, faulted or not.
type faultModel struct {
	rate  float64
	kinds []FaultKind // kinds with a positive weight, in FaultKinds order
	cum   []int       // cumulative weights
	hang  time.Duration

	mu      sync.Mutex
	rng     *rand.Rand
	last    map[string]bool // endpoint → its previous request was faulted
	counts  map[FaultKind]int64
	limited int64
}

func newFaultModel(seed int64, stream uint64, rate float64, mix FaultMix) *faultModel {
	weights := mix.Weights
	if len(weights) == 0 {
		weights = DefaultFaultWeights()
	}
	m := &faultModel{rate: min(max(rate, 0), 1), hang: mix.Hang, rng: rand.New(rand.NewPCG(uint64(seed), stream)),
		last: map[string]bool{}, counts: map[FaultKind]int64{}}
	if m.hang <= 0 {
		m.hang = DefaultHang
	}
	total := 0
	for _, k := range FaultKinds() {
		if w := weights[k]; w > 0 {
			total += w
			m.kinds = append(m.kinds, k)
			m.cum = append(m.cum, total)
		}
	}
	return m
}

// pick decides the fault of one request to endpoint. A token endpoint
// (token = true) is never faulted twice in a row, and a truncated or
// business fault there becomes a 502: a cut token answer would silently
// rotate the token, and the token API has no business errors.
func (m *faultModel) pick(endpoint string, token bool) faultPick {
	if m.rate <= 0 || len(m.kinds) == 0 {
		return faultPick{}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	roll := m.rng.Float64()
	n := m.rng.IntN(m.cum[len(m.cum)-1])
	variant := m.rng.IntN(2)
	if roll >= m.rate || (token && m.last[endpoint]) {
		m.last[endpoint] = false
		return faultPick{}
	}
	kind := m.kinds[sort.SearchInts(m.cum, n+1)]
	if token && (kind == FaultTruncated || kind == FaultBusiness) {
		kind = FaultHTTP502
	}
	m.last[endpoint] = true
	m.counts[kind]++
	return faultPick{kind: kind, variant: variant}
}

func (m *faultModel) rateLimited() {
	m.mu.Lock()
	m.limited++
	m.mu.Unlock()
}

func (m *faultModel) stats() FaultStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := FaultStats{Kinds: make(map[FaultKind]int64, len(FaultKinds())), RateLimited: m.limited}
	for _, k := range FaultKinds() {
		s.Kinds[k] = m.counts[k]
	}
	return s
}

func (m *faultModel) reset() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.counts)
	m.limited = 0
}

// faultBodies writes one vendor's answers for the kinds that replace the
// real answer. variant is 0 or 1 (each vendor has two bodies per kind).
type faultBodies struct {
	http500  func(w http.ResponseWriter, variant int)
	busy     func(w http.ResponseWriter, variant int)
	business func(w http.ResponseWriter, variant int)
}

// serve applies p around the real handler fn: the replacing kinds write
// their body, a hang waits (and drops the connection when the request
// ends first), a truncation cuts fn's body, no fault runs fn.
func (m *faultModel) serve(w http.ResponseWriter, r *http.Request, p faultPick, bodies faultBodies, fn http.HandlerFunc) {
	switch p.kind {
	case FaultHTTP500:
		bodies.http500(w, p.variant)
	case FaultHTTP502:
		writeBadGateway(w)
	case FaultBusy:
		bodies.busy(w, p.variant)
	case FaultBusiness:
		bodies.business(w, p.variant)
	case FaultHang:
		if !sleepCtx(r.Context(), m.hang) {
			// The client gave up (or the server is shutting down): drop
			// the connection without an answer, as a hung vendor does.
			panic(http.ErrAbortHandler)
		}
		fn(w, r)
	case FaultTruncated:
		buf := newBufferedResponse()
		fn(buf, r)
		if p.variant == 0 {
			buf.writeTruncated(w)
			return
		}
		buf.writeCut(w)
	default:
		fn(w, r)
	}
}
