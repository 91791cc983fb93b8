package outbound

import (
	"context"
	"fmt"
)

// Replay re-delivers dead writes: each goes back to pending (a "replayed"
// event, attempts reset, same idempotency key and id) and is enqueued.
// Writes of one order are replayed in intake order, so a successor waits
// for its replayed predecessor. It returns the ids replayed; a write that
// is not dead is an error naming it.
func (o *Outbound) Replay(ctx context.Context, ids []string) ([]string, error) {
	var evs []Event
	for _, id := range ids {
		e, ok, err := o.Store.Find(ctx, id)
		if err != nil {
			return nil, err
		}
		if !ok {
			return nil, fmt.Errorf("outbound write %s: not found", id)
		}
		if e.State != StateDead {
			return nil, fmt.Errorf("outbound write %s is %s: only dead writes are replayed", id, e.State)
		}
		evs = append(evs, e)
	}
	return o.replay(ctx, evs)
}

// ReplayAllDead replays every dead write, in intake order.
func (o *Outbound) ReplayAllDead(ctx context.Context) ([]string, error) {
	dead, err := o.Store.List(ctx, StateDead, 1_000_000)
	if err != nil {
		return nil, err
	}
	return o.replay(ctx, dead)
}

func (o *Outbound) replay(ctx context.Context, dead []Event) ([]string, error) {
	if len(dead) == 0 {
		return nil, nil
	}
	now := o.now()
	var evs []Event
	var ps []payload
	for _, e := range dead {
		p := fromEvent(e, e.OrderNo != "")
		p.Replayed = true
		p.Ver++
		p.Attempts = 0
		ev := p.event(EventReplayed, StatePending, now)
		ev.LastError = "replayed; was dead: " + e.LastError
		evs = append(evs, ev)
		ps = append(ps, p)
	}
	if err := o.Store.Append(ctx, evs...); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		if _, err := o.enqueue(ctx, p, now); err != nil {
			return ids, err
		}
		ids = append(ids, p.WriteID)
	}
	return ids, nil
}
