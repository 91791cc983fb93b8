package jobs

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Reconciliation (`loyaltybridge reconcile`, docs/analytics.md) compares
// the warehouse with what the vendor itself can tell:
//
//   - a connector with connectors.Counter (DM Hub) reports list totals
//     (needTotal `records`) of members and coupons, and per member the
//     totals of its points, experience and coupon lists and its `point`;
//     the member's point is also compared with the sum of its points
//     ledger in the warehouse;
//   - the looked-up vendors (Houcaller, zvcms) cannot count: each sampled
//     member key is read again in full (connectors.CountByReading), and
//     the records per table are compared with the warehouse's rows of the
//     member ids they name; Houcaller's coupon list (one request) is read
//     and counted whole.
//
// Per-member checks run over every member (every key) or a random sample
// of Sample of them. Nothing is loaded: the warehouse is only read, and
// one reconcile_runs row per stream records the outcome.

// ReconcileOptions selects what Reconcile compares.
type ReconcileOptions struct {
	// Streams to check (default: every enabled stream of the source that
	// can be compared).
	Streams []string
	// Sample is how many members the per-member checks take, at random;
	// 0 checks every member.
	Sample int
}

// Drift is one disagreement: key is the list or member, check what was
// compared.
type Drift struct {
	Key       string `json:"key"`
	Check     string `json:"check"`
	Warehouse int64  `json:"warehouse"`
	Vendor    int64  `json:"vendor"`
}

// ReconcileStream is the outcome of one stream's checks.
type ReconcileStream struct {
	Stream  string  `json:"stream"`
	Checked int     `json:"checked"`
	Drifted int     `json:"drifted"`
	Drift   []Drift `json:"drift"`
	// Skipped says why the stream was not compared (the vendor cannot
	// tell); Error why its check failed.
	Skipped string `json:"skipped,omitempty"`
	Error   string `json:"error,omitempty"`
}

// ReconcileReport is one reconcile run of a source.
type ReconcileReport struct {
	Source     string            `json:"source"`
	RunID      string            `json:"run_id"`
	StartedAt  time.Time         `json:"started_at"`
	FinishedAt time.Time         `json:"finished_at"`
	Sample     int               `json:"sample"`
	Streams    []ReconcileStream `json:"streams"`
}

// Drifted is the number of drifted checks over every stream.
func (r ReconcileReport) Drifted() int {
	n := 0
	for _, s := range r.Streams {
		n += s.Drifted
	}
	return n
}

// Failed reports whether a stream's check failed.
func (r ReconcileReport) Failed() bool {
	return slices.ContainsFunc(r.Streams, func(s ReconcileStream) bool { return s.Error != "" })
}

// What reconcile compares follows each stream's declaration (its kind's
// config.KindSpec), not its name:
//   - a connector with a connectors.Counter: a list stream (or the members
//     stream) compares the vendor's record total with its table; a stream
//     read per synced member compares each sampled member's records; the
//     members stream compares each member's point, and a stream filling
//     points_ledger also the point against the sum of the ledger;
//   - without a Counter: a stream read per member key re-reads each sampled
//     key and counts; a list stream is read whole and counted.

// streamTable is the table a stream fills first (its declaration's).
func streamTable(src *config.Source, stream string) (warehouse.Table, config.StreamSpec, bool) {
	sp, ok := src.StreamSpec(stream)
	if !ok || len(sp.Tables) == 0 {
		return warehouse.Table{}, sp, false
	}
	t, err := warehouse.TableNamed(sp.Tables[0])
	return t, sp, err == nil
}

