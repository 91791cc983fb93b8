// Package webhooks takes pushed vendor events (DM Hub's loyalty
// webhooks) beside polling: serve verifies and stores each event in
// ClickHouse (webhook_events) before it answers 200, then enqueues one
// task per event (its id derived from the event id) in its source's asynq
// group; the worker aggregates a group into one batch task, which
// refreshes exactly what the events name (the member's coupons and the
// coupon definition, or the member record and its level) through the
// sync's own per-member reads and loads, once per member, and appends the
// processed versions of the events. A sweep re-enqueues stored events that
// were never processed (Redis lost), as outbound does for writes.
// docs/webhooks.md describes the rules.
package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Task types. They are a wire format: never rename them.
const (
	// TypeEvent is one pushed event. Serve enqueues it in the group of its
	// source; the worker aggregates the group into a TypeBatch
	// (Aggregate), so one task refreshes many events with a few
	// ClickHouse round trips. A TypeEvent handed over directly (no group)
	// is handled as a batch of one.
	TypeEvent = "webhook:event"
	// TypeBatch is the events of one source aggregated from TypeEvent
	// tasks: their payloads, one JSON object per line.
	TypeBatch = "webhook:batch"
)

// Aggregation of event tasks (asynq groups, jobs.Engine.ServerConfig):
// a group is handed over after GroupGracePeriod without a new event,
// after GroupMaxDelay at the latest, or at GroupMaxSize events.
const (
	GroupGracePeriod = time.Second // asynq's minimum
	GroupMaxDelay    = 2 * time.Second
	GroupMaxSize     = 200
)

// GroupOf is the asynq group of a source's events.
func GroupOf(source string) string { return "webhook:" + source }

// Aggregate is the asynq group aggregator: the event tasks of a group
// become one TypeBatch task. Other groups' tasks are aggregated the same
// way (only pushed events use groups).
func Aggregate(_ string, tasks []*asynq.Task) *asynq.Task {
	var b []byte
	for _, t := range tasks {
		b = append(b, t.Payload()...)
		b = append(b, '\n')
	}
	return asynq.NewTask(TypeBatch, b, asynq.MaxRetry(batchMaxRetry), asynq.Timeout(10*time.Minute))
}

// batchMaxRetry bounds the retries of a batch task; an event of a batch
// that ends archived stays unprocessed, and the sweep enqueues it again.
const batchMaxRetry = 8

// Outcomes of a processed event (webhook_events.outcome; "" = not yet).
const (
	OutcomeApplied     = "applied"      // the rows it names were refreshed
	OutcomeUnknownType = "unknown_type" // stored and counted; nothing to refresh
	OutcomeInvalid     = "invalid"      // a known type without the member id it needs
	OutcomeNotFound    = "not_found"    // the vendor does not know the member
	OutcomeIgnored     = "ignored"      // the source does not sync the streams the event names
	OutcomeFailed      = "failed"       // a permanent vendor error (the record stays as polling left it)
)

// Refresher refreshes what a batch of events of one source names and
// returns each event's outcome (OutcomeApplied, OutcomeNotFound,
// OutcomeIgnored; "" for an event whose refresh failed), with an error
// when any failed: those are retried. The jobs package implements it with
// the sync's per-member reads and loads.
type Refresher func(ctx context.Context, source string, evs []Envelope) ([]string, error)

// Webhooks is the intake and the processing of pushed events. It is safe
// for concurrent use.
type Webhooks struct {
	WH *warehouse.Warehouse
	// Config resolves sources: only kind dmhub takes webhooks.
	Config *config.Config
	Queue  *asynq.Client
	// QueueName is the asynq queue: "<namespace>:webhooks".
	QueueName string
	// Redis and Namespace hold the rejected-call counters `status` shows.
	Redis     redis.UniversalClient
	Namespace string
	Refresh   Refresher
	Metrics   *Metrics // optional
	Log       *slog.Logger
	Now       func() time.Time // default time.Now
	// MaxRetry bounds a task's retries (then it is archived, and the
	// sweep leaves it: its id stays taken); default 8.
	MaxRetry int

	in intake // group commit of received events (store.go); Close stops it
}

