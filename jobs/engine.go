package jobs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/goccy/go-json"
	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// The warehouse's key lister lets incremental identities runs read only
// the keys of changed members.
var _ connectors.ChangedKeyLister = (*warehouse.KeyLister)(nil)

// Engine runs syncs: it starts and resumes runs and handles their tasks.
// It is safe for concurrent use.
type Engine struct {
	Config   *config.Config
	WH       *warehouse.Warehouse
	Queue    *asynq.Client
	Registry *connectors.Registry
	Deps     connectors.Deps
	Log      *slog.Logger
	Now      func() time.Time

	mu    sync.Mutex
	conns map[string]connectors.Connector
}

// runState is the in-progress checkpoint of a run (partition "run"): the
// stream cursor plus the run's counters, durable in ClickHouse.
type runState struct {
	Seq       int             `json:"seq"`
	Cursor    json.RawMessage `json:"cursor,omitempty"`
	StartedAt time.Time       `json:"started_at"`
	Status    string          `json:"status"`
	Pages     uint64          `json:"pages"`
	Rows      uint64          `json:"rows"`
	Requests  uint64          `json:"requests"`
	Items     uint64          `json:"items"`
	Total     uint64          `json:"total"`
	Error     string          `json:"error,omitempty"`
	// WaitFor is the members run a waiting per-member run starts after.
	WaitFor string `json:"wait_for,omitempty"`
}

// RunRef names a run started or resumed by StartSync.
type RunRef struct {
	Source  string
	Stream  string
	RunID   string
	Mode    connectors.Mode
	Resumed bool
}

func (e *Engine) now() time.Time {
	if e.Now != nil {
		return e.Now()
	}
	return time.Now()
}

func (e *Engine) connector(name string) (*config.Source, connectors.Connector, error) {
	src, err := e.Config.Source(name)
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.conns[name]; ok {
		return src, c, nil
	}
	c, err := e.Registry.Connector(src, e.Deps)
	if err != nil {
		return nil, nil, err
	}
	if e.conns == nil {
		e.conns = map[string]connectors.Connector{}
	}
	e.conns[name] = c
	return src, c, nil
}

// StartSync starts a run of each stream of source (all enabled streams
// when streams is empty) and enqueues its first task. A run of the same
// mode still in progress is resumed from its checkpoint instead; a failed
// one is continued from its checkpoint under a new run id; a run of the
// other mode is superseded.
//
// Per-member streams (DM Hub points, experience, member_coupons) read the
// members synced into ClickHouse: when the members stream is part of the
// same sync, they wait for its run and start when it succeeds (so does
// identities when its identity_keys come from the source's own members). In
// incremental mode they (and identities) are upgraded to a full sweep when
// their last full run is older than the source's full_sweep_every.
func (e *Engine) StartSync(ctx context.Context, source string, streams []string, mode connectors.Mode) ([]RunRef, error) {
	src, conn, err := e.connector(source)
	if err != nil {
		return nil, err
	}
	if len(streams) == 0 {
		streams = src.EnabledStreams()
	}
	perMember := map[string]bool{}
	for _, st := range streams {
		if !slices.Contains(src.EnabledStreams(), st) {
			return nil, fmt.Errorf("source %s (kind %s) does not sync stream %q (enabled: %v)", source, src.Kind, st, src.EnabledStreams())
		}
		_, pm, err := e.resolve(src, conn, st)
		if err != nil {
			return nil, err
		}
		perMember[st] = pm
	}
	waitFor := ""
	var refs []RunRef
	// members first, so the per-member runs can wait for it
	ordered := slices.Clone(streams)
	slices.SortStableFunc(ordered, func(a, b string) int {
		switch {
		case a == "members" && b != "members":
			return -1
		case b == "members" && a != "members":
			return 1
		}
		return 0
	})
	for _, st := range ordered {
		m := mode
		wf := ""
		ownKeys := st == "identities" && src.IdentityKeys != nil && src.IdentityKeys.FromSource == src.Name
		if (perMember[st] && src.Kind == config.DMHub) || ownKeys {
			wf = waitFor
		}
		// per-member streams and identities read only what changed in
		// members; a periodic full sweep catches what changes without
		// touching the member
		if src.Kind == config.DMHub && (perMember[st] || st == "identities") {
			if m == connectors.Incremental && src.FullSweepEvery > 0 {
				last, err := e.WH.LastFullSuccess(ctx, src.Name, st)
				if err != nil {
					return refs, err
				}
				if e.now().Sub(last) > src.FullSweepEvery {
					m = connectors.Full
					e.Log.Info("periodic full sweep", "source", src.Name, "stream", st, "last_full", last, "every", src.FullSweepEvery)
				}
			}
		}
		ref, err := e.startStream(ctx, src, st, m, wf)
		if err != nil {
			return refs, err
		}
		if st == "members" {
			waitFor = ref.RunID
		}
		refs = append(refs, ref)
	}
	return refs, nil
}