// Reconcile compares source's warehouse rows with the vendor and writes
// one reconcile_runs row per stream. A failed check of one stream is
// reported in its ReconcileStream (and its row), the others go on; the
// error is for what stops the whole run (unknown source or stream, the
// warehouse unreachable).
func (e *Engine) Reconcile(ctx context.Context, source string, opts ReconcileOptions) (ReconcileReport, error) {
	src, conn, err := e.connector(source)
	if err != nil {
		return ReconcileReport{}, err
	}
	enabled := src.EnabledStreams()
	streams := opts.Streams
	if len(streams) == 0 {
		streams = enabled
	}
	for _, s := range streams {
		if !slices.Contains(enabled, s) {
			return ReconcileReport{}, fmt.Errorf("reconcile %s: stream %q is not one of its streams (%v)", source, s, enabled)
		}
	}
	rep := ReconcileReport{Source: source, RunID: newRunID(e.now()), StartedAt: e.now().UTC(), Sample: opts.Sample}
	r := &reconciler{e: e, src: src, conn: conn, sample: opts.Sample}
	for _, s := range streams {
		res := r.stream(ctx, s)
		if ctx.Err() != nil {
			return rep, ctx.Err()
		}
		rep.Streams = append(rep.Streams, res)
	}
	rep.FinishedAt = e.now().UTC()
	if err := e.saveReconcile(ctx, rep); err != nil {
		return rep, err
	}
	return rep, nil
}

func newRunID(now time.Time) string {
	return fmt.Sprintf("rc-%s-%04x", now.UTC().Format("20060102T150405"), rand.IntN(1<<16))
}

type reconciler struct {
	e       *Engine
	src     *config.Source
	conn    connectors.Connector
	sample  int
	members []string // the sampled members (DM Hub ids), once listed
}

