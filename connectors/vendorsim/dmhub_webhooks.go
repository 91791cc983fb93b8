package vendorsim

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// DMHubWebhooks configures the loyalty webhooks the simulated tenant pushes
// when its data changes (the vendor's webhook document §5.3): a coupon
// drawn, dispatched or redeemed, a member's level raised or lowered. The
// zero value pushes nothing.
type DMHubWebhooks struct {
	// URL receives every event (POST, JSON); "" pushes none.
	URL string
	// Secret is the webhook key: the body is signed as the vendor's
	// sample does, the lowercase hex HMAC-SHA256 of the payload with every
	// whitespace character removed, in Header. "" sends unsigned events.
	Secret string
	// Header is the signature header (default "X-Clab-Hmac-Signature").
	Header string
	// RedeliverRate in [0,1] is the probability that an event the
	// receiver acknowledged is sent once more, byte for byte (a vendor
	// redelivery).
	RedeliverRate float64
	// ForgeRate in [0,1] is the probability that a change is followed by
	// a forged call: a plausible event for another member, signed with a
	// wrong key (or not signed). It is never retried.
	ForgeRate float64
	// RetryInterval: a push that failed (transport error or non-2xx) is
	// retried after n × RetryInterval for the n-th retry (the vendor:
	// about 30 minutes, growing by about 30 minutes); default 30m.
	RetryInterval time.Duration
	// MaxRetries bounds the retries of one push (default 3, as the vendor).
	MaxRetries int
	// TenantID is the payload's tenantId (default 1001).
	TenantID int64
	// Client sends the pushes (default: a client with a 10 s timeout).
	Client *http.Client
}

// DMHubWebhookHeader is the vendor's signature header.
const DMHubWebhookHeader = "X-Clab-Hmac-Signature"

// WebhookDelivery is one push attempt of the simulated tenant.
type WebhookDelivery struct {
	Seq        int64  // 1-based, in send order
	Event      string // the payload's "event"
	MemberID   string
	CouponCode string
	Body       json.RawMessage
	// Forged: signed with a wrong key, or not signed, by someone else.
	Forged bool
	// Redelivery: the same body sent again after it was acknowledged.
	Redelivery bool
	Attempt    int    // 1 = first try, 2.. = retries after a failure
	Status     int    // HTTP status; 0 = transport error
	Err        string // transport error
	At         time.Time
}

// webhookSender pushes the tenant's events; its own lock, never h.mu
// while sending.
type webhookSender struct {
	mu      sync.Mutex
	cfg     DMHubWebhooks
	rng     *rand.Rand
	log     []WebhookDelivery
	seq     int64
	pending sync.WaitGroup
	sem     chan struct{}
}

type webhookPush struct {
	event, member, code string
	body                []byte
	sig                 string // "" = no header
	forged, redelivery  bool
	attempt             int
}

// SetWebhooks starts (or changes, or with a zero URL stops) the pushes
// of the tenant's changes from the next change on.
func (h *DMHub) SetWebhooks(c DMHubWebhooks) {
	if c.Header == "" {
		c.Header = DMHubWebhookHeader
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = 30 * time.Minute
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.TenantID == 0 {
		c.TenantID = 1001
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	c.RedeliverRate = min(max(c.RedeliverRate, 0), 1)
	c.ForgeRate = min(max(c.ForgeRate, 0), 1)
	s := h.hooks()
	s.mu.Lock()
	s.cfg = c
	s.mu.Unlock()
}

func (h *DMHub) hooks() *webhookSender {
	h.hookOnce.Do(func() {
		h.hook = &webhookSender{rng: rand.New(rand.NewPCG(uint64(h.opts.Seed), 0x3eb40c)), sem: make(chan struct{}, 16)}
	})
	return h.hook
}

// WebhookDeliveries returns every push attempt so far, in send order.
func (h *DMHub) WebhookDeliveries() []WebhookDelivery {
	s := h.hooks()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]WebhookDelivery(nil), s.log...)
}

