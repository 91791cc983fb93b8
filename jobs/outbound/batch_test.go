package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// scripted is a connectors.Writer whose answers are set per write id.
type scripted struct {
	mu    sync.Mutex
	fail  map[string]error // write id → the error of every call
	calls map[string]int
}

func (w *scripted) Prepare(string, json.RawMessage, string) (connectors.Prepared, error) {
	return connectors.Prepared{}, errors.New("not used")
}

func (w *scripted) Deliver(_ context.Context, wr connectors.Write) (connectors.Delivery, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls[wr.ID]++
	if err := w.fail[wr.ID]; err != nil {
		return connectors.Delivery{}, err
	}
	return connectors.Delivery{Response: json.RawMessage(`{"code":200}`)}, nil
}

// batchWorld is an Outbound on a fresh database and namespace, with no
// worker: the tests drive the batch handler's parts themselves.
func batchWorld(t *testing.T, w *scripted) (*Outbound, *asynq.Inspector) {
	t.Helper()
	_, wh := warehousetest.ClickHouse(t)
	rCfg, rdb := warehousetest.Redis(t)
	queue := rCfg.Namespace + ":outbound"
	insp := asynq.NewInspectorFromRedisClient(rdb)
	o := &Outbound{Store: NewStore(wh), Queue: asynq.NewClientFromRedisClient(rdb), Inspector: insp, Redis: rdb,
		QueueName: queue, Namespace: rCfg.Namespace, Writers: func(string) (connectors.Writer, error) { return w, nil }}
	t.Cleanup(o.Store.Close)
	t.Cleanup(func() {
		_ = insp.DeleteQueue(queue, true)
		rdb.SRem(context.Background(), "asynq:queues", queue)
	})
	return o, insp
}