// resolve returns the stream called name; per-member streams come wrapped
// in a member pass.
func (e *Engine) resolve(src *config.Source, conn connectors.Connector, name string) (connectors.Stream, bool, error) {
	if mc, ok := conn.(connectors.MemberConnector); ok {
		if ms, ok := mc.MemberStream(name); ok {
			return &memberPass{e: e, src: src, stream: name, ms: ms}, true, nil
		}
	}
	s, err := conn.Stream(name)
	if err != nil {
		return nil, false, err
	}
	if slices.Contains(config.MemberKeyStreams[src.Kind], name) {
		// a stream partitioned by member key: run it over member_keys
		return &memberPass{e: e, src: src, stream: name, ms: &partitioned{s: s}}, true, nil
	}
	return s, false, nil
}

func (e *Engine) startStream(ctx context.Context, src *config.Source, stream string, mode connectors.Mode, waitFor string) (RunRef, error) {
	ref := RunRef{Source: src.Name, Stream: stream, Mode: mode}
	cp, ok, err := e.WH.LoadCheckpoint(ctx, src.Name, stream, warehouse.InProgress)
	if err != nil {
		return ref, err
	}
	var st runState
	if ok {
		if err := json.Unmarshal([]byte(cp.Cursor), &st); err != nil {
			ok = false // unreadable: start over
		}
	}
	now := e.now().UTC()
	live := st.Status == warehouse.RunRunning || st.Status == warehouse.RunWaiting
	switch {
	case ok && cp.Mode == string(mode) && live:
		ref.RunID, ref.Resumed = cp.RunID, true
		if st.Status == warehouse.RunWaiting {
			if waitFor != "" {
				st.WaitFor = waitFor // now waits for this members run
				return ref, e.saveState(ctx, src.Name, stream, cp.RunID, cp.Mode, st)
			}
			return ref, e.release(ctx, src.Name, stream, cp, st)
		}
		// in progress: make sure its next task exists (it may have been
		// lost with a Redis flush); the task id dedupes.
		return ref, e.enqueue(ctx, SyncPayload{Source: src.Name, Stream: stream, RunID: cp.RunID, Mode: cp.Mode, Seq: st.Seq})
	case ok && cp.Mode == string(mode):
		// failed earlier: continue from its position as a new run
		ref.Resumed = true
		st = runState{Seq: st.Seq, Cursor: st.Cursor}
	case ok:
		e.supersede(ctx, src.Name, stream, cp, st)
		st = runState{}
	}
	ref.RunID = uuid.NewString()
	st.StartedAt, st.Status, st.WaitFor = now, warehouse.RunRunning, waitFor
	if waitFor != "" {
		st.Status = warehouse.RunWaiting
	}
	if err := e.saveState(ctx, src.Name, stream, ref.RunID, string(mode), st); err != nil {
		return ref, err
	}
	if err := e.WH.SaveRun(ctx, e.runRow(src.Name, stream, ref.RunID, string(mode), st)); err != nil {
		return ref, err
	}
	if st.Status == warehouse.RunWaiting {
		return ref, nil
	}
	return ref, e.enqueue(ctx, SyncPayload{Source: src.Name, Stream: stream, RunID: ref.RunID, Mode: string(mode), Seq: st.Seq})
}

// release starts a waiting run.
func (e *Engine) release(ctx context.Context, source, stream string, cp warehouse.Checkpoint, st runState) error {
	st.Status, st.WaitFor, st.StartedAt = warehouse.RunRunning, "", e.now().UTC()
	if err := e.saveState(ctx, source, stream, cp.RunID, cp.Mode, st); err != nil {
		return err
	}
	if err := e.WH.SaveRun(ctx, e.runRow(source, stream, cp.RunID, cp.Mode, st)); err != nil {
		return err
	}
	return e.enqueue(ctx, SyncPayload{Source: source, Stream: stream, RunID: cp.RunID, Mode: cp.Mode, Seq: st.Seq})
}

