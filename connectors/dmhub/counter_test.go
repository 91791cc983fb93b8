package dmhub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

func counterAgainst(t *testing.T, h http.Handler) *Connector {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "acme", Kind: Kind, BaseURL: srv.URL + "/dmhub",
		Credentials: Credentials{AppID: "sim-dmhub-app", AppSecret: "sim-dmhub-secret"}}
	c := NewClient(src, &httpapi.Client{Source: src.Name, HTTP: srv.Client()})
	c.UseTokens(&fetchedTokens{c: c})
	return &Connector{src: src, c: c}
}

// TestCounterAgainstSimulator: the vendor's totals (needTotal `records`)
// and a member's point, as the simulator holds them; streams without a
// total cannot tell; an unknown member is ErrNotFound.
func TestCounterAgainstSimulator(t *testing.T) {
	t.Parallel()
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 4, Members: 25})
	k := counterAgainst(t, sim)
	ctx := context.Background()
	truth := sim.DMHub
	for stream, want := range map[string]int{"members": len(truth.Members()), "coupons": len(truth.Coupons())} {
		n, ok, err := k.CountList(ctx, stream)
		if err != nil || !ok || n != int64(want) {
			t.Errorf("CountList(%s) = %d, %v, %v; want %d", stream, n, ok, err, want)
		}
	}
	for _, stream := range []string{"levels", "identities", "points"} {
		if _, ok, err := k.CountList(ctx, stream); ok || err != nil {
			t.Errorf("CountList(%s): ok %v, err %v; want cannot tell", stream, ok, err)
		}
	}
	for _, m := range truth.Members()[:8] {
		for stream, want := range map[string]int{"points": len(truth.PointRecords(m.ID)), "experience": len(truth.ExpRecords(m.ID)),
			"member_coupons": len(truth.MemberCoupons(m.ID))} {
			n, ok, err := k.CountMember(ctx, stream, m.ID)
			if err != nil || !ok || n != int64(want) {
				t.Errorf("member %s: CountMember(%s) = %d, %v, %v; want %d", m.ID, stream, n, ok, err, want)
			}
		}
		if p, err := k.MemberPoint(ctx, m.ID); err != nil || p != m.Point {
			t.Errorf("member %s: MemberPoint = %d, %v; want %d", m.ID, p, err, m.Point)
		}
	}
	if _, ok, err := k.CountMember(ctx, "levels", "10001"); ok || err != nil {
		t.Errorf("CountMember(levels): ok %v, err %v; want cannot tell", ok, err)
	}
	if _, _, err := k.CountMember(ctx, "points", "999999999"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("CountMember of an unknown member: %v, want ErrNotFound", err)
	}
	if _, err := k.MemberPoint(ctx, "999999999"); !errors.Is(err, connectors.ErrNotFound) {
		t.Errorf("MemberPoint of an unknown member: %v, want ErrNotFound", err)
	}
}

// TestCounterWithoutRecords: a vendor that answers a list without
// `records` cannot tell its total: not zero.
func TestCounterWithoutRecords(t *testing.T) {
	t.Parallel()
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 4, Members: 3})
	k := counterAgainst(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dmhub/loyalty/v1/membership" {
			_, _ = w.Write([]byte(`{"rows":[{"id":1}]}`))
			return
		}
		sim.ServeHTTP(w, r)
	}))
	if n, ok, err := k.CountList(context.Background(), "members"); ok || err != nil || n != 0 {
		t.Errorf("CountList without records = %d, %v, %v; want cannot tell", n, ok, err)
	}
}
