package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Clock is the scheduler's time source; tests inject a fake one so they
// never sleep.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

// SystemClock is the real Clock.
type SystemClock struct{}

// Now returns time.Now().
func (SystemClock) Now() time.Time { return time.Now() }

// After returns time.After(d).
func (SystemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// SyncStarter starts (or resumes) the runs of a source; *Engine is one.
// StartSync resumes a run still in progress instead of starting a second,
// so a slot that fires while the previous sync still runs starts nothing.
type SyncStarter interface {
	StartSync(ctx context.Context, source string, streams []string, mode connectors.Mode) ([]RunRef, error)
}

// Fire describes one scheduled slot this scheduler started.
type Fire struct {
	Source string
	Slot   time.Time     // the cron slot (UTC, whole seconds)
	Late   time.Duration // how long after the slot it was started
	Runs   []RunRef
}

// SchedulerOptions tune a Scheduler. The zero value is the production
// setting except CatchUp, which the caller takes from the config.
type SchedulerOptions struct {
	// CatchUp fires a slot missed while every scheduler was down once, at
	// start. When false, a slot more than Grace late is skipped.
	CatchUp bool
	// Grace is how late a slot may still fire when CatchUp is false;
	// default 1m, and never more than half the schedule's interval.
	Grace time.Duration
	// Retry is how soon a slot whose start failed is tried again;
	// default 10s.
	Retry time.Duration
	// Clock defaults to SystemClock.
	Clock Clock
	// Parser parses the schedules; default the standard 5-field parser.
	// Tests pass one with cron.Second for per-second specs.
	Parser cron.ScheduleParser
	// OnFire, when set, is called after each slot this scheduler started
	// (metrics).
	OnFire func(Fire)
	// OnSkip, when set, is called for each missed slot skipped because
	// CatchUp is false (metrics).
	OnSkip func(source string, slot time.Time)
	// Backfilling, when set, reports whether a full run (backfill) of the
	// stream is in progress; such streams are left out of the scheduled
	// incremental sync, which would otherwise supersede the backfill at
	// every slot. (*Engine).Backfilling is the production one.
	Backfilling func(ctx context.Context, source, stream string) (bool, error)
}

// Scheduler enqueues each source's scheduled incremental syncs. Any number
// of schedulers may run against one Redis: each slot is claimed with a
// Redis SETNX on (namespace, source, slot time) before it is started, so
// it starts once. The last started slot of each source is kept in Redis,
// so a slot missed while every scheduler was down is found at the next
// start. Backfills (full syncs) are never scheduled, and a stream with a
// backfill in progress is left out of the scheduled sync (Backfilling).
type Scheduler struct {
	rdb     redis.UniversalClient
	starter SyncStarter
	log     *slog.Logger
	ns      string
	opt     SchedulerOptions
	owner   string
	entries []schedEntry
	retryAt map[string]time.Time
}

type schedEntry struct {
	source  string
	spec    string
	sched   cron.Schedule
	streams []string // the source's enabled streams
}

// NewScheduler builds a scheduler for every source of cfg with a schedule.
func NewScheduler(cfg *config.Config, rdb redis.UniversalClient, starter SyncStarter, log *slog.Logger, opt SchedulerOptions) (*Scheduler, error) {
	if opt.Clock == nil {
		opt.Clock = SystemClock{}
	}
	if opt.Parser == nil {
		opt.Parser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	}
	if opt.Grace <= 0 {
		opt.Grace = time.Minute
	}
	if opt.Retry <= 0 {
		opt.Retry = 10 * time.Second
	}
	s := &Scheduler{rdb: rdb, starter: starter, log: log, ns: cfg.Redis.Namespace, opt: opt,
		owner: uuid.NewString(), retryAt: map[string]time.Time{}}
	for _, src := range cfg.Sources {
		if src.Schedule == "" {
			continue
		}
		sched, err := opt.Parser.Parse(src.Schedule)
		if err != nil {
			return nil, fmt.Errorf("source %s: schedule %q: %w", src.Name, src.Schedule, err)
		}
		s.entries = append(s.entries, schedEntry{source: src.Name, spec: src.Schedule, sched: sched, streams: src.EnabledStreams()})
	}
	return s, nil
}

// Sources returns the names of the scheduled sources.
func (s *Scheduler) Sources() []string {
	out := make([]string, len(s.entries))
	for i, e := range s.entries {
		out[i] = e.source
	}
	return out
}

// Next returns each scheduled source's next slot after now.
func (s *Scheduler) Next(now time.Time) map[string]time.Time {
	out := make(map[string]time.Time, len(s.entries))
	for _, e := range s.entries {
		out[e.source] = e.sched.Next(now).UTC()
	}
	return out
}

// NextScheduled returns, for every source of cfg with a schedule, its
// next slot after now (status shows it). Schedules are validated at load.
func NextScheduled(cfg *config.Config, now time.Time) map[string]time.Time {
	out := map[string]time.Time{}
	for _, src := range cfg.Sources {
		if src.Schedule == "" {
			continue
		}
		if sched, err := cron.ParseStandard(src.Schedule); err == nil {
			out[src.Name] = sched.Next(now).UTC()
		}
	}
	return out
}

// maxWait bounds one sleep, so a wall-clock step (NTP) is noticed.
const maxWait = time.Minute

// Run fires slots until ctx is cancelled.
func (s *Scheduler) Run(ctx context.Context) error {
	if len(s.entries) == 0 {
		s.log.Warn("no source has a schedule; the scheduler has nothing to do")
	}
	for {
		now := s.opt.Clock.Now()
		wake := s.Tick(ctx, now)
		d := wake.Sub(now)
		if d > maxWait {
			d = maxWait
		}
		select {
		case <-ctx.Done():
			return nil
		case <-s.opt.Clock.After(d):
		}
	}
}

// Tick fires every slot due at now that no scheduler has fired yet and
// returns when it should run again (the next slot or retry; now plus a
// minute when nothing is scheduled). It is not safe for concurrent use:
// run one Scheduler per goroutine.
func (s *Scheduler) Tick(ctx context.Context, now time.Time) time.Time {
	wake := now.Add(maxWait)
	if len(s.entries) > 0 {
		wake = time.Time{}
	}
	for _, e := range s.entries {
		if err := s.tickSource(ctx, e, now); err != nil && ctx.Err() == nil {
			s.log.Error("scheduler: slot not started; will retry", "source", e.source, "err", err, "retry_in", s.opt.Retry)
			s.retryAt[e.source] = now.Add(s.opt.Retry)
		} else {
			delete(s.retryAt, e.source)
		}
		if n := e.sched.Next(now); wake.IsZero() || n.Before(wake) {
			wake = n
		}
		if r, ok := s.retryAt[e.source]; ok && r.Before(wake) {
			wake = r
		}
	}
	return wake
}

func (s *Scheduler) lastKey(source string) string { return s.ns + ":scheduler:last:" + source }

func (s *Scheduler) slotKey(source string, slot time.Time) string {
	return s.ns + ":scheduler:slot:" + source + ":" + strconv.FormatInt(slot.Unix(), 10)
}

// advance sets the last fired slot to max(current, new).
var advance = redis.NewScript(`
local cur = redis.call('GET', KEYS[1])
if (not cur) or tonumber(cur) < tonumber(ARGV[1]) then
  redis.call('SET', KEYS[1], ARGV[1])
end
return 1`)

func (s *Scheduler) tickSource(ctx context.Context, e schedEntry, now time.Time) error {
	now = now.UTC()
	// the first scheduler ever to run starts the bookkeeping at now: no
	// slot before it counts as missed
	if err := s.rdb.SetNX(ctx, s.lastKey(e.source), now.Unix(), 0).Err(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	v, err := s.rdb.Get(ctx, s.lastKey(e.source)).Int64()
	if err != nil {
		return fmt.Errorf("redis: last slot: %w", err)
	}
	last := time.Unix(v, 0).UTC()
	due, ok := latestSlot(e.sched, last, now)
	if !ok {
		return nil
	}
	late := now.Sub(due)
	interval := e.sched.Next(due).Sub(due)
	if !s.opt.CatchUp && late > min(s.opt.Grace, interval/2) {
		s.log.Warn("scheduler: slot missed while no scheduler ran; skipped (scheduler.catch_up is false)",
			"source", e.source, "slot", due, "late", late.Round(time.Second))
		if s.opt.OnSkip != nil {
			s.opt.OnSkip(e.source, due)
		}
		return advance.Run(ctx, s.rdb, []string{s.lastKey(e.source)}, due.Unix()).Err()
	}
	// the claim outlives the slot by far, so a slower scheduler never
	// sees it free again before the last slot has moved past it
	ttl := max(3*interval, 10*time.Minute)
	claimed, err := s.rdb.SetNX(ctx, s.slotKey(e.source, due), s.owner, ttl).Result()
	if err != nil {
		return fmt.Errorf("redis: claim slot: %w", err)
	}
	if !claimed {
		return nil // another scheduler fired (or is firing) this slot
	}
	streams, err := s.incrementalStreams(ctx, e)
	var refs []RunRef
	if err == nil && streams == nil {
		// every stream is backfilling: nothing to start in this slot
		s.log.Info("scheduled slot skipped: every stream of the source is backfilling", "source", e.source, "slot", due)
	} else if err == nil {
		if len(streams) == len(e.streams) {
			streams = nil // all of them
		}
		refs, err = s.starter.StartSync(ctx, e.source, streams, connectors.Incremental)
	}
	if err != nil {
		// give the slot back so this or another scheduler retries it
		if derr := s.rdb.Del(context.WithoutCancel(ctx), s.slotKey(e.source, due)).Err(); derr != nil {
			err = errors.Join(err, fmt.Errorf("release slot: %w", derr))
		}
		return err
	}
	if err := advance.Run(ctx, s.rdb, []string{s.lastKey(e.source)}, due.Unix()).Err(); err != nil {
		// the claim still guards the slot until it expires
		s.log.Warn("scheduler: record last slot", "source", e.source, "err", err)
	}
	resumed := 0
	for _, r := range refs {
		if r.Resumed {
			resumed++
		}
	}
	s.log.Info("scheduled sync started", "source", e.source, "slot", due, "late", late.Round(time.Millisecond),
		"runs", len(refs), "resumed", resumed)
	if s.opt.OnFire != nil {
		s.opt.OnFire(Fire{Source: e.source, Slot: due, Late: late, Runs: refs})
	}
	return nil
}

// incrementalStreams returns the streams of e to sync incrementally: all
// of them but those with a backfill in progress; nil when none is left.
func (s *Scheduler) incrementalStreams(ctx context.Context, e schedEntry) ([]string, error) {
	if s.opt.Backfilling == nil {
		return e.streams, nil
	}
	var out []string
	for _, st := range e.streams {
		busy, err := s.opt.Backfilling(ctx, e.source, st)
		if err != nil {
			return nil, err
		}
		if busy {
			s.log.Info("scheduled sync leaves out a stream whose backfill is running", "source", e.source, "stream", st)
			continue
		}
		out = append(out, st)
	}
	return out, nil
}

// Backfilling reports whether a full run of the stream is in progress
// (running or waiting), from its in-progress checkpoint.
func (e *Engine) Backfilling(ctx context.Context, source, stream string) (bool, error) {
	r, found, err := e.loadRun(ctx, source, stream)
	if err != nil || !found || r.mode != string(connectors.Full) {
		return false, err
	}
	return r.st.Status == warehouse.RunRunning || r.st.Status == warehouse.RunWaiting, nil
}

// lookbackWindows are the widths searched for the latest slot, smallest
// first, so a frequent schedule never walks a long stretch slot by slot.
var lookbackWindows = []time.Duration{time.Minute, time.Hour, 24 * time.Hour, 32 * 24 * time.Hour, 367 * 24 * time.Hour, 5 * 367 * 24 * time.Hour}

// latestSlot returns the latest slot of sched in (after, now].
func latestSlot(sched cron.Schedule, after, now time.Time) (time.Time, bool) {
	if !after.Before(now) {
		return time.Time{}, false
	}
	for _, w := range lookbackWindows {
		from := now.Add(-w)
		if from.Before(after) {
			from = after
		}
		t := sched.Next(from)
		if t.IsZero() || t.After(now) {
			if from.Equal(after) {
				return time.Time{}, false // the whole range has no slot
			}
			continue
		}
		for {
			n := sched.Next(t)
			if n.IsZero() || n.After(now) {
				return t, true
			}
			t = n
		}
	}
	return time.Time{}, false
}
