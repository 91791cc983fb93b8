package outbound

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
)

// Batches: the fresh writes of one intake request that wait for nothing
// (no earlier write of their order) travel to the worker as one task of
// up to MaxBatch writes, whose writes are delivered side by side. A task
// per write would cost three Redis round trips of asynq's (enqueue,
// dequeue, done) per write, and asynq dequeues one task at a time per
// worker: on a busy worker that, not the vendor, bounds the rate. A
// batch pays them once, and sets the start markers of all its writes in
// one pipelined round trip.
//
// A batch only carries first attempts, and sends only the writes whose
// start marker it set first. Whatever does not end a write (a marker set
// by an earlier run, a failed attempt, an error before sending, the
// worker stopping) hands that write over to a task of its own (id = write
// id, as every write task), scheduled at the write's next attempt; from
// then on the write is retried, reconciled and resumed exactly as a write
// enqueued alone. A
// batch that runs a second time (its worker died, or a hand-over could not
// be enqueued) delivers nothing itself: it hands every write over, and
// each reads its state from ClickHouse first.
//
// Resume must not add a second task for a write still waiting in its
// batch: before enqueueing a batch, intake records the batch of each of
// its writes in Redis (<namespace>:outbound:batch-of:<write id>); Resume
// skips a write whose batch task still exists. The batch deletes those
// keys when it ends. After a Redis flush the keys and the batch are gone
// together, and Resume enqueues the write alone.

// TypeBatch is the asynq task type of a batch of first attempts. It is a
// wire format: never rename it.
const TypeBatch = "outbound:batch"

// MaxBatch bounds the writes of one batch task; batchParallel bounds the
// vendor calls of one batch in flight at once (the vendor's rate limit
// applies on top, per source).
const (
	MaxBatch      = 100
	batchParallel = 16
)

type batchPayload struct {
	Writes []payload `json:"writes"`
}

// batchID names the batch whose first write is first: a write is in one
// batch only, so the same batch enqueued twice is a no-op.
func batchID(first string) string { return "batch_" + first }

func (o *Outbound) batchKey(writeID string) string {
	return o.Namespace + ":outbound:batch-of:" + writeID
}

// enqueueBatch queues writes (fresh, unordered) as one batch task; one
// write is queued alone.
func (o *Outbound) enqueueBatch(ctx context.Context, ps []payload, now time.Time) error {
	if len(ps) == 1 || o.Redis == nil {
		for _, p := range ps {
			if _, err := o.enqueue(ctx, p, now); err != nil {
				return err
			}
		}
		return nil
	}
	id := batchID(ps[0].WriteID)
	b, err := json.Marshal(batchPayload{Writes: ps})
	if err != nil {
		return err
	}
	// the keys first: a key without its batch only makes Resume enqueue
	// the write alone; a batch without its keys would be doubled by Resume
	pipe := o.Redis.Pipeline()
	for _, p := range ps {
		pipe.Set(ctx, o.batchKey(p.WriteID), id, markerTTL)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("outbound: record batch %s: %w", id, err)
	}
	_, err = o.Queue.EnqueueContext(ctx, asynq.NewTask(TypeBatch, b), asynq.Queue(o.QueueName), asynq.TaskID(id),
		asynq.MaxRetry(taskMaxRetry), asynq.Timeout(10*time.Minute))
	if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) && !errors.Is(err, asynq.ErrDuplicateTask) {
		return fmt.Errorf("outbound: enqueue batch %s: %w", id, err)
	}
	return nil
}

// ProcessBatch delivers the first attempts of a batch (asynq handler of
// TypeBatch); see the comment at the top of this file.
func (o *Outbound) ProcessBatch(ctx context.Context, t *asynq.Task) error {
	var bp batchPayload
	if err := json.Unmarshal(t.Payload(), &bp); err != nil {
		return fmt.Errorf("outbound: bad batch payload: %v: %w", err, asynq.SkipRetry)
	}
	n, _ := asynq.GetRetryCount(ctx)
	return o.processBatch(ctx, bp.Writes, n > 0)
}

