package outbound

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestStoreLookupGrouped: concurrent intake look-ups of several sources,
// answered by grouped queries, each get exactly their own answer.
func TestStoreLookupGrouped(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	s := NewStore(wh)
	t.Cleanup(s.Close)
	ctx := context.Background()
	now := time.Now().UTC()
	stored := []Event{
		{Source: "a", WriteID: "w1", OrderNo: "O1", Ver: 1, Event: EventAccepted, Kind: "deal", State: StatePending, Seq: 1},
		{Source: "a", WriteID: "w2", OrderNo: "O2", Ver: 1, Event: EventAccepted, Kind: "refund", State: StatePending, Seq: 2},
		{Source: "b", WriteID: "w3", OrderNo: "O1", Ver: 1, Event: EventAccepted, Kind: "deal", State: StatePending, Seq: 3},
	}
	for i := range stored {
		stored[i].SyncedAt, stored[i].NextAt, stored[i].CreatedAt, stored[i].UpdatedAt = now, now, now, now
	}
	if err := s.Append(ctx, stored...); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source      string
		ids, orders []string
		wantIDs     []string
		wantOrders  []string
	}{
		{"a", []string{"w1", "x"}, []string{"O1"}, []string{"w1"}, []string{"O1"}},
		{"a", []string{"w3"}, []string{"O3"}, nil, nil}, // w3 is of source b
		{"b", []string{"w3", "w1"}, []string{"O1", "O2"}, []string{"w3"}, []string{"O1"}},
		{"a", []string{"w2"}, nil, []string{"w2"}, nil},
		{"c", []string{"w1"}, []string{"O1"}, nil, nil},
	}
	var wg sync.WaitGroup
	for round := range 20 {
		for i, tt := range tests {
			wg.Add(1)
			go func() {
				defer wg.Done()
				existing, withWrites, err := s.Lookup(ctx, tt.source, tt.ids, tt.orders)
				if err != nil {
					t.Errorf("round %d case %d: %v", round, i, err)
					return
				}
				got := fmt.Sprint(sortedKeys(existing), sortedKeys(withWrites))
				want := fmt.Sprint(sortedKeys(setOf(tt.wantIDs)), sortedKeys(setOf(tt.wantOrders)))
				if got != want {
					t.Errorf("round %d case %d (%s %v %v): got %s, want %s", round, i, tt.source, tt.ids, tt.orders, got, want)
				}
			}()
		}
	}
	wg.Wait()
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range maps.Keys(m) {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}