func (r *reconciler) stream(ctx context.Context, stream string) ReconcileStream {
	res := ReconcileStream{Stream: stream, Drift: []Drift{}}
	var err error
	t, sp, known := streamTable(r.src, stream)
	if c, ok := r.conn.(connectors.Counter); ok {
		err = r.counted(ctx, c, stream, &res)
	} else if known && sp.Reads == config.ReadsMemberKeys {
		err = r.reread(ctx, stream, t, &res)
	} else if known && sp.Reads == config.ReadsList {
		err = r.rereadList(ctx, stream, t, &res)
	} else {
		res.Skipped = "the vendor reports no count for this stream"
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.Drifted = len(res.Drift)
	return res
}

func (r *reconciler) count(ctx context.Context, q string, args ...any) (int64, error) {
	var n int64
	if err := r.e.wh.Conn().QueryRow(ctx, "SELECT toInt64(count()) FROM "+q, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("warehouse: %w", err)
	}
	return n, nil
}

// latest names a table's _latest view.
func (r *reconciler) latest(t warehouse.Table) string { return r.e.wh.Q(t.Name + "_latest") }

func (r *reconciler) counted(ctx context.Context, c connectors.Counter, stream string, res *ReconcileStream) error {
	src := r.src.Name
	t, sp, known := streamTable(r.src, stream)
	if !known {
		res.Skipped = "the vendor reports no count for this stream"
		return nil
	}
	if sp.Reads == config.ReadsList {
		vendor, ok, err := c.CountList(ctx, stream)
		if err != nil {
			return err
		}
		if ok {
			wh, err := r.count(ctx, r.latest(t)+" WHERE source = ?", src)
			if err != nil {
				return err
			}
			res.Checked++
			if wh != vendor {
				res.Drift = append(res.Drift, Drift{Key: stream, Check: "records", Warehouse: wh, Vendor: vendor})
			}
		} else if !sp.Members {
			res.Skipped = "the vendor reports no count for this stream"
		}
	}
	if sp.Reads != config.ReadsSyncedMembers && !sp.Members {
		if sp.Reads != config.ReadsList {
			res.Skipped = "the vendor reports no count for this stream"
		}
		return nil
	}
	members, err := r.sampled(ctx)
	if err != nil {
		return err
	}
	for _, m := range members {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.member(ctx, c, stream, sp, t, m, res); err != nil {
			return fmt.Errorf("member %s: %w", m, err)
		}
	}
	return nil
}

// member runs one member's checks of stream: members compares the
// vendor's point with the members row; points compares the ledger's
// record count and the vendor's point with the sum of the ledger; the
// other per-member streams compare record counts.
func (r *reconciler) member(ctx context.Context, c connectors.Counter, stream string, sp config.StreamSpec, t warehouse.Table,
	m string, res *ReconcileStream) error {
	src := r.src.Name
	gone := func(err error) bool { return errors.Is(err, connectors.ErrNotFound) }
	switch {
	case sp.Members:
		vendor, err := c.MemberPoint(ctx, m)
		if gone(err) {
			res.Checked++
			res.Drift = append(res.Drift, Drift{Key: m, Check: "member exists", Warehouse: 1, Vendor: 0})
			return nil
		}
		if err != nil {
			return err
		}
		var wh int64
		if err := r.e.wh.Conn().QueryRow(ctx, "SELECT point FROM "+r.latest(warehouse.Members)+" WHERE source = ? AND member_id = ? LIMIT 1",
			src, m).Scan(&wh); err != nil {
			return fmt.Errorf("warehouse: %w", err)
		}
		res.Checked++
		if wh != vendor {
			res.Drift = append(res.Drift, Drift{Key: m, Check: "point", Warehouse: wh, Vendor: vendor})
		}
		return nil
	case t.Name == warehouse.PointsLedger.Name:
		vendorPoint, err := c.MemberPoint(ctx, m)
		if gone(err) {
			return nil // the members check reports it
		}
		if err != nil {
			return err
		}
		var n, sum int64
		if err := r.e.wh.Conn().QueryRow(ctx, "SELECT toInt64(count()), toInt64(sum(delta)) FROM "+r.latest(warehouse.PointsLedger)+
			" WHERE source = ? AND member_id = ?", src, m).Scan(&n, &sum); err != nil {
			return fmt.Errorf("warehouse: %w", err)
		}
		res.Checked++
		if sum != vendorPoint {
			res.Drift = append(res.Drift, Drift{Key: m, Check: "point vs ledger sum", Warehouse: sum, Vendor: vendorPoint})
		}
		return r.memberCount(ctx, c, stream, m, n, res)
	}
	n, err := r.count(ctx, r.latest(t)+" WHERE source = ? AND member_id = ?", src, m)
	if err != nil {
		return err
	}
	return r.memberCount(ctx, c, stream, m, n, res)
}

func (r *reconciler) memberCount(ctx context.Context, c connectors.Counter, stream, m string, wh int64, res *ReconcileStream) error {
	vendor, ok, err := c.CountMember(ctx, stream, m)
	if errors.Is(err, connectors.ErrNotFound) {
		return nil // the members check reports it
	}
	if err != nil || !ok {
		return err
	}
	res.Checked++
	if wh != vendor {
		res.Drift = append(res.Drift, Drift{Key: m, Check: "records", Warehouse: wh, Vendor: vendor})
	}
	return nil
}

// sampled lists the source's live members in the warehouse (DM Hub ids),
// all of them or a random sample.
func (r *reconciler) sampled(ctx context.Context) ([]string, error) {
	if r.members != nil {
		return r.members, nil
	}
	q := "SELECT member_id FROM " + r.latest(warehouse.Members) + " WHERE source = ?"
	if r.sample > 0 {
		q += fmt.Sprintf(" ORDER BY rand() LIMIT %d", r.sample)
	}
	rows, err := r.e.wh.Conn().Query(ctx, q, r.src.Name)
	if err != nil {
		return nil, fmt.Errorf("warehouse: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(out)
	r.members = out
	return out, nil
}

// keys lists the source's member keys (member_keys), all of them or a
// uniform sample (reservoir).
func (r *reconciler) keys(ctx context.Context) ([]string, error) {
	if r.members != nil {
		return r.members, nil
	}
	if r.src.MemberKeys == nil || r.e.deps.Keys == nil {
		return nil, fmt.Errorf("%s has no member_keys", r.src.Name)
	}
	out := []string{}
	seen := 0
	cursor := ""
	for {
		ks, next, err := r.e.deps.Keys.ListKeys(ctx, r.src.MemberKeys, cursor, 1000)
		if err != nil {
			return nil, err
		}
		for _, k := range ks {
			seen++
			switch {
			case r.sample <= 0 || len(out) < r.sample:
				out = append(out, k)
			default:
				if j := rand.IntN(seen); j < r.sample {
					out[j] = k
				}
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	slices.Sort(out)
	r.members = out
	return out, nil
}

// reread compares, per sampled member key, the records the vendor returns
// on a full read with the warehouse's rows of the member ids they name
// (the key itself when it names none).
func (r *reconciler) reread(ctx context.Context, stream string, t warehouse.Table, res *ReconcileStream) error {
	s, err := r.conn.Stream(stream)
	if err != nil {
		return err
	}
	keys, err := r.keys(ctx)
	if err != nil {
		return err
	}
	for _, k := range keys {
		perTable, ids, err := connectors.CountByReading(ctx, s, k)
		if err != nil {
			return fmt.Errorf("member %s: %w", k, err)
		}
		vendor := perTable[t.Name]
		if len(ids) == 0 {
			ids = map[string]bool{k: true}
		}
		set := make([]any, 0, len(ids))
		for id := range ids {
			set = append(set, id)
		}
		wh, err := r.count(ctx, r.latest(t)+" WHERE source = ? AND member_id IN ?", r.src.Name, clickhouse.GroupSet{Value: set})
		if err != nil {
			return err
		}
		res.Checked++
		if wh != vendor {
			res.Drift = append(res.Drift, Drift{Key: k, Check: "records", Warehouse: wh, Vendor: vendor})
		}
	}
	return nil
}

// rereadList compares the records of a source-wide list, read again in
// full, with the table's live rows.
func (r *reconciler) rereadList(ctx context.Context, stream string, t warehouse.Table, res *ReconcileStream) error {
	s, err := r.conn.Stream(stream)
	if err != nil {
		return err
	}
	perTable, _, err := connectors.CountByReading(ctx, s, "")
	if err != nil {
		return err
	}
	wh, err := r.count(ctx, r.latest(t)+" WHERE source = ?", r.src.Name)
	if err != nil {
		return err
	}
	res.Checked++
	if vendor := perTable[t.Name]; wh != vendor {
		res.Drift = append(res.Drift, Drift{Key: stream, Check: "records", Warehouse: wh, Vendor: vendor})
	}
	return nil
}

// saveReconcile writes one reconcile_runs row per stream.
func (e *Engine) saveReconcile(ctx context.Context, rep ReconcileReport) error {
	b, err := e.wh.Conn().PrepareBatch(ctx, "INSERT INTO "+e.wh.Q("reconcile_runs")+
		" (source, synced_at, run_id, stream, started_at, finished_at, sample, checked, drifted, status, detail, error)")
	if err != nil {
		return fmt.Errorf("reconcile_runs: %w", err)
	}
	for _, s := range rep.Streams {
		detail, err := json.Marshal(s.Drift)
		if err != nil {
			_ = b.Abort()
			return err
		}
		status := "ok"
		switch {
		case s.Error != "":
			status = "failed"
		case s.Drifted > 0:
			status = "drift"
		case s.Skipped != "":
			status = "skipped"
		}
		msg := s.Error
		if msg == "" {
			msg = s.Skipped
		}
		if err := b.Append(rep.Source, rep.FinishedAt.Truncate(time.Second), rep.RunID, s.Stream, rep.StartedAt.Truncate(time.Second),
			rep.FinishedAt.Truncate(time.Second), uint64(max(rep.Sample, 0)), uint64(s.Checked), uint64(s.Drifted), status, string(detail), msg); err != nil {
			_ = b.Abort()
			return fmt.Errorf("reconcile_runs: %w", err)
		}
	}
	if err := b.Send(); err != nil {
		return fmt.Errorf("reconcile_runs: %w", err)
	}
	return nil
}
