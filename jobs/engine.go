package jobs

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/jobs/webhooks"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// The warehouse's key lister lets incremental identities runs read only
// the keys of changed members.
var _ connectors.ChangedKeyLister = (*warehouse.KeyLister)(nil)

// Engine runs syncs. Its work is split by role, one file each:
//   - start.go: starting a run (StartSync), idempotent under a per-stream
//     Redis lock;
//   - group.go: the sync:stream task handler (one group of pages);
//   - memberpass.go: per-member passes with member-by-member checkpoints;
//   - failure.go: recording a failed task on its run;
//   - resume.go and liveness.go: resumption and the check that a running
//     run has a live task;
//   - runstate.go: the run's durable state and its versions;
//   - policy.go: the vendor and stream-name policy that is left in jobs.
//
// It is safe for concurrent use. Build it with NewEngine.
type Engine struct {
	cfg    *config.Config
	wh     *warehouse.Warehouse
	rdb    redis.UniversalClient
	queue  *asynq.Client
	insp   *asynq.Inspector
	reg    *connectors.Registry
	deps   connectors.Deps
	log    *slog.Logger
	now    func() time.Time
	budget time.Duration
	mws    []asynq.MiddlewareFunc
	// whMetrics counts pushed events (WithWebhookMetrics; nil: none)
	whMetrics *webhooks.Metrics

	mu    sync.Mutex
	conns map[string]connectors.Connector
}

// Option configures an Engine.
type Option func(*Engine)

// WithClock sets the engine's clock (run start and end times, full-sweep
// age, task budgets) and its connectors' (tokens, vendor-time bounds).
// Versions of durable rows never depend on it. The reliability suite runs
// a worker with its clock 10 minutes off with it (and
// warehouse.SetClock).
func WithClock(now func() time.Time) Option {
	return func(e *Engine) { e.now, e.deps.Now = now, now }
}

// WithTaskBudget sets how long one task of a per-member pass takes new
// members (default DefaultTaskBudget); the members it started still
// finish.
func WithTaskBudget(d time.Duration) Option { return func(e *Engine) { e.budget = d } }

// WithTransport sets the HTTP transport of the engine's vendor clients
// (default: a clone of http.DefaultTransport).
func WithTransport(rt http.RoundTripper) Option {
	return func(e *Engine) { e.deps.HTTP = &http.Client{Transport: rt} }
}

// WithObserver sets the observer told about every vendor HTTP attempt
// (metrics).
func WithObserver(o connectors.Observer) Option { return func(e *Engine) { e.deps.Observer = o } }

// WithMiddleware adds task middleware to the worker's mux (Mux), outside
// the engine's own classification and logging; the first is outermost.
func WithMiddleware(mw ...asynq.MiddlewareFunc) Option {
	return func(e *Engine) { e.mws = append(e.mws, mw...) }
}

// DefaultTaskBudget is the default time budget of a per-member task: well
// under the task timeout, so a slow group checkpoints what it finished.
const DefaultTaskBudget = 5 * time.Minute

// NewEngine wires an engine: the asynq client and inspector share rdb,
// connectors get a shared HTTP transport and the deployment's Redis
// namespace, and the warehouse gets the config's PII policy (pii,
// pii_key), which its Load applies to every row (docs/privacy.md).
func NewEngine(cfg *config.Config, wh *warehouse.Warehouse, rdb redis.UniversalClient, reg *connectors.Registry, log *slog.Logger, opts ...Option) *Engine {
	wh.SetPrivacy(pii.New(cfg))
	e := &Engine{
		cfg:   cfg,
		wh:    wh,
		rdb:   rdb,
		queue: asynq.NewClientFromRedisClient(rdb),
		insp:  asynq.NewInspectorFromRedisClient(rdb),
		reg:   reg,
		deps: connectors.Deps{
			Redis:     rdb,
			Namespace: cfg.Redis.Namespace,
			HTTP:      &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()},
			Keys:      wh.Keys(cfg.Dir()),
		},
		log:    log,
		now:    time.Now,
		budget: DefaultTaskBudget,
	}
	for _, o := range opts {
		o(e)
	}
	return e
}

// connector returns the (cached) connector of a configured source.
func (e *Engine) connector(name string) (*config.Source, connectors.Connector, error) {
	src, err := e.cfg.Source(name)
	if err != nil {
		return nil, nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.conns[name]; ok {
		return src, c, nil
	}
	c, err := e.reg.Connector(src, e.deps)
	if err != nil {
		return nil, nil, err
	}
	if e.conns == nil {
		e.conns = map[string]connectors.Connector{}
	}
	e.conns[name] = c
	return src, c, nil
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
	if partitionedByMember(src, name) {
		// a stream partitioned by member key: run it over member_keys
		return &memberPass{e: e, src: src, stream: name, ms: &partitioned{s: s}}, true, nil
	}
	return s, false, nil
}

// keys is the engine's key lister.
func (e *Engine) keys() connectors.KeyLister { return e.deps.Keys }
