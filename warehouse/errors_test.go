package warehouse_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

func TestClassifyError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want warehouse.ErrorClass
	}{
		{"nil", nil, warehouse.ErrorUnknown},
		{"syntax error", &clickhouse.Exception{Code: 62, Message: "Syntax error"}, warehouse.ErrorPermanent},
		{"cannot parse datetime, wrapped", fmt.Errorf("load points: %w", &clickhouse.Exception{Code: 41}), warehouse.ErrorPermanent},
		{"type mismatch", &clickhouse.Exception{Code: 53}, warehouse.ErrorPermanent},
		{"timeout exceeded", &clickhouse.Exception{Code: 159}, warehouse.ErrorRetryable},
		{"too many simultaneous queries", &clickhouse.Exception{Code: 202}, warehouse.ErrorRetryable},
		{"memory limit", &clickhouse.Exception{Code: 241}, warehouse.ErrorRetryable},
		{"unknown code", &clickhouse.Exception{Code: 99999}, warehouse.ErrorRetryable},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}, warehouse.ErrorRetryable},
		{"reset", fmt.Errorf("read: %w", syscall.ECONNRESET), warehouse.ErrorRetryable},
		{"cut stream", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), warehouse.ErrorRetryable},
		{"deadline", context.DeadlineExceeded, warehouse.ErrorRetryable},
		{"pool exhausted", clickhouse.ErrAcquireConnTimeout, warehouse.ErrorRetryable},
		{"batch invalid", clickhouse.ErrBatchInvalid, warehouse.ErrorPermanent},
		{"not ours", errors.New("x"), warehouse.ErrorUnknown},
	}
	for _, tt := range tests {
		if got := warehouse.ClassifyError(tt.err); got != tt.want {
			t.Errorf("%s: ClassifyError(%v) = %s, want %s", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestClassifyRealErrors: errors from a real server and a dead address.
func TestClassifyRealErrors(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	err := wh.Conn().Exec(ctx, "SELEC 1")
	if got := warehouse.ClassifyError(err); got != warehouse.ErrorPermanent {
		t.Errorf("syntax error %v: %s, want permanent", err, got)
	}
	err = wh.Conn().Exec(ctx, "SELECT toDateTime('not a time')")
	if got := warehouse.ClassifyError(err); got != warehouse.ErrorPermanent {
		t.Errorf("bad data %v: %s, want permanent", err, got)
	}
	if os.Getenv(warehousetest.EnvClickHouse) == "" {
		return
	}
	// a port nobody listens on: connection refused
	l, lerr := net.Listen("tcp", "127.0.0.1:0")
	if lerr != nil {
		t.Fatal(lerr)
	}
	dead := l.Addr().String()
	_ = l.Close()
	_, err = warehouse.Open(ctx, config.ClickHouse{Addr: []string{dead}, Username: "default", DialTimeout: time.Second})
	if got := warehouse.ClassifyError(err); got != warehouse.ErrorRetryable {
		t.Errorf("dead server %v: %s, want retryable", err, got)
	}
}
