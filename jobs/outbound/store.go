package outbound

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// States of outbound_writes.state (CONTRACT.md).
const (
	StatePending   = "pending"   // accepted, waiting for its turn, or being sent
	StateSucceeded = "succeeded" // the vendor acknowledged it (or reconciliation found it applied)
	StateFailed    = "failed"    // the last attempt failed; another is scheduled
	StateDead      = "dead"      // a permanent error, a dead predecessor, or retries exhausted
)

// Events of outbound_events.event: what each transition was.
const (
	EventAccepted  = "accepted"  // stored by intake (ver 1)
	EventSucceeded = "succeeded" // acknowledged
	EventFailed    = "failed"    // an attempt failed; retry scheduled
	EventDead      = "dead"      // ended without delivery
	EventReplayed  = "replayed"  // push replay: dead → pending, same idempotency key
)

// Terminal reports whether a state is final for the worker (a dead write
// is final until replayed).
func Terminal(state string) bool { return state == StateSucceeded || state == StateDead }

// Event is one transition of one write: a row of outbound_events and,
// through the materialized view, of outbound_writes. Each row is a full
// snapshot of the write.
type Event struct {
	Source       string    `ch:"source"`
	SyncedAt     time.Time `ch:"synced_at"`
	WriteID      string    `ch:"write_id"`
	Ver          uint64    `ch:"ver"` // transition number, 1 = accepted
	Event        string    `ch:"event"`
	Kind         string    `ch:"kind"`
	Key          string    `ch:"idempotency_key"`
	OrderNo      string    `ch:"order_no"`
	Seq          uint64    `ch:"seq"` // intake order
	State        string    `ch:"state"`
	Attempts     uint32    `ch:"attempts"`
	MaybeApplied uint8     `ch:"maybe_applied"`
	NextAt       time.Time `ch:"next_at"`
	LastError    string    `ch:"last_error"`
	Request      string    `ch:"request"`
	Response     string    `ch:"response"`
	CreatedAt    time.Time `ch:"created_at"`
	UpdatedAt    time.Time `ch:"updated_at"`
}

const eventColumns = "source, synced_at, write_id, ver, event, kind, idempotency_key, order_no, seq, state, attempts, " +
	"maybe_applied, next_at, last_error, request, response, created_at, updated_at"

// Store is the durable log of outbound writes in ClickHouse. Appends from
// concurrent callers are grouped into one INSERT (group commit,
// warehouse.Committer): Append returns once its rows are stored. Events
// nobody waits for (AppendAsync) have a committer of their own that
// lingers for larger groups, so intake never waits behind them. It is
// safe for concurrent use; call Close to stop it.
type Store struct {
	wh      *warehouse.Warehouse
	sync    *warehouse.Committer[Event]
	async   *warehouse.Committer[Event]
	lookups chan lookupReq

	closeOnce sync.Once
	done      chan struct{}
	// lookupStopped is closed when the look-up grouper (lookup.go) ended.
	lookupStopped chan struct{}
}

// maxGroup bounds the rows of one grouped INSERT.
const maxGroup = 5000

// asyncLinger is how long the events nobody waits for gather before
// their INSERT.
const asyncLinger = 200 * time.Millisecond

// storeTimeout bounds one grouped INSERT.
const storeTimeout = 30 * time.Second

// lookupTimeout bounds one grouped intake look-up.
const lookupTimeout = 30 * time.Second

// NewStore starts the store's committers and its look-up grouper.
func NewStore(wh *warehouse.Warehouse) *Store {
	s := &Store{wh: wh, lookups: make(chan lookupReq, 1024), done: make(chan struct{}), lookupStopped: make(chan struct{})}
	s.sync = warehouse.NewCommitter(maxGroup, 0, storeTimeout, s.insert)
	s.async = warehouse.NewCommitter(maxGroup, asyncLinger, storeTimeout, s.insert)
	go s.lookuper()
	return s
}

// Close stops the store after the appends already queued.
func (s *Store) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.sync.Close()
		s.async.Close()
		<-s.lookupStopped
	})
}

// ErrClosed is returned by Append after Close.
var ErrClosed = warehouse.ErrCommitterClosed

// Append stores events durably (one grouped INSERT with the concurrent
// appends) and returns when they are stored or failed.
func (s *Store) Append(ctx context.Context, evs ...Event) error {
	return s.sync.Add(ctx, evs...)
}

// AppendAsync queues events for a grouped INSERT without waiting; then
// (which may be nil) gets the outcome once the INSERT returned, on the
// committer's goroutine (it must not block). Use it only for events
// whose loss is repaired by reconciliation (terminal outcomes: a write
// whose outcome was lost is resumed and found applied).
func (s *Store) AppendAsync(then func(error), evs ...Event) {
	s.async.AddAsync(then, evs...)
}

