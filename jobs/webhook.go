package jobs

import (
	"context"
	"errors"
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/config"
	"slices"
	"sync"
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
	return e.repairEvery(ctx, "webhooks: re-enqueued unprocessed events from ClickHouse", "events", WebhookSweepEvery, w.Sweep)
}

// pushReader is what a connector offers pushed events besides its
// streams: single-record reads decoded like the streams' records
// (connectors/dmhub/push.go).
type pushReader interface {
	Member(ctx context.Context, id string) (warehouse.Row, bool, error)
	Coupon(ctx context.Context, couponID string) (warehouse.Row, bool, error)
	MemberCoupon(ctx context.Context, code, member string) (warehouse.Row, bool, error)
}

// refreshPushed refreshes what a batch of pushed events of one source
// names (webhooks.Refresher), through the sync's own reads and loads,
// once per member whatever the number of its events:
//
//   - level events: the member record (GET membership/{id}, decoded and
//     level-resolved like the members stream) into members;
//   - coupon events: the member's coupons through the member_coupons
//     stream's FetchMember (every page, as a pass reads one member), an
//     event's coupon by its code when that read did not bring it, the
//     stream's change-detection snapshot of the member (member_sync_state,
//     as a pass writes it), and each named coupon definition into coupons.
//
// Vendor reads run source.concurrency at a time, under the source's rate
// limit; all rows go in one load. Only streams the source syncs are
// refreshed (otherwise "ignored"). The rows carry the time the reads
// started as their version, so of two refreshes of one member the later
// read wins after FINAL, whatever the order their loads land in.
func (e *Engine) refreshPushed(ctx context.Context, source string, evs []webhooks.Envelope) ([]string, error) {
	src, conn, err := e.connector(source)
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, asynq.SkipRetry)
	}
	pr, ok := conn.(pushReader)
	if !ok {
		return nil, fmt.Errorf("source %s (kind %s) takes no pushed events: %w", source, src.Kind, asynq.SkipRetry)
	}
	ctx = connectors.WithMode(ctx, connectors.Incremental)
	enabled := src.EnabledStreams()
	// the streams an event refreshes, by the tables their declarations fill
	couponsStream := streamFilling(src, warehouse.MemberCoupons.Name, config.ReadsSyncedMembers)
	syncsMembers := src.MembersStream() != "" && slices.Contains(enabled, src.MembersStream())
	syncsCoupons := couponsStream != "" && slices.Contains(enabled, couponsStream)
	defsStream := streamFilling(src, warehouse.Coupons.Name, config.ReadsList)
	syncsDefs := defsStream != "" && slices.Contains(enabled, defsStream)
	ver := uint64(time.Now().UnixNano())

	// what to read: each once
	type job struct {
		kind   string // "member", "coupons", "def"
		id     string
		codes  []string        // coupons: the codes the events name
		rows   []warehouse.Row // result
		absent bool            // the vendor does not know it
		err    error
	}
	var jobs []*job
	byKey := map[string]*job{}
	add := func(kind, id string) *job {
		k := kind + "\x00" + id
		if j, ok := byKey[k]; ok {
			return j
		}
		j := &job{kind: kind, id: id}
		byKey[k] = j
		jobs = append(jobs, j)
		return j
	}
	outcomes := make([]string, len(evs))
	needs := make([][]*job, len(evs))
	for i, ev := range evs {
		switch {
		case ev.Kind == webhooks.KindLevel && syncsMembers:
			needs[i] = append(needs[i], add("member", ev.MemberID))
		case ev.Kind == webhooks.KindCoupon && (syncsCoupons || syncsDefs):
			if syncsCoupons {
				j := add("coupons", ev.MemberID)
				if ev.CouponCode != "" && !slices.Contains(j.codes, ev.CouponCode) {
					j.codes = append(j.codes, ev.CouponCode)
				}
				needs[i] = append(needs[i], j)
			}
			if syncsDefs && ev.CouponID != "" {
				needs[i] = append(needs[i], add("def", ev.CouponID))
			}
		case ev.Kind == webhooks.KindUnknown:
			outcomes[i] = webhooks.OutcomeUnknownType
		default:
			outcomes[i] = webhooks.OutcomeIgnored
		}
	}
	ms, err := memberCouponsStream(conn, src)
	if err != nil && syncsCoupons {
		return nil, err
	}
	sem := make(chan struct{}, max(src.Concurrency, 1))
	var wg sync.WaitGroup
	for _, j := range jobs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			switch j.kind {
			case "member":
				row, found, err := pr.Member(ctx, j.id)
				j.err, j.absent = err, !found
				if found {
					j.rows = []warehouse.Row{row}
				}
			case "def":
				row, found, err := pr.Coupon(ctx, j.id)
				j.err = err // an unknown definition is no error: the coupons stream's list decides
				if found {
					j.rows = []warehouse.Row{row}
				}
			case "coupons":
				j.rows, j.absent, j.err = e.readMemberCoupons(ctx, src.MaxMemberPages, ms, pr, j.id, j.codes)
			}
		}()
	}
	wg.Wait()

	// the change-detection snapshots of the members whose coupons were read
	var couponMembers []string
	for _, j := range jobs {
		if j.kind == "coupons" && j.err == nil && !j.absent {
			couponMembers = append(couponMembers, j.id)
		}
	}
	snaps, err := e.wh.MemberSnapsOf(ctx, source, couponMembers)
	if err != nil {
		return nil, err
	}
	var rows []warehouse.Row
	var errs []error
	for _, j := range jobs {
		if j.err != nil {
			if connectors.ClassOf(j.err) == connectors.Permanent {
				// retrying cannot help: the events end "failed"
				loggerFrom(ctx, e.log).Warn("webhooks: a permanent vendor error; the events naming it end failed",
					"read", j.kind, "id", j.id, "err", j.err)
				continue
			}
			errs = append(errs, fmt.Errorf("%s %s: %w", j.kind, j.id, j.err))
			continue
		}
		rows = append(rows, j.rows...)
	}
	for _, id := range couponMembers {
		if s, ok := snaps[id]; ok {
			rows = append(rows, warehouse.MemberState{Common: warehouse.Common{Source: source}, Stream: couponsStream,
				MemberID: s.ID, LastUpdated: s.LastUpdated, Point: s.Point})
		}
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
		return nil, err
	}
	for i := range evs {
		if outcomes[i] != "" {
			continue
		}
		outcome := webhooks.OutcomeApplied
		if len(needs[i]) == 0 {
			outcome = webhooks.OutcomeIgnored
		}
		for _, j := range needs[i] {
			switch {
			case j.err != nil && connectors.ClassOf(j.err) == connectors.Permanent:
				if outcome != "" {
					outcome = webhooks.OutcomeFailed
				}
			case j.err != nil:
				outcome = ""
			case j.absent && outcome != "":
				outcome = webhooks.OutcomeNotFound
			}
		}
		outcomes[i] = outcome
	}
	return outcomes, errors.Join(errs...)
}