func (w *Webhooks) now() time.Time {
	if w.Now != nil {
		return w.Now().UTC()
	}
	return time.Now().UTC()
}

func (w *Webhooks) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

// Errors of Receive; the HTTP layer maps them to statuses.
var (
	ErrUnknownSource = errors.New("no dmhub source of this name takes webhooks")
	ErrMalformed     = errors.New("malformed event")
)

// SignatureError is a refused signature (HTTP 401).
type SignatureError struct{ Err error }

func (e *SignatureError) Error() string { return "webhook signature: " + e.Err.Error() }
func (e *SignatureError) Unwrap() error { return e.Err }

// Result is the answer to one accepted call.
type Result struct {
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// Duplicate: the event was stored before (a redelivery); nothing new
	// was stored or applied.
	Duplicate bool `json:"duplicate,omitempty"`
}

// Source returns the source called name if its kind takes pushed events
// (declares webhook_secret: DM Hub), or ErrUnknownSource.
func (w *Webhooks) Source(name string) (*config.Source, error) {
	src, err := w.Config.Source(name)
	if err != nil || src.Spec() == nil || !slices.Contains(src.Spec().Fields, "webhook_secret") {
		return nil, ErrUnknownSource
	}
	return src, nil
}

// VerifierOf returns the signature check of a source.
func VerifierOf(src *config.Source) Verifier {
	return Verifier{Secret: src.WebhookSecret.Reveal(), Header: src.WebhookHeader(), Encoding: src.WebhookEncoding()}
}

// Reject counts a refused call of a source (metrics, and the Redis
// counter `status` shows). reason is a metrics label.
func (w *Webhooks) Reject(ctx context.Context, source, reason string) {
	w.Metrics.onRejected(source, reason)
	if w.Redis == nil || reason == "malformed" || reason == "too_large" {
		return
	}
	if err := w.Redis.HIncrBy(ctx, RejectedKey(w.Namespace), source, 1).Err(); err != nil {
		w.log().Warn("webhooks: count a rejected call", "source", source, "err", err)
	}
}

// RejectedKey is the Redis hash of rejected (bad or missing signature)
// calls per source.
func RejectedKey(namespace string) string { return namespace + ":webhooks:rejected" }

// RejectedCounts reads the rejected-call counters per source.
func RejectedCounts(ctx context.Context, rdb redis.UniversalClient, namespace string) (map[string]int64, error) {
	m, err := rdb.HGetAll(ctx, RejectedKey(namespace)).Result()
	if err != nil {
		return nil, fmt.Errorf("webhooks: rejected counters: %w", err)
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		var n int64
		if _, err := fmt.Sscan(v, &n); err == nil {
			out[k] = n
		}
	}
	return out, nil
}

