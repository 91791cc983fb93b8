package warehouse

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a Committer's write function that keeps the groups it got,
// holding each write for hold and failing while fail is set.
type recorder struct {
	mu     sync.Mutex
	groups [][]int
	hold   time.Duration
	fail   atomic.Bool
}

func (r *recorder) write(_ context.Context, rows []int) error {
	time.Sleep(r.hold)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.groups = append(r.groups, append([]int(nil), rows...))
	if r.fail.Load() {
		return errors.New("insert failed")
	}
	return nil
}

func (r *recorder) rows() (groups, rows int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.groups {
		rows += len(g)
	}
	return len(r.groups), rows
}

func TestCommitterGroupsConcurrentAdds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		maxRows   int
		maxGroups int // at most this many writes for 100 adds of 1 row
		minGroups int
	}{
		// while one write runs (20 ms), the other adds queue up
		{"grouped", 1000, 20, 1},
		// a group never exceeds maxRows
		{"bounded", 10, 100, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{hold: 20 * time.Millisecond}
			c := NewCommitter(tt.maxRows, 0, time.Second, r.write)
			defer c.Close()
			var wg sync.WaitGroup
			for i := range 100 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := c.Add(context.Background(), i); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			groups, rows := r.rows()
			if rows != 100 || groups > tt.maxGroups || groups < tt.minGroups {
				t.Errorf("%d rows in %d writes, want 100 rows in %d–%d writes", rows, groups, tt.minGroups, tt.maxGroups)
			}
			r.mu.Lock()
			for _, g := range r.groups {
				if len(g) > tt.maxRows {
					t.Errorf("a write of %d rows, max %d", len(g), tt.maxRows)
				}
			}
			r.mu.Unlock()
		})
	}
}

// TestCommitterErrorsReachEveryCaller: a failed write fails every Add of
// its group and passes its error to every AddAsync in it.
func TestCommitterErrorsReachEveryCaller(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	r.fail.Store(true)
	c := NewCommitter(100, 50*time.Millisecond, time.Second, r.write)
	defer c.Close()
	var asyncErrs atomic.Int32
	for range 3 {
		c.AddAsync(func(err error) {
			if err != nil {
				asyncErrs.Add(1)
			}
		}, 1)
	}
	if err := c.Add(context.Background(), 2); err == nil {
		t.Fatal("Add of a failed group: nil error")
	}
	if n := asyncErrs.Load(); n != 3 {
		t.Errorf("%d AddAsync outcomes with the error, want 3", n)
	}
}

// TestCommitterLingers: with linger, rows added apart land in one write;
// Close writes what is queued and later adds fail.
func TestCommitterLingers(t *testing.T) {
	t.Parallel()
	r := &recorder{}
	c := NewCommitter(1000, 300*time.Millisecond, time.Second, r.write)
	var written atomic.Int32
	for i := range 10 {
		c.AddAsync(func(err error) {
			if err == nil {
				written.Add(1)
			}
		}, i)
		time.Sleep(5 * time.Millisecond)
	}
	c.Close()
	if n := written.Load(); n != 10 {
		t.Errorf("%d AddAsync outcomes without error, want 10", n)
	}
	if groups, rows := r.rows(); groups != 1 || rows != 10 {
		t.Errorf("%d rows in %d writes, want 10 in 1", rows, groups)
	}
	if err := c.Add(context.Background(), 1); !errors.Is(err, ErrCommitterClosed) {
		t.Errorf("Add after Close: %v, want ErrCommitterClosed", err)
	}
	closed := false
	c.AddAsync(func(err error) { closed = errors.Is(err, ErrCommitterClosed) }, 1)
	if !closed {
		t.Error("AddAsync after Close: outcome is not ErrCommitterClosed")
	}
}

// TestCommitterCloseGroupsWhatIsQueued: the adds still queued when Close
// comes (they arrived during a write) are written in one group, not one
// write each. Repeated: the loop meets the queue and the stop at once and
// may take either first.
func TestCommitterCloseGroupsWhatIsQueued(t *testing.T) {
	t.Parallel()
	for range 10 {
		r := &recorder{hold: 20 * time.Millisecond}
		c := NewCommitter(1000, 0, time.Second, r.write)
		c.AddAsync(nil, 0)
		time.Sleep(5 * time.Millisecond) // the first write is under way
		for i := range 20 {
			c.AddAsync(nil, i+1)
		}
		c.Close()
		// 2: the first add, then the 20 queued (1 if the first was still
		// queued when the others came)
		if groups, rows := r.rows(); groups > 2 || rows != 21 {
			t.Fatalf("%d rows in %d writes, want 21 in at most 2", rows, groups)
		}
	}
}
