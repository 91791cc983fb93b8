// Package claim holds short-lived Redis claims on ids, so that two tasks
// or two intakes working on the same id at the same moment, in one
// process or in several, take turns: pushed events (jobs/webhooks) and
// the intake of outbound writes (jobs/outbound) use it.
package claim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Claims are the claims under one key prefix. A claim expires after TTL,
// so a process that died holding one blocks nobody for longer. With a nil
// Redis every claim is granted (single-process tests).
type Claims struct {
	Redis  redis.UniversalClient
	Prefix string // e.g. "<namespace>:outbound:intake:"
	TTL    time.Duration
}

// Take claims the ids it can (SETNX, one pipelined round trip) and returns
// them with the token that releases them.
func (c Claims) Take(ctx context.Context, ids []string) (map[string]bool, string, error) {
	if c.Redis == nil {
		out := make(map[string]bool, len(ids))
		for _, id := range ids {
			out[id] = true
		}
		return out, "", nil
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	token := hex.EncodeToString(b[:])
	out, err := c.takeWith(ctx, token, ids)
	if err != nil {
		return nil, "", err
	}
	return out, token, nil
}

// TakeAll claims every id, waiting (polling every poll) for the ids others
// hold until they release them or their claims expire; it gives up when
// ctx ends, releasing what it took.
func (c Claims) TakeAll(ctx context.Context, ids []string, poll time.Duration) (string, error) {
	taken, token, err := c.Take(ctx, ids)
	if err != nil {
		return "", err
	}
	var rest []string
	for _, id := range ids {
		if !taken[id] {
			rest = append(rest, id)
		}
	}
	for len(rest) > 0 {
		select {
		case <-ctx.Done():
			c.Release(context.WithoutCancel(ctx), token, taken)
			return "", fmt.Errorf("claim: %d ids held by another caller: %w", len(rest), ctx.Err())
		case <-time.After(poll):
		}
		more, err := c.takeWith(ctx, token, rest)
		if err != nil {
			c.Release(context.WithoutCancel(ctx), token, taken)
			return "", err
		}
		var left []string
		for _, id := range rest {
			if more[id] {
				taken[id] = true
			} else {
				left = append(left, id)
			}
		}
		rest = left
	}
	return token, nil
}

// takeWith claims ids under an existing token.
func (c Claims) takeWith(ctx context.Context, token string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	pipe := c.Redis.Pipeline()
	cmds := make([]*redis.BoolCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.SetNX(ctx, c.Prefix+id, token, c.TTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	for i, id := range ids {
		if cmds[i].Val() {
			out[id] = true
		}
	}
	return out, nil
}

// releaseScript deletes a claim only while it holds the token.
const releaseScript = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end return 0`

// Release gives up the claims of token on ids (one pipelined round trip).
// A failure leaves them to expire.
func (c Claims) Release(ctx context.Context, token string, ids map[string]bool) error {
	if c.Redis == nil || token == "" || len(ids) == 0 {
		return nil
	}
	pipe := c.Redis.Pipeline()
	for id := range ids {
		pipe.Eval(ctx, releaseScript, []string{c.Prefix + id}, token)
	}
	_, err := pipe.Exec(ctx)
	if errors.Is(err, redis.Nil) {
		return nil
	}
	return err
}
