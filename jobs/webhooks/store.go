package webhooks

import (
	"context"
	"sync"
	"time"

	"github.com/loyaltybridge/loyaltybridge/jobs/claim"
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

// claims mark the events of a source being processed by a task, so two
// tasks holding one event (a redelivery enqueued it again after its first
// task was aggregated, or the sweep met a slow batch) never refresh it
// twice: the second skips it, and finds it processed when it runs again.
func (w *Webhooks) claims(source string) claim.Claims {
	return claim.Claims{Redis: w.Redis, Prefix: w.Namespace + ":webhooks:claim:" + source + ":", TTL: claimTTL}
}