// Receive takes one signed call of source: verifies sig (a
// *SignatureError when it fails), decodes the event (ErrMalformed), stores
// it unless it was stored before, and enqueues its task. It returns only
// after the event is durable in ClickHouse; an error means nothing was
// acknowledged.
func (w *Webhooks) Receive(ctx context.Context, source string, body []byte, sig string) (Result, error) {
	src, err := w.Source(source)
	if err != nil {
		return Result{}, err
	}
	if err := VerifierOf(src).Verify(body, sig); err != nil {
		reason := "bad_signature"
		switch {
		case errors.Is(err, ErrUnsigned):
			reason = "unsigned"
		case errors.Is(err, ErrBadEncoding):
			reason = "bad_encoding"
		}
		w.Reject(ctx, source, reason)
		return Result{}, &SignatureError{Err: err}
	}
	env, err := Decode(body)
	if err != nil {
		w.Reject(ctx, source, "malformed")
		return Result{}, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	res := Result{EventID: env.EventID, EventType: env.Type}
	first, err := w.firstSeen(ctx, source, env.EventID)
	if err != nil {
		return Result{}, err
	}
	if !first {
		res.Duplicate = true
		w.Metrics.onDuplicate(source)
		// stored before: nothing is stored or enqueued again (an event
		// not processed yet is the sweep's)
		return res, nil
	}
	now := w.now().Truncate(time.Second)
	if err := w.store(ctx, warehouse.WebhookEvent{Source: source, Ver: 1, EventID: env.EventID,
		EventType: env.Type, MemberID: env.MemberID, CouponCode: env.CouponCode, CouponID: env.CouponID,
		Payload: string(env.Compact), ReceivedAt: now}); err != nil {
		w.forget(ctx, source, env.EventID) // the vendor's retry must be stored
		return Result{}, err
	}
	w.Metrics.onReceived(source, env.Type)
	// Stored: the event is accepted. Redis only wakes the workers; a
	// failed enqueue is repaired by the sweep.
	w.enqueueLogged(ctx, source, env.EventID)
	return res, nil
}

// seenTTL is how long the intake remembers an event id in Redis: the
// vendor's retries span about 3 hours.
const seenTTL = 7 * 24 * time.Hour

func (w *Webhooks) seenKey(source, eventID string) string {
	return w.Namespace + ":webhooks:seen:" + source + ":" + eventID
}

// firstSeen reports whether an event id is new: a Redis SETNX, so a
// redelivery costs no ClickHouse query. Without Redis (or after a Redis
// flush) ClickHouse decides: a repeated version 1 row has the event's key
// and version, one row after FINAL, and its task finds it processed.
func (w *Webhooks) firstSeen(ctx context.Context, source, eventID string) (bool, error) {
	if w.Redis == nil {
		_, found, err := w.WH.WebhookEventLatest(ctx, source, eventID)
		return !found, err
	}
	ok, err := w.Redis.SetNX(ctx, w.seenKey(source, eventID), 1, seenTTL).Result()
	if err != nil {
		return false, fmt.Errorf("webhooks: %w", err)
	}
	return ok, nil
}

func (w *Webhooks) forget(ctx context.Context, source, eventID string) {
	if w.Redis != nil {
		_ = w.Redis.Del(context.WithoutCancel(ctx), w.seenKey(source, eventID)).Err()
	}
}

func (w *Webhooks) enqueueLogged(ctx context.Context, source, eventID string) {
	if _, err := w.enqueue(ctx, source, eventID); err != nil {
		w.log().Warn("webhooks: enqueue failed; the sweep will enqueue the event from ClickHouse", "source", source,
			"event", eventID, "err", err)
	}
}

// payload is the task payload: which event; the event itself is read
// from ClickHouse, the source of truth.
type payload struct {
	Source  string `json:"source"`
	EventID string `json:"event_id"`
}

// TaskID is the task id of an event: a redelivery, or the sweep, finds
// the task already queued.
func TaskID(source, eventID string) string { return "webhook:" + source + ":" + eventID }

func (w *Webhooks) maxRetry() int {
	if w.MaxRetry > 0 {
		return w.MaxRetry
	}
	return 8
}

// enqueue queues the task of an event; false when it was queued already.
func (w *Webhooks) enqueue(ctx context.Context, source, eventID string) (bool, error) {
	b, err := json.Marshal(payload{Source: source, EventID: eventID})
	if err != nil {
		return false, err
	}
	_, err = w.Queue.EnqueueContext(ctx, asynq.NewTask(TypeEvent, b), asynq.Queue(w.QueueName), asynq.Group(GroupOf(source)),
		asynq.TaskID(TaskID(source, eventID)), asynq.MaxRetry(w.maxRetry()), asynq.Timeout(10*time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("webhooks: enqueue %s: %w", eventID, err)
	}
	return true, nil
}

// Register adds the event and batch task handlers to mux.
func (w *Webhooks) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeEvent, w.ProcessTask)
	mux.HandleFunc(TypeBatch, w.ProcessTask)
}

