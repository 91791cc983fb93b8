// Package outbound delivers outbound writes (orders, refunds, cancels,
// push devices, points changes) to vendors exactly once as the vendor sees
// it, in order per order, surviving the loss of Redis.
//
// ClickHouse is the source of truth: intake appends an "accepted" event to
// outbound_events (and, through a materialized view, outbound_writes)
// before it answers; every later transition is another event with the
// next ver. Redis (asynq, queue "<namespace>:outbound") only wakes
// workers: the write id is the task id (first attempts of the writes of
// one request that wait for nothing travel in one batch task, batch.go),
// and Resume re-enqueues every write
// that is not terminal from ClickHouse. A Redis marker per write and
// transition tells a first delivery attempt from a repeated one (a retry,
// a task requeued at shutdown, one resumed after Redis was lost): a
// repeated attempt may follow an unrecorded one that reached the vendor, so
// it reconciles (connectors.Writer.Deliver with MaybeApplied) instead of
// blindly resending. docs/outbound.md describes the rules.
package outbound

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// TypeWrite is the asynq task type of one outbound write. It is a wire
// format: never rename it.
const TypeWrite = "outbound:write"

// Defaults of the Outbound tunables.
const (
	DefaultMaxAttempts = 10
)

// WriterFunc returns the writer of a configured source; an unknown source,
// or one whose vendor takes no writes, is an error.
type WriterFunc func(source string) (connectors.Writer, error)

// Outbound is the intake and the delivery of outbound writes. It is safe
// for concurrent use.
type Outbound struct {
	Store     *Store
	Queue     *asynq.Client
	Inspector *asynq.Inspector      // optional: wakes writes waiting for a predecessor
	Redis     redis.UniversalClient // start markers (see ProcessTask)
	// QueueName is the asynq queue: "<namespace>:outbound".
	QueueName string
	// Namespace prefixes the Redis keys of this deployment.
	Namespace string
	Writers   WriterFunc
	Log       *slog.Logger
	Now       func() time.Time // default time.Now
	// MaxAttempts is the number of vendor calls before a write ends dead;
	// default DefaultMaxAttempts.
	MaxAttempts int

	inflight sync.Map // write id → struct{}: being delivered by this process

	waitMu  sync.Mutex
	waiters map[string][]string // write id → writes waiting for it

	seqMu   sync.Mutex
	lastSeq uint64
}

func (o *Outbound) now() time.Time {
	if o.Now != nil {
		return o.Now().UTC()
	}
	return time.Now().UTC()
}

func (o *Outbound) maxAttempts() uint32 {
	if o.MaxAttempts > 0 {
		return uint32(o.MaxAttempts)
	}
	return DefaultMaxAttempts
}

func (o *Outbound) log() *slog.Logger {
	if o.Log != nil {
		return o.Log
	}
	return slog.Default()
}

// nextSeq is the intake order: nanoseconds since the epoch, strictly
// increasing within the process.
func (o *Outbound) nextSeq() uint64 {
	o.seqMu.Lock()
	defer o.seqMu.Unlock()
	s := uint64(time.Now().UnixNano())
	if s <= o.lastSeq {
		s = o.lastSeq + 1
	}
	o.lastSeq = s
	return s
}

// WriteID is the id of the write of a source with an idempotency key:
// "ow_" and 24 hex digits of the SHA-256 of source and key. The same key
// always names the same write.
func WriteID(source, key string) string {
	s := sha256.Sum256([]byte(source + "\x00" + key))
	return "ow_" + hex.EncodeToString(s[:12])
}

