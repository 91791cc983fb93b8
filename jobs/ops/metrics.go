package ops

import (
	"context"
	"errors"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Request result classes, as reported by the vendor HTTP edge.
const (
	ClassOK          = "ok"
	ClassRetryable   = "retryable"
	ClassRateLimited = "rate_limited"
	ClassPermanent   = "permanent"
	ClassAuth        = "auth"
	ClassNotFound    = "not_found"
)

// Task outcomes of the task middleware.
const (
	OutcomeSucceeded = "succeeded"
	OutcomeFailed    = "failed"    // will be retried (or archived when retries are exhausted)
	OutcomePermanent = "permanent" // asynq.SkipRetry: archived at once
	OutcomeCanceled  = "canceled"  // shutdown or timeout
)

// RequestObserver is what the vendor HTTP edge (connectors/httpapi) calls
// after every HTTP attempt; *Metrics implements it. class is one of the
// Class* constants; status is the HTTP status (0 when no response).
type RequestObserver interface {
	Request(source, endpoint, class string, status int, elapsed time.Duration)
}

var _ RequestObserver = (*Metrics)(nil)

// Metrics holds the in-process metrics of one loyaltybridge process and
// the registry they are exposed from. It is safe for concurrent use.
type Metrics struct {
	// Registry is this process's registry: /metrics serves it.
	Registry *prometheus.Registry

	requests     *prometheus.CounterVec
	rateLimited  *prometheus.CounterVec
	latency      *prometheus.HistogramVec
	rowsLoaded   *prometheus.CounterVec
	batchRows    *prometheus.HistogramVec
	tasks        *prometheus.CounterVec
	taskDuration *prometheus.HistogramVec
	schedFired   *prometheus.CounterVec
	schedSkipped *prometheus.CounterVec
	schedLate    prometheus.Histogram
}

// NewMetrics creates the metrics in a new registry, with the Go runtime
// and process collectors.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_vendor_requests_total",
			Help: "Vendor HTTP attempts by source, endpoint and result class (ok, retryable, rate_limited, permanent, auth, not_found).",
		}, []string{"source", "endpoint", "class"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_vendor_rate_limited_total",
			Help: "Vendor HTTP attempts answered 429 (or the vendor's rate-limit code) by source and endpoint.",
		}, []string{"source", "endpoint"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loyaltybridge_vendor_request_duration_seconds",
			Help:    "Vendor HTTP attempt latency by source and endpoint.",
			Buckets: []float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"source", "endpoint"}),
		rowsLoaded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_rows_loaded_total",
			Help: "Rows inserted into ClickHouse by table.",
		}, []string{"table"}),
		batchRows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loyaltybridge_load_batch_rows",
			Help:    "Rows per ClickHouse insert batch by table.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 9), // 1 .. 65536
		}, []string{"table"}),
		tasks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_tasks_total",
			Help: "Processed queue tasks by queue, type and outcome (succeeded, failed, permanent, canceled).",
		}, []string{"queue", "type", "outcome"}),
		taskDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "loyaltybridge_task_duration_seconds",
			Help:    "Queue task processing time by queue and type.",
			Buckets: []float64{.1, .5, 1, 5, 15, 30, 60, 300, 900, 1800},
		}, []string{"queue", "type"}),
		schedFired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_scheduler_slots_fired_total",
			Help: "Schedule slots this scheduler started, by source.",
		}, []string{"source"}),
		schedSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loyaltybridge_scheduler_slots_skipped_total",
			Help: "Missed schedule slots skipped because scheduler.catch_up is false, by source.",
		}, []string{"source"}),
		schedLate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "loyaltybridge_scheduler_start_delay_seconds",
			Help:    "How long after its slot a scheduled sync was started.",
			Buckets: []float64{.01, .05, .1, .5, 1, 5, 30, 60, 600, 3600},
		}),
	}
	r.MustRegister(m.requests, m.rateLimited, m.latency, m.rowsLoaded, m.batchRows, m.tasks, m.taskDuration,
		m.schedFired, m.schedSkipped, m.schedLate,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Request records one vendor HTTP attempt (RequestObserver).
func (m *Metrics) Request(source, endpoint, class string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(source, endpoint, class).Inc()
	if status == 429 || class == ClassRateLimited {
		m.rateLimited.WithLabelValues(source, endpoint).Inc()
	}
	m.latency.WithLabelValues(source, endpoint).Observe(elapsed.Seconds())
}

// Loaded records one insert batch of rows into table; it is the
// warehouse's load observer.
func (m *Metrics) Loaded(table string, rows int) {
	m.rowsLoaded.WithLabelValues(table).Add(float64(rows))
	m.batchRows.WithLabelValues(table).Observe(float64(rows))
}

// SlotFired records a schedule slot this scheduler started late after
// its time.
func (m *Metrics) SlotFired(source string, late time.Duration) {
	m.schedFired.WithLabelValues(source).Inc()
	m.schedLate.Observe(late.Seconds())
}

// SlotSkipped records a missed slot skipped (scheduler.catch_up false).
func (m *Metrics) SlotSkipped(source string) { m.schedSkipped.WithLabelValues(source).Inc() }

// TaskMiddleware counts every task's outcome and time; install it with
// (*asynq.ServeMux).Use, outermost, so it sees the classified error.
func (m *Metrics) TaskMiddleware(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := time.Now()
		err := next.ProcessTask(ctx, t)
		queue, _ := asynq.GetQueueName(ctx)
		m.tasks.WithLabelValues(queue, t.Type(), TaskOutcome(err)).Inc()
		m.taskDuration.WithLabelValues(queue, t.Type()).Observe(time.Since(start).Seconds())
		return err
	})
}

// TaskOutcome names the outcome of a task handler's error.
func TaskOutcome(err error) string {
	switch {
	case err == nil:
		return OutcomeSucceeded
	case errors.Is(err, asynq.SkipRetry), errors.Is(err, asynq.RevokeTask):
		return OutcomePermanent
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return OutcomeCanceled
	}
	return OutcomeFailed
}
