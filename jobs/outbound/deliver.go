package outbound

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// errRetry is returned to asynq to run the task again later. It is
// deliberately not a *connectors.Error: the queue's policy (jobs/retry.go)
// retries it with capped exponential backoff and jitter, counting it; the
// write's own attempt budget (MaxAttempts) decides when it is dead.
type errRetry struct {
	msg     string
	waiting bool // for an earlier write of its order: expected, not a failure
}

func (e *errRetry) Error() string { return e.msg }

// Is makes a wait for an earlier write match ErrWaiting.
func (e *errRetry) Is(target error) bool { return target == ErrWaiting && e.waiting }

// ErrWaiting matches the error of a write that waits for an earlier write
// of its order (it is retried; the worker logs it quietly).
var ErrWaiting = errors.New("outbound: waiting for an earlier write of its order")

func retryLater(format string, args ...any) error {
	return &errRetry{msg: fmt.Sprintf(format, args...)}
}

// markerTTL bounds how long the start marker of a write stays in Redis.
const markerTTL = 24 * time.Hour

// ProcessTask delivers one write (asynq handler of TypeWrite).
//
// A first attempt (fresh from intake) sends at once. Any other run (an
// asynq retry, a task requeued when a worker stopped mid-call, a task
// resumed from ClickHouse, a replay) reads the write's latest state first,
// so ver and attempts are current and a write that already ended is left
// alone. Whether an earlier attempt may have reached the vendor without a
// recorded outcome is told by a Redis marker per write and transition
// (SETNX before sending): if the marker of the latest recorded transition
// is already set, some run started after it and its outcome was not
// recorded, so this attempt reconciles. Resumed tasks always reconcile:
// Redis lost the markers with the queue.
func (o *Outbound) ProcessTask(ctx context.Context, t *asynq.Task) error {
	var p payload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("outbound: bad task payload: %v: %w", err, asynq.SkipRetry)
	}
	fresh := !p.Resumed && !p.Replayed && !p.Retried
	if n, ok := asynq.GetRetryCount(ctx); ok && n > 0 {
		fresh = false
	}
	return o.deliver(ctx, &p, fresh, nil)
}

// marked is the answer of a start marker: whether this run is the first
// to start after the write's latest recorded transition.
type marked struct {
	first bool
	err   error
}

// deliver runs one attempt of a write (ProcessTask, ProcessBatch). fresh:
// the write comes straight from intake, so its state is the payload's. pre,
// when not nil, is its start marker already set (a batch sets them all in
// one round trip); otherwise deliver sets it.
func (o *Outbound) deliver(ctx context.Context, p *payload, fresh bool, pre *marked) error {
	if _, busy := o.inflight.LoadOrStore(p.WriteID, struct{}{}); busy {
		return retryLater("outbound %s: already being delivered by this worker", p.WriteID)
	}
	defer o.inflight.Delete(p.WriteID)

	if !fresh {
		latest, ok, err := o.Store.Latest(ctx, p.Source, p.WriteID)
		if err != nil {
			return retryLater("outbound %s: %v", p.WriteID, err)
		}
		if !ok {
			return retryLater("outbound %s: not found in ClickHouse yet", p.WriteID)
		}
		if Terminal(latest.State) {
			return nil
		}
		resumed := p.Resumed
		*p = fromEvent(latest, p.Ordered || latest.OrderNo != "")
		p.Resumed = resumed
	}
	w, werr := o.Writers(p.Source)
	// A fresh write of a kind reconciled by the vendor's answer sets its
	// start marker while its request is in flight (one Redis round trip
	// off the path of every write): the marker's answer is only needed to
	// read a failure, see below. Any other run sets it before sending.
	overlap := false
	if ar, ok := w.(connectors.AnswerReconciler); ok && werr == nil && fresh && !p.Ordered && pre == nil {
		overlap = ar.ReconcilesByAnswer(p.Kind)
	}
	var markDone chan marked
	switch {
	case overlap:
		markDone = make(chan marked, 1)
		go func() {
			first, err := o.mark(ctx, p.WriteID, p.Ver)
			markDone <- marked{first, err}
		}()
	default:
		m := pre
		if m == nil {
			first, err := o.mark(ctx, p.WriteID, p.Ver)
			m = &marked{first, err}
		}
		if m.err != nil {
			return retryLater("outbound %s: start marker: %v", p.WriteID, m.err)
		}
		if !m.first || p.Resumed {
			p.MaybeApplied = true
		}
	}

	if p.Ordered {
		if done, err := o.checkPredecessors(ctx, p); done || err != nil {
			return err
		}
	}
	if werr != nil {
		return o.finish(ctx, p, EventDead, StateDead, werr.Error(), "", false)
	}
	p.Attempts++
	res, derr := w.Deliver(ctx, connectors.Write{ID: p.WriteID, Kind: p.Kind, Body: p.Body, MaybeApplied: p.MaybeApplied})
	// maybeEarlier: the marker says another run started after the write's
	// last recorded transition (or cannot tell), so this call may have
	// followed an attempt that reached the vendor: a failure (e.g. "order
	// exists") is then not final; the next attempt reconciles.
	maybeEarlier := false
	if overlap {
		m := <-markDone
		maybeEarlier = m.err != nil || !m.first
	}
	// Record the outcome even when the worker is stopping.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if derr == nil {
		note := ""
		if res.Reconciled {
			note = "reconciled: an earlier attempt was applied"
		}
		return o.finish(rctx, p, EventSucceeded, StateSucceeded, note, string(res.Response), true)
	}
	unknown := errors.Is(derr, connectors.ErrOutcomeUnknown) || maybeEarlier
	if unknown {
		p.MaybeApplied = true
	}
	class := connectors.ClassOf(derr)
	if !unknown && class == connectors.Permanent {
		return o.finish(rctx, p, EventDead, StateDead, derr.Error(), "", true)
	}
	if p.Attempts >= o.maxAttempts() {
		return o.finish(rctx, p, EventDead, StateDead, fmt.Sprintf("retries exhausted after %d attempts: %v", p.Attempts, derr), "", true)
	}
	next := o.now().Add(time.Second << min(p.Attempts, 9))
	if d, ok := connectors.RetryAfter(derr); ok {
		next = o.now().Add(d)
	}
	// Recorded before the retry can run, so it reads this state back.
	p.Ver++
	ev := p.event(EventFailed, StateFailed, o.now())
	ev.LastError, ev.NextAt = derr.Error(), next
	p.next = next
	if err := o.Store.Append(rctx, ev); err != nil {
		o.log().Warn("outbound: record failure", "write", p.WriteID, "err", err)
	}
	if class == connectors.RateLimited && !unknown {
		return derr // the queue waits for Retry-After without counting a failure
	}
	return retryLater("outbound %s %s attempt %d: %v", p.Kind, p.WriteID, p.Attempts, derr)
}

