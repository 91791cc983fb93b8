package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// Bounds of the numeric settings.
const (
	MaxRateLimit = 1000 // requests per second per source
	// DefaultRateLimitBudget is worker.rate_limit_budget's default.
	DefaultRateLimitBudget = 30 * time.Minute
	MaxPageSize            = 1000 // vendor rows per page
	MaxWorkers             = 256  // tasks per worker process
	// DefaultPagesPerTask is worker.pages_per_task's default.
	DefaultPagesPerTask = 500
	// DefaultInsertRows is worker.insert_rows's default: ClickHouse's
	// advice is inserts of at least 10k rows, about one a second.
	DefaultInsertRows = 10_000
	// MaxInsertRows bounds worker.insert_rows (memory: two groups of
	// rows per running task).
	MaxInsertRows = 200_000
)

func (c *Config) setDefaults() {
	if c.Redis.URL == "" && c.Redis.Addr == "" && !c.Redis.HA() {
		c.Redis.Addr = "127.0.0.1:6379"
	}
	if c.Redis.Namespace == "" {
		c.Redis.Namespace = "loyaltybridge"
	}
	if len(c.ClickHouse.Addr) == 0 {
		c.ClickHouse.Addr = []string{"127.0.0.1:9000"}
	}
	if c.ClickHouse.Database == "" {
		c.ClickHouse.Database = "loyalty"
	}
	if c.ClickHouse.Username == "" {
		c.ClickHouse.Username = "default"
	}
	if c.ClickHouse.DialTimeout == 0 {
		c.ClickHouse.DialTimeout = 10 * time.Second
	}
	c.setServeDefaults()
	w := &c.Worker
	if w.Concurrency == 0 {
		w.Concurrency = 4
	}
	if w.PagesPerTask == 0 {
		w.PagesPerTask = DefaultPagesPerTask
	}
	if w.InsertRows == 0 {
		w.InsertRows = DefaultInsertRows
	}
	if w.MaxRetry == 0 && !c.isSet("worker.max_retry") {
		w.MaxRetry = 8
	}
	if w.ShutdownTimeout == 0 {
		w.ShutdownTimeout = 30 * time.Second
	}
	if w.RateLimitBudget == 0 {
		w.RateLimitBudget = DefaultRateLimitBudget
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		if s.RateLimit == 0 && !c.isSet(fmt.Sprintf("sources[%d].rate_limit", i)) {
			s.RateLimit = 5
		}
		if s.PageSize == 0 {
			s.PageSize = 100
		}
		if s.Timeout == 0 {
			s.Timeout = 30 * time.Second
		}
		if s.RequestAttempts == 0 {
			s.RequestAttempts = 4
		}
		if s.Lookback == 0 && !c.isSet(fmt.Sprintf("sources[%d].lookback", i)) {
			s.Lookback = 10 * time.Minute
		}
		if s.Concurrency == 0 {
			s.Concurrency = 4
		}
		if s.BackfillShare == 0 {
			s.BackfillShare = DefaultBackfillShare
		}
		if s.FullSweepEvery == 0 {
			s.FullSweepEvery = 7 * 24 * time.Hour
		}
		if s.ClockTolerance == 0 {
			s.ClockTolerance = DefaultClockTolerance
		}
		if s.MaxMemberPages == 0 {
			s.MaxMemberPages = DefaultMaxMemberPages
		}
		if s.spec, _ = c.kinds.Spec(s.Kind); s.spec == nil {
			continue // validate reports the unknown kind
		}
		if s.spec.Defaults != nil {
			s.spec.Defaults(s)
		}
	}
	if c.ClickHouse.MaxOpenConns == 0 {
		c.ClickHouse.MaxOpenConns = DefaultMaxOpenConns(c.Worker.Concurrency, c.Sources)
	}
}

// DefaultMaxOpenConns sizes the ClickHouse pool of a worker process that
// runs `concurrency` tasks at once: concurrency × (the largest source
// concurrency + 1) + 2.
func DefaultMaxOpenConns(concurrency int, sources []Source) int {
	fan := 1
	for _, s := range sources {
		fan = max(fan, s.Concurrency)
	}
	return max(concurrency, 1)*(fan+1) + 2
}

// isSet reports whether the file set the field at path (even to zero):
// zero is a valid setting of some fields (lookback, max_retry), distinct
// from "unset, use the default".
func (c *Config) isSet(path string) bool {
	_, ok := c.lines[path]
	return ok
}