// payload is the task payload: the write as stored, plus its dynamic
// state as of the enqueue. It carries no secrets.
type payload struct {
	Source       string          `json:"source"`
	WriteID      string          `json:"write_id"`
	Kind         string          `json:"kind"`
	Key          string          `json:"key"`
	OrderNo      string          `json:"order_no,omitempty"`
	Seq          uint64          `json:"seq"`
	Opens        bool            `json:"opens,omitempty"`
	Ordered      bool            `json:"ordered,omitempty"` // check the order's earlier writes first
	Body         json.RawMessage `json:"body"`
	CreatedAt    time.Time       `json:"created_at"`
	Ver          uint64          `json:"ver"`
	Attempts     uint32          `json:"attempts"`
	MaybeApplied bool            `json:"maybe_applied,omitempty"`
	// Resumed tasks come from ClickHouse after Redis lost the queue: their
	// state is read again, and as Redis lost the start markers too, an
	// unrecorded earlier attempt cannot be ruled out (MaybeApplied).
	Resumed bool `json:"resumed,omitempty"`
	// Replayed tasks come from push replay: their state is read again.
	Replayed bool `json:"replayed,omitempty"`
	// Retried tasks were handed over by a batch (batch.go) after an attempt
	// that did not end the write: their state is read again.
	Retried bool `json:"retried,omitempty"`

	// next is when a failed attempt scheduled the next one (not stored).
	next time.Time
}

func (p *payload) event(ev, state string, now time.Time) Event {
	var ma uint8
	if p.MaybeApplied {
		ma = 1
	}
	return Event{Source: p.Source, SyncedAt: now, WriteID: p.WriteID, Ver: p.Ver, Event: ev, Kind: p.Kind, Key: p.Key,
		OrderNo: p.OrderNo, Seq: p.Seq, State: state, Attempts: p.Attempts, MaybeApplied: ma, NextAt: now,
		Request: string(p.Body), CreatedAt: p.CreatedAt, UpdatedAt: now}
}

// fromEvent rebuilds a payload from a write's latest event.
func fromEvent(e Event, ordered bool) payload {
	return payload{Source: e.Source, WriteID: e.WriteID, Kind: e.Kind, Key: e.Key, OrderNo: e.OrderNo, Seq: e.Seq,
		Ordered: ordered, Opens: e.Kind == openingKind, Body: json.RawMessage(e.Request), CreatedAt: e.CreatedAt, Ver: e.Ver,
		Attempts: e.Attempts, MaybeApplied: e.MaybeApplied == 1}
}

// taskMaxRetry: outbound tasks count their vendor attempts themselves
// (MaxAttempts); asynq's retry counter also counts waits for a
// predecessor, so its bound is only a backstop.
const taskMaxRetry = 10000

// enqueue queues the task of a write; it reports false when the task
// was already queued (a no-op).
func (o *Outbound) enqueue(ctx context.Context, p payload, at time.Time) (bool, error) {
	b, err := json.Marshal(p)
	if err != nil {
		return false, err
	}
	opts := []asynq.Option{asynq.Queue(o.QueueName), asynq.TaskID(p.WriteID), asynq.MaxRetry(taskMaxRetry),
		asynq.Timeout(10 * time.Minute)}
	if at.After(o.now()) {
		opts = append(opts, asynq.ProcessAt(at))
	}
	_, err = o.Queue.EnqueueContext(ctx, asynq.NewTask(TypeWrite, b), opts...)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("outbound: enqueue %s: %w", p.WriteID, err)
	}
	return true, nil
}

// Register adds the outbound task handler to mux.
func (o *Outbound) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(TypeWrite, o.ProcessTask)
	mux.HandleFunc(TypeBatch, o.ProcessBatch)
}

// Resume re-enqueues every write that is not terminal, from ClickHouse:
// run it at worker start and periodically, so a Redis flush
// or restart loses nothing. Writes already queued are left as they are:
// alone, the write id is the task id; in a batch, the batch task still
// exists (batch.go). It returns the number of writes enqueued anew.
func (o *Outbound) Resume(ctx context.Context) (int, error) {
	open, err := o.Store.Open(ctx)
	if err != nil {
		return 0, err
	}
	ids := make([]string, len(open))
	for i, e := range open {
		ids[i] = e.WriteID
	}
	batched, err := o.queuedInBatch(ctx, ids)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range open {
		if batched[e.WriteID] {
			continue
		}
		p := fromEvent(e, e.OrderNo != "")
		p.Resumed = true
		added, err := o.enqueue(ctx, p, e.NextAt)
		if err != nil {
			return n, err
		}
		if added {
			n++
		}
	}
	return n, nil
}
