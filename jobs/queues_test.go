package jobs_test

import (
	"maps"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs"
)

func TestQueuePriorities(t *testing.T) {
	t.Parallel()
	want := map[string]int{"ns:outbound": 6, "ns:webhooks": 5, "ns:sync": 3, "ns:backfill": 1}
	if got := jobs.Queues("ns"); !maps.Equal(got, want) {
		t.Errorf("Queues = %v, want %v", got, want)
	}
	names := jobs.QueueNames("ns")
	for i := 1; i < len(names); i++ {
		if jobs.Queues("ns")[names[i-1]] <= jobs.Queues("ns")[names[i]] {
			t.Errorf("QueueNames %v is not in priority order", names)
		}
	}
	tests := []struct {
		mode connectors.Mode
		want string
	}{
		{connectors.Incremental, "ns:sync"},
		{connectors.Full, "ns:backfill"},
	}
	for _, tt := range tests {
		if got := jobs.RunQueue("ns", tt.mode); got != tt.want {
			t.Errorf("RunQueue(%s) = %s, want %s", tt.mode, got, tt.want)
		}
	}
}
