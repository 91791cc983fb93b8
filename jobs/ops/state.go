package ops

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// StateCollector reads, at scrape time, what the queues and the warehouse
// say: queue depths per state, tasks stuck active, runs per outcome and
// their durations, cursor lag, rejected records and outbound writes by
// kind and state. Every query is an aggregate over small tables, bounded
// by ScrapeTimeout.
type StateCollector struct {
	// Inspector reads the asynq queues; nil skips the queue metrics.
	Inspector *asynq.Inspector
	// Namespace selects this deployment's queues ("NS:sync", ...).
	Namespace string
	// ClickHouse and Database locate the warehouse; a nil Conn skips the
	// warehouse metrics.
	ClickHouse driver.Conn
	Database   string
	// ScrapeTimeout bounds each source's queries; default 5s.
	ScrapeTimeout time.Duration
	Log           *slog.Logger
	Now           func() time.Time
}

var _ prometheus.Collector = (*StateCollector)(nil)

var (
	descQueueTasks = prometheus.NewDesc("loyaltybridge_queue_tasks",
		"Tasks in each asynq queue by state (pending, active, scheduled, retry, archived, completed, aggregating).",
		[]string{"queue", "state"}, nil)
	descQueueLatency = prometheus.NewDesc("loyaltybridge_queue_latency_seconds",
		"Age of the oldest pending task of each queue.", []string{"queue"}, nil)
	descQueueStuck = prometheus.NewDesc("loyaltybridge_queue_stuck_tasks",
		"Tasks left active with no worker processing them (orphaned, e.g. after a worker crash), or active past their deadline, by queue.",
		[]string{"queue"}, nil)
	descRuns = prometheus.NewDesc("loyaltybridge_runs",
		"Sync runs recorded in sync_runs by source, stream, mode and status (waiting, running, succeeded, failed).",
		[]string{"source", "stream", "mode", "status"}, nil)
	descRunDuration = prometheus.NewDesc("loyaltybridge_run_duration_seconds",
		"Durations of finished sync runs by source, stream and status.",
		[]string{"source", "stream", "status"}, nil)
	descLastSuccess = prometheus.NewDesc("loyaltybridge_run_last_success_timestamp_seconds",
		"When the last successful run of each stream finished (Unix time).", []string{"source", "stream"}, nil)
	descCursorLag = prometheus.NewDesc("loyaltybridge_cursor_lag_seconds",
		"Seconds since the committed cursor of each stream last advanced (its freshness lag).", []string{"source", "stream"}, nil)
	descRejected = prometheus.NewDesc("loyaltybridge_rejected_records",
		"Vendor records that could not be decoded or stored, by source and stream.", []string{"source", "stream"}, nil)
	descOutbound = prometheus.NewDesc("loyaltybridge_outbound_writes",
		"Outbound writes by source, kind and state (pending, succeeded, failed, dead).", []string{"source", "kind", "state"}, nil)
	descUp = prometheus.NewDesc("loyaltybridge_state_scrape_ok",
		"1 when the last scrape of a state source (redis, clickhouse) succeeded, else 0.", []string{"backend"}, nil)
)

// runDurationBuckets are the upper bounds of loyaltybridge_run_duration_seconds.
var runDurationBuckets = []float64{1, 5, 15, 60, 300, 900, 3600, 4 * 3600, 24 * 3600}

// Describe implements prometheus.Collector.
func (c *StateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descQueueTasks, descQueueLatency, descQueueStuck, descRuns, descRunDuration,
		descLastSuccess, descCursorLag, descRejected, descOutbound, descUp} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *StateCollector) Collect(ch chan<- prometheus.Metric) {
	if c.Inspector != nil {
		c.up(ch, "redis", c.collectQueues(ch))
	}
	if c.ClickHouse != nil {
		ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
		defer cancel()
		c.up(ch, "clickhouse", c.collectWarehouse(ctx, ch))
	}
}

func (c *StateCollector) timeout() time.Duration {
	if c.ScrapeTimeout > 0 {
		return c.ScrapeTimeout
	}
	return 5 * time.Second
}

func (c *StateCollector) up(ch chan<- prometheus.Metric, backend string, err error) {
	v := 1.0
	if err != nil {
		v = 0
		if c.Log != nil {
			c.Log.Warn("metrics: state scrape failed", "backend", backend, "err", err)
		}
	}
	ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, v, backend)
}

