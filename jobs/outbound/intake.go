package outbound

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs/claim"
)

// Line is one JSON line of an intake request.
type Line struct {
	N    int    // 1-based line number, for errors
	Body []byte // the vendor's request body, optionally with "idempotencyKey"
}

// Result is the intake outcome of one line: the write id, or why the line
// was rejected (nothing is stored for a rejected line).
type Result struct {
	Line int    `json:"line"`
	ID   string `json:"id,omitempty"`
	// Duplicate: the idempotency key was already taken; ID is the first
	// write's id and nothing new was stored.
	Duplicate bool   `json:"duplicate,omitempty"`
	Field     string `json:"field,omitempty"`
	Error     string `json:"error,omitempty"`
}

// RequestError rejects a whole intake request (unknown source or kind).
type RequestError struct{ Msg string }

func (e *RequestError) Error() string { return e.Msg }

// IdempotencyKeyField is the optional line field that carries the caller's
// idempotency key; it is removed before the body is stored and sent.
const IdempotencyKeyField = "idempotencyKey"

// Accept validates the lines of one intake request of kind for source,
// stores the valid ones (durably, before returning) and enqueues them. A
// line whose idempotency key was seen before (in this request or earlier)
// gets the first write's id and stores nothing. An error means nothing of
// this request was acknowledged (lines already stored by an earlier try
// are found again by their keys).
func (o *Outbound) Accept(ctx context.Context, source, kind string, lines []Line) ([]Result, error) {
	results, todo, err := o.validate(source, kind, lines)
	if err != nil || len(todo) == 0 {
		return results, err
	}
	return o.store(ctx, source, results, todo)
}

// accepted is a valid line of an intake request: its index among the
// lines and its write.
type accepted struct {
	i int
	p payload
}

// validate checks every line of an intake request, without storing
// anything: the results of the rejected lines, and the valid writes (the
// first of each idempotency key) with their ids set in results.
func (o *Outbound) validate(source, kind string, lines []Line) ([]Result, []accepted, error) {
	w, err := o.Writers(source)
	if err != nil {
		return nil, nil, &RequestError{Msg: err.Error()}
	}
	if _, err := w.Prepare(kind, json.RawMessage(`{}`), ""); err != nil {
		var fe *connectors.FieldError
		if errors.As(err, &fe) && fe.Field == "kind" {
			return nil, nil, &RequestError{Msg: fe.Cause}
		}
	}
	results := make([]Result, len(lines))
	var todo []accepted
	byID := map[string]int{} // write id → index in todo
	for i, l := range lines {
		results[i].Line = l.N
		err := CheckLine(l.Body)
		var (
			body json.RawMessage
			key  string
			prep connectors.Prepared
		)
		if err == nil {
			body, key, err = splitKey(l.Body)
		}
		if err == nil {
			prep, err = w.Prepare(kind, body, key)
		}
		if err != nil {
			var fe *connectors.FieldError
			if errors.As(err, &fe) {
				results[i].Field, results[i].Error = fe.Field, fe.Cause
			} else {
				results[i].Error = err.Error()
			}
			continue
		}
		id := WriteID(source, prep.Key)
		results[i].ID = id
		if _, dup := byID[id]; dup {
			results[i].Duplicate = true
			continue
		}
		byID[id] = len(todo)
		todo = append(todo, accepted{i: i, p: payload{Source: source, WriteID: id, Kind: kind, Key: prep.Key,
			OrderNo: prep.OrderNo, Opens: prep.Opens, Ordered: prep.OrderNo != "" && !prep.Opens, Body: prep.Body}})
	}
	return results, todo, nil
}