// WaitWebhooks waits until every push of the changes so far (retries and
// redeliveries included) is sent, or ctx ends.
func (h *DMHub) WaitWebhooks(ctx context.Context) error {
	done := make(chan struct{})
	go func() {
		h.hooks().pending.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sign is the vendor's signature of a payload: hex HMAC-SHA256 of the
// payload without whitespace (Java's \s).
func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	for _, c := range body {
		if c != ' ' && c != '\t' && c != '\n' && c != '\v' && c != '\f' && c != '\r' {
			m.Write([]byte{c})
		}
	}
	return hex.EncodeToString(m.Sum(nil))
}

// emit pushes one event of the tenant. Caller holds h.mu (the payload is
// built from the data); the send runs in the background.
func (h *DMHub) emit(event string, member *dmMember, fields ...jsonField) {
	s := h.hooks()
	s.mu.Lock()
	cfg := s.cfg
	if cfg.URL == "" {
		s.mu.Unlock()
		return
	}
	// DM Hub's document shows membershipId quoted; the API sends it as a
	// number: send both forms
	var mid any = json.Number(member.ID)
	if s.rng.IntN(2) == 0 {
		mid = member.ID
	}
	forge := s.rng.Float64() < cfg.ForgeRate
	var victim *dmMember
	if forge && len(h.data.members) > 0 {
		victim = h.data.members[s.rng.IntN(len(h.data.members))]
	}
	wrongKey := s.rng.IntN(3) != 0 // else unsigned
	s.mu.Unlock()
	obj := jsonObj{{"tenantId", cfg.TenantID}, {"event", event}, {"membershipId", mid},
		{"date", h.now().Format(time.RFC3339)}}
	obj = append(obj, fields...)
	body, err := json.Marshal(obj)
	if err != nil {
		panic(fmt.Sprintf("vendorsim: webhook payload: %v", err))
	}
	code := ""
	for _, f := range fields {
		if f.k == "couponCode" {
			code, _ = f.v.(string)
		}
	}
	p := webhookPush{event: event, member: member.ID, code: code, body: body, attempt: 1}
	if cfg.Secret != "" {
		p.sig = sign(cfg.Secret, body)
	}
	s.schedule(p, 0)
	if victim != nil {
		// a forged level change of another member
		l := h.data.levels[(victim.LevelPriority+1)%len(h.data.levels)]
		fb, _ := json.Marshal(jsonObj{{"tenantId", cfg.TenantID}, {"event", "loyalty/membership_level_up"},
			{"membershipId", json.Number(victim.ID)}, {"date", h.now().Format(time.RFC3339)},
			{"oldLevelId", json.Number(victim.LevelID)}, {"newLevelId", json.Number(l.ID)},
			{"oldLevel", victim.LevelName}, {"newLevel", l.Name}, {"forged", true}})
		fp := webhookPush{event: "loyalty/membership_level_up", member: victim.ID, body: fb, forged: true, attempt: 1}
		if wrongKey {
			fp.sig = sign("forged-"+cfg.Secret, fb)
		}
		s.schedule(fp, 0)
	}
}

// schedule sends p after delay, in the background.
func (s *webhookSender) schedule(p webhookPush, delay time.Duration) {
	s.pending.Add(1)
	run := func() {
		defer s.pending.Done()
		s.sem <- struct{}{}
		s.send(p)
		<-s.sem
	}
	if delay <= 0 {
		go run()
		return
	}
	time.AfterFunc(delay, run)
}

func (s *webhookSender) send(p webhookPush) {
	s.mu.Lock()
	cfg := s.cfg
	s.mu.Unlock()
	if cfg.URL == "" {
		return
	}
	d := WebhookDelivery{Event: p.event, MemberID: p.member, CouponCode: p.code, Body: p.body, Forged: p.forged,
		Redelivery: p.redelivery, Attempt: p.attempt, At: time.Now().UTC()}
	req, err := http.NewRequest(http.MethodPost, cfg.URL, bytes.NewReader(p.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json;charset=UTF-8")
		if p.sig != "" {
			req.Header.Set(cfg.Header, p.sig)
		}
		var resp *http.Response
		resp, err = cfg.Client.Do(req)
		if err == nil {
			d.Status = resp.StatusCode
			_ = resp.Body.Close()
		}
	}
	if err != nil {
		d.Err = err.Error()
	}
	ok := err == nil && d.Status >= 200 && d.Status < 300
	s.mu.Lock()
	s.seq++
	d.Seq = s.seq
	s.log = append(s.log, d)
	redeliver := ok && !p.forged && !p.redelivery && s.rng.Float64() < cfg.RedeliverRate
	s.mu.Unlock()
	switch {
	case p.forged:
	case !ok && p.attempt <= cfg.MaxRetries:
		q := p
		q.attempt++
		s.schedule(q, time.Duration(p.attempt)*cfg.RetryInterval)
	case redeliver:
		q := p
		q.redelivery, q.attempt = true, 1
		s.schedule(q, 0)
	}
}

// ChangeLevel moves a member one level up (or down), advances its
// lastUpdated, and pushes loyalty/membership_level_up (or _down). A
// member already at the top (or bottom) moves the other way.
func (h *DMHub) ChangeLevel(memberID string, up bool) (DMHubMember, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, err := h.mustMember(memberID)
	if err != nil {
		return DMHubMember{}, err
	}
	ls := h.data.levels
	cur := 0
	for i, l := range ls {
		if l.ID == m.LevelID {
			cur = i
		}
	}
	next := cur + 1
	if !up {
		next = cur - 1
	}
	if next < 0 || next >= len(ls) {
		up = !up
		next = 2*cur - next
	}
	old, l := ls[cur], ls[next]
	m.LevelID, m.LevelName, m.LevelPriority = l.ID, l.Name, l.Priority
	h.touch(m)
	event := "loyalty/membership_level_up"
	if !up {
		event = "loyalty/membership_level_down"
	}
	h.emit(event, m, jsonField{"oldLevelId", json.Number(old.ID)}, jsonField{"newLevelId", json.Number(l.ID)},
		jsonField{"oldLevel", old.Name}, jsonField{"newLevel", l.Name})
	return m.clone(), nil
}

// emitCoupon pushes a coupon event for mc. Caller holds h.mu.
func (h *DMHub) emitCoupon(event string, mc *DMHubMemberCoupon) {
	m, err := h.mustMember(mc.MemberID)
	if err != nil {
		return
	}
	fields := []jsonField{{"couponId", mc.CouponID}, {"couponName", mc.CouponName}}
	if event == "loyalty/loyalty_dispatch_coupon" {
		fields = append(fields, jsonField{"batchId", "B" + strconv.FormatInt(mc.DateDraw.Unix(), 10)})
	}
	fields = append(fields, jsonField{"couponCode", mc.Code})
	if event != "loyalty/membership_redeem_coupon" {
		fields = append(fields, jsonField{"startDate", mc.StartDate}, jsonField{"endDate", mc.EndDate})
	}
	h.emit(event, m, fields...)
}

// DispatchCoupon issues the next coupon definition to a member as a
// system dispatch (DrawCoupon pushes membership_draw_coupon; this pushes
// loyalty_dispatch_coupon).
func (h *DMHub) DispatchCoupon(memberID string) (DMHubMemberCoupon, error) {
	return h.drawCoupon(memberID, "loyalty/loyalty_dispatch_coupon")
}
