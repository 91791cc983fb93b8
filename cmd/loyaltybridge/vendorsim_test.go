package main

import (
	"errors"
	"maps"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

func TestVendorsimFaultFlags(t *testing.T) {
	t.Parallel()
	tests := []struct {
		args    []string
		wantErr string
		check   func(t *testing.T, o vendorsim.ServerOptions)
	}{
		{args: nil, check: func(t *testing.T, o vendorsim.ServerOptions) {
			if !maps.Equal(o.DMHub.Faults.Weights, vendorsim.DefaultFaultWeights()) || o.Zvcms.Faults.Hang != vendorsim.DefaultHang ||
				o.DMHub.TokenTTL != 7200*time.Second || o.Houcaller.Hostile != "" || o.DMHub.ErrorRate != 0 || o.Houcaller.RecentMonths != 12 {
				t.Errorf("defaults: %+v", o.DMHub)
			}
		}},
		{args: []string{"--error-rate", "0.05", "--faults", "busy=3,hang", "--hang", "4s", "--token-ttl", "10s", "--hostile", "huge-field", "--rate-limit", "20"},
			check: func(t *testing.T, o vendorsim.ServerOptions) {
				want := map[vendorsim.FaultKind]int{vendorsim.FaultBusy: 3, vendorsim.FaultHang: 1}
				for name, got := range map[string]struct {
					rate, rps float64
					mix       vendorsim.FaultMix
					hostile   vendorsim.Hostile
				}{
					"dmhub":     {o.DMHub.ErrorRate, o.DMHub.RateLimit, o.DMHub.Faults, o.DMHub.Hostile},
					"houcaller": {o.Houcaller.ErrorRate, o.Houcaller.RateLimit, o.Houcaller.Faults, o.Houcaller.Hostile},
					"zvcms":     {o.Zvcms.ErrorRate, o.Zvcms.RateLimit, o.Zvcms.Faults, o.Zvcms.Hostile},
				} {
					if got.rate != 0.05 || got.rps != 20 || !maps.Equal(got.mix.Weights, want) || got.mix.Hang != 4*time.Second ||
						got.hostile != vendorsim.HostileHugeField {
						t.Errorf("%s: %+v", name, got)
					}
				}
				if o.DMHub.TokenTTL != 10*time.Second {
					t.Errorf("token TTL %s", o.DMHub.TokenTTL)
				}
			}},
		{args: []string{"--faults", "busy,slow"}, wantErr: `--faults: fault kind "slow" is unknown`},
		{args: []string{"--hostile", "evil"}, wantErr: `--hostile: hostile mode "evil" is unknown`},
		{args: []string{"--hang", "0s"}, wantErr: "--hang 0s must be positive"},
		{args: []string{"--token-ttl", "500ms"}, wantErr: "--token-ttl 500ms must be at least 1s"},
		{args: []string{"--error-rate", "1.5"}, wantErr: "--error-rate 1.5 is out of range"},
		{args: []string{"--houcaller-history-months", "0"}, check: func(t *testing.T, o vendorsim.ServerOptions) {
			if o.Houcaller.RecentMonths != 0 {
				t.Errorf("houcaller history %d months, want the fixed one (0)", o.Houcaller.RecentMonths)
			}
		}},
		{args: []string{"--houcaller-history-months", "-1"}, wantErr: "--houcaller-history-months -1 is out of range 0..120"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			f := &simFlags{}
			cmd := &cobra.Command{Use: "x"}
			f.register(cmd, "127.0.0.1:0")
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			err := f.validate()
			if tc.wantErr != "" {
				var ee *exitError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ee) || ee.code != 2 {
					t.Fatalf("validate() = %v, want exit code 2 and %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, f.options())
		})
	}
}

// TestVendorsimStopEndsHangs: stopping the simulator ends a request that
// hangs (a hang fault of an hour) at once instead of waiting for it.
func TestVendorsimStopEndsHangs(t *testing.T) {
	t.Parallel()
	f := &simFlags{}
	cmd := &cobra.Command{Use: "x"}
	f.register(cmd, "127.0.0.1:0")
	if err := cmd.ParseFlags([]string{"--error-rate", "1", "--faults", "hang", "--hang", "1h"}); err != nil {
		t.Fatal(err)
	}
	s, err := startSim(f)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		resp, err := http.Get(s.url + "/dmhub/security/accesstoken?grant_type=client_credentials&appid=sim-dmhub-app&secret=sim-dmhub-secret")
		if err == nil {
			resp.Body.Close()
		}
		got <- err
	}()
	for s.sim.DMHub.Requests()["token"] == 0 {
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	if err := s.stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Errorf("stop took %s with a hanging request", took)
	}
	if err := <-got; err == nil {
		t.Error("the hanging request got an answer; want the connection dropped")
	}
}
