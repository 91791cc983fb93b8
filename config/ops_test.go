package config_test

import (
	"os"
	"slices"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
)

func TestOpsConfig(t *testing.T) {
	t.Parallel()
	env := func(name string) (string, bool) {
		if name == "REDIS_PASSWORD" {
			return "redis-pw", true
		}
		if name == "CH_PASSWORD" {
			return "ch-pw", true
		}
		return testEnv(name)
	}
	data, err := os.ReadFile("testdata/good/ops.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse("ops.yaml", data, env, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheduler.CatchUpEnabled() || c.Scheduler.MetricsAddr != "127.0.0.1:9102" || c.Worker.MetricsAddr != ":9101" {
		t.Errorf("ops keys = %+v, worker %+v", c.Scheduler, c.Worker)
	}
	want := []string{"ch-pw", "gr4nt-zv", "redis-pw", "s3cret-dmhub", "s3cret-zv"}
	if got := c.Secrets(); !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
	min, err := config.Parse("min.yaml", []byte("sources: []\n"), env, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if !min.Scheduler.CatchUpEnabled() {
		t.Error("catch_up must default to true")
	}
}

func TestRedisHAConfig(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		yaml  string
		check func(t *testing.T, r config.Redis)
	}{
		{"sentinel", "redis:\n  password: pw12\n  sentinel: {master: mymaster, addrs: [10.0.0.1:26379, 10.0.0.2:26379], password: spw1}\n",
			func(t *testing.T, r config.Redis) {
				if !r.HA() || r.Addr != "" || r.Sentinel.Master != "mymaster" || len(r.Sentinel.Addrs) != 2 || r.Sentinel.Password.Reveal() != "spw1" {
					t.Errorf("redis = %+v, sentinel %+v (addr must not default)", r, r.Sentinel)
				}
			}},
		{"cluster", "redis:\n  cluster: [10.0.0.1:7000, 10.0.0.2:7000]\n", func(t *testing.T, r config.Redis) {
			if !r.HA() || r.Addr != "" || len(r.Cluster) != 2 || r.Namespace != "loyaltybridge" {
				t.Errorf("redis = %+v", r)
			}
		}},
		{"single", "redis: {addr: 10.0.0.1:6379}\n", func(t *testing.T, r config.Redis) {
			if r.HA() {
				t.Errorf("redis = %+v is not HA", r)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse(tc.name+".yaml", []byte(tc.yaml), testEnv, kinds)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c.Redis)
		})
	}
	c, err := config.Parse("s.yaml", []byte(tests[0].yaml), testEnv, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Secrets(); !slices.Equal(got, []string{"pw12", "spw1"}) {
		t.Errorf("Secrets() = %q, want the sentinel password too", got)
	}
}
