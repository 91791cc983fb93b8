package config

import (
	"fmt"
	"net"
	"net/url"
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
		if s.Kind == Houcaller {
			if s.Houcaller == nil {
				s.Houcaller = &HoucallerOptions{}
			}
			if s.Houcaller.MemberKeyAs == "" {
				s.Houcaller.MemberKeyAs = HoucallerKeyMemberID
			}
			if s.Houcaller.PointsMonths == 0 {
				s.Houcaller.PointsMonths = DefaultHoucallerPointsMonths
			}
			if s.Houcaller.PointsEmptyMonths == 0 {
				s.Houcaller.PointsEmptyMonths = DefaultHoucallerPointsEmptyMonths
			}
			if s.Houcaller.MonthFormat == "" {
				s.Houcaller.MonthFormat = DefaultHoucallerMonthFormat
			}
			if s.Credentials.DESMode == "" {
				s.Credentials.DESMode = "ecb"
			}
			if s.Credentials.DESPadding == "" {
				s.Credentials.DESPadding = "pkcs5"
			}
		}
		if s.Kind == Zvcms && s.Credentials.Signer == "" {
			s.Credentials.Signer = "hmac-sha1"
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
			if !slices.Contains(c.Sources[j].EnabledStreams(), "members") {
				return c.fieldErr(p, "source %q does not sync the members stream, so it has no members to take keys from", ks.spec.FromSource)
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
	streams, ok := KindStreams[s.Kind]
	if !ok {
		if s.Kind == "" {
			return c.fieldErr(p, "kind is required (dmhub, houcaller or zvcms)")
		}
		return c.fieldErr(p+".kind", "%q is not a known kind (dmhub, houcaller or zvcms)", s.Kind)
	}
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
	if err := c.validateHoucaller(p, s); err != nil {
		return err
	}
	if err := c.validateWebhook(p, s); err != nil {
		return err
	}
	return c.validateKeys(p, s)
}

// validateHoucaller checks the houcaller block: only for kind houcaller,
// a known key field, a month count in range, a month format that writes
// and reads back a year and a month.
func (c *Config) validateHoucaller(p string, s *Source) error {
	h := s.Houcaller
	switch {
	case h == nil:
		return nil
	case s.Kind != Houcaller:
		return c.fieldErr(p+".houcaller", "applies to kind houcaller only, not %s", s.Kind)
	case h.MemberKeyAs != HoucallerKeyMemberID && h.MemberKeyAs != HoucallerKeyPlatformID:
		return c.fieldErr(p+".houcaller.member_key_as", "%q is neither %s nor %s", h.MemberKeyAs, HoucallerKeyMemberID, HoucallerKeyPlatformID)
	case h.PointsMonths < 1 || h.PointsMonths > MaxHoucallerPointsMonths:
		return c.fieldErr(p+".houcaller.points_months", "%d is out of range 1..%d", h.PointsMonths, MaxHoucallerPointsMonths)
	case h.PointsEmptyMonths > MaxHoucallerPointsMonths:
		return c.fieldErr(p+".houcaller.points_empty_months", "%d is out of range 1..%d (negative: never stop early)",
			h.PointsEmptyMonths, MaxHoucallerPointsMonths)
	}
	probe := time.Date(2019, time.October, 1, 0, 0, 0, 0, time.UTC)
	back, err := time.Parse(h.MonthFormat, probe.Format(h.MonthFormat))
	if err != nil || back.Year() != 2019 || back.Month() != time.October {
		return c.fieldErr(p+".houcaller.month_format", "%q is not a Go time layout of a year and a month (e.g. 2006-01 or 200601)", h.MonthFormat)
	}
	return nil
}

// credentialFields lists, per kind, the required and the optional
// credential keys; any other non-empty credential key is an error.
var credentialFields = map[Kind]struct{ required, optional []string }{
	DMHub:     {required: []string{"app_id", "app_secret"}},
	Houcaller: {required: []string{"channel", "des_key"}, optional: []string{"des_mode", "des_padding", "des_iv"}},
	Zvcms:     {required: []string{"open_id", "grant_code", "secret"}, optional: []string{"signer"}},
}

func (cr Credentials) values() map[string]string {
	return map[string]string{
		"app_id": cr.AppID, "app_secret": cr.AppSecret.Reveal(),
		"channel": cr.Channel, "des_key": cr.DESKey.Reveal(), "des_mode": cr.DESMode,
		"des_padding": cr.DESPadding, "des_iv": cr.DESIV.Reveal(),
		"open_id": cr.OpenID, "grant_code": cr.GrantCode.Reveal(), "secret": cr.Secret.Reveal(), "signer": cr.Signer,
	}
}

func (c *Config) validateCredentials(p string, s *Source) error {
	want := credentialFields[s.Kind]
	vals := s.Credentials.values()
	cp := p + ".credentials"
	for _, k := range want.required {
		if strings.TrimSpace(vals[k]) == "" {
			return c.fieldErr(cp, "%s is required for kind %s", k, s.Kind)
		}
	}
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if vals[k] != "" && !slices.Contains(want.required, k) && !slices.Contains(want.optional, k) {
			return c.fieldErr(cp+"."+k, "is not a credential of kind %s (it takes: %s)", s.Kind, strings.Join(append(want.required, want.optional...), ", "))
		}
	}
	cr := s.Credentials
	switch s.Kind {
	case Houcaller:
		if n := len(cr.DESKey); n != 8 {
			return c.fieldErr(cp+".des_key", "must be exactly 8 bytes, got %d", n)
		}
		if cr.DESMode != "ecb" && cr.DESMode != "cbc" {
			return c.fieldErr(cp+".des_mode", "%q is not ecb or cbc", cr.DESMode)
		}
		if cr.DESPadding != "pkcs5" && cr.DESPadding != "zero" {
			return c.fieldErr(cp+".des_padding", "%q is not pkcs5 or zero", cr.DESPadding)
		}
		if cr.DESMode == "cbc" && len(cr.DESIV) != 8 {
			return c.fieldErr(cp+".des_iv", "des_mode cbc needs an 8-byte des_iv, got %d bytes", len(cr.DESIV))
		}
		if cr.DESMode == "ecb" && cr.DESIV != "" {
			return c.fieldErr(cp+".des_iv", "is only used with des_mode cbc")
		}
	case Zvcms:
		if cr.Signer != "hmac-sha1" && cr.Signer != "sha1" {
			return c.fieldErr(cp+".signer", "%q is not a known signer (hmac-sha1, sha1)", cr.Signer)
		}
	}
	return nil
}

// MemberKeyStreams are, per kind, the streams that look members up one by
// one from member_keys.
var MemberKeyStreams = map[Kind][]string{
	Houcaller: {"member_coupons", "points"},
	Zvcms:     {"members", "member_coupons", "points"},
}

func (c *Config) validateKeys(p string, s *Source) error {
	if s.Kind == DMHub {
		if s.MemberKeys != nil {
			return c.fieldErr(p+".member_keys", "kind dmhub lists its members itself; member_keys is for houcaller and zvcms")
		}
		if s.IdentityKeys != nil {
			if err := c.validateKeySource(p+".identity_keys", s.IdentityKeys, true); err != nil {
				return err
			}
		} else if slices.Contains(s.Streams, "identities") {
			return c.fieldErr(p+".streams", "the identities stream needs identity_keys")
		}
		return nil
	}
	if s.IdentityKeys != nil {
		return c.fieldErr(p+".identity_keys", "only kind dmhub resolves identities")
	}
	if s.MemberKeys == nil {
		for _, st := range s.EnabledStreams() {
			if slices.Contains(MemberKeyStreams[s.Kind], st) {
				return c.fieldErr(p, "member_keys is required: kind %s looks members up one by one for the %s stream", s.Kind, st)
			}
		}
		return nil
	}
	return c.validateKeySource(p+".member_keys", s.MemberKeys, false)
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
