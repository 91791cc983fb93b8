package jobs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestClassForQueue: the one mapping of every error class, ClickHouse
// errors included, onto asynq.
func TestClassForQueue(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		err       error
		skipRetry bool
		failure   bool
	}{
		{"vendor permanent", &connectors.Error{Class: connectors.Permanent}, true, true},
		{"vendor auth", &connectors.Error{Class: connectors.Auth}, true, true},
		{"vendor retryable", &connectors.Error{Class: connectors.Retryable}, false, true},
		{"vendor rate-limited", &connectors.Error{Class: connectors.RateLimited, RetryAfter: time.Second}, false, false},
		{"clickhouse bad data", fmt.Errorf("load: %w", &clickhouse.Exception{Code: 41, Message: "Cannot parse datetime"}), true, true},
		{"clickhouse timeout", fmt.Errorf("load: %w", &clickhouse.Exception{Code: 159}), false, true},
		{"clickhouse pool", clickhouse.ErrAcquireConnTimeout, false, true},
		// ClickHouse or Redis unreachable: retried without counting
		{"clickhouse refused", fmt.Errorf("load: %w", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}), false, false},
		{"clickhouse reset", fmt.Errorf("checkpoint: %w", syscall.ECONNRESET), false, false},
		{"clickhouse cut", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), false, false},
		{"clickhouse closed", clickhouse.ErrConnectionClosed, false, false},
		{"query timeout", fmt.Errorf("load: %w", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}), false, true},
		{"vendor refused", &connectors.Error{Class: connectors.Retryable, Err: syscall.ECONNREFUSED}, false, true},
		{"unknown", errors.New("x"), false, true},
	}
	for _, tt := range tests {
		if d := retryDelay(7, tt.err, nil); tt.failure == false && tt.err != nil && !errors.As(tt.err, new(*connectors.Error)) &&
			(d < unreachableRetry*9/10 || d > unreachableRetry*11/10) {
			t.Errorf("%s: retry delay %s, want about %s", tt.name, d, unreachableRetry)
		}
		got := classifyForQueue(tt.err)
		if errors.Is(got, asynq.SkipRetry) != tt.skipRetry {
			t.Errorf("%s: SkipRetry = %v, want %v", tt.name, !tt.skipRetry, tt.skipRetry)
		}
		if isFailure(tt.err) != tt.failure {
			t.Errorf("%s: isFailure = %v, want %v", tt.name, !tt.failure, tt.failure)
		}
	}
}

// TestRateLimitBudget: rate-limited retries do not count until the task
// has waited more than its budget in total; then they count, with the
// reason.
func TestRateLimitBudget(t *testing.T) {
	t.Parallel()
	cfg, rdb := warehousetest.Redis(t)
	l := rateLimitLedger{rdb: rdb, prefix: cfg.Namespace + ":rlw:", budget: time.Minute}
	ctx := context.Background()
	limited := &connectors.Error{Class: connectors.RateLimited, Source: "acme", Op: "GET /x", Status: 429, RetryAfter: 20 * time.Second}
	for i, want := range []bool{false, false, false, true, true} { // 20s, 40s, 60s, 80s > 1m, 100s
		err := l.charge(ctx, "task-1", limited)
		if isFailure(err) != want {
			t.Fatalf("charge %d: isFailure = %v, want %v (%v)", i+1, !want, want, err)
		}
		if want && !strings.Contains(err.Error(), "over the task's budget of 1m0s") {
			t.Errorf("charge %d: %q does not give the reason", i+1, err)
		}
	}
	// another task has its own budget; other errors pass unchanged
	if err := l.charge(ctx, "task-2", limited); isFailure(err) {
		t.Errorf("task-2 charged with task-1's waits: %v", err)
	}
	// waiting for the source's own max_tasks is never charged
	capped := &connectors.Error{Class: connectors.RateLimited, Source: "acme", Op: "max_tasks 1 reached", RetryAfter: 20 * time.Second,
		Err: errSourceCapped}
	for i := range 5 {
		if err := l.charge(ctx, "task-3", capped); isFailure(err) || err != capped {
			t.Fatalf("capped wait %d charged: %v", i+1, err)
		}
	}
	other := &connectors.Error{Class: connectors.Permanent}
	if err := l.charge(ctx, "task-1", other); err != other {
		t.Errorf("a permanent error changed: %v", err)
	}
}
