package vendorsim

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"
)

// DMHubOptions configures a simulated Convertlab DM Hub tenant (loyalty v1).
// The zero value is usable: see each field for its default.
type DMHubOptions struct {
	// Seed makes data, generated ids and injected faults deterministic.
	Seed int64
	// Members is the number of generated members (default 200; negative = 0).
	Members int
	// AppID and AppSecret are the only accepted credentials
	// (defaults "sim-dmhub-app" / "sim-dmhub-secret").
	AppID     string
	AppSecret string
	// TokenTTL is the access-token lifetime (default 7200s); expires_in is
	// its whole seconds.
	TokenTTL time.Duration
	// Latency is added to every request (real time, not the injected clock).
	Latency time.Duration
	// ErrorRate in [0,1] is the probability that a request is faulted;
	// Faults selects the kinds (default: the transient mix, see doc.go).
	ErrorRate float64
	Faults    FaultMix
	// RateLimit is requests per second per appid (0 = unlimited); excess
	// requests get HTTP 429 with a Retry-After header in seconds.
	RateLimit float64
	// Hostile replaces list answers by hostile payloads (see doc.go);
	// HostileRows is the HostileHugePage size (default: HugePageBytes).
	Hostile     Hostile
	HostileRows int
	// IgnoreSort makes the member list ignore sidx/sord (always id asc).
	IgnoreSort bool
	// MaxRows silently caps the rows parameter (default 100).
	MaxRows int
	// Now is the clock (default time.Now). It drives token expiry, rate
	// limiting and the timestamps of writes and mutations.
	Now func() time.Time
	// WriteFaults injects faults into the write endpoints only (see
	// DMHubWriteFaults); the zero value injects none.
	WriteFaults DMHubWriteFaults
}

func (o DMHubOptions) withDefaults() DMHubOptions {
	if o.Members == 0 {
		o.Members = 200
	}
	if o.Members < 0 {
		o.Members = 0
	}
	if o.AppID == "" {
		o.AppID = "sim-dmhub-app"
	}
	if o.AppSecret == "" {
		o.AppSecret = "sim-dmhub-secret"
	}
	if o.TokenTTL <= 0 {
		o.TokenTTL = 7200 * time.Second
	}
	if o.MaxRows <= 0 {
		o.MaxRows = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.ErrorRate = min(max(o.ErrorRate, 0), 1)
	return o
}

// DMHub simulates the Convertlab DM Hub loyalty v1 API. It is an
// http.Handler serving paths relative to its root (e.g. mounted under
// /dmhub, base_url = http://host:port/dmhub). All methods are safe for
// concurrent use.
type DMHub struct {
	opts    DMHubOptions
	mux     *http.ServeMux
	limiter *limiter
	faults  *faultModel

	mu        sync.Mutex
	data      *dmData
	tokens    map[string]dmToken
	oldTokens map[string]string // superseded token → its appid
	hostile   Hostile
	tokenSeq  int64
	requests  map[string]int64
	writes    []DMHubWrite
	deals     map[string]*dmDeal
	dealSeq   int64
	devices   map[string]json.RawMessage
	wf        writeFaultState // dmhub_writefaults.go

	hookOnce sync.Once
	hook     *webhookSender // dmhub_webhooks.go
}

type dmToken struct {
	token   string
	expires time.Time
}

// NewDMHub builds a simulator with deterministic data for opts.Seed.
func NewDMHub(opts DMHubOptions) *DMHub {
	opts = opts.withDefaults()
	h := &DMHub{
		opts:      opts,
		limiter:   newLimiter(opts.RateLimit, opts.Now),
		data:      newDMData(opts.Seed, opts.Members),
		faults:    newFaultModel(opts.Seed, 0xfa017, opts.ErrorRate, opts.Faults),
		tokens:    make(map[string]dmToken),
		oldTokens: make(map[string]string),
		hostile:   opts.Hostile,
		requests:  make(map[string]int64),
		deals:     make(map[string]*dmDeal),
		devices:   make(map[string]json.RawMessage),
	}
	h.routes()
	return h
}

// Handler returns h as an http.Handler.
func (h *DMHub) Handler() http.Handler { return h }

// ServeHTTP implements http.Handler. Unknown paths get 404 (plain text) and
// known paths with the wrong method 405.
func (h *DMHub) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.mux.ServeHTTP(w, r) }

