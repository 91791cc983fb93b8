package jobs

import "github.com/loyaltybridge/loyaltybridge/connectors"

// Queue priorities (asynq weights): outbound writes before pushed events
// before incremental syncs before backfills. A worker serves every queue of Queues.
const (
	PriorityOutbound = 6
	PriorityWebhook  = 5
	PrioritySync     = 3
	PriorityBackfill = 1
)

// OutboundQueue is the queue of outbound writes of a deployment (Redis
// namespace).
func OutboundQueue(namespace string) string { return namespace + ":outbound" }

// WebhookQueue is the queue of pushed vendor events (webhooks) of a
// deployment: one small refresh per event, ahead of sync runs.
func WebhookQueue(namespace string) string { return namespace + ":webhooks" }

// SyncQueue is the queue of incremental sync runs.
func SyncQueue(namespace string) string { return namespace + ":sync" }

// BackfillQueue is the queue of full (backfill) sync runs.
func BackfillQueue(namespace string) string { return namespace + ":backfill" }

// Queues returns every queue of a deployment with its priority: the one
// place a worker's and status's queue list comes from.
func Queues(namespace string) map[string]int {
	return map[string]int{
		OutboundQueue(namespace): PriorityOutbound,
		WebhookQueue(namespace):  PriorityWebhook,
		SyncQueue(namespace):     PrioritySync,
		BackfillQueue(namespace): PriorityBackfill,
	}
}

// QueueNames returns the queues of Queues, highest priority first.
func QueueNames(namespace string) []string {
	return []string{OutboundQueue(namespace), WebhookQueue(namespace), SyncQueue(namespace), BackfillQueue(namespace)}
}

// RunQueue is the queue of the tasks of a run of mode: full runs are
// backfills.
func RunQueue(namespace string, mode connectors.Mode) string {
	if mode == connectors.Full {
		return BackfillQueue(namespace)
	}
	return SyncQueue(namespace)
}
