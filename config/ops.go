package config

import (
	"fmt"
	"reflect"
	"slices"
)

// Scheduler tunes the scheduler role (`loyaltybridge scheduler`). Every
// field is optional.
type Scheduler struct {
	// CatchUp fires a slot missed while every scheduler was down once, when
	// a scheduler starts again; false skips it. Default true.
	CatchUp *bool `yaml:"catch_up"`
	// MetricsAddr is the listen address of the scheduler's /healthz,
	// /readyz and /metrics (e.g. ":9102"); "" serves none.
	MetricsAddr string `yaml:"metrics_addr"`
}

// CatchUpEnabled reports whether missed slots fire at start (default true).
func (s Scheduler) CatchUpEnabled() bool { return s.CatchUp == nil || *s.CatchUp }

// DefaultBackfillShare is the default sources[].backfill_share.
const DefaultBackfillShare = 0.5

func (c *Config) validateOps() error {
	for i, s := range c.Sources {
		if s.BackfillShare <= 0 || s.BackfillShare > 1 {
			return c.fieldErr(fmt.Sprintf("sources[%d].backfill_share", i), "%v is out of range (0, 1]", s.BackfillShare)
		}
		if s.MaxTasks < 0 || s.MaxTasks > MaxWorkers {
			return c.fieldErr(fmt.Sprintf("sources[%d].max_tasks", i), "%d is out of range 0..%d", s.MaxTasks, MaxWorkers)
		}
	}
	if cl := c.ClickHouse.Cluster; cl != "" && !identifier.MatchString(cl) {
		return c.fieldErr("clickhouse.cluster", "%q is not a valid cluster name (letters, digits, _)", cl)
	}
	if a := c.Worker.MetricsAddr; a != "" {
		if err := checkListenAddr(a); err != nil {
			return c.fieldErr("worker.metrics_addr", "%q: %v", a, err)
		}
	}
	if a := c.Scheduler.MetricsAddr; a != "" {
		if err := checkListenAddr(a); err != nil {
			return c.fieldErr("scheduler.metrics_addr", "%q: %v", a, err)
		}
	}
	return nil
}

// checkListenAddr accepts host:port and :port.
func checkListenAddr(a string) error {
	if len(a) > 0 && a[0] == ':' {
		return checkHostPort("0.0.0.0" + a)
	}
	return checkHostPort(a)
}

// RedisSentinel locates a Redis master through Sentinel.
type RedisSentinel struct {
	Master   string   `yaml:"master"`   // the monitored master's name
	Addrs    []string `yaml:"addrs"`    // sentinel host:port list
	Password Secret   `yaml:"password"` // the sentinels' own password, if any
}

// HA reports whether Redis is reached through Sentinel or a Cluster.
func (r Redis) HA() bool { return r.Sentinel != nil || len(r.Cluster) > 0 }

func (c *Config) validateRedisHA() error {
	r := c.Redis
	switch {
	case r.Sentinel != nil && len(r.Cluster) > 0:
		return c.fieldErr("redis.cluster", "set either sentinel or cluster, not both")
	case r.URL != "" || r.Addr != "":
		key := "redis.sentinel"
		if len(r.Cluster) > 0 {
			key = "redis.cluster"
		}
		return c.fieldErr(key, "replaces url and addr: remove them")
	case len(r.Cluster) > 0 && r.DB != 0:
		return c.fieldErr("redis.db", "a Redis Cluster has only database 0")
	case r.DB < 0 || r.DB > 15:
		return c.fieldErr("redis.db", "%d is out of range 0..15", r.DB)
	case !sourceName.MatchString(r.Namespace):
		return c.fieldErr("redis.namespace", "%q must match [a-z0-9_-]+", r.Namespace)
	}
	addrs, key := r.Cluster, "redis.cluster"
	if s := r.Sentinel; s != nil {
		if s.Master == "" {
			return c.fieldErr("redis.sentinel", "master is required (the name the sentinels monitor)")
		}
		addrs, key = s.Addrs, "redis.sentinel.addrs"
	}
	if len(addrs) == 0 {
		return c.fieldErr(key, "list at least one host:port")
	}
	for i, a := range addrs {
		if err := checkHostPort(a); err != nil {
			return c.fieldErr(fmt.Sprintf("%s[%d]", key, i), "%q: %v", a, err)
		}
	}
	return nil
}

var secretType = reflect.TypeOf(Secret(""))

// Secrets returns every non-empty Secret value of the config (passwords,
// credentials, tokens), for the log redactor. It walks the struct, so a
// Secret field added later is covered without a change here.
func (c *Config) Secrets() []string {
	var out []string
	collectSecrets(reflect.ValueOf(c).Elem(), &out)
	slices.Sort(out)
	return slices.Compact(out)
}

func collectSecrets(v reflect.Value, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			collectSecrets(v.Elem(), out)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				collectSecrets(v.Field(i), out)
			}
		}
	case reflect.Slice, reflect.Array:
		for i := 0; i < v.Len(); i++ {
			collectSecrets(v.Index(i), out)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			collectSecrets(v.MapIndex(k), out)
		}
	case reflect.String:
		if v.Type() == secretType && v.String() != "" {
			*out = append(*out, v.String())
		}
	}
}
