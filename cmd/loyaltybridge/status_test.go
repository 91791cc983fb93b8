package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

func TestStatusShowsCursorAndLastRun(t *testing.T) {
	t.Parallel()
	chCfg, _ := warehousetest.ClickHouse(t)
	rCfg, _ := warehousetest.Redis(t)
	srv := httptest.NewServer(vendorsim.NewServer(vendorsim.ServerOptions{Seed: 5, Members: 120}))
	defer srv.Close()
	yml := fmt.Sprintf(`redis: {addr: %q, namespace: %q}
clickhouse: {addr: [%q], database: %q}
sources:
  - name: acme
    kind: dmhub
    base_url: %s/dmhub
    rate_limit: 200
    schedule: "0 3 * * *"
    streams: [members]
    credentials: {app_id: sim-dmhub-app, app_secret: sim-dmhub-secret}
`, rCfg.Addr, rCfg.Namespace, chCfg.Addr[0], chCfg.Database, srv.URL)
	cfg, err := config.Parse("t.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := openApp(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.close()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.engine.RunWorker(wctx, a.rdb) }()
	defer func() { stop(); <-done }()

	before, err := buildStatus(ctx, a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if s := before.Streams[0]; s.Cursor != "" || s.LastRun != nil {
		t.Fatalf("before any sync: %+v", s)
	}
	refs, err := a.engine.StartSync(ctx, "acme", nil, connectors.Full)
	if err != nil {
		t.Fatal(err)
	}
	var progress, out bytes.Buffer
	if err := waitRuns(ctx, a.engine, refs, &progress, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	// one accepted outbound write (the simulator's member 10001) shows in
	// the outbound counts, whatever state it has reached
	ob := a.engine.NewOutbound(a.rdb)
	defer ob.Store.Close()
	res, err := ob.Accept(ctx, "acme", "deal", []outbound.Line{{N: 1, Body: []byte(`{"salesChannel":"web","store":"s1",` +
		`"orderNo":"st-1","dateOrder":"2024-03-15T20:34:56+08:00","membershipId":10001,"amountDiscount":0,"amountPaid":9.5,` +
		`"amountTotal":9.5,"dealLines":[{"lineId":"L1","productName":"tea","qty":1,"priceUnit":9.5}]}`)}})
	if err != nil || len(res) != 1 || res[0].Error != "" || res[0].ID == "" {
		t.Fatalf("accept a deal: %v %+v", err, res)
	}
	rep, err := buildStatus(ctx, a, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Outbound) != 1 || rep.Outbound[0].Source != "acme" || rep.Outbound[0].Writes != 1 {
		t.Errorf("outbound = %+v, want one write of acme", rep.Outbound)
	}
	s := rep.Streams[0]
	if s.Source != "acme" || s.Stream != "members" || !strings.Contains(s.Cursor, "last_updated") || s.LagSeconds == nil {
		t.Errorf("members status = %+v: want the committed cursor and its lag", s)
	}
	if s.LastRun == nil || s.LastRun.Status != "succeeded" || s.LastRun.Rows != 120 || s.LastRun.Mode != "full" {
		t.Errorf("last run = %+v", s.LastRun)
	}
	if len(rep.Schedules) != 1 || rep.Schedules[0].Next.Hour() != 3 {
		t.Errorf("schedules = %+v", rep.Schedules)
	}
	var text bytes.Buffer
	printStatus(&text, rep)
	for _, want := range []string{"acme", "members", "succeeded full", "120", "queue " + rCfg.Namespace + ":sync", `schedule acme: "0 3 * * *"`,
		"outbound acme: "} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("status output lacks %q:\n%s", want, text.String())
		}
	}
	if !strings.Contains(out.String(), "acme/members: succeeded") {
		t.Errorf("sync --wait output: %s", out.String())
	}
}