// Options returns the effective options (defaults applied).
func (h *DMHub) Options() DMHubOptions { return h.opts }

func (h *DMHub) routes() {
	m := http.NewServeMux()
	h.mux = m
	m.HandleFunc("GET /security/accesstoken", h.wrap("token", false, h.handleToken))
	const p = "/loyalty/v1"
	api := func(pattern, name string, fn http.HandlerFunc) {
		method, path, _ := strings.Cut(pattern, " ")
		m.HandleFunc(method+" "+p+path, h.wrap(name, true, fn))
	}
	api("GET /membership", "membership.list", h.handleMemberList)
	api("GET /membership/{id}", "membership.get", h.handleMemberGet)
	api("GET /membership/{id}/point", "membership.point", h.handlePointList)
	api("GET /membership/{id}/exp/changeLogs", "membership.exp", h.handleExpList)
	api("GET /membership/{id}/coupon", "membership.coupon", h.handleMemberCouponList)
	api("GET /coupon", "coupon.list", h.handleCouponList)
	api("GET /coupon/{couponId}", "coupon.get", h.handleCouponGet)
	api("GET /membershipCoupon/{code}", "membershipCoupon.get", h.handleMemberCouponGet)
	api("GET /settings/level/rules", "level.rules", h.handleLevelRules)
	api("POST /membershipService/listMembershipByIdentities", "identity.list", h.handleListByIdentities)
	api("GET /membershipService/getMembershipByIdentity", "identity.get", h.handleGetByIdentity)

	api("POST /deal", "deal.create", h.handleDealCreate)
	api("POST /dealService/update/{$}", "deal.update", h.handleDealUpdate)
	api("POST /dealService/update", "deal.update", h.handleDealUpdate)
	api("POST /dealService/cancel", "deal.cancel", h.handleDealCancel)
	api("POST /dealService/refund", "deal.refund", h.handleRefund)
	api("POST /dealService/deleteRefund", "deal.deleteRefund", h.handleRefundDelete)
	api("POST /dealService/delete", "deal.delete", h.handleDealDelete)
	api("POST /appPush/register", "appPush.register", h.handlePushRegister)
	api("POST /membership/{id}/point/incr", "point.incr", h.handlePointChange("incr"))
	api("POST /membership/{id}/point/decr", "point.decr", h.handlePointChange("decr"))
	api("POST /membership/{id}/coupon/draw", "coupon.draw", h.handleCouponDraw)
	api("POST /membershipCoupon/{code}/redeem", "coupon.redeem", h.handleCouponRedeem)
	// Anything else: the ServeMux answers 404 "404 page not found" (plain
	// text), or 405 with an Allow header for a known path and wrong method.
}

func (h *DMHub) count(name string) {
	h.mu.Lock()
	h.requests[name]++
	h.mu.Unlock()
}

// dmFaultBodies are DM Hub's fault answers (see doc.go, "Faults").
var dmFaultBodies = faultBodies{
	http500: func(w http.ResponseWriter, v int) {
		if v == 0 { // seen with HTTP 500 (G-rb cassettes)
			writeJSON(w, http.StatusInternalServerError, jsonObj{{"error_code", 40201}, {"error_description", "permission is not enough"}})
			return
		}
		writeJSON(w, http.StatusInternalServerError, dmError("500000", false, "Internal Server Error"))
	},
	busy: func(w http.ResponseWriter, v int) {
		if v == 0 {
			writeJSON(w, http.StatusOK, dmError("500000", false, "system busy, please retry later"))
			return
		}
		writeJSON(w, http.StatusOK, dmError("500001", true, "internal error"))
	},
	business: func(w http.ResponseWriter, _ int) {
		writeJSON(w, http.StatusOK, dmError("409000", true, "error info"))
	},
}