// store stores the valid writes of an intake request that are new (by
// write id), durably, then enqueues them.
func (o *Outbound) store(ctx context.Context, source string, results []Result, todo []accepted) ([]Result, error) {
	ids := make([]string, 0, len(todo))
	var opening []string
	for _, a := range todo {
		ids = append(ids, a.p.WriteID)
		if a.p.Opens {
			opening = append(opening, a.p.OrderNo)
		}
	}
	// Two intakes of one write at once (a caller's retry while its first
	// request is still storing, two callers, two serve replicas) take
	// turns: the second looks up after the first stored, or failed to.
	// Redis only helps here: when it cannot be reached, intake stores
	// without claims (the writes are still durable and resumed later).
	claims := o.intakeClaims(source)
	token, err := claims.TakeAll(ctx, ids, 20*time.Millisecond)
	switch {
	case err == nil:
		defer func() {
			if err := claims.Release(context.WithoutCancel(ctx), token, setOf(ids)); err != nil {
				o.log().Warn("outbound: release intake claims (they expire by themselves)", "err", err)
			}
		}()
	case ctx.Err() != nil:
		return nil, err
	default:
		o.log().Warn("outbound: intake claims unavailable; storing without them", "err", err)
	}
	existing, withWrites, err := o.Store.Lookup(ctx, source, ids, opening)
	if err != nil {
		return nil, err
	}
	now := o.now()
	var evs []Event
	var fresh []payload
	seenOrder := map[string]bool{}
	for _, a := range todo {
		if _, ok := existing[a.p.WriteID]; ok {
			results[a.i].Duplicate = true
			continue
		}
		p := a.p
		if p.OrderNo != "" {
			// an opening write waits for the order's earlier writes, if any
			p.Ordered = p.Ordered || withWrites[p.OrderNo] || seenOrder[p.OrderNo]
			seenOrder[p.OrderNo] = true
		}
		p.Seq, p.CreatedAt, p.Ver = o.nextSeq(), now, 1
		evs = append(evs, p.event(EventAccepted, StatePending, now))
		fresh = append(fresh, p)
	}
	if len(evs) == 0 {
		return results, nil
	}
	if err := o.Store.Append(ctx, evs...); err != nil {
		return nil, err
	}
	// Stored: the writes are accepted. Redis only wakes the workers; a
	// failed enqueue is repaired by Resume.
	o.enqueueAll(ctx, fresh, now)
	return results, nil
}

// intakeClaimTTL bounds how long an intake that died while storing holds
// its writes' ids against another intake of them.
const intakeClaimTTL = time.Minute

func (o *Outbound) intakeClaims(source string) claim.Claims {
	return claim.Claims{Redis: o.Redis, Prefix: o.Namespace + ":outbound:intake:" + source + ":", TTL: intakeClaimTTL}
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// enqueueParallel bounds the concurrent enqueues of one intake request.
const enqueueParallel = 8

// enqueueAll enqueues accepted writes: those that wait for an earlier
// write of their order one task each, the others in batches of MaxBatch
// (batch.go), a few at a time. A failure is only logged: the writes are
// stored, and Resume enqueues them.
func (o *Outbound) enqueueAll(ctx context.Context, ps []payload, now time.Time) {
	var units [][]payload
	var free []payload
	for _, p := range ps {
		if p.Ordered {
			units = append(units, []payload{p})
			continue
		}
		if free = append(free, p); len(free) == MaxBatch {
			units, free = append(units, free), nil
		}
	}
	if len(free) > 0 {
		units = append(units, free)
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, enqueueParallel)
	for _, u := range units {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := o.enqueueBatch(ctx, u, now); err != nil {
				o.log().Warn("outbound: enqueue failed; the writes will be resumed from ClickHouse", "write", u[0].WriteID, "writes", len(u), "err", err)
			}
		}()
	}
	wg.Wait()
}

// splitKey removes "idempotencyKey" from a line and returns it.
func splitKey(line []byte) (json.RawMessage, string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(line, &m); err != nil || m == nil {
		return nil, "", &connectors.FieldError{Cause: "not a JSON object: " + jsonProblem(line, err)}
	}
	raw, ok := m[IdempotencyKeyField]
	if !ok {
		return line, "", nil
	}
	var key string
	if err := json.Unmarshal(raw, &key); err != nil || key == "" {
		return nil, "", &connectors.FieldError{Field: IdempotencyKeyField, Cause: "must be a non-empty string"}
	}
	if len(key) > 200 {
		return nil, "", &connectors.FieldError{Field: IdempotencyKeyField, Cause: "longer than 200 bytes"}
	}
	delete(m, IdempotencyKeyField)
	b, err := json.Marshal(m)
	if err != nil {
		return nil, "", err
	}
	return b, key, nil
}

func jsonProblem(line []byte, err error) string {
	if err == nil {
		return "null or not an object"
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Sprintf("invalid JSON at byte %d", se.Offset)
	}
	return "invalid JSON"
}
