package warehouse_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// TestOpenSizesThePool: the pool has the configured size (config sizes it
// to the worker's concurrency), not a fixed 8.
func TestOpenSizesThePool(t *testing.T) {
	t.Parallel()
	addr := os.Getenv(warehousetest.EnvClickHouse)
	if addr == "" {
		t.Skip(warehousetest.EnvClickHouse + " not set")
	}
	wh, err := warehouse.Open(context.Background(), config.ClickHouse{Addr: []string{addr}, Database: "default",
		Username: "default", DialTimeout: 5 * time.Second, MaxOpenConns: 34})
	if err != nil {
		t.Fatal(err)
	}
	defer wh.Close()
	if got := wh.Conn().Stats().MaxOpenConns; got != 34 {
		t.Errorf("pool of %d connections, want 34", got)
	}
}