var (
	sourceName = regexp.MustCompile(`^[a-z0-9_-]+$`)
	identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

func (c *Config) validate() error {
	if err := c.validateRedis(); err != nil {
		return err
	}
	if err := c.validateClickHouse(); err != nil {
		return err
	}
	if n := c.ClickHouse.MaxOpenConns; n < 1 || n > 10000 {
		return c.fieldErr("clickhouse.max_open_conns", "%d is out of range 1..10000", n)
	}
	if err := c.validateServe(); err != nil {
		return err
	}
	w := c.Worker
	if w.Concurrency < 1 || w.Concurrency > MaxWorkers {
		return c.fieldErr("worker.concurrency", "%d is out of range 1..%d", w.Concurrency, MaxWorkers)
	}
	if w.PagesPerTask < 1 || w.PagesPerTask > 1000 {
		return c.fieldErr("worker.pages_per_task", "%d is out of range 1..1000", w.PagesPerTask)
	}
	if w.InsertRows < 1 || w.InsertRows > MaxInsertRows {
		return c.fieldErr("worker.insert_rows", "%d is out of range 1..%d", w.InsertRows, MaxInsertRows)
	}
	if w.MaxRetry < 0 || w.MaxRetry > 100 {
		return c.fieldErr("worker.max_retry", "%d is out of range 0..100", w.MaxRetry)
	}
	if w.RateLimitBudget < 0 {
		return c.fieldErr("worker.rate_limit_budget", "must not be negative")
	}
	if w.ShutdownTimeout < 0 {
		return c.fieldErr("worker.shutdown_timeout", "must not be negative")
	}
	if err := c.validateOps(); err != nil {
		return err
	}
	names := map[string]int{}
	for i := range c.Sources {
		if err := c.validateSource(i, names); err != nil {
			return err
		}
	}
	if err := c.validatePII(); err != nil { // config/pii.go
		return err
	}
	// cross-source references, once every name is known
	for i, s := range c.Sources {
		for _, ks := range []struct {
			key  string
			spec *KeySource
		}{{"member_keys", s.MemberKeys}, {"identity_keys", s.IdentityKeys}} {
			if ks.spec == nil || ks.spec.FromSource == "" {
				continue
			}
			p := fmt.Sprintf("sources[%d].%s.from_source", i, ks.key)
			j, ok := names[ks.spec.FromSource]
			if !ok {
				return c.fieldErr(p, "no source is named %q (configured: %s)", ks.spec.FromSource, c.sourceNames())
			}
			if j == i && ks.key == "member_keys" {
				return c.fieldErr(p, "a source cannot take its member keys from itself")
			}
			if ms := c.Sources[j].MembersStream(); ms == "" || !slices.Contains(c.Sources[j].EnabledStreams(), ms) {
				return c.fieldErr(p, "source %q does not sync a members stream, so it has no members to take keys from", ks.spec.FromSource)
			}
			if err := c.validateKeyPII(fmt.Sprintf("sources[%d].%s", i, ks.key), ks.spec, &c.Sources[j]); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *Config) validateRedis() error {
	r := c.Redis
	if r.HA() {
		return c.validateRedisHA() // config/ops.go
	}
	if r.URL != "" {
		if r.Addr != "" || r.Password != "" || r.DB != 0 {
			return c.fieldErr("redis.url", "set either url or addr/password/db, not both")
		}
		u, err := url.Parse(r.URL)
		if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return c.fieldErr("redis.url", "%q is not a redis:// URL", redactURL(r.URL))
		}
	} else if err := checkHostPort(r.Addr); err != nil {
		return c.fieldErr("redis.addr", "%q: %v", r.Addr, err)
	}
	if r.DB < 0 || r.DB > 15 {
		return c.fieldErr("redis.db", "%d is out of range 0..15", r.DB)
	}
	if !sourceName.MatchString(r.Namespace) {
		return c.fieldErr("redis.namespace", "%q must match [a-z0-9_-]+", r.Namespace)
	}
	return nil
}

func (c *Config) validateClickHouse() error {
	for i, a := range c.ClickHouse.Addr {
		if err := checkHostPort(a); err != nil {
			return c.fieldErr(fmt.Sprintf("clickhouse.addr[%d]", i), "%q: %v", a, err)
		}
	}
	if !identifier.MatchString(c.ClickHouse.Database) {
		return c.fieldErr("clickhouse.database", "%q is not a valid database name (letters, digits, _)", c.ClickHouse.Database)
	}
	if c.ClickHouse.DialTimeout < 0 {
		return c.fieldErr("clickhouse.dial_timeout", "must not be negative")
	}
	return nil
}

func checkHostPort(a string) error {
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		return fmt.Errorf("want host:port")
	}
	if host == "" || port == "" {
		return fmt.Errorf("want host:port")
	}
	return nil
}

func (c *Config) validateSource(i int, names map[string]int) error {
	s := &c.Sources[i]
	p := fmt.Sprintf("sources[%d]", i)
	if s.Name == "" {
		return c.fieldErr(p, "name is required")
	}
	if !sourceName.MatchString(s.Name) {
		return c.fieldErr(p+".name", "%q must match [a-z0-9_-]+", s.Name)
	}
	if j, dup := names[s.Name]; dup {
		return c.fieldErr(p+".name", "%q is already the name of sources[%d]", s.Name, j)
	}
	names[s.Name] = i
	spec := s.spec
	if spec == nil {
		if s.Kind == "" {
			return c.fieldErr(p, "kind is required (%s)", c.kinds.names())
		}
		return c.fieldErr(p+".kind", "%q is not a known kind (%s)", s.Kind, c.kinds.names())
	}
	streams := spec.StreamNames()
	if s.BaseURL == "" {
		return c.fieldErr(p, "base_url is required")
	}
	u, err := url.Parse(s.BaseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c.fieldErr(p+".base_url", "%q is not an http(s) URL", redactURL(s.BaseURL))
	}
	if u.RawQuery != "" || u.User != nil {
		return c.fieldErr(p+".base_url", "must not carry a query string or user info; put credentials under credentials")
	}
	if s.Schedule != "" {
		if _, err := cron.ParseStandard(s.Schedule); err != nil {
			return c.fieldErr(p+".schedule", "%q is not a valid cron spec (5 fields: minute hour day-of-month month day-of-week): %v", s.Schedule, err)
		}
	}
	seen := map[string]bool{}
	for j, st := range s.Streams {
		if !slices.Contains(streams, st) {
			return c.fieldErr(fmt.Sprintf("%s.streams[%d]", p, j), "%q is not a stream of kind %s (streams: %s)", st, s.Kind, strings.Join(streams, ", "))
		}
		if seen[st] {
			return c.fieldErr(fmt.Sprintf("%s.streams[%d]", p, j), "%q is listed twice", st)
		}
		seen[st] = true
	}
	if !(s.RateLimit > 0 && s.RateLimit <= MaxRateLimit) { // NaN fails both
		return c.fieldErr(p+".rate_limit", "%v is out of range (0, %d] requests per second", s.RateLimit, MaxRateLimit)
	}
	if s.PageSize < 1 || s.PageSize > MaxPageSize {
		return c.fieldErr(p+".page_size", "%d is out of range 1..%d", s.PageSize, MaxPageSize)
	}
	if s.RequestAttempts < 1 || s.RequestAttempts > 10 {
		return c.fieldErr(p+".request_attempts", "%d is out of range 1..10", s.RequestAttempts)
	}
	if s.Timeout < 0 || s.Timeout > 10*time.Minute {
		return c.fieldErr(p+".timeout", "%s is out of range (0, 10m]", s.Timeout)
	}
	if s.Lookback < 0 || s.Lookback > 30*24*time.Hour {
		return c.fieldErr(p+".lookback", "%s is out of range [0, 720h]", s.Lookback)
	}
	if s.ClockTolerance < 0 || s.ClockTolerance > 7*24*time.Hour {
		return c.fieldErr(p+".clock_tolerance", "%s is out of range (0, 168h]", s.ClockTolerance)
	}
	if s.MaxMemberPages < 1 || s.MaxMemberPages > 1_000_000 {
		return c.fieldErr(p+".max_member_pages", "%d is out of range 1..1000000", s.MaxMemberPages)
	}
	if s.Concurrency < 1 || s.Concurrency > MaxWorkers {
		return c.fieldErr(p+".concurrency", "%d is out of range 1..%d", s.Concurrency, MaxWorkers)
	}
	if err := c.validateCredentials(p, s); err != nil {
		return err
	}
	if err := c.validateKindFields(p, s); err != nil {
		return err
	}
	if err := c.validateWebhook(p, s); err != nil {
		return err
	}
	if err := c.validateKeys(p, s); err != nil {
		return err
	}
	if spec.Check != nil {
		if err := spec.Check(s); err != nil {
			var fe *FieldError
			if errors.As(err, &fe) {
				return c.fieldErr(p+"."+fe.Field, "%s", fe.Msg)
			}
			return c.fieldErr(p, "%v", err)
		}
	}
	return nil
}

// validateKindFields rejects a kind-specific key of a source (one that
// some kind declares in KindSpec.Fields) set on a source of a kind that
// does not declare it.
func (c *Config) validateKindFields(p string, s *Source) error {
	v := reflect.ValueOf(s).Elem()
	for i := 0; i < v.NumField(); i++ {
		key, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("yaml"), ",")
		if key == "" || !v.Type().Field(i).IsExported() || v.Field(i).IsZero() || slices.Contains(s.spec.Fields, key) {
			continue
		}
		var owners []string
		for _, k := range c.kinds {
			if slices.Contains(k.Fields, key) {
				owners = append(owners, string(k.Kind))
			}
		}
		if len(owners) > 0 {
			return c.fieldErr(p+"."+key, "applies to kind %s only, not %s", strings.Join(owners, ", "), s.Kind)
		}
	}
	return nil
}

