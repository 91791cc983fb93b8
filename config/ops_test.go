package config

import (
	"os"
	"slices"
	"testing"
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
	c, err := Parse("ops.yaml", data, env)
	if err != nil {
		t.Fatal(err)
	}
	if c.Scheduler.CatchUpEnabled() || c.Scheduler.MetricsAddr != "127.0.0.1:9102" || c.Worker.MetricsAddr != ":9101" {
		t.Errorf("ops keys = %+v, worker %+v", c.Scheduler, c.Worker)
	}
	want := []string{"ch-pw", "grant", "redis-pw", "s3cret-dmhub", "s3cret-zv"}
	if got := c.Secrets(); !slices.Equal(got, want) {
		t.Errorf("Secrets() = %q, want %q", got, want)
	}
	min, err := Parse("min.yaml", []byte("sources: []\n"), env)
	if err != nil {
		t.Fatal(err)
	}
	if !min.Scheduler.CatchUpEnabled() {
		t.Error("catch_up must default to true")
	}
}
