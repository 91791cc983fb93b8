package jobs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
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

// unlockScript deletes the lock only if this holder still owns it.
var unlockScript = redis.NewScript(`if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`)

// lockStream takes the lock of (source, stream) and returns its release.
func (e *Engine) lockStream(ctx context.Context, source, stream string) (func(), error) {
	key := fmt.Sprintf("%s:lock:run:%s:%s", e.cfg.Redis.Namespace, source, stream)
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	deadline := time.Now().Add(lockWait)
	for {
		ok, err := e.rdb.SetNX(ctx, key, token, lockTTL).Result()
		if err != nil {
			return nil, fmt.Errorf("lock %s/%s: %w", source, stream, err)
		}
		if ok {
			return func() {
				ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				if err := unlockScript.Run(ctx, e.rdb, []string{key}, token).Err(); err != nil && !errors.Is(err, redis.Nil) {
					e.log.Warn("unlock stream", "source", source, "stream", stream, "err", err)
				}
			}, nil
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("lock %s/%s: still held by another start after %s", source, stream, lockWait)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(lockPoll):
		}
	}
}
