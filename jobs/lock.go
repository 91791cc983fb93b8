package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/loyaltybridge/loyaltybridge/jobs/claim"
)

// A stream lock serialises the read-then-write steps on the state of one
// (source, stream) that do not run inside its task: starting a run,
// releasing or failing a waiting run, failing a run whose task was
// archived. Tasks of one run follow each other and need no lock.
const (
	lockTTL  = 30 * time.Second // a crashed holder frees the lock after this
	lockWait = 60 * time.Second // longest wait for a busy lock
	lockPoll = 25 * time.Millisecond
)

// lockStream takes the lock of (source, stream) (a claim, jobs/claim) and
// returns its release.
func (e *Engine) lockStream(ctx context.Context, source, stream string) (func(), error) {
	c := claim.Claims{Redis: e.rdb, Prefix: e.cfg.Redis.Namespace + ":lock:run:", TTL: lockTTL}
	id := source + ":" + stream
	wctx, cancel := context.WithTimeout(ctx, lockWait)
	defer cancel()
	token, err := c.TakeAll(wctx, []string{id}, lockPoll)
	switch {
	case err != nil && ctx.Err() == nil && wctx.Err() != nil:
		return nil, fmt.Errorf("lock %s/%s: still held by another start after %s", source, stream, lockWait)
	case err != nil:
		return nil, fmt.Errorf("lock %s/%s: %w", source, stream, err)
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if err := c.Release(ctx, token, map[string]bool{id: true}); err != nil {
			e.log.Warn("unlock stream", "source", source, "stream", stream, "err", err)
		}
	}, nil
}
