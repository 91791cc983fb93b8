package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
)

// startRedis runs a redis-server of its own (never the shared one) with
// extra arguments in a temp folder until the test ends.
func startRedis(t *testing.T, dir string, args ...string) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server not installed")
	}
	c := exec.Command(bin, args...)
	c.Dir = dir
	out, err := os.Create(filepath.Join(dir, fmt.Sprintf("redis-%d.log", time.Now().UnixNano())))
	if err != nil {
		t.Fatal(err)
	}
	c.Stdout, c.Stderr = out, out
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _, _ = c.Process.Wait(); _ = out.Close() })
}

// A Sentinel-managed master: the client finds it through the sentinel,
// and asynq enqueues and inspects through that client.
func TestRedisSentinelClient(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	master, sentinel := freeAddr(t), freeAddr(t)
	_, mport, _ := net.SplitHostPort(master)
	_, sport, _ := net.SplitHostPort(sentinel)
	startRedis(t, dir, "--port", mport, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf("port %s\nbind 127.0.0.1\nsentinel monitor lbmaster 127.0.0.1 %s 1\n", sport, mport)), 0o600); err != nil {
		t.Fatal(err)
	}
	startRedis(t, dir, conf, "--sentinel")

	cfg, err := config.Parse("s.yaml", []byte(fmt.Sprintf("redis:\n  namespace: lbsentinel\n  sentinel: {master: lbmaster, addrs: [%q]}\n", sentinel)),
		func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	rdb, where, err := newRedisClient(cfg.Redis)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	ctx := context.Background()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err = rdb.Ping(ctx).Err()
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("PING through %s: %v", where, err)
	}
	q := asynq.NewClientFromRedisClient(rdb)
	if _, err := q.Enqueue(asynq.NewTask("sync:stream", []byte("{}")), asynq.Queue("lbsentinel:sync")); err != nil {
		t.Fatalf("enqueue through sentinel: %v", err)
	}
	info, err := asynq.NewInspectorFromRedisClient(rdb).GetQueueInfo("lbsentinel:sync")
	if err != nil || info.Pending != 1 {
		t.Fatalf("queue info through sentinel = %+v, %v; want 1 pending", info, err)
	}
	// it really is the master behind the sentinel
	if role, err := rdb.Do(ctx, "ROLE").Slice(); err != nil || len(role) == 0 || role[0] != "master" {
		t.Errorf("ROLE = %v, %v", role, err)
	}
	if got, err := rdb.ConfigGet(ctx, "port").Result(); err != nil || got["port"] != mport {
		t.Errorf("connected to port %v (%v), want the master's %s", got, err, mport)
	}
}