func (c *StateCollector) collectQueues(ch chan<- prometheus.Metric) error {
	queues, err := c.Inspector.Queues()
	if err != nil {
		return err
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	for _, q := range queues {
		if !strings.HasPrefix(q, c.Namespace+":") {
			continue // another deployment's queue
		}
		info, err := c.Inspector.GetQueueInfo(q)
		if err != nil {
			return fmt.Errorf("queue %s: %w", q, err)
		}
		for _, s := range []struct {
			state string
			n     int
		}{{"pending", info.Pending}, {"active", info.Active}, {"scheduled", info.Scheduled}, {"retry", info.Retry},
			{"archived", info.Archived}, {"completed", info.Completed}, {"aggregating", info.Aggregating}} {
			ch <- prometheus.MustNewConstMetric(descQueueTasks, prometheus.GaugeValue, float64(s.n), q, s.state)
		}
		ch <- prometheus.MustNewConstMetric(descQueueLatency, prometheus.GaugeValue, info.Latency.Seconds(), q)
		stuck, err := StuckTasks(c.Inspector, q, info.Active, now)
		if err != nil {
			return err
		}
		ch <- prometheus.MustNewConstMetric(descQueueStuck, prometheus.GaugeValue, float64(stuck), q)
	}
	return nil
}

// StuckTasks counts the tasks of queue that are active past their
// deadline or orphaned (their worker died): asynq hands them back only
// when their lease expires. active is the queue's active count (no
// listing when 0).
func StuckTasks(insp *asynq.Inspector, queue string, active int, now time.Time) (int, error) {
	if active == 0 {
		return 0, nil
	}
	tasks, err := insp.ListActiveTasks(queue, asynq.PageSize(1000))
	if err != nil {
		return 0, fmt.Errorf("queue %s: active tasks: %w", queue, err)
	}
	stuck := 0
	for _, t := range tasks {
		if t.IsOrphaned || (!t.Deadline.IsZero() && now.After(t.Deadline)) {
			stuck++
		}
	}
	return stuck, nil
}

func (c *StateCollector) q(table string) string { return "`" + c.Database + "`.`" + table + "`" }

// errUnknownTable is ClickHouse's UNKNOWN_TABLE: a table of a migration
// not yet applied reads as empty.
const errUnknownTable = 60

func (c *StateCollector) query(ctx context.Context, q string, scan func(driver.Rows) error) error {
	rows, err := c.ClickHouse.Query(ctx, q)
	var ex *clickhouse.Exception
	if errors.As(err, &ex) && ex.Code == errUnknownTable {
		return nil
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (c *StateCollector) collectWarehouse(ctx context.Context, ch chan<- prometheus.Metric) error {
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	if err := c.query(ctx, "SELECT source, stream, mode, status, count() FROM "+c.q("sync_runs")+" FINAL GROUP BY source, stream, mode, status",
		func(r driver.Rows) error {
			var source, stream, mode, status string
			var n uint64
			if err := r.Scan(&source, &stream, &mode, &status, &n); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(descRuns, prometheus.GaugeValue, float64(n), source, stream, mode, status)
			return nil
		}); err != nil {
		return fmt.Errorf("sync_runs: %w", err)
	}
	// durations of finished runs as a histogram: bucket counts in SQL
	var bucketSQL strings.Builder
	for _, b := range runDurationBuckets {
		fmt.Fprintf(&bucketSQL, ", countIf(d <= %g)", b)
	}
	if err := c.query(ctx, "SELECT source, stream, status, count(), sum(d)"+bucketSQL.String()+
		" FROM (SELECT source, stream, status, toFloat64(toInt64(assumeNotNull(finished_at)) - toInt64(started_at)) AS d FROM "+
		c.q("sync_runs")+" FINAL WHERE finished_at IS NOT NULL) GROUP BY source, stream, status",
		func(r driver.Rows) error {
			var source, stream, status string
			var n uint64
			var sum float64
			counts := make([]uint64, len(runDurationBuckets))
			dest := []any{&source, &stream, &status, &n, &sum}
			for i := range counts {
				dest = append(dest, &counts[i])
			}
			if err := r.Scan(dest...); err != nil {
				return err
			}
			buckets := make(map[float64]uint64, len(counts))
			for i, b := range runDurationBuckets {
				buckets[b] = counts[i]
			}
			ch <- prometheus.MustNewConstHistogram(descRunDuration, n, sum, buckets, source, stream, status)
			return nil
		}); err != nil {
		return fmt.Errorf("sync_runs durations: %w", err)
	}
	if err := c.query(ctx, "SELECT source, stream, toInt64(max(assumeNotNull(finished_at))) FROM "+c.q("sync_runs")+
		" FINAL WHERE status = 'succeeded' AND finished_at IS NOT NULL GROUP BY source, stream",
		func(r driver.Rows) error {
			var source, stream string
			var ts int64
			if err := r.Scan(&source, &stream, &ts); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(descLastSuccess, prometheus.GaugeValue, float64(ts), source, stream)
			return nil
		}); err != nil {
		return fmt.Errorf("last success: %w", err)
	}
	if err := c.query(ctx, "SELECT source, stream, toInt64(max(synced_at)) FROM "+c.q("checkpoints")+
		" FINAL WHERE partition = '' GROUP BY source, stream",
		func(r driver.Rows) error {
			var source, stream string
			var ts int64
			if err := r.Scan(&source, &stream, &ts); err != nil {
				return err
			}
			lag := max(now.Sub(time.Unix(ts, 0)).Seconds(), 0)
			ch <- prometheus.MustNewConstMetric(descCursorLag, prometheus.GaugeValue, lag, source, stream)
			return nil
		}); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	if err := c.query(ctx, "SELECT source, stream, count() FROM "+c.q("rejected_records")+" FINAL GROUP BY source, stream",
		func(r driver.Rows) error {
			var source, stream string
			var n uint64
			if err := r.Scan(&source, &stream, &n); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(descRejected, prometheus.GaugeValue, float64(n), source, stream)
			return nil
		}); err != nil {
		return fmt.Errorf("rejected_records: %w", err)
	}
	if err := c.query(ctx, "SELECT source, kind, state, count() FROM "+c.q("outbound_writes")+" FINAL GROUP BY source, kind, state",
		func(r driver.Rows) error {
			var source, kind, state string
			var n uint64
			if err := r.Scan(&source, &kind, &state, &n); err != nil {
				return err
			}
			ch <- prometheus.MustNewConstMetric(descOutbound, prometheus.GaugeValue, float64(n), source, kind, state)
			return nil
		}); err != nil {
		return fmt.Errorf("outbound_writes: %w", err)
	}
	return nil
}