func (s *Store) insert(ctx context.Context, evs []Event) error {
	b, err := s.wh.Conn().PrepareBatch(ctx, "INSERT INTO "+s.wh.Q("outbound_events")+" ("+eventColumns+")")
	if err != nil {
		return fmt.Errorf("outbound: store: %w", err)
	}
	for i := range evs {
		if err := b.AppendStruct(&evs[i]); err != nil {
			_ = b.Abort()
			return fmt.Errorf("outbound: store write %s: %w", evs[i].WriteID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("outbound: store: %w", err)
	}
	return nil
}

// latest is a query over the newest event of each write matching where
// (LIMIT 1 BY: one row per write, its highest ver); outer filters and
// orders the result.
func (s *Store) latest(where, outer string) string {
	return "SELECT " + eventColumns + " FROM (SELECT " + eventColumns + " FROM " + s.wh.Q("outbound_events") +
		" WHERE " + where + " ORDER BY ver DESC LIMIT 1 BY source, write_id) " + outer
}

func (s *Store) selectEvents(ctx context.Context, q string, args ...any) ([]Event, error) {
	var out []Event
	if err := s.wh.Conn().Select(ctx, &out, q, args...); err != nil {
		return nil, fmt.Errorf("outbound: read: %w", err)
	}
	return out, nil
}

// Latest returns the current state of one write.
func (s *Store) Latest(ctx context.Context, source, writeID string) (Event, bool, error) {
	evs, err := s.Latests(ctx, source, []string{writeID})
	if err != nil || len(evs) == 0 {
		return Event{}, false, err
	}
	return evs[writeID], true, nil
}

// Latests returns the current state of the given writes of a source, by id.
func (s *Store) Latests(ctx context.Context, source string, ids []string) (map[string]Event, error) {
	out := map[string]Event{}
	if len(ids) == 0 {
		return out, nil
	}
	evs, err := s.selectEvents(ctx, s.latest("source = ? AND write_id IN ?", ""), source, groupSet(ids))
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		out[e.WriteID] = e
	}
	return out, nil
}

// Find returns the current state of a write by id, whatever its source.
func (s *Store) Find(ctx context.Context, writeID string) (Event, bool, error) {
	evs, err := s.selectEvents(ctx, s.latest("write_id = ?", ""), writeID)
	if err != nil || len(evs) == 0 {
		return Event{}, false, err
	}
	return evs[0], true, nil
}

// List returns writes in a state ("" = all), oldest first, at most limit.
func (s *Store) List(ctx context.Context, state string, limit int) ([]Event, error) {
	outer, args := "", []any{}
	if state != "" {
		outer, args = "WHERE state = ? ", append(args, state)
	}
	return s.selectEvents(ctx, s.latest("1", outer+fmt.Sprintf("ORDER BY seq LIMIT %d", max(limit, 1))), args...)
}

// Open returns every write that is not terminal, in intake order: what a
// worker re-enqueues after Redis lost its queue.
func (s *Store) Open(ctx context.Context) ([]Event, error) {
	return s.selectEvents(ctx, s.latest("1", "WHERE state IN ('pending', 'failed') ORDER BY seq"))
}

// Stored returns which of the write ids of a source are stored. It reads
// the key columns only: intake asks it for every request.
func (s *Store) Stored(ctx context.Context, source string, ids []string) (map[string]bool, error) {
	return s.present(ctx, "SELECT DISTINCT write_id FROM "+s.wh.Q("outbound_events")+
		" WHERE source = ? AND write_id IN ?", source, ids)
}

// OrdersWithWrites returns which of the orderNos of a source already have
// a write.
func (s *Store) OrdersWithWrites(ctx context.Context, source string, orderNos []string) (map[string]bool, error) {
	return s.present(ctx, "SELECT DISTINCT order_no FROM "+s.wh.Q("outbound_orders")+
		" WHERE source = ? AND order_no IN ?", source, orderNos)
}

// present runs q (one String column, filtered by source and a key set)
// and returns the keys it found.
func (s *Store) present(ctx context.Context, q, source string, keys []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(keys) == 0 {
		return out, nil
	}
	rows, err := s.wh.Conn().Query(ctx, q, source, groupSet(keys))
	if err != nil {
		return nil, fmt.Errorf("outbound: look up: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, err
		}
		out[k] = true
	}
	return out, rows.Err()
}

// Predecessors returns the current state of the writes of an order
// accepted before seq, in intake order.
func (s *Store) Predecessors(ctx context.Context, source, orderNo string, seq uint64) ([]Event, error) {
	return s.selectEvents(ctx, s.latest("source = ? AND write_id IN (SELECT write_id FROM "+s.wh.Q("outbound_orders")+
		" WHERE source = ? AND order_no = ? AND seq < ?)", "ORDER BY seq"), source, source, orderNo, seq)
}

func groupSet(ss []string) clickhouse.GroupSet {
	v := make([]any, len(ss))
	for i, s := range ss {
		v[i] = s
	}
	return clickhouse.GroupSet{Value: v}
}
