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

// maxGroup bounds the events of one grouped INSERT.
const maxGroup = 1000

// intake is the group commit of received events, started by the first
// store.
type intake struct {
	once sync.Once
	c    *warehouse.Committer[warehouse.WebhookEvent]
}

// store inserts a received event and returns once it is stored: the
// concurrent intakes' events go in one INSERT (group commit), so a burst
// of pushes costs a few ClickHouse parts, not one per event.
func (w *Webhooks) store(ctx context.Context, ev warehouse.WebhookEvent) error {
	w.in.once.Do(func() {
		w.in.c = warehouse.NewCommitter(maxGroup, 0, 30*time.Second, func(ctx context.Context, evs []warehouse.WebhookEvent) error {
			return w.WH.InsertWebhookEvents(ctx, evs...)
		})
	})
	return w.in.c.Add(ctx, ev)
}

// Close stops the intake's group commit after the inserts already queued.
func (w *Webhooks) Close() {
	w.in.once.Do(func() {}) // never started: nothing to stop
	if w.in.c != nil {
		w.in.c.Close()
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