// processBatch delivers the writes of a batch side by side and hands over
// what did not end; a batch run again (again) only hands over.
func (o *Outbound) processBatch(ctx context.Context, ws []payload, again bool) error {
	// hand-overs are enqueued even when the worker is stopping
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	ended := make([]bool, len(ws))
	if again {
		return o.handOver(hctx, ws, ended)
	}
	marks := o.markAll(ctx, ws)
	sem := make(chan struct{}, batchParallel)
	var wg sync.WaitGroup
	for i := range ws {
		if marks[i].err != nil || !marks[i].first {
			// another run started this write (this batch's run before a
			// shutdown requeued it, or the write's own task): its own
			// task reads what that run recorded and goes on from there
			continue
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := o.deliver(ctx, &ws[i], true, &marks[i]); err != nil {
				o.log().Debug("outbound: batch write handed over", "write", ws[i].WriteID, "err", err)
				return
			}
			ended[i] = true
		}()
	}
	wg.Wait()
	return o.handOver(hctx, ws, ended)
}

// markAll sets the start markers of the writes' current transitions in
// one pipelined round trip.
func (o *Outbound) markAll(ctx context.Context, ws []payload) []marked {
	out := make([]marked, len(ws))
	if o.Redis == nil {
		for i := range out {
			out[i].first = true
		}
		return out
	}
	pipe := o.Redis.Pipeline()
	cmds := make([]interface{ Result() (bool, error) }, len(ws))
	for i, p := range ws {
		cmds[i] = pipe.SetNX(ctx, o.markerKey(p.WriteID, p.Ver), 1, markerTTL)
	}
	_, _ = pipe.Exec(ctx) // each command carries its own error
	for i, c := range cmds {
		out[i].first, out[i].err = c.Result()
	}
	return out
}

// handOver enqueues every write of a batch that did not end as a task of
// its own, at its next attempt, then forgets the batch's keys. An error
// makes asynq run the batch again, which hands over every write.
func (o *Outbound) handOver(ctx context.Context, ws []payload, ended []bool) error {
	now := o.now()
	var errs []error
	for i, p := range ws {
		if ended[i] {
			continue
		}
		at := p.next
		if at.IsZero() {
			// not attempted (a marker or ClickHouse error, the worker
			// stopping): soon, spread out
			at = now.Add(time.Second + rand.N(time.Second))
		}
		p.Retried, p.next = true, time.Time{}
		if _, err := o.enqueue(ctx, p, at); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("outbound: hand over batch writes: %w", err)
	}
	if o.Redis != nil {
		pipe := o.Redis.Pipeline()
		for _, p := range ws {
			pipe.Del(ctx, o.batchKey(p.WriteID))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			// the keys expire; until then Resume finds the batch gone
			o.log().Warn("outbound: forget batch keys", "err", err)
		}
	}
	return nil
}

// queuedInBatch returns which of the writes still wait in a batch task.
func (o *Outbound) queuedInBatch(ctx context.Context, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	if o.Redis == nil || o.Inspector == nil || len(ids) == 0 {
		return out, nil
	}
	batchOf := map[string]string{}
	for chunk := range slices.Chunk(ids, 1000) {
		keys := make([]string, len(chunk))
		for i, id := range chunk {
			keys[i] = o.batchKey(id)
		}
		vals, err := o.Redis.MGet(ctx, keys...).Result()
		if err != nil {
			return nil, err
		}
		for i, v := range vals {
			if s, ok := v.(string); ok {
				batchOf[chunk[i]] = s
			}
		}
	}
	alive := map[string]bool{}
	for id, b := range batchOf {
		live, seen := alive[b]
		if !seen {
			_, err := o.Inspector.GetTaskInfo(o.QueueName, b)
			switch {
			case err == nil:
				live = true
			case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
			default:
				return nil, err
			}
			alive[b] = live
		}
		if live {
			out[id] = true
		}
	}
	return out, nil
}