// validateKeys checks member_keys and identity_keys against the shapes
// of the kind's streams: member_keys only for a kind with a stream read
// over them (and then required while such a stream is enabled);
// identity_keys likewise.
func (c *Config) validateKeys(p string, s *Source) error {
	spec := s.spec
	enabled := s.EnabledStreams()
	needs := func(r Reads) string {
		for _, name := range enabled {
			if st, ok := spec.Stream(name); ok && st.Reads == r {
				return name
			}
		}
		return ""
	}
	switch {
	case s.MemberKeys != nil && !spec.reads(ReadsMemberKeys):
		return c.fieldErr(p+".member_keys", "kind %s has no stream read over member_keys (it lists its members itself)", s.Kind)
	case s.MemberKeys != nil:
		if err := c.validateKeySource(p+".member_keys", s.MemberKeys, false); err != nil {
			return err
		}
	case needs(ReadsMemberKeys) != "":
		return c.fieldErr(p, "member_keys is required: kind %s looks members up one by one for the %s stream", s.Kind, needs(ReadsMemberKeys))
	}
	switch {
	case s.IdentityKeys != nil && !spec.reads(ReadsIdentityKeys):
		return c.fieldErr(p+".identity_keys", "kind %s has no stream that resolves identities", s.Kind)
	case s.IdentityKeys != nil:
		return c.validateKeySource(p+".identity_keys", s.IdentityKeys, true)
	case needs(ReadsIdentityKeys) != "":
		return c.fieldErr(p+".streams", "the %s stream needs identity_keys", needs(ReadsIdentityKeys))
	}
	return nil
}

