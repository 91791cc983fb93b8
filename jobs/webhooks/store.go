package webhooks

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// storeReq is one intake's insert, grouped with the concurrent ones.
type storeReq struct {
	ev   warehouse.WebhookEvent
	done chan error
}

// maxGroup bounds the events of one grouped INSERT.
const maxGroup = 1000

// intake is the group-commit state of the intake (store.go).
type intake struct {
	once    sync.Once
	reqs    chan storeReq
	stop    chan struct{}
	stopped chan struct{}
}

// store inserts a received event and returns once it is stored: the
// concurrent intakes' events go in one INSERT (group commit), so a burst
// of pushes costs a few ClickHouse parts, not one per event.
func (w *Webhooks) store(ctx context.Context, ev warehouse.WebhookEvent) error {
	w.in.once.Do(func() {
		w.in.reqs, w.in.stop, w.in.stopped = make(chan storeReq, 1024), make(chan struct{}), make(chan struct{})
		go w.flusher()
	})
	r := storeReq{ev: ev, done: make(chan error, 1)}
	select {
	case w.in.reqs <- r:
	case <-w.in.stop:
		return errClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

type closedError struct{}

func (closedError) Error() string { return "webhooks: intake closed" }

var errClosed error = closedError{}

// Close stops the intake's flusher after the inserts already queued.
func (w *Webhooks) Close() {
	w.in.once.Do(func() {}) // never started: nothing to stop
	if w.in.stop == nil {
		return
	}
	select {
	case <-w.in.stop:
	default:
		close(w.in.stop)
	}
	<-w.in.stopped
}

func (w *Webhooks) flusher() {
	defer close(w.in.stopped)
	for {
		var first storeReq
		select {
		case first = <-w.in.reqs:
		case <-w.in.stop:
			for {
				select {
				case r := <-w.in.reqs:
					w.flush([]storeReq{r})
				default:
					return
				}
			}
		}
		group := []storeReq{first}
	drain:
		for len(group) < maxGroup {
			select {
			case r := <-w.in.reqs:
				group = append(group, r)
			default:
				break drain
			}
		}
		w.flush(group)
	}
}

func (w *Webhooks) flush(group []storeReq) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	evs := make([]warehouse.WebhookEvent, len(group))
	for i, r := range group {
		evs[i] = r.ev
	}
	err := w.WH.InsertWebhookEvents(ctx, evs...)
	for _, r := range group {
		r.done <- err
	}
}

// claimTTL bounds how long a crashed worker's claim on an event holds it
// (the sweep re-enqueues the event afterwards).
const claimTTL = 10 * time.Minute

func (w *Webhooks) claimKey(source, eventID string) string {
	return w.Namespace + ":webhooks:claim:" + source + ":" + eventID
}

// claim marks events as being processed by this task (Redis SETNX), so two
// tasks holding one event (a redelivery enqueued it again after its first
// task was aggregated, or the sweep met a slow batch) never refresh it
// twice: the second skips it; it finds the event processed when it runs
// again. It returns the claimed ids and the token to release them with.
func (w *Webhooks) claim(ctx context.Context, source string, ids []string) (map[string]bool, string, error) {
	out := make(map[string]bool, len(ids))
	if w.Redis == nil {
		for _, id := range ids {
			out[id] = true
		}
		return out, "", nil
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	pipe := w.Redis.Pipeline()
	cmds := make([]*redis.BoolCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.SetNX(ctx, w.claimKey(source, id), token, claimTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, "", err
	}
	for i, id := range ids {
		if cmds[i].Val() {
			out[id] = true
		}
	}
	return out, token, nil
}

// releaseScript deletes a claim only when it holds the token.
var releaseScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

func (w *Webhooks) release(ctx context.Context, source, token string, ids map[string]bool) {
	if w.Redis == nil || token == "" {
		return
	}
	ctx = context.WithoutCancel(ctx)
	for id := range ids {
		if err := releaseScript.Run(ctx, w.Redis, []string{w.claimKey(source, id)}, token).Err(); err != nil && err != redis.Nil {
			w.log().Warn("webhooks: release a claim (it expires by itself)", "event", id, "err", err)
		}
	}
}
