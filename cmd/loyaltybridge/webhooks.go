package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// webhookRoutes is serve's webhook intake, POST /v1/webhooks/{source}
// (docs/webhooks.md). A dmhub source without webhook_secret takes
// unsigned events: serve says so once at start. closeFn stops the
// intake's group commit (after the inserts queued).
func webhookRoutes(a *app, sc config.Serve) (h http.Handler, closeFn func()) {
	for _, s := range a.cfg.Sources {
		if s.Spec() != nil && slices.Contains(s.Spec().Fields, "webhook_secret") && s.WebhookSecret == "" {
			a.log.Warn("serve: this source has no webhook_secret: its webhooks are taken unsigned (an event only makes the worker re-read the vendor)",
				"source", s.Name, "path", "/v1/webhooks/"+s.Name)
		}
	}
	mux := http.NewServeMux()
	w := a.engine.NewWebhooks(a.rdb)
	(&webhooks.HTTP{W: w, MaxBody: sc.MaxBodyBytes}).Routes(mux)
	return mux, w.Close
}

// webhookStatus is one source's line of pushed events in `status`: what
// webhook_events holds (last 24 h) and the rejected calls serve counted.
type webhookStatus struct {
	warehouse.WebhookStat
	// Rejected counts calls refused for a missing or bad signature since
	// the counter began (Redis; a flush resets it).
	Rejected int64 `json:"rejected_bad_signature"`
}

// webhookWindow is the window of the webhook counts in `status`.
const webhookWindow = 24 * time.Hour

func buildWebhookStatus(ctx context.Context, a *app, now time.Time) ([]webhookStatus, error) {
	stats, err := a.wh.WebhookStats(ctx, now.Add(-webhookWindow), now)
	if err != nil {
		return nil, err
	}
	rejected, err := webhooks.RejectedCounts(ctx, a.rdb, a.cfg.Redis.Namespace)
	if err != nil {
		return nil, err
	}
	by := map[string]warehouse.WebhookStat{}
	for _, s := range stats {
		by[s.Source] = s
	}
	var out []webhookStatus
	for _, src := range a.cfg.Sources {
		s, ok := by[src.Name]
		if !ok && rejected[src.Name] == 0 {
			continue
		}
		s.Source = src.Name
		out = append(out, webhookStatus{WebhookStat: s, Rejected: rejected[src.Name]})
	}
	return out, nil
}

func printWebhookStatus(w io.Writer, ws []webhookStatus) {
	for _, s := range ws {
		fmt.Fprintf(w, "webhooks %s (24h): received %d, applied %d, unknown type %d, not applied %d, pending %d (oldest %ds); "+
			"lag avg %.1fs max %ds; rejected (bad signature) %d\n", s.Source, s.Received, s.Applied, s.UnknownType, s.Unapplied,
			s.Pending, s.OldestPendingSeconds, s.LagAvgSeconds, s.LagMaxSeconds, s.Rejected)
	}
}