// mark sets the start marker of a write's transition ver; it reports
// whether this run is the first to start after that transition.
func (o *Outbound) mark(ctx context.Context, id string, ver uint64) (bool, error) {
	if o.Redis == nil {
		return true, nil
	}
	return o.Redis.SetNX(ctx, o.markerKey(id, ver), 1, markerTTL).Result()
}

func (o *Outbound) markerKey(id string, ver uint64) string {
	return fmt.Sprintf("%s:outbound:started:%s:%d", o.Namespace, id, ver)
}

// finish records a terminal transition and wakes the writes waiting for
// this one once it is recorded. With async the record is queued, not
// awaited: a lost terminal record leaves the write open, and its next run
// reconciles and finds it applied (or dead again).
func (o *Outbound) finish(ctx context.Context, p *payload, ev, state, lastErr, response string, async bool) error {
	p.Ver++
	e := p.event(ev, state, o.now())
	e.LastError, e.Response = lastErr, response
	if async {
		id := p.WriteID
		o.Store.AppendAsync(func(err error) {
			if err != nil {
				o.log().Warn("outbound: record outcome (the write will be resumed and reconciled)", "write", id, "state", state, "err", err)
			}
			// the waiters read the outcome from ClickHouse: wake them once it is there
			o.wake(id)
		}, e)
		return nil
	}
	if err := o.Store.Append(ctx, e); err != nil {
		// not recorded: run again; the next run reads the state back
		return retryLater("outbound %s: record %s: %v", p.WriteID, state, err)
	}
	o.wake(p.WriteID)
	return nil
}

// openingKind is the kind that creates an order (Prepared.Opens): a deal.
const openingKind = "deal"

// checkPredecessors holds a write back until the earlier writes of its
// order are delivered. done is true when the write was settled here (dead
// because a predecessor is); a non-nil error asks the queue to try later.
func (o *Outbound) checkPredecessors(ctx context.Context, p *payload) (done bool, err error) {
	preds, err := o.Store.Predecessors(ctx, p.Source, p.OrderNo, p.Seq)
	if err != nil {
		return false, retryLater("outbound %s: read predecessors: %v", p.WriteID, err)
	}
	// The order's chain restarts at its latest earlier deal: writes before
	// it (e.g. of an order deleted and created again) no longer matter.
	for i := len(preds) - 1; i > 0; i-- {
		if preds[i].Kind == openingKind {
			preds = preds[i:]
			break
		}
	}
	for _, pr := range preds {
		switch {
		case pr.WriteID == p.WriteID:
			// the write itself, accepted twice (intake claims lost with
			// Redis): it never waits for itself
			continue
		case pr.State == StateSucceeded:
			continue
		case pr.State == StateDead && p.Opens:
			// a deal opens the order anew: an earlier write that died
			// (e.g. a cancel sent before its deal) does not fail it
			continue
		case pr.State == StateDead:
			reason := fmt.Sprintf("predecessor %s (%s of order %s) is dead: %s", pr.WriteID, pr.Kind, p.OrderNo, pr.LastError)
			return true, o.finish(ctx, p, EventDead, StateDead, reason, "", false)
		default:
			o.addWaiter(pr.WriteID, p.WriteID)
			return false, &errRetry{msg: fmt.Sprintf("outbound %s: waiting for %s (%s of order %s, %s)", p.WriteID, pr.WriteID, pr.Kind, p.OrderNo, pr.State),
				waiting: true}
		}
	}
	return false, nil
}

func (o *Outbound) addWaiter(pred, id string) {
	o.waitMu.Lock()
	defer o.waitMu.Unlock()
	if o.waiters == nil {
		o.waiters = map[string][]string{}
	}
	o.waiters[pred] = append(o.waiters[pred], id)
}

// wake runs the tasks waiting for id now instead of at their retry time
// (best effort: a waiter not yet in the retry set keeps its schedule).
func (o *Outbound) wake(id string) {
	o.waitMu.Lock()
	ws := o.waiters[id]
	delete(o.waiters, id)
	o.waitMu.Unlock()
	if o.Inspector == nil || len(ws) == 0 {
		return
	}
	go func() {
		for _, w := range ws {
			// a waiter may still be finishing its previous run (active):
			// try for about a second
			for i := 0; i < 20 && o.Inspector.RunTask(o.QueueName, w) != nil; i++ {
				time.Sleep(50 * time.Millisecond)
			}
		}
	}()
}