// streamFilling is the source's stream that fills table first and reads
// as reads says ("" when it has none).
func streamFilling(src *config.Source, table string, reads config.Reads) string {
	if src.Spec() == nil {
		return ""
	}
	for _, sp := range src.Spec().Streams {
		if sp.Reads == reads && len(sp.Tables) > 0 && sp.Tables[0] == table {
			return sp.Name
		}
	}
	return ""
}

// memberCouponsStream is the source's per-member stream of member_coupons.
func memberCouponsStream(conn connectors.Connector, src *config.Source) (connectors.MemberStream, error) {
	name := streamFilling(src, warehouse.MemberCoupons.Name, config.ReadsSyncedMembers)
	if mc, ok := conn.(connectors.MemberConnector); ok && name != "" {
		if ms, ok := mc.MemberStream(name); ok {
			return ms, nil
		}
	}
	return nil, fmt.Errorf("source %s has no per-member stream of member_coupons: %w", src.Name, asynq.SkipRetry)
}

// readMemberCoupons reads one member's coupons as a member_coupons pass
// does, and, for each of codes the read did not bring (a capped read, or
// a list lagging the event), that coupon by its code. absent: the vendor
// does not know the member.
func (e *Engine) readMemberCoupons(ctx context.Context, maxPages int, ms connectors.MemberStream, pr pushReader, member string,
	codes []string) (rows []warehouse.Row, absent bool, err error) {
	b, err := ms.FetchMember(ctx, connectors.MemberRequest{Mode: connectors.Incremental, Member: member, MaxPages: maxPages,
		Log: loggerFrom(ctx, e.log)})
	if connectors.IsNotFound(err) {
		return nil, true, nil
	}
	if err != nil {
		return nil, false, err
	}
	rows = b.Rows
	for _, code := range codes {
		if hasCoupon(rows, code) {
			continue
		}
		row, found, err := pr.MemberCoupon(ctx, code, member)
		if err != nil {
			return nil, false, err
		}
		if found {
			rows = append(rows, row)
		}
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