// acceptDeals stores n fresh deals (as intake does) and returns their
// payloads.
func acceptDeals(t *testing.T, o *Outbound, n int) []payload {
	t.Helper()
	now := o.now()
	var ps []payload
	var evs []Event
	for i := range n {
		key := fmt.Sprintf("deal:B-%d", i)
		p := payload{Source: "acme", WriteID: WriteID("acme", key), Kind: "deal", Key: key, OrderNo: fmt.Sprintf("B-%d", i),
			Opens: true, Body: json.RawMessage(`{}`), Seq: o.nextSeq(), CreatedAt: now, Ver: 1}
		ps = append(ps, p)
		evs = append(evs, p.event(EventAccepted, StatePending, now))
	}
	if err := o.Store.Append(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	return ps
}

// taskState returns the asynq state of a task, or "" when it is gone.
func taskState(t *testing.T, insp *asynq.Inspector, queue, id string) string {
	t.Helper()
	info, err := insp.GetTaskInfo(queue, id)
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	return info.State.String()
}

// TestResumeLeavesQueuedBatchesAlone: the writes of a batch task that is
// still queued are not enqueued again by Resume; once the batch is gone
// (a Redis flush takes it), Resume enqueues each write alone.
func TestResumeLeavesQueuedBatchesAlone(t *testing.T) {
	t.Parallel()
	o, insp := batchWorld(t, &scripted{})
	ps := acceptDeals(t, o, 5)
	if err := o.enqueueBatch(context.Background(), ps, o.now()); err != nil {
		t.Fatal(err)
	}
	if s := taskState(t, insp, o.QueueName, batchID(ps[0].WriteID)); s != "pending" {
		t.Fatalf("batch task: %q, want pending", s)
	}
	n, err := o.Resume(context.Background())
	if err != nil || n != 0 {
		t.Fatalf("Resume with the batch queued = %d, %v; want 0 (nothing doubled)", n, err)
	}
	if err := insp.DeleteTask(o.QueueName, batchID(ps[0].WriteID)); err != nil {
		t.Fatal(err)
	}
	n, err = o.Resume(context.Background())
	if err != nil || n != 5 {
		t.Fatalf("Resume with the batch gone = %d, %v; want 5", n, err)
	}
	for _, p := range ps {
		if s := taskState(t, insp, o.QueueName, p.WriteID); s != "pending" {
			t.Errorf("write %s: task %q, want pending", p.WriteID, s)
		}
	}
}

// TestBatchHandsOverWhatDidNotEnd: in a batch, the writes the vendor
// acknowledged end succeeded; a write whose attempt failed is recorded
// failed and handed over to a task of its own at its next attempt (the
// write id is the task id); a batch running a second time sends nothing
// and hands every write over. The batch's keys are gone after either.
func TestBatchHandsOverWhatDidNotEnd(t *testing.T) {
	t.Parallel()
	w := &scripted{fail: map[string]error{}, calls: map[string]int{}}
	o, insp := batchWorld(t, w)
	ctx := context.Background()
	ps := acceptDeals(t, o, 4)
	bad := ps[2].WriteID
	w.fail[bad] = &connectors.Error{Class: connectors.Retryable, Op: "POST deal", Message: "vendor busy"}
	if err := o.enqueueBatch(ctx, ps, o.now()); err != nil {
		t.Fatal(err)
	}
	if err := o.processBatch(ctx, ps, false); err != nil {
		t.Fatal(err)
	}
	o.Store.Close() // flush the asynchronous terminal events
	o.Store = NewStore(o.Store.wh)
	t.Cleanup(o.Store.Close)
	for _, p := range ps {
		e, ok, err := o.Store.Latest(ctx, "acme", p.WriteID)
		if err != nil || !ok {
			t.Fatalf("Latest(%s): %v %v", p.WriteID, ok, err)
		}
		want, task := StateSucceeded, ""
		if p.WriteID == bad {
			want, task = StateFailed, "scheduled"
		}
		if e.State != want || w.calls[p.WriteID] != 1 {
			t.Errorf("write %s: %s after %d calls, want %s after 1", p.WriteID, e.State, w.calls[p.WriteID], want)
		}
		if s := taskState(t, insp, o.QueueName, p.WriteID); s != task {
			t.Errorf("write %s: own task %q, want %q", p.WriteID, s, task)
		}
		if n, _ := o.Redis.Exists(ctx, o.batchKey(p.WriteID)).Result(); n != 0 {
			t.Errorf("write %s: batch key left behind", p.WriteID)
		}
	}

	// a batch run after a shutdown requeued it: the write whose marker an
	// earlier run set is not sent again by the batch but handed over
	started := acceptDeals(t, o, 9)[7:] // B-7, B-8
	if err := o.Redis.Set(ctx, o.markerKey(started[0].WriteID, 1), 1, time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	if err := o.processBatch(ctx, started, false); err != nil {
		t.Fatal(err)
	}
	if w.calls[started[0].WriteID] != 0 || w.calls[started[1].WriteID] != 1 {
		t.Errorf("calls: started write %d, other %d; want 0 and 1", w.calls[started[0].WriteID], w.calls[started[1].WriteID])
	}
	if s := taskState(t, insp, o.QueueName, started[0].WriteID); s != "scheduled" {
		t.Errorf("started write: own task %q, want scheduled", s)
	}

	again := acceptDeals(t, o, 7)[4:] // B-4 … B-6, fresh
	if err := o.processBatch(ctx, again, true); err != nil {
		t.Fatal(err)
	}
	for _, p := range again {
		if w.calls[p.WriteID] != 0 {
			t.Errorf("write %s sent %d times by a batch's second run", p.WriteID, w.calls[p.WriteID])
		}
		info, err := insp.GetTaskInfo(o.QueueName, p.WriteID)
		if err != nil {
			t.Fatalf("write %s not handed over: %v", p.WriteID, err)
		}
		var hp payload
		if err := json.Unmarshal(info.Payload, &hp); err != nil || !hp.Retried {
			t.Errorf("write %s handed over as %s (%v), want retried (reads its state first)", p.WriteID, info.Payload, err)
		}
	}
	if got := slices.Sorted(maps.Keys(w.calls)); len(got) != 5 {
		t.Errorf("writes sent: %v, want the first batch's 4 and B-8", got)
	}
}
