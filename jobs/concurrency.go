package jobs

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// capRetry is how soon a task held back by its source's cap is retried.
const capRetry = 2 * time.Second

// errSourceCapped is the cause of the rate-limited error of a task held
// back by its source's max_tasks: waiting for a slot of our own cap is not
// a vendor rate limit, so it is not charged to the task's rate-limit
// budget (retry.go) and never turns into a failure.
var errSourceCapped = errors.New("the source's max_tasks are running")

// SourceCap limits how many sync tasks of one source run at once across
// every worker (sources[].max_tasks; 0 = no cap). A task over the cap is
// handed back to asynq as rate limited: retried after a short delay
// without using up its retries. Running tasks hold a lease in a Redis
// sorted set that expires with the task's deadline, so a crashed worker's
// slot frees itself.
type SourceCap struct {
	Config *config.Config
	Redis  redis.UniversalClient
	Now    func() time.Time
}

// acquire takes a slot: expired leases are dropped first; a task already
// holding one (a retry on the same worker) keeps it.
var acquire = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[3]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  return 1
end
return 0`)

func (c *SourceCap) key(source string) string {
	return c.Config.Redis.Namespace + ":running:" + source
}

func (c *SourceCap) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Middleware is the asynq middleware; install it inside the error
// classification (mux.Use after classifyAndLog), so its RateLimited error
// is retried without counting as a failure.
func (c *SourceCap) Middleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		if t.Type() != TypeSyncStream {
			return next.ProcessTask(ctx, t)
		}
		var p SyncPayload
		if json.Unmarshal(t.Payload(), &p) != nil {
			return next.ProcessTask(ctx, t) // the handler reports it
		}
		src, err := c.Config.Source(p.Source)
		if err != nil || src.MaxTasks <= 0 {
			return next.ProcessTask(ctx, t)
		}
		id, _ := asynq.GetTaskID(ctx)
		if id == "" {
			id = fmt.Sprintf("%s:%s:%s:%d", p.Source, p.Stream, p.RunID, p.Seq)
		}
		now := c.now()
		until := now.Add(taskTimeout + time.Minute)
		if d, ok := ctx.Deadline(); ok {
			until = d.Add(time.Minute)
		}
		ok, err := acquire.Run(ctx, c.Redis, []string{c.key(p.Source)},
			now.UnixMilli(), until.UnixMilli(), id, src.MaxTasks).Int()
		if err != nil {
			return fmt.Errorf("source %s: concurrency cap: %w", p.Source, err)
		}
		if ok == 0 {
			return &connectors.Error{Class: connectors.RateLimited, Source: p.Source,
				Op: "max_tasks " + strconv.Itoa(src.MaxTasks) + " reached", RetryAfter: capRetry, Err: errSourceCapped}
		}
		defer c.Redis.ZRem(context.WithoutCancel(ctx), c.key(p.Source), id)
		return next.ProcessTask(ctx, t)
	})
}