var keyField = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (c *Config) validateKeySource(p string, k *KeySource, identity bool) error {
	n := 0
	for _, set := range []bool{k.FromSource != "", k.File != "", k.Query != ""} {
		if set {
			n++
		}
	}
	if n != 1 {
		return c.fieldErr(p, "set exactly one of {from_source, field}, file or query")
	}
	if k.FromSource != "" && k.Field == "" {
		return c.fieldErr(p, "from_source needs field (member_id, mobile or a custom attribute such as c_houcaller_id)")
	}
	if k.FromSource == "" && k.Field != "" {
		return c.fieldErr(p+".field", "is only used with from_source")
	}
	if k.Field != "" && !keyField.MatchString(k.Field) {
		return c.fieldErr(p+".field", "%q is not a field name", k.Field)
	}
	if k.Query != "" && !strings.HasPrefix(strings.ToUpper(strings.TrimSpace(k.Query)), "SELECT") {
		return c.fieldErr(p+".query", "must be a SELECT returning one String column")
	}
	if identity && k.Type == "" {
		return c.fieldErr(p, "type is required (the identity type, e.g. wechat or mobile)")
	}
	if !identity && k.Type != "" {
		return c.fieldErr(p+".type", "is only used in identity_keys")
	}
	return nil
}

// redactURL drops user info and query from a URL for error messages.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<unparsable URL>"
	}
	u.User = nil
	u.RawQuery = ""
	return u.String()
}
