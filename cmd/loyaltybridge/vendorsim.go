package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

type simFlags struct {
	addr       string
	seed       int64
	members    int
	latency    time.Duration
	errorRate  float64
	faults     string
	hang       time.Duration
	tokenTTL   time.Duration
	hostile    string
	rateLimit  float64
	ignoreSort bool
	hcHistory  int
	// DM Hub webhooks (vendorsim only; docs/webhooks.md)
	webhookURL       string
	webhookRedeliver float64
	webhookForge     float64
	webhookRetry     time.Duration
}

func (f *simFlags) register(cmd *cobra.Command, defaultAddr string) {
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr, "listen address (loopback)")
	cmd.Flags().Int64Var(&f.seed, "seed", 42, "data seed: the same seed and member count give the same data")
	cmd.Flags().IntVar(&f.members, "members", 500, "number of DM Hub members (Houcaller and zvcms members derive from them)")
	cmd.Flags().DurationVar(&f.latency, "latency", 0, "latency added to every vendor request")
	cmd.Flags().Float64Var(&f.errorRate, "error-rate", 0, "probability (0..1) that a vendor request is faulted")
	cmd.Flags().StringVar(&f.faults, "faults", "default",
		`fault kinds and weights, e.g. "busy=2,hang": http500, http502, busy, truncated, hang, business; `+
			`"default" = every kind but business, "all" = every kind`)
	cmd.Flags().DurationVar(&f.hang, "hang", vendorsim.DefaultHang, "how long a hang fault holds the request (ends early when the client gives up)")
	cmd.Flags().StringVar(&f.hostile, "hostile", "none",
		"hostile list payloads: none, huge-page, huge-field, wrong-types, endless-body, endless-pages")
	cmd.Flags().DurationVar(&f.tokenTTL, "token-ttl", 7200*time.Second, "DM Hub access-token lifetime (expires_in)")
	cmd.Flags().Float64Var(&f.rateLimit, "rate-limit", 0, "requests per second per app before HTTP 429 (0 = unlimited)")
	cmd.Flags().BoolVar(&f.ignoreSort, "ignore-sort", false, "DM Hub ignores sidx/sord on the member list")
	cmd.Flags().IntVar(&f.hcHistory, "houcaller-history-months", 12,
		"Houcaller points history spans this many months up to now, like a live tenant (0: the fixed 2024-01..2025-12)")
}

// registerWebhooks adds the flags of DM Hub's pushed events (vendorsim).
func (f *simFlags) registerWebhooks(cmd *cobra.Command) {
	cmd.Flags().StringVar(&f.webhookURL, "webhook-url", "",
		"push DM Hub loyalty webhooks for every coupon or level change to this URL, e.g. http://127.0.0.1:8080/v1/webhooks/acme-dmhub; "+
			"signed with $"+simWebhookSecretEnv+" when set")
	cmd.Flags().Float64Var(&f.webhookRedeliver, "webhook-redeliver", 0, "probability (0..1) that an acknowledged push is sent again")
	cmd.Flags().Float64Var(&f.webhookForge, "webhook-forge", 0, "probability (0..1) that a change is followed by a forged (badly signed) push")
	cmd.Flags().DurationVar(&f.webhookRetry, "webhook-retry", 30*time.Minute, "a failed push is retried after n times this (3 retries)")
}

// simWebhookSecretEnv holds the webhook key of vendorsim (an environment
// variable, so it is not on the command line).
const simWebhookSecretEnv = "VENDORSIM_WEBHOOK_SECRET"

func (f *simFlags) validateWebhooks() error {
	if f.webhookURL != "" {
		if u, err := url.Parse(f.webhookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return &exitError{code: 2, err: fmt.Errorf("--webhook-url %q is not an http(s) URL", f.webhookURL)}
		}
	}
	for name, v := range map[string]float64{"--webhook-redeliver": f.webhookRedeliver, "--webhook-forge": f.webhookForge} {
		if !(v >= 0 && v <= 1) {
			return &exitError{code: 2, err: fmt.Errorf("%s %v is out of range 0..1", name, v)}
		}
	}
	if f.webhookRetry <= 0 {
		return &exitError{code: 2, err: fmt.Errorf("--webhook-retry %s must be positive", f.webhookRetry)}
	}
	return nil
}

// options builds the simulator options; validate must have passed.
func (f *simFlags) options() vendorsim.ServerOptions {
	weights, _ := vendorsim.ParseFaultWeights(f.faults)
	mix := vendorsim.FaultMix{Weights: weights, Hang: f.hang}
	hostile, _ := vendorsim.ParseHostile(f.hostile)
	return vendorsim.ServerOptions{
		Seed: f.seed, Members: f.members,
		DMHub: vendorsim.DMHubOptions{Latency: f.latency, ErrorRate: f.errorRate, Faults: mix, RateLimit: f.rateLimit,
			IgnoreSort: f.ignoreSort, TokenTTL: f.tokenTTL, Hostile: hostile},
		Houcaller: vendorsim.HoucallerOptions{Latency: f.latency, ErrorRate: f.errorRate, Faults: mix, RateLimit: f.rateLimit, Hostile: hostile,
			RecentMonths: f.hcHistory},
		Zvcms: vendorsim.ZvcmsOptions{Latency: f.latency, ErrorRate: f.errorRate, Faults: mix, RateLimit: f.rateLimit, Hostile: hostile},
	}
}

