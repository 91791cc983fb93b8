// Package warehousetest gives integration tests a fresh ClickHouse
// database and a fresh Redis namespace on the real servers started by
// deploy/dev/services.sh (`make test` exports their addresses).
//
// Tests skip when the addresses are not set, except under CI=true, where
// a missing server is a failure: a skipped integration test must never
// pass for a green build.
package warehousetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Environment variables naming the test servers.
const (
	EnvClickHouse = "LOYALTYBRIDGE_TEST_CLICKHOUSE" // host:port, native protocol
	EnvRedis      = "LOYALTYBRIDGE_TEST_REDIS"      // host:port
)

func addr(t testing.TB, env string) string {
	t.Helper()
	a := os.Getenv(env)
	if a == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is not set under CI: run the tests with `make test`", env)
		}
		t.Skipf("%s not set: start the services with deploy/dev/services.sh up and run `make test`", env)
	}
	return a
}

// Suffix returns a short random identifier.
func Suffix() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// ClickHouse returns the config of a fresh database on the test server
// (migrated) and the open warehouse; both are dropped at cleanup.
func ClickHouse(t testing.TB) (config.ClickHouse, *warehouse.Warehouse) {
	t.Helper()
	cfg := config.ClickHouse{Addr: []string{addr(t, EnvClickHouse)}, Database: "lbtest_" + Suffix(), Username: "default",
		DialTimeout: 10 * time.Second}
	ctx := context.Background()
	wh, err := warehouse.Open(ctx, cfg)
	if err != nil {
		t.Fatalf("clickhouse: %v", err)
	}
	if _, err := wh.Migrate(ctx); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := wh.Conn().Exec(ctx, "DROP DATABASE IF EXISTS `"+cfg.Database+"`"); err != nil {
			t.Errorf("drop test database %s: %v", cfg.Database, err)
		}
		_ = wh.Close()
	})
	return cfg, wh
}

// Redis returns the config of a fresh namespace on the test server and a
// client; every key of the namespace (ours and asynq's queue keys) is
// deleted at cleanup.
func Redis(t testing.TB) (config.Redis, *redis.Client) {
	t.Helper()
	cfg := config.Redis{Addr: addr(t, EnvRedis), Namespace: "lbtest-" + Suffix()}
	rdb := redis.NewClient(&redis.Options{Addr: cfg.Addr})
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, pattern := range []string{cfg.Namespace + ":*", "asynq:{" + cfg.Namespace + ":*"} {
			iter := rdb.Scan(ctx, 0, pattern, 1000).Iterator()
			for iter.Next(ctx) {
				rdb.Del(ctx, iter.Val())
			}
		}
		rdb.SRem(ctx, "asynq:queues", cfg.Namespace+":sync", cfg.Namespace+":outbound")
		_ = rdb.Close()
	})
	return cfg, rdb
}