// ProcessTask handles a TypeEvent or TypeBatch task: per source, events
// already processed are left alone (a redelivery is applied once); the
// others are refreshed together and their processed versions appended in
// one insert. An event whose refresh failed keeps no processed version and
// the task is retried (the events done meanwhile are skipped then).
func (w *Webhooks) ProcessTask(ctx context.Context, t *asynq.Task) error {
	bySource := map[string][]string{}
	var order []string
	for _, line := range bytes.Split(t.Payload(), []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var p payload
		if err := json.Unmarshal(line, &p); err != nil || p.Source == "" || p.EventID == "" {
			w.log().Error("webhooks: task payload line is not an event; dropped", "type", t.Type())
			continue
		}
		if _, ok := bySource[p.Source]; !ok {
			order = append(order, p.Source)
		}
		bySource[p.Source] = append(bySource[p.Source], p.EventID)
	}
	var errs []error
	for _, source := range order {
		if err := w.process(ctx, source, bySource[source]); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// process refreshes the unprocessed events among ids of source. The
// events are claimed first (claims), then read: an event a concurrent task
// processed meanwhile is seen processed, one it still holds is skipped.
func (w *Webhooks) process(ctx context.Context, source string, ids []string) error {
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	claims := w.claims(source)
	claimed, token, err := claims.Take(ctx, ids)
	if err != nil {
		return err
	}
	defer func() {
		if err := claims.Release(context.WithoutCancel(ctx), token, claimed); err != nil {
			w.log().Warn("webhooks: release claims (they expire by themselves)", "err", err)
		}
	}()
	var mine []string
	for _, id := range ids {
		if claimed[id] {
			mine = append(mine, id)
		}
	}
	if len(mine) == 0 {
		return nil
	}
	latest, err := w.WH.WebhookEventsLatest(ctx, source, mine)
	if err != nil {
		return err
	}
	var todo []warehouse.WebhookEvent
	for _, id := range mine {
		ev, ok := latest[id]
		if !ok {
			w.log().Error("webhooks: a queued event is not stored; dropped", "source", source, "event", id)
			continue
		}
		if ev.ProcessedAt == nil {
			todo = append(todo, ev)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	outcomes := make([]string, len(todo))
	errTexts := make([]string, len(todo))
	var refresh []Envelope
	var refreshIdx []int
	for i, ev := range todo {
		env, derr := Decode([]byte(ev.Payload))
		switch {
		case derr != nil:
			outcomes[i], errTexts[i] = OutcomeInvalid, derr.Error()
		case env.Kind == KindUnknown:
			outcomes[i] = OutcomeUnknownType
		case env.MemberID == "":
			outcomes[i], errTexts[i] = OutcomeInvalid, "no membershipId"
		default:
			refresh = append(refresh, env)
			refreshIdx = append(refreshIdx, i)
		}
	}
	var rerr error
	if len(refresh) > 0 {
		if _, err := w.Source(source); err != nil {
			rerr = fmt.Errorf("webhook events of %s: %v: %w", source, err, asynq.SkipRetry)
		} else {
			var got []string
			got, rerr = w.Refresh(ctx, source, refresh)
			for j, i := range refreshIdx {
				if j < len(got) {
					outcomes[i] = got[j]
				}
			}
		}
	}
	now := w.now()
	processed := now.Truncate(time.Second)
	var done []warehouse.WebhookEvent
	for i, ev := range todo {
		if outcomes[i] == "" {
			continue
		}
		ev.Ver, ev.SyncedAt, ev.ProcessedAt, ev.Outcome, ev.Error = uint64(now.UnixNano()), time.Time{}, &processed, outcomes[i], errTexts[i]
		done = append(done, ev)
	}
	if err := w.WH.InsertWebhookEvents(ctx, done...); err != nil {
		return errors.Join(rerr, err)
	}
	for _, ev := range done {
		w.Metrics.onProcessed(source, ev.Outcome, now.Sub(ev.ReceivedAt))
	}
	return rerr
}

// SweepAge is how old an unprocessed event must be before the sweep
// enqueues it again (its first task normally runs well before).
const SweepAge = 30 * time.Second

// sweepBatch bounds the events one sweep enqueues.
const sweepBatch = 10000

// Sweep enqueues every stored event not processed and older than
// SweepAge, from ClickHouse: run it at worker start and periodically
// (at worker start and periodically), so a Redis flush or restart loses no event. Events whose
// task is still known (queued, retrying, or archived after its retries)
// are left as they are. It returns the number enqueued anew.
func (w *Webhooks) Sweep(ctx context.Context) (int, error) {
	evs, err := w.WH.UnprocessedWebhookEvents(ctx, w.now().Add(-SweepAge), sweepBatch)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range evs {
		added, err := w.enqueue(ctx, e.Source, e.EventID)
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	return n, nil
}
