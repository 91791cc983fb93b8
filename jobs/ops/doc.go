// Package ops is what an operator sees of a running loyaltybridge role:
// Prometheus metrics (each Metrics has its own registry; nothing is
// global), the /healthz, /readyz and /metrics HTTP handler every
// long-running role serves, an asynq middleware that counts task
// outcomes, and the slog handler that writes JSON or text logs with every
// configured secret and access_token value redacted.
//
// The metric names and labels are documented in docs/operations.md; the
// Grafana dashboard in deploy/grafana uses them.
package ops
