package config_test

import (
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// TestExplicitZeroIsKept: lookback: 0 and max_retry: 0 are valid settings,
// not "unset" (which takes the default).
func TestExplicitZeroIsKept(t *testing.T) {
	t.Parallel()
	const base = "sources:\n  - name: shop1\n    kind: dmhub\n    base_url: http://x\n    credentials: {app_id: a, app_secret: s}\n"
	tests := []struct {
		name         string
		yaml         string
		wantLookback time.Duration
		wantRetry    int
	}{
		{"unset: defaults", base, 10 * time.Minute, 8},
		{"explicit zero", base + "    lookback: 0s\nworker:\n  max_retry: 0\n", 0, 0},
		{"explicit values", base + "    lookback: 1m\nworker:\n  max_retry: 3\n", time.Minute, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("x.yaml", []byte(tt.yaml), testEnv, kinds)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Sources[0].Lookback; got != tt.wantLookback {
				t.Errorf("lookback = %s, want %s", got, tt.wantLookback)
			}
			if got := c.Worker.MaxRetry; got != tt.wantRetry {
				t.Errorf("max_retry = %d, want %d", got, tt.wantRetry)
			}
		})
	}
}

// TestClickHousePoolFollowsConcurrency: the ClickHouse pool is sized to
// the worker's concurrency unless set.
func TestClickHousePoolFollowsConcurrency(t *testing.T) {
	t.Parallel()
	const base = "sources:\n  - name: shop1\n    kind: dmhub\n    base_url: http://x\n    credentials: {app_id: a, app_secret: s}\n"
	tests := []struct {
		name string
		yaml string
		want int
	}{
		{"defaults: 4 tasks × (4 look-ups + 1) + 2", base, 22},
		{"32 tasks", base + "worker:\n  concurrency: 32\n", 32*5 + 2},
		{"source concurrency 8", base + "    concurrency: 8\n", 4*9 + 2},
		{"explicit", base + "clickhouse:\n  max_open_conns: 3\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("x.yaml", []byte(tt.yaml), testEnv, kinds)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.ClickHouse.MaxOpenConns; got != tt.want {
				t.Errorf("max_open_conns = %d, want %d", got, tt.want)
			}
		})
	}
}
