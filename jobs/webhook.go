package jobs

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// WebhookSweepEvery is how often a worker re-enqueues, from ClickHouse,
// the pushed events Redis lost.
const WebhookSweepEvery = time.Minute

// WithWebhookMetrics sets the metrics of pushed events (serve's intake and
// the worker's processing share the type; each process registers its own).
func WithWebhookMetrics(m *webhooks.Metrics) Option { return func(e *Engine) { e.whMetrics = m } }

// NewWebhooks builds the intake and processing of pushed events on the
// engine's config, warehouse, queue and connectors.
func (e *Engine) NewWebhooks(rdb redis.UniversalClient) *webhooks.Webhooks {
	return &webhooks.Webhooks{
		WH:        e.wh,
		Config:    e.cfg,
		Queue:     e.queue,
		QueueName: WebhookQueue(e.cfg.Redis.Namespace),
		Redis:     rdb,
		Namespace: e.cfg.Redis.Namespace,
		Refresh:   e.refreshPushed,
		Metrics:   e.whMetrics,
		Log:       e.log,
		Now:       e.now,
		MaxRetry:  e.cfg.Worker.MaxRetry,
	}
}

// startWebhooks registers the pushed-event handler on mux, re-enqueues the
// unprocessed events Redis does not know (at start, then every
// WebhookSweepEvery) and returns the function that stops it.
func (e *Engine) startWebhooks(ctx context.Context, rdb redis.UniversalClient, mux *asynq.ServeMux) (stop func()) {
	w := e.NewWebhooks(rdb)
	w.Register(mux)
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if n, err := w.Sweep(rctx); err != nil && rctx.Err() == nil {
			e.log.Warn("webhooks: sweep at start", "err", err)
		} else if n > 0 {
			e.log.Info("webhooks: re-enqueued unprocessed events from ClickHouse", "events", n)
		}
		w.RunSweeper(rctx, WebhookSweepEvery)
	}()
	return func() {
		cancel()
		<-done
	}
}

// pushReader is what a connector offers pushed events besides its
// streams: single-record reads decoded like the streams' records
// (connectors/dmhub/push.go).
type pushReader interface {
	Member(ctx context.Context, id string) (warehouse.Row, bool, error)
	Coupon(ctx context.Context, couponID string) (warehouse.Row, bool, error)
	MemberCoupon(ctx context.Context, code, member string) (warehouse.Row, bool, error)
}

// refreshPushed refreshes what one pushed event names
// (webhooks.Refresher), through the sync's own reads and loads:
//
//   - a level event: the member record (GET membership/{id}, decoded and
//     level-resolved like the members stream) into members;
//   - a coupon event: the member's coupons through the member_coupons
//     stream's FetchMember (every page, as a pass reads one member), the
//     event's coupon by its code when that read did not bring it, the
//     stream's change-detection snapshot of the member (member_sync_state,
//     as a pass writes it), and the coupon definition into coupons.
//
// Only streams the source syncs are refreshed (otherwise "ignored"). The
// rows carry the time the reads started as their version, so of two
// refreshes of one member the later read wins after FINAL, whatever the
// order their loads land in.
func (e *Engine) refreshPushed(ctx context.Context, source string, ev webhooks.Envelope) (string, error) {
	src, conn, err := e.connector(source)
	if err != nil {
		return "", fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	pr, ok := conn.(pushReader)
	if !ok {
		return "", fmt.Errorf("source %s (kind %s) takes no pushed events: %w", source, src.Kind, asynq.SkipRetry)
	}
	ctx = connectors.WithMode(ctx, connectors.Incremental)
	enabled := src.EnabledStreams()
	ver := uint64(time.Now().UnixNano())
	var rows []warehouse.Row
	switch ev.Kind {
	case webhooks.KindLevel:
		if !slices.Contains(enabled, membersStream) {
			return webhooks.OutcomeIgnored, nil
		}
		row, found, err := pr.Member(ctx, ev.MemberID)
		if err != nil {
			return "", err
		}
		if !found {
			return webhooks.OutcomeNotFound, nil
		}
		rows = append(rows, row)
	case webhooks.KindCoupon:
		syncsCoupons, syncsDefs := slices.Contains(enabled, "member_coupons"), slices.Contains(enabled, "coupons")
		if !syncsCoupons && !syncsDefs {
			return webhooks.OutcomeIgnored, nil
		}
		if syncsCoupons {
			got, notFound, err := e.refreshMemberCoupons(ctx, src.MaxMemberPages, conn, pr, source, ev)
			if err != nil {
				return "", err
			}
			if notFound {
				return webhooks.OutcomeNotFound, nil
			}
			rows = append(rows, got...)
		}
		if syncsDefs && ev.CouponID != "" {
			row, found, err := pr.Coupon(ctx, ev.CouponID)
			if err != nil {
				return "", err
			}
			if found {
				rows = append(rows, row)
			}
		}
	default:
		return webhooks.OutcomeUnknownType, nil
	}
	for i, r := range rows {
		switch x := r.(type) {
		case warehouse.Member:
			x.Ver = ver
			rows[i] = x
		case warehouse.MemberCoupon:
			x.Ver = ver
			rows[i] = x
		case warehouse.Coupon:
			x.Ver = ver
			rows[i] = x
		}
	}
	if err := e.wh.Load(ctx, rows); err != nil {
		return "", err
	}
	return webhooks.OutcomeApplied, nil
}

// refreshMemberCoupons reads one member's coupons as a member_coupons
// pass does, and returns the rows to load (the change-detection snapshot
// last, as a pass orders it). notFound: the vendor does not know the
// member.
func (e *Engine) refreshMemberCoupons(ctx context.Context, maxPages int, conn connectors.Connector, pr pushReader, source string,
	ev webhooks.Envelope) (rows []warehouse.Row, notFound bool, err error) {
	mc, ok := conn.(connectors.MemberConnector)
	if !ok {
		return nil, false, fmt.Errorf("source %s has no per-member streams: %w", source, asynq.SkipRetry)
	}
	ms, ok := mc.MemberStream("member_coupons")
	if !ok {
		return nil, false, fmt.Errorf("source %s has no member_coupons stream: %w", source, asynq.SkipRetry)
	}
	b, err := ms.FetchMember(ctx, connectors.MemberRequest{Mode: connectors.Incremental, Member: ev.MemberID, MaxPages: maxPages,
		Log: loggerFrom(ctx, e.log)})
	if errors.Is(err, connectors.ErrNotFound) || (err == nil && b.NotFound) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	rows = b.Rows
	if ev.CouponCode != "" && !hasCoupon(rows, ev.CouponCode) {
		// a capped read (max_member_pages) or a list lagging the event:
		// read the coupon the event names by its code
		row, found, err := pr.MemberCoupon(ctx, ev.CouponCode, ev.MemberID)
		if err != nil {
			return nil, false, err
		}
		if found {
			rows = append(rows, row)
		}
	}
	snap, known, err := e.wh.MemberSnapOf(ctx, source, ev.MemberID)
	if err != nil {
		return nil, false, err
	}
	if known {
		rows = append(rows, warehouse.MemberState{Common: warehouse.Common{Source: source}, Stream: "member_coupons",
			MemberID: snap.ID, LastUpdated: snap.LastUpdated, Point: snap.Point})
	}
	return rows, false, nil
}

func hasCoupon(rows []warehouse.Row, code string) bool {
	for _, r := range rows {
		if mc, ok := r.(warehouse.MemberCoupon); ok && mc.CouponCode == code {
			return true
		}
	}
	return false
}
