package warehouse

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Committer groups the rows that concurrent callers append into one write
// (group commit). ClickHouse pays a fixed cost per INSERT (a part per
// table, with a file per column), so many small inserts cost far more than
// one large one, and small parts keep the merges busy. While one group is
// written, the rows arriving meanwhile queue up and form the next group.
//
// A Committer without linger writes as soon as a group is ready: for
// callers that wait for their rows (Add). With linger, a group waits up to
// that long for more rows (or until MaxRows): for rows nobody waits for
// (AddAsync). Both bound a group at MaxRows.
type Committer[T any] struct {
	write   func(ctx context.Context, rows []T) error
	maxRows int
	linger  time.Duration
	timeout time.Duration

	reqs    chan commitReq[T]
	stop    chan struct{}
	stopped chan struct{}
	// mu orders adds before Close: after closed is set nothing is sent to
	// reqs, so the loop's last drain sees every queued add.
	mu     sync.RWMutex
	closed bool
}

type commitReq[T any] struct {
	rows []T
	done chan error // nil: nobody waits
	// then receives the outcome of an asynchronous add.
	then func(error)
}

// ErrCommitterClosed is returned by an add after Close.
var ErrCommitterClosed = errors.New("warehouse: group commit closed")

// NewCommitter starts a committer that writes groups of at most maxRows
// rows with write, each within timeout, lingering up to linger for a
// group to fill. Call Close to stop it.
func NewCommitter[T any](maxRows int, linger, timeout time.Duration, write func(ctx context.Context, rows []T) error) *Committer[T] {
	c := &Committer[T]{write: write, maxRows: max(maxRows, 1), linger: linger, timeout: timeout,
		reqs: make(chan commitReq[T], 1024), stop: make(chan struct{}), stopped: make(chan struct{})}
	go c.loop()
	return c
}

// Add appends rows to the next group and returns once that group is
// written (nil) or failed.
func (c *Committer[T]) Add(ctx context.Context, rows ...T) error {
	r := commitReq[T]{rows: rows, done: make(chan error, 1)}
	if err := c.send(ctx, r); err != nil {
		return err
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// AddAsync appends rows to the next group without waiting; then (which
// may be nil) is called with the outcome once the group is written (nil)
// or failed, on the committer's goroutine: it must not block.
func (c *Committer[T]) AddAsync(then func(error), rows ...T) {
	if err := c.send(context.Background(), commitReq[T]{rows: rows, then: then}); err != nil && then != nil {
		then(err)
	}
}

func (c *Committer[T]) send(ctx context.Context, r commitReq[T]) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return ErrCommitterClosed
	}
	select {
	case c.reqs <- r:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes the rows already queued, then stops the committer.
func (c *Committer[T]) Close() {
	c.mu.Lock()
	if !c.closed {
		c.closed = true
		close(c.stop)
	}
	c.mu.Unlock()
	<-c.stopped
}

func (c *Committer[T]) loop() {
	defer close(c.stopped)
	for {
		var first commitReq[T]
		select {
		case first = <-c.reqs:
		case <-c.stop:
			c.flushQueued()
			return
		}
		group, n := []commitReq[T]{first}, len(first.rows)
		var deadline <-chan time.Time
		var timer *time.Timer
		if c.linger > 0 {
			timer = time.NewTimer(c.linger)
			deadline = timer.C
		}
	fill:
		for n < c.maxRows {
			if deadline == nil {
				select {
				case r := <-c.reqs:
					group, n = append(group, r), n+len(r.rows)
				default:
					break fill
				}
				continue
			}
			select {
			case r := <-c.reqs:
				group, n = append(group, r), n+len(r.rows)
			case <-deadline:
				break fill
			case <-c.stop:
				break fill
			}
		}
		if timer != nil {
			timer.Stop()
		}
		c.flush(group)
	}
}

// flushQueued writes the adds still queued at Close, in groups of at
// most maxRows rows like any other.
func (c *Committer[T]) flushQueued() {
	var group []commitReq[T]
	n := 0
	for {
		select {
		case r := <-c.reqs:
			if group, n = append(group, r), n+len(r.rows); n < c.maxRows {
				continue
			}
			c.flush(group)
			group, n = nil, 0
		default:
			if len(group) > 0 {
				c.flush(group)
			}
			return
		}
	}
}

func (c *Committer[T]) flush(group []commitReq[T]) {
	var rows []T
	for _, r := range group {
		rows = append(rows, r.rows...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	err := c.write(ctx, rows)
	cancel()
	for _, r := range group {
		switch {
		case r.done != nil:
			r.done <- err
		case r.then != nil:
			r.then(err)
		}
	}
}