func (f *simFlags) validate() error {
	if f.members < 0 || f.members > 2_000_000 {
		return &exitError{code: 2, err: fmt.Errorf("--members %d is out of range 0..2000000", f.members)}
	}
	if f.errorRate < 0 || f.errorRate > 1 {
		return &exitError{code: 2, err: fmt.Errorf("--error-rate %v is out of range 0..1", f.errorRate)}
	}
	if _, err := vendorsim.ParseFaultWeights(f.faults); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--faults: %w", err)}
	}
	if _, err := vendorsim.ParseHostile(f.hostile); err != nil {
		return &exitError{code: 2, err: fmt.Errorf("--hostile: %w", err)}
	}
	if f.hang <= 0 {
		return &exitError{code: 2, err: fmt.Errorf("--hang %s must be positive", f.hang)}
	}
	if f.tokenTTL < time.Second {
		return &exitError{code: 2, err: fmt.Errorf("--token-ttl %s must be at least 1s (expires_in is whole seconds)", f.tokenTTL)}
	}
	if f.hcHistory < 0 || f.hcHistory > 120 {
		return &exitError{code: 2, err: fmt.Errorf("--houcaller-history-months %d is out of range 0..120", f.hcHistory)}
	}
	if f.rateLimit < 0 {
		return &exitError{code: 2, err: fmt.Errorf("--rate-limit %v must not be negative", f.rateLimit)}
	}
	return nil
}

// simServer is a running simulator.
type simServer struct {
	sim    *vendorsim.Server
	srv    *http.Server
	url    string
	done   chan error
	cancel context.CancelFunc // ends the requests' contexts (and so hang faults)
}

func startSim(f *simFlags) (*simServer, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("vendorsim: %w", err)
	}
	sim := vendorsim.NewServer(f.options())
	base, cancel := context.WithCancel(context.Background())
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return base }}
	s := &simServer{sim: sim, srv: srv, url: "http://" + ln.Addr().String(), done: make(chan error, 1), cancel: cancel}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *simServer) stop() error {
	s.cancel() // a hanging request would otherwise hold Shutdown until its hang ends
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		return err
	}
	if err := <-s.done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func newVendorsimCmd(_ *globals) *cobra.Command {
	f := &simFlags{}
	cmd := &cobra.Command{
		Use:   "vendorsim",
		Short: "Serve built-in simulators of the DM Hub, Houcaller and zvcms APIs (for the demo and tests)",
		Long: "Serve simulators of the three vendor APIs, built from the vendor documents with their quirks\n" +
			"(errors inside HTTP 200, numbers as strings, token expiry, DES-encrypted and signed envelopes).\n" +
			"Data is deterministic from --seed and --members. Mutate it with POST /_sim/mutate.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := f.validate(); err != nil {
				return err
			}
			if err := f.validateWebhooks(); err != nil {
				return err
			}
			s, err := startSim(f)
			if err != nil {
				return err
			}
			if f.webhookURL != "" {
				s.sim.DMHub.SetWebhooks(vendorsim.DMHubWebhooks{URL: f.webhookURL, Secret: os.Getenv(simWebhookSecretEnv),
					RedeliverRate: f.webhookRedeliver, ForgeRate: f.webhookForge, RetryInterval: f.webhookRetry})
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "vendorsim listening on %s (seed %d, %d DM Hub members)\n", s.url, f.seed, f.members)
			fmt.Fprintf(out, "  dmhub     base_url %s/dmhub            app_id sim-dmhub-app, app_secret sim-dmhub-secret\n", s.url)
			fmt.Fprintf(out, "  houcaller base_url %s/houcaller/htest  channel hkl-test, des_key hklsim01\n", s.url)
			fmt.Fprintf(out, "  zvcms     base_url %s/zvcms            open_id sim-zvcms-open, grant_code sim-grant, secret sim-zvcms-secret\n", s.url)
			fmt.Fprintf(out, "  admin     POST %s/_sim/mutate, GET %s/_sim/requests, GET %s/_sim/faults\n", s.url, s.url, s.url)
			if f.errorRate > 0 {
				fmt.Fprintf(out, "  faults    %.3g of requests, kinds %s, hang %s\n", f.errorRate, f.faults, f.hang)
			}
			select {
			case <-cmd.Context().Done():
			case err := <-s.done:
				return err
			}
			return s.stop()
		},
	}
	f.register(cmd, "127.0.0.1:8900")
	f.registerWebhooks(cmd)
	return cmd
}
