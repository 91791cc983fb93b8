package config

import (
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

func (c *Config) validateOps() error {
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
