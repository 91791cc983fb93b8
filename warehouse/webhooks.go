package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// WebhookEvent is one version of a row of webhook_events (migration 0006):
// a pushed vendor event as received (Ver 1, ProcessedAt nil) or as
// processed (a later Ver, ProcessedAt and Outcome set).
type WebhookEvent struct {
	Source      string     `ch:"source"`
	SyncedAt    time.Time  `ch:"synced_at"`
	Ver         uint64     `ch:"ver"`
	EventID     string     `ch:"event_id"`
	EventType   string     `ch:"event_type"`
	MemberID    string     `ch:"member_id"`
	CouponCode  string     `ch:"coupon_code"`
	CouponID    string     `ch:"coupon_id"`
	Payload     string     `ch:"payload"`
	ReceivedAt  time.Time  `ch:"received_at"`
	ProcessedAt *time.Time `ch:"processed_at"`
	Outcome     string     `ch:"outcome"`
	Error       string     `ch:"error"`
}

const webhookColumns = "source, synced_at, ver, event_id, event_type, member_id, coupon_code, coupon_id, payload, " +
	"received_at, processed_at, outcome, error"

// InsertWebhookEvents stores event versions; it returns once ClickHouse
// acknowledged the insert (the intake answers the vendor only then).
// SyncedAt is filled in when zero.
func (w *Warehouse) InsertWebhookEvents(ctx context.Context, evs ...WebhookEvent) error {
	if len(evs) == 0 {
		return nil
	}
	b, err := w.conn.PrepareBatch(ctx, "INSERT INTO "+w.Q("webhook_events")+" ("+webhookColumns+")")
	if err != nil {
		return fmt.Errorf("webhook_events: %w", err)
	}
	now := w.now().UTC().Truncate(time.Second)
	privacy := w.privacy.Load()
	for i := range evs {
		e := evs[i]
		if e.SyncedAt.IsZero() {
			e.SyncedAt = now
		}
		// the PII policy covers a pushed payload like any raw column
		// (docs/privacy.md); the event id was derived before, from the
		// payload as received
		if r := privacy.For(e.Source); privacy.Active() && r != nil {
			e.Payload, _ = r.JSON(e.Payload, pii.Other)
		}
		if err := b.AppendStruct(&e); err != nil {
			_ = b.Abort()
			return fmt.Errorf("webhook_events: event %s: %w", e.EventID, err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("webhook_events: %w", err)
	}
	return nil
}

// WebhookEventLatest returns the newest version of one event.
func (w *Warehouse) WebhookEventLatest(ctx context.Context, source, eventID string) (WebhookEvent, bool, error) {
	var out []WebhookEvent
	if err := w.conn.Select(ctx, &out, "SELECT "+webhookColumns+" FROM "+w.Q("webhook_events")+
		" WHERE source = ? AND event_id = ? ORDER BY ver DESC LIMIT 1", source, eventID); err != nil {
		return WebhookEvent{}, false, fmt.Errorf("webhook_events: %w", err)
	}
	if len(out) == 0 {
		return WebhookEvent{}, false, nil
	}
	return out[0], true, nil
}

// UnprocessedWebhookEvents returns up to limit events received before
// before whose newest version is not processed, oldest first: what a
// worker re-enqueues after Redis lost its queue. processed_at is tested
// outside FINAL (a condition moved to PREWHERE would see the received
// version alone).
func (w *Warehouse) UnprocessedWebhookEvents(ctx context.Context, before time.Time, limit int) ([]WebhookEvent, error) {
	var out []WebhookEvent
	if err := w.conn.Select(ctx, &out, "SELECT "+webhookColumns+" FROM (SELECT "+webhookColumns+" FROM "+w.Q("webhook_events")+
		" FINAL WHERE received_at < ?) WHERE isNull(processed_at) ORDER BY received_at LIMIT ?",
		before.UTC().Truncate(time.Second), max(limit, 1)); err != nil {
		return nil, fmt.Errorf("webhook_events: %w", err)
	}
	return out, nil
}

// WebhookStat summarizes the pushed events of one source (their newest
// versions): how many were received, applied, stored without an effect
// (unknown event types; invalid or unknown members), still pending, and
// the lag from receipt to processing.
type WebhookStat struct {
	Source       string     `json:"source"`
	Received     uint64     `json:"received"`
	Applied      uint64     `json:"applied"`
	UnknownType  uint64     `json:"unknown_type"`
	Unapplied    uint64     `json:"not_applied"` // invalid, not_found
	Pending      uint64     `json:"pending"`
	LastReceived *time.Time `json:"last_received,omitempty"`
	// LagAvgSeconds and LagMaxSeconds: receipt to processing, over the
	// processed events received in the window.
	LagAvgSeconds float64 `json:"lag_avg_seconds"`
	LagMaxSeconds int64   `json:"lag_max_seconds"`
	// OldestPendingSeconds is the age of the oldest unprocessed event.
	OldestPendingSeconds int64 `json:"oldest_pending_seconds"`
}

// WebhookStats returns a WebhookStat per source for the events received
// since since, ordered by source.
func (w *Warehouse) WebhookStats(ctx context.Context, since, now time.Time) ([]WebhookStat, error) {
	rows, err := w.conn.Query(ctx, "SELECT source, count(), countIf(outcome = 'applied'), countIf(outcome = 'unknown_type'), "+
		"countIf(outcome NOT IN ('', 'applied', 'unknown_type')), countIf(isNull(processed_at)), max(received_at), "+
		"avgIf(toInt64(assumeNotNull(processed_at)) - toInt64(received_at), isNotNull(processed_at)), "+
		"maxIf(toInt64(assumeNotNull(processed_at)) - toInt64(received_at), isNotNull(processed_at)), "+
		"minIf(toInt64(received_at), isNull(processed_at)) "+
		"FROM (SELECT source, received_at, processed_at, outcome FROM "+w.Q("webhook_events")+
		" FINAL WHERE received_at >= ?) GROUP BY source ORDER BY source", since.UTC().Truncate(time.Second))
	if err != nil {
		return nil, fmt.Errorf("webhook_events: %w", err)
	}
	defer rows.Close()
	var out []WebhookStat
	for rows.Next() {
		var s WebhookStat
		var last time.Time
		var avg float64
		var oldest int64
		if err := rows.Scan(&s.Source, &s.Received, &s.Applied, &s.UnknownType, &s.Unapplied, &s.Pending, &last, &avg,
			&s.LagMaxSeconds, &oldest); err != nil {
			return nil, fmt.Errorf("webhook_events: %w", err)
		}
		if !last.IsZero() && last.Unix() > 0 {
			s.LastReceived = &last
		}
		if s.Received-s.Pending > 0 {
			s.LagAvgSeconds = avg
		}
		if s.Pending > 0 && oldest > 0 {
			s.OldestPendingSeconds = max(now.Unix()-oldest, 0)
		}
		out = append(out, s)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// WebhookEventsLatest returns the newest version of each of the given
// events of a source, by event id.
func (w *Warehouse) WebhookEventsLatest(ctx context.Context, source string, ids []string) (map[string]WebhookEvent, error) {
	out := map[string]WebhookEvent{}
	if len(ids) == 0 {
		return out, nil
	}
	var evs []WebhookEvent
	if err := w.conn.Select(ctx, &evs, "SELECT "+webhookColumns+" FROM "+w.Q("webhook_events")+
		" WHERE source = ? AND event_id IN ? ORDER BY ver DESC LIMIT 1 BY event_id", source, groupSet(ids)); err != nil {
		return nil, fmt.Errorf("webhook_events: %w", err)
	}
	for _, e := range evs {
		out[e.EventID] = e
	}
	return out, nil
}

// MemberSnapsOf returns the change signals of the given live members of
// a source, by member id (members not in `members` are left out).
func (w *Warehouse) MemberSnapsOf(ctx context.Context, source string, ids []string) (map[string]MemberSnap, error) {
	out := map[string]MemberSnap{}
	if len(ids) == 0 {
		return out, nil
	}
	snaps, err := w.snaps(ctx, "SELECT member_id, last_updated, point FROM (SELECT member_id, last_updated, point, is_deleted FROM "+
		w.Q("members")+" FINAL WHERE source = ? AND member_id IN ?) WHERE is_deleted = 0", source, groupSet(ids))
	if err != nil {
		return nil, err
	}
	for _, s := range snaps {
		out[s.ID] = s
	}
	return out, nil
}

// groupSet binds a list for `IN ?` as (a, b, c): a Go slice would bind as
// an array literal, which 18.16 refuses in IN (clickhouse-18.md).
func groupSet(ss []string) clickhouse.GroupSet {
	v := make([]any, len(ss))
	for i, s := range ss {
		v[i] = s
	}
	return clickhouse.GroupSet{Value: v}
}