// wrap applies the cross-cutting behaviour in this order: request counter,
// latency, rate limit (per appid), fault selection, token check (skipped
// by the faults that replace the answer), handler (cut by a truncation,
// delayed by a hang).
func (h *DMHub) wrap(name string, auth bool, fn http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		h.count(name)
		sleepCtx(r.Context(), h.opts.Latency)
		key := r.URL.Query().Get("appid")
		if auth {
			key = h.appIDForToken(r.URL.Query().Get("access_token"))
		}
		if ok, retry := h.limiter.allow(key); !ok {
			h.faults.rateLimited()
			writeRetryAfter(w, retry)
			writeJSON(w, http.StatusTooManyRequests, dmError("429001", false, "request frequency exceeds the limit, retry later"))
			return
		}
		fault := h.faults.pick(name, !auth)
		h.faults.serve(w, r, fault, dmFaultBodies, func(w http.ResponseWriter, r *http.Request) {
			if auth {
				if msg := h.checkToken(r.URL.Query().Get("access_token")); msg != "" {
					writeJSON(w, http.StatusOK, dmError("401001", false, msg))
					return
				}
			}
			if auth {
				serveHostile(h.hostileMode(), h.opts.HostileRows, w, r, fn)
				return
			}
			fn(w, r)
		})
	}
}

// Faults returns the counts of the faults and 429s injected so far.
func (h *DMHub) Faults() FaultStats { return h.faults.stats() }

// SetHostile switches the hostile-payload mode ("" = none) from the next
// request on.
func (h *DMHub) SetHostile(m Hostile) {
	h.mu.Lock()
	h.hostile = m
	h.mu.Unlock()
}

func (h *DMHub) hostileMode() Hostile {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.hostile
}

// ResetFaults zeroes the fault counters (the fault sequence goes on).
func (h *DMHub) ResetFaults() { h.faults.reset() }

// appIDForToken maps a token to its appid for rate limiting ("" if unknown).
func (h *DMHub) appIDForToken(tok string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	for app, t := range h.tokens {
		if t.token == tok {
			return app
		}
	}
	return h.oldTokens[tok]
}

// checkToken returns "" for the current, unexpired token of an appid and an
// error message (always mentioning access_token) otherwise.
func (h *DMHub) checkToken(tok string) string {
	if tok == "" {
		return "missing access_token"
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.tokens {
		if t.token == tok {
			if !h.opts.Now().Before(t.expires) {
				return "access_token expired"
			}
			return ""
		}
	}
	if _, ok := h.oldTokens[tok]; ok {
		return "access_token superseded by a newer token"
	}
	return "invalid access_token"
}

func (h *DMHub) handleToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("grant_type") != "client_credentials" || q.Get("appid") != h.opts.AppID || q.Get("secret") != h.opts.AppSecret {
		writeJSON(w, http.StatusOK, jsonObj{{"error_code", "40004"}, {"error_description", "the params is illegal"}})
		return
	}
	h.mu.Lock()
	h.tokenSeq++
	sum := sha256.Sum256(fmt.Appendf(nil, "%d|%s|%d|%d", h.opts.Seed, h.opts.AppID, h.tokenSeq, h.opts.Now().UnixNano()))
	tok := hex.EncodeToString(sum[:16])
	// Only one token per appid is valid: this replaces (invalidates) the old one.
	if old, ok := h.tokens[h.opts.AppID]; ok {
		h.oldTokens[old.token] = h.opts.AppID
	}
	h.tokens[h.opts.AppID] = dmToken{token: tok, expires: h.opts.Now().Add(h.opts.TokenTTL)}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, jsonObj{{"error_code", 0}, {"access_token", tok}, {"expires_in", int64(h.opts.TokenTTL / time.Second)}})
}

// Requests returns a copy of the per-endpoint request counters. Every request
// that reached a route is counted, including rate-limited and faulted ones;
// 404/405 answers are not counted.
func (h *DMHub) Requests() map[string]int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make(map[string]int64, len(h.requests))
	for k, v := range h.requests {
		out[k] = v
	}
	return out
}

// ResetRequests zeroes the request counters.
func (h *DMHub) ResetRequests() {
	h.mu.Lock()
	defer h.mu.Unlock()
	clear(h.requests)
}

// CurrentToken returns the currently valid token for the configured appid
// ("" if none was issued). Useful to assert token sharing in tests.
func (h *DMHub) CurrentToken() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.tokens[h.opts.AppID].token
}
