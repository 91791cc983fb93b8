package webhooks

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the in-process metrics of pushed events: serve counts what
// it received and rejected, the worker what it applied and the lag. A nil
// *Metrics records nothing.
type Metrics struct {
	received  *prometheus.CounterVec
	duplicate *prometheus.CounterVec
	rejected  *prometheus.CounterVec
	processed *prometheus.CounterVec
	lag       *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		received: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_webhook_events_received_total",
			Help: "Pushed events stored (signature valid or not required), by source and event type (\"unknown\" for types loyaltybridge does not act on).",
		}, []string{"source", "event_type"}),
		duplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_webhook_events_duplicate_total",
			Help: "Redelivered pushed events (already stored): acknowledged, not stored or applied again, by source.",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_webhook_events_rejected_total",
			Help: "Pushed events refused, by source and reason (unsigned, bad_signature, bad_encoding: 401; malformed: 400; too_large: 413).",
		}, []string{"source", "reason"}),
		processed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_webhook_events_processed_total",
			Help: "Pushed events handled by the worker, by source and outcome (applied, unknown_type, invalid, not_found, ignored, failed).",
		}, []string{"source", "outcome"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loyaltybridge_webhook_event_lag_seconds",
			Help:    "Time from the receipt of a pushed event to its processing (refreshed rows loaded), by source.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"source"}),
	}
	reg.MustRegister(m.received, m.duplicate, m.rejected, m.processed, m.lag)
	return m
}

func (m *Metrics) onReceived(source, eventType string) {
	if m == nil {
		return
	}
	if KindOf(eventType) == KindUnknown {
		eventType = "unknown"
	}
	m.received.WithLabelValues(source, eventType).Inc()
}

func (m *Metrics) onDuplicate(source string) {
	if m != nil {
		m.duplicate.WithLabelValues(source).Inc()
	}
}

func (m *Metrics) onRejected(source, reason string) {
	if m != nil {
		m.rejected.WithLabelValues(source, reason).Inc()
	}
}

func (m *Metrics) onProcessed(source, outcome string, lag time.Duration) {
	if m == nil {
		return
	}
	m.processed.WithLabelValues(source, outcome).Inc()
	m.lag.WithLabelValues(source).Observe(max(lag, 0).Seconds())
}