// settleWaiting starts (ok) or fails the runs waiting for a members run.
func (e *Engine) settleWaiting(ctx context.Context, source, membersRun string, ok bool, reason string) error {
	src, err := e.Config.Source(source)
	if err != nil {
		return err
	}
	for _, stream := range src.EnabledStreams() {
		cp, found, err := e.WH.LoadCheckpoint(ctx, source, stream, warehouse.InProgress)
		if err != nil {
			return err
		}
		var st runState
		if !found || json.Unmarshal([]byte(cp.Cursor), &st) != nil || st.Status != warehouse.RunWaiting || st.WaitFor != membersRun {
			continue
		}
		if ok {
			if err := e.release(ctx, source, stream, cp, st); err != nil {
				return err
			}
			continue
		}
		now := e.now().UTC()
		st.Status, st.Error = warehouse.RunFailed, reason
		if err := e.saveState(ctx, source, stream, cp.RunID, cp.Mode, st); err != nil {
			return err
		}
		r := e.runRow(source, stream, cp.RunID, cp.Mode, st)
		r.FinishedAt = &now
		if err := e.WH.SaveRun(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

// supersede marks the old run of the other mode failed; its remaining
// tasks see a different run id in the checkpoint and stop.
func (e *Engine) supersede(ctx context.Context, source, stream string, cp warehouse.Checkpoint, st runState) {
	if st.Status != warehouse.RunRunning && st.Status != warehouse.RunWaiting {
		return
	}
	now := e.now().UTC()
	st.Status, st.Error = warehouse.RunFailed, "superseded by a "+string(invert(cp.Mode))+" run"
	r := e.runRow(source, stream, cp.RunID, cp.Mode, st)
	r.FinishedAt = &now
	if err := e.WH.SaveRun(ctx, r); err != nil {
		e.Log.Warn("mark superseded run", "source", source, "stream", stream, "err", err)
	}
	if stream == "members" {
		// runs waiting for it would wait forever
		if err := e.settleWaiting(ctx, source, cp.RunID, false, "not started: the members run it waited for was superseded"); err != nil {
			e.Log.Warn("fail runs waiting for a superseded members run", "source", source, "err", err)
		}
	}
}

func invert(mode string) connectors.Mode {
	if mode == string(connectors.Full) {
		return connectors.Incremental
	}
	return connectors.Full
}

func (e *Engine) enqueue(ctx context.Context, p SyncPayload) error {
	t, err := e.newSyncTask(p)
	if err != nil {
		return err
	}
	_, err = e.Queue.EnqueueContext(ctx, t)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("enqueue %s/%s: %w", p.Source, p.Stream, err)
	}
	return nil
}

func (e *Engine) saveState(ctx context.Context, source, stream, runID, mode string, st runState) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return e.WH.SaveCheckpoint(ctx, warehouse.Checkpoint{Source: source, Stream: stream, Partition: warehouse.InProgress,
		Cursor: string(b), RunID: runID, Mode: mode})
}

func (e *Engine) runRow(source, stream, runID, mode string, st runState) warehouse.Run {
	return warehouse.Run{Source: source, RunID: runID, Stream: stream, Mode: mode, StartedAt: st.StartedAt,
		Status: st.Status, Pages: st.Pages, Rows: st.Rows, Requests: st.Requests, Items: st.Items, Total: st.Total,
		Error: st.Error}
}

// Resume enqueues the next task of every run still in progress according
// to ClickHouse. The worker calls it at start, so runs whose tasks were
// lost (a Redis flush) continue by themselves.
func (e *Engine) Resume(ctx context.Context) (int, error) {
	cps, err := e.WH.Checkpoints(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, cp := range cps {
		if cp.Partition != warehouse.InProgress {
			continue
		}
		if _, err := e.Config.Source(cp.Source); err != nil {
			continue // source no longer configured
		}
		var st runState
		if json.Unmarshal([]byte(cp.Cursor), &st) != nil || st.Status != warehouse.RunRunning {
			continue
		}
		if err := e.enqueue(ctx, SyncPayload{Source: cp.Source, Stream: cp.Stream, RunID: cp.RunID, Mode: cp.Mode, Seq: st.Seq}); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// NewEngine wires an engine: the asynq client shares rdb, connectors get
// a shared HTTP transport and the deployment's Redis namespace.
func NewEngine(cfg *config.Config, wh *warehouse.Warehouse, rdb redis.UniversalClient, reg *connectors.Registry, log *slog.Logger) *Engine {
	return &Engine{
		Config:   cfg,
		WH:       wh,
		Queue:    asynq.NewClientFromRedisClient(rdb),
		Registry: reg,
		Deps: connectors.Deps{
			Redis:     rdb,
			Namespace: cfg.Redis.Namespace,
			HTTP:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
			Keys:      wh.Keys(cfg.Dir()),
		},
		Log: log,
	}
}
