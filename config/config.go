package config

import (
	"fmt"
	"path/filepath"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole loyaltybridge configuration file.
type Config struct {
	Redis      Redis      `yaml:"redis"`
	ClickHouse ClickHouse `yaml:"clickhouse"`
	Sources    []Source   `yaml:"sources"`
	Worker     Worker     `yaml:"worker"`
	Scheduler  Scheduler  `yaml:"scheduler"` // config/ops.go
	Serve      Serve      `yaml:"serve"`
	// PIIKey is the deployment's one HMAC key for the pii action hash
	// (config/pii.go, docs/privacy.md): at least 16 bytes, required when
	// any source hashes a field. It is a Secret: never logged or printed.
	PIIKey Secret `yaml:"pii_key"`

	// file is the path the config was loaded from ("" when built in code);
	// lines maps a field path such as "sources[0].schedule" to its line.
	file  string
	lines map[string]int
	// credentials holds each source's credentials block by field path
	// ("sources[0].credentials") from walk until decodeCredentials.
	credentials map[string]*yaml.Node
	// kinds are the declarations the config was validated against.
	kinds Kinds
	// masks are the texts Parse's errors never show (config/mask.go).
	masks map[string]string // text → what errors show instead
}

// Redis locates the Redis server asynq and the shared token, rate-limit and
// progress state live in.
type Redis struct {
	Addr     string `yaml:"addr"`     // host:port; default 127.0.0.1:6379
	Password Secret `yaml:"password"` // optional
	DB       int    `yaml:"db"`       // 0..15
	URL      string `yaml:"url"`      // redis://[:password@]host:port/db; replaces addr/password/db
	// Namespace prefixes every Redis key and asynq queue name of this
	// deployment, so several deployments (or tests) can share one Redis.
	// Default "loyaltybridge".
	Namespace string `yaml:"namespace"`
	// Sentinel or Cluster replace addr/url for a highly available Redis
	// (config/ops.go, docs/scaling.md).
	Sentinel *RedisSentinel `yaml:"sentinel"`
	Cluster  []string       `yaml:"cluster"`
}

// ClickHouse locates the warehouse (native protocol).
type ClickHouse struct {
	Addr     []string `yaml:"addr"`     // host:port list; default [127.0.0.1:9000]
	Database string   `yaml:"database"` // default "loyalty"
	Username string   `yaml:"username"` // default "default"
	Password Secret   `yaml:"password"`
	// DialTimeout bounds connecting; default 10s.
	DialTimeout time.Duration `yaml:"dial_timeout"`
	// MaxOpenConns bounds the connection pool of one process. Default:
	// sized to the worker's concurrency, worker.concurrency × (the largest
	// source concurrency + 1) + 2 (each running task may query once per
	// concurrent member look-up, plus its run bookkeeping; 2 for the
	// process itself), so tasks do not queue for connections.
	MaxOpenConns int `yaml:"max_open_conns"`
	// Cluster names a ClickHouse cluster (remote_servers): migrate then
	// creates Replicated tables ON CLUSTER, with a Distributed table per
	// entity table (docs/scaling.md). "" (default) is a single server.
	Cluster string `yaml:"cluster"`
}

// Worker tunes the queue worker. Every field is optional.
type Worker struct {
	// Concurrency is the number of tasks one worker process runs at once;
	// default 4. The per-source rate limit is the real bound on vendor load.
	Concurrency int `yaml:"concurrency"`
	// PagesPerTask bounds the vendor pages one sync task reads before it
	// hands over to the next task (a per-member task also stops after
	// the task budget). Within a task, rows are loaded and checkpointed
	// every InsertRows rows, so a crash repeats at most one insert's
	// worth of pages plus the pages read meanwhile, whatever this is.
	// Default 500 (10 before loads were grouped by InsertRows).
	PagesPerTask int `yaml:"pages_per_task"`
	// InsertRows is how many rows a sync task gathers (over its pages)
	// before it inserts them into ClickHouse and checkpoints after them;
	// the task reads its next pages while they load. The last rows of a
	// task are inserted however few. ClickHouse wants few large inserts
	// (at least 10k rows, about one per second); each row of the group
	// is held in memory until its insert ends (about 1-2 KB per member
	// row), and at most two groups are. Default 10000 (DefaultInsertRows).
	InsertRows int `yaml:"insert_rows"`
	// MaxRetry is how often a failing task is retried before it is
	// archived (dead-lettered); default 8.
	MaxRetry int `yaml:"max_retry"`
	// ShutdownTimeout bounds the drain on SIGTERM; default 30s.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
	// RateLimitBudget is the total time one task may be sent back to the
	// queue for rate limits (429, throttling codes) without counting as a
	// failure; past it, each further rate limit counts against max_retry.
	// Default 30m.
	RateLimitBudget time.Duration `yaml:"rate_limit_budget"`
	// MetricsAddr is the listen address of the worker's /healthz, /readyz
	// and /metrics (e.g. ":9101"); "" serves none.
	MetricsAddr string `yaml:"metrics_addr"`
}

// Source is one vendor account.
type Source struct {
	Name     string   `yaml:"name"`
	Kind     Kind     `yaml:"kind"`
	BaseURL  string   `yaml:"base_url"`
	Schedule string   `yaml:"schedule"`
	Streams  []string `yaml:"streams"`
	// RateLimit is requests per second for this account, shared by every
	// worker process; default 5.
	RateLimit float64 `yaml:"rate_limit"`
	// PageSize is the vendor page size (rows); default 100.
	PageSize int `yaml:"page_size"`
	// Timeout bounds one vendor HTTP request; default 30s.
	Timeout time.Duration `yaml:"timeout"`
	// RequestAttempts is how often a failed vendor read (busy, 5xx,
	// timeout, cut body, unknown error code) is tried in place, the first
	// attempt included, with capped exponential backoff, before the task
	// fails and goes back to the queue; default 4, 1 disables in-place
	// retries. Writes are never retried in place.
	RequestAttempts int `yaml:"request_attempts"`
	// Lookback widens every incremental lower bound, so records written
	// late or with a skewed clock are not lost at a cursor boundary;
	// default 10m.
	Lookback time.Duration `yaml:"lookback"`
	// Concurrency bounds the per-member requests one fan-out task of this
	// source has in flight; default 4.
	Concurrency int `yaml:"concurrency"`
	// BackfillShare is the part of rate_limit full runs (backfills) may
	// use together, so a scheduled incremental sync always has the rest;
	// default 0.5, 1 = no cap (config/ops.go).
	BackfillShare float64 `yaml:"backfill_share"`
	// MaxTasks caps the sync tasks of this source running at once across
	// every worker; 0 (default) is no cap (jobs.SourceCap).
	MaxTasks int `yaml:"max_tasks"`
	// FullSweepEvery upgrades an incremental run of a DM Hub per-member
	// stream or of identities to a full re-read when its last full run is
	// older than this (coupons, experience and identities change without
	// touching the member); default 168h,
	// 0s in the file is replaced by the default, a negative value disables it.
	FullSweepEvery time.Duration `yaml:"full_sweep_every"`
	// ClockTolerance is how far past now a vendor timestamp may be before
	// it is treated as a clock error: clamped for the incremental cursor,
	// logged and counted; default 10m.
	ClockTolerance time.Duration `yaml:"clock_tolerance"`
	// MaxMemberPages caps the pages one per-member read may take (a
	// vendor that ignores paging would otherwise be read until memory
	// runs out); the read stops there, logged; default 1000.
	MaxMemberPages int `yaml:"max_member_pages"`

	// Credentials is the source's credentials block decoded into its
	// kind's type (KindSpec.Credentials), defaults filled; a connector
	// reads it with CredentialsAs. Nil for a kind without credentials.
	Credentials any `yaml:"credentials"`

	MemberKeys   *KeySource `yaml:"member_keys"`
	IdentityKeys *KeySource `yaml:"identity_keys"`

	// PII is the source's privacy policy: field (mobile, email, id_card,
	// address, name, or a c_ custom key, c_* patterns allowed) → action
	// (keep, hash, mask, drop), applied before a row is stored
	// (config/pii.go, docs/privacy.md). A field not listed is kept.
	PII map[string]string `yaml:"pii"`

	// Houcaller holds the Houcaller protocol choices the vendor documents
	// loosely (kind houcaller only; filled with the defaults).
	Houcaller *HoucallerOptions `yaml:"houcaller"`

	// WebhookSecret (kind dmhub only; CONTRACT.md webhook_secret) is the
	// key DM Hub signs pushed events with: POST /v1/webhooks/{source} on
	// serve then answers 401 to a call without a valid signature. Unset,
	// the events are taken unsigned (docs/webhooks.md). Use ${ENV}.
	WebhookSecret Secret `yaml:"webhook_secret"`
	// Webhook tunes how pushed events are verified (config/webhook.go).
	Webhook *WebhookOptions `yaml:"webhook"`
	// spec is the declaration of the source's kind, set by Parse.
	spec *KindSpec
}

// HoucallerOptions are Houcaller request details the vendor's document
// leaves open (vendor-api.md §2); each default is the documented reading.
type HoucallerOptions struct {
	// MemberKeyAs is the field member keys are sent as: memberId (the
	// Houcaller member id; default) or platformId (the member's WeChat
	// openid, "平台ID").
	MemberKeyAs string `yaml:"member_key_as"`
	// PointsMonths is how many months before the current one a full
	// points sync starts (the API takes one month per query); default 24.
	PointsMonths int `yaml:"points_months"`
	// PointsEmptyMonths bounds a full points read: it walks back from the
	// current month and stops after this many consecutive months without
	// a record (default 3), so a member with 3 months of history costs 6
	// requests instead of points_months + 1. A member whose history is
	// older than a gap of this many empty months loses that older history
	// on a full read; raise it (or set it negative: never stop, read all
	// points_months) to keep it.
	PointsEmptyMonths int `yaml:"points_empty_months"`
	// MonthFormat is the Go time layout of the points `month` parameter,
	// which the vendor documents only as a string; default "2006-01".
	MonthFormat string `yaml:"month_format"`
}

// Defaults of the data-safety bounds of a source.
const (
	DefaultClockTolerance = 10 * time.Minute
	DefaultMaxMemberPages = 1000
)

// KeySource says where member (or identity) keys come from: exactly one of
// FromSource+Field, File or Query.
type KeySource struct {
	FromSource string `yaml:"from_source"`
	Field      string `yaml:"field"`
	File       string `yaml:"file"`
	Query      string `yaml:"query"`
	Type       string `yaml:"type"` // identity_keys only, e.g. wechat
}

// Kind is a vendor kind, declared by its connector (KindSpec).
type Kind string

// Secret is a credential. It formats as "[redacted]" so it cannot leak into
// logs or errors by accident; Reveal returns the value.
type Secret string

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return "[redacted]"
}

// GoString implements fmt.GoStringer.
func (s Secret) GoString() string { return s.String() }

// MarshalText redacts the secret in any encoding.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Dir is the folder of the config file, against which relative paths
// (member_keys files) resolve; "." when the config was not loaded from a
// file.
func (c *Config) Dir() string {
	if c.file == "" {
		return "."
	}
	return filepath.Dir(c.file)
}

// Source returns the source named name.
func (c *Config) Source(name string) (*Source, error) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], nil
		}
	}
	return nil, fmt.Errorf("unknown source %q (configured: %s)", name, c.sourceNames())
}

func (c *Config) sourceNames() string {
	s := ""
	for i, src := range c.Sources {
		if i > 0 {
			s += ", "
		}
		s += src.Name
	}
	if s == "" {
		return "none"
	}
	return s
}
