package main

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

func newServeCmd(g *globals) *cobra.Command {
	var addr string
	cmd := &cobra.Command{
		Use:   "serve [--addr :8080]",
		Short: "HTTP intake of outbound writes (POST /v1/outbound/{source}/{kind}, GET /v1/outbound/{id}) and of DM Hub webhooks (POST /v1/webhooks/{source})",
		Long: "Serve the outbound API and the webhook intake until SIGTERM/SIGINT. Every /v1/outbound/ request needs\n" +
			"the bearer token of serve.token in the config (Authorization: Bearer <token>; docs/outbound.md);\n" +
			"/v1/webhooks/{source} is verified by the source's webhook_secret instead (docs/webhooks.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := g.open(cmd.Context())
			if err != nil {
				return err
			}
			defer a.close()
			sc := a.cfg.Serve
			if addr != "" {
				sc.Addr = addr
			}
			if sc.Token == "" {
				return &exitError{code: 2, err: errors.New("serve: serve.token is required in the config (use ${ENV})")}
			}
			if err := a.wh.CheckSchema(cmd.Context()); err != nil {
				return err
			}
			ob := a.engine.NewOutbound(a.rdb)
			defer ob.Store.Close()
			r := newServeRouter(sc, a.log)
			r.API(func(mux *http.ServeMux) { (&outbound.HTTP{O: ob, MaxBody: sc.MaxBodyBytes}).Routes(mux) })
			// pushed vendor events, outside the bearer token: each call is
			// verified by its source's webhook signature (docs/webhooks.md)
			wh, closeWebhooks := webhookRoutes(a, sc)
			defer closeWebhooks()
			r.Mount("/v1/webhooks/", wh)
			// the operations endpoints, outside the bearer token (probes and
			// scrapers carry none)
			opsH := a.opsHandler(a.metrics)
			for _, p := range []string{"/healthz", "/readyz", "/metrics"} {
				r.Mount(p, opsH)
			}
			return r.ListenAndServe(cmd.Context(), sc.Addr)
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "", "listen address (default serve.addr, else :8080)")
	return cmd
}

// serveRouter is serve's HTTP router: the bearer-protected API under
// /v1/outbound/, and any other handler mounted beside it.
type serveRouter struct {
	cfg  config.Serve
	log  *slog.Logger
	root *http.ServeMux
	api  *http.ServeMux
}

func newServeRouter(cfg config.Serve, log *slog.Logger) *serveRouter {
	r := &serveRouter{cfg: cfg, log: log, root: http.NewServeMux(), api: http.NewServeMux()}
	r.root.Handle("/v1/outbound/", bearer(cfg.Token.Reveal(), r.api))
	return r
}

// API registers routes on the bearer-protected API mux.
func (r *serveRouter) API(register func(mux *http.ServeMux)) { register(r.api) }

// Mount adds a handler that is not behind the bearer token (health,
// metrics, signed webhooks).
func (r *serveRouter) Mount(pattern string, h http.Handler) { r.root.Handle(pattern, h) }

// Handler is the whole server: request time bound, then logging, then
// the routes.
func (r *serveRouter) Handler() http.Handler {
	timeout := r.cfg.RequestTimeout
	if timeout <= 0 {
		timeout = config.DefaultRequestTimeout
	}
	return http.TimeoutHandler(logRequests(r.log, r.root), timeout, `{"error":"request timed out"}`)
}

// ListenAndServe serves until ctx ends, then shuts down gracefully.
func (r *serveRouter) ListenAndServe(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("serve: %w", err)
	}
	timeout := r.cfg.RequestTimeout
	srv := &http.Server{Handler: r.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: timeout,
		WriteTimeout: timeout + 5*time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 64 << 10}
	r.log.Info("serve: listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("serve: shutdown: %w", err)
	}
	return nil
}

// bearer requires "Authorization: Bearer <token>", compared in constant
// time (over SHA-256 digests, so the length does not leak either).
func bearer(token string, next http.Handler) http.Handler {
	want := sha256.Sum256([]byte(token))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		sum := sha256.Sum256([]byte(got))
		if !ok || token == "" || subtle.ConstantTimeCompare(sum[:], want[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="loyaltybridge"`)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"error":"missing or wrong bearer token"}` + "\n"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusWriter records the status of a response for the log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// logRequests logs method, path, status and duration: never bodies,
// query strings or headers (they may carry secrets).
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		log.Info("serve: request", "method", r.Method, "path", r.URL.Path, "status", sw.status,
			"elapsed", time.Since(start).Round(time.Millisecond))
	})
}
