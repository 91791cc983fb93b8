package zvcms

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

// TestFaultyVendorTaskOfFiftyMembers: with 5% of requests failing (502
// pages, 系统繁忙 system errors, truncated bodies), a task of 50 member
// look-ups meets a fault almost every time (1-0.95^50 ≈ 92%); each failed
// read must be retried in place so that three such tasks all succeed.
// Before in-place retries, the first fault failed the task.
func TestFaultyVendorTaskOfFiftyMembers(t *testing.T) {
	t.Parallel()
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 8, Members: 250,
		Zvcms: vendorsim.ZvcmsOptions{ErrorRate: 0.05}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "zv", Kind: Kind, BaseURL: srv.URL + "/zvcms",
		Credentials: Credentials{OpenID: "sim-zvcms-open", GrantCode: "sim-grant", Secret: config.Secret("sim-zvcms-secret")}}
	// a hang fault (60 s) times out after 2 s and is retried in place
	hc := &httpapi.Client{Source: src.Name, HTTP: srv.Client(), Timeout: 2 * time.Second}
	var waits []time.Duration
	hc.Sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
	k, err := New(src, hc)
	if err != nil {
		t.Fatal(err)
	}
	s, err := k.Stream(StreamMemberCoupons)
	if err != nil {
		t.Fatal(err)
	}
	customers := sim.Zvcms.Customers()
	if len(customers) < 150 {
		t.Fatalf("%d simulated customers, want 150", len(customers))
	}
	for task := range 3 {
		for _, m := range customers[task*50 : (task+1)*50] {
			if _, err := s.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Partition: m.ID}); err != nil {
				t.Fatalf("task %d, customer %s: %v", task, m.ID, err)
			}
		}
	}
	if len(waits) == 0 {
		t.Error("no in-place retry happened: the fault mix was not exercised")
	}
	t.Logf("%d in-place retries", len(waits))
}
