package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	rateLimit  float64
	ignoreSort bool
}

func (f *simFlags) register(cmd *cobra.Command, defaultAddr string) {
	cmd.Flags().StringVar(&f.addr, "addr", defaultAddr, "listen address (loopback)")
	cmd.Flags().Int64Var(&f.seed, "seed", 42, "data seed: the same seed and member count give the same data")
	cmd.Flags().IntVar(&f.members, "members", 500, "number of DM Hub members (Houcaller and zvcms members derive from them)")
	cmd.Flags().DurationVar(&f.latency, "latency", 0, "latency added to every vendor request")
	cmd.Flags().Float64Var(&f.errorRate, "error-rate", 0, "fraction (0..1) of requests answered with a vendor fault")
	cmd.Flags().Float64Var(&f.rateLimit, "rate-limit", 0, "requests per second per app before HTTP 429 (0 = unlimited)")
	cmd.Flags().BoolVar(&f.ignoreSort, "ignore-sort", false, "DM Hub ignores sidx/sord on the member list")
}

func (f *simFlags) options() vendorsim.ServerOptions {
	return vendorsim.ServerOptions{
		Seed: f.seed, Members: f.members,
		DMHub:     vendorsim.DMHubOptions{Latency: f.latency, ErrorRate: f.errorRate, RateLimit: f.rateLimit, IgnoreSort: f.ignoreSort},
		Houcaller: vendorsim.HoucallerOptions{Latency: f.latency, ErrorRate: f.errorRate, RateLimit: f.rateLimit},
		Zvcms:     vendorsim.ZvcmsOptions{Latency: f.latency, ErrorRate: f.errorRate, RateLimit: f.rateLimit},
	}
}

func (f *simFlags) validate() error {
	if f.members < 0 || f.members > 2_000_000 {
		return &exitError{code: 2, err: fmt.Errorf("--members %d is out of range 0..2000000", f.members)}
	}
	if f.errorRate < 0 || f.errorRate > 1 {
		return &exitError{code: 2, err: fmt.Errorf("--error-rate %v is out of range 0..1", f.errorRate)}
	}
	if f.rateLimit < 0 {
		return &exitError{code: 2, err: fmt.Errorf("--rate-limit %v must not be negative", f.rateLimit)}
	}
	return nil
}

// simServer is a running simulator.
type simServer struct {
	sim  *vendorsim.Server
	srv  *http.Server
	url  string
	done chan error
}

func startSim(f *simFlags) (*simServer, error) {
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("vendorsim: %w", err)
	}
	sim := vendorsim.NewServer(f.options())
	s := &simServer{sim: sim, srv: &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}, url: "http://" + ln.Addr().String(), done: make(chan error, 1)}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

func (s *simServer) stop() error {
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
			s, err := startSim(f)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "vendorsim listening on %s (seed %d, %d DM Hub members)\n", s.url, f.seed, f.members)
			fmt.Fprintf(out, "  dmhub     base_url %s/dmhub            app_id sim-dmhub-app, app_secret sim-dmhub-secret\n", s.url)
			fmt.Fprintf(out, "  houcaller base_url %s/houcaller/htest  channel hkl-test, des_key hklsim01\n", s.url)
			fmt.Fprintf(out, "  zvcms     base_url %s/zvcms            open_id sim-zvcms-open, grant_code sim-grant, secret sim-zvcms-secret\n", s.url)
			fmt.Fprintf(out, "  admin     POST %s/_sim/mutate, GET %s/_sim/requests\n", s.url, s.url)
			select {
			case <-cmd.Context().Done():
			case err := <-s.done:
				return err
			}
			return s.stop()
		},
	}
	f.register(cmd, "127.0.0.1:8900")
	return cmd
}
