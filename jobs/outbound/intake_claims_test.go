package outbound

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"
)

// TestConcurrentIntakeOfOneWriteTakesTurns: while another intake of the
// same write holds its claim (it is storing it), an intake waits; it then
// answers "duplicate" and stores nothing when the other stored the write,
// stores it when the other gave up, and fails, storing nothing, when its
// own deadline comes first.
func TestConcurrentIntakeOfOneWriteTakesTurns(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		otherStores bool
		release     bool
		wantDup     bool
		wantErr     bool
		wantEvents  int
	}{
		{name: "the other stored it", otherStores: true, release: true, wantDup: true, wantEvents: 1},
		{name: "the other gave up", release: true, wantEvents: 1},
		{name: "the other still holds it", wantErr: true, wantEvents: 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := batchWorld(t, &scripted{})
			ctx := context.Background()
			key := "deal:T-" + string(rune('a'+i))
			p := payload{Source: "acme", WriteID: WriteID("acme", key), Kind: "deal", Key: key, OrderNo: key, Opens: true,
				Body: json.RawMessage(`{}`)}
			other := o.intakeClaims("acme")
			taken, token, err := other.Take(ctx, []string{p.WriteID})
			if err != nil || !taken[p.WriteID] {
				t.Fatalf("Take: %v %v", taken, err)
			}
			type outcome struct {
				res []Result
				err error
			}
			done := make(chan outcome, 1)
			go func() {
				sctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				defer cancel()
				res, err := o.store(sctx, "acme", []Result{{Line: 1, ID: p.WriteID}}, []accepted{{i: 0, p: p}})
				done <- outcome{res, err}
			}()
			select {
			case r := <-done:
				t.Fatalf("the intake did not wait for the other one: %+v %v", r.res, r.err)
			case <-time.After(300 * time.Millisecond):
			}
			if tt.otherStores {
				now := o.now()
				q := p
				q.Seq, q.CreatedAt, q.Ver = o.nextSeq(), now, 1
				if err := o.Store.Append(ctx, q.event(EventAccepted, StatePending, now)); err != nil {
					t.Fatal(err)
				}
			}
			if tt.release {
				if err := other.Release(ctx, token, taken); err != nil {
					t.Fatal(err)
				}
			}
			r := <-done
			switch {
			case tt.wantErr && !errors.Is(r.err, context.DeadlineExceeded):
				t.Errorf("err = %v, want the deadline", r.err)
			case !tt.wantErr && r.err != nil:
				t.Errorf("err = %v", r.err)
			case !tt.wantErr && r.res[0].Duplicate != tt.wantDup:
				t.Errorf("duplicate = %v, want %v", r.res[0].Duplicate, tt.wantDup)
			}
			var n uint64
			if err := o.Store.wh.Conn().QueryRow(ctx, "SELECT count() FROM "+o.Store.wh.Q("outbound_events")+
				" WHERE write_id = ?", p.WriteID).Scan(&n); err != nil {
				t.Fatal(err)
			}
			if int(n) != tt.wantEvents {
				t.Errorf("%d events stored, want %d", n, tt.wantEvents)
			}
		})
	}
}
