package dmhub_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

const deal = `{"salesChannel":"web","store":"s1","orderNo":"O-1","dateOrder":"2024-03-15T20:34:56+08:00","membershipId":"7",` +
	`"amountDiscount":0,"amountPaid":9.5,"dealLines":[{"lineId":"a","productName":"x","qty":1}]}`

func TestPrepareWrite(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, kind, body, key string
		wantKey, wantOrder    string
		wantField             string // "" = accepted
		wantBody              string // substring of the prepared body
	}{
		{name: "deal: key, UTC time, numeric member", kind: "deal", body: deal, wantKey: "deal:O-1", wantOrder: "O-1",
			wantBody: `"dateOrder":"2024-03-15T12:34:56"`},
		{name: "deal: given key wins", kind: "deal", body: deal, key: "k-1", wantKey: "k-1", wantOrder: "O-1", wantBody: `"membershipId":7`},
		{name: "deal: legacy dealLine", kind: "deal", body: strings.Replace(deal, "dealLines", "dealLine", 1), wantKey: "deal:O-1",
			wantOrder: "O-1", wantBody: `"dealLines":[`},
		{name: "deal: missing orderNo", kind: "deal", body: strings.Replace(deal, `"orderNo":"O-1",`, "", 1), wantField: "orderNo"},
		{name: "deal: amountPaid as text", kind: "deal", body: strings.Replace(deal, `"amountPaid":9.5`, `"amountPaid":"9.5"`, 1), wantField: "amountPaid"},
		{name: "deal: no member", kind: "deal", body: strings.Replace(deal, `"membershipId":"7",`, "", 1), wantField: "membershipId"},
		{name: "deal: bad time", kind: "deal", body: strings.Replace(deal, `2024-03-15T20:34:56+08:00`, `15/03/2024`, 1), wantField: "dateOrder"},
		{name: "deal: line without qty", kind: "deal", body: strings.Replace(deal, `,"qty":1`, "", 1), wantField: "dealLines[0].qty"},
		{name: "deal: duplicate lineId", kind: "deal",
			body:      strings.Replace(deal, `[{"lineId":"a","productName":"x","qty":1}]`, `[{"lineId":"a","productName":"x","qty":1},{"lineId":"a","productName":"y","qty":1}]`, 1),
			wantField: "dealLines[1].lineId"},
		{name: "refund: key has sorted lines", kind: "refund",
			body:    `{"membershipId":7,"orderNo":"O-1","dateRefund":"2024-03-16T00:00:00Z","refundTotal":1,"refundLines":[{"lineId":"b"},{"lineId":"a"}]}`,
			wantKey: "refund:O-1:a,b", wantOrder: "O-1"},
		{name: "refund: no lines", kind: "refund", body: `{"membershipId":7,"orderNo":"O-1","dateRefund":"2024-03-16T00:00:00Z","refundTotal":1,"refundLines":[]}`,
			wantField: "refundLines"},
		{name: "cancel", kind: "deal-cancel", body: `{"membershipId":7,"orderNo":"O-1"}`, wantKey: "deal-cancel:O-1", wantOrder: "O-1"},
		{name: "delete needs member", kind: "deal-delete", body: `{"orderNo":"O-1"}`, wantField: "membershipId"},
		{name: "device", kind: "push-device", body: `{"provider":"jpush","appKey":"k","pushId":"p","os":"ios","mobile":"138"}`,
			wantKey: "push-device:jpush:k:p:mobile=138"},
		{name: "device: bad os", kind: "push-device", body: `{"provider":"jpush","appKey":"k","pushId":"p","os":"winphone"}`, wantField: "os"},
		{name: "points: needs a key", kind: "points", body: `{"membershipId":7,"direction":"incr","point":5,"pattern":0}`, wantField: "idempotencyKey"},
		{name: "points: externalId is the key and the marker", kind: "points",
			body: `{"membershipId":7,"direction":"incr","point":5,"pattern":0,"externalId":"e-1"}`, wantKey: "points:e-1", wantBody: `"externalId":"e-1"`},
		{name: "points: marker from the key", kind: "points", key: "grant-1",
			body: `{"membershipId":7,"direction":"decr","point":5,"pattern":6}`, wantKey: "grant-1", wantBody: `"externalId":"lb-`},
		{name: "points: pattern out of range", kind: "points", key: "g",
			body: `{"membershipId":7,"direction":"incr","point":5,"pattern":6}`, wantField: "pattern"},
		{name: "points: zero", kind: "points", key: "g", body: `{"membershipId":7,"direction":"incr","point":0,"pattern":0}`, wantField: "point"},
		{name: "unknown kind", kind: "coupon", body: `{}`, wantField: "kind"},
		{name: "not an object", kind: "deal", body: `[1]`, wantField: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := dmhub.PrepareWrite(tt.kind, json.RawMessage(tt.body), tt.key)
			var fe *connectors.FieldError
			if tt.wantKey == "" {
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("PrepareWrite = %+v, %v; want a FieldError on %q", p, err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatalf("PrepareWrite: %v", err)
			}
			if p.Key != tt.wantKey || p.OrderNo != tt.wantOrder || !strings.Contains(string(p.Body), tt.wantBody) {
				t.Errorf("PrepareWrite = key %q order %q body %s; want key %q order %q body containing %s",
					p.Key, p.OrderNo, p.Body, tt.wantKey, tt.wantOrder, tt.wantBody)
			}
		})
	}
}

// memTokens is an in-memory TokenStore stand-in.
type memTokens struct{ fetch dmhub.FetchFunc }

func (m *memTokens) Token(ctx context.Context) (string, error) {
	t, _, err := m.fetch(ctx)
	return t, err
}
func (m *memTokens) Invalidate(context.Context, string) error { return nil }

func simWriter(t *testing.T, opts vendorsim.DMHubOptions) (*dmhub.Connector, *vendorsim.DMHub) {
	t.Helper()
	opts.Seed, opts.Members = 5, 20
	sim := vendorsim.NewDMHub(opts)
	mux := http.NewServeMux()
	mux.Handle("/dmhub/", http.StripPrefix("/dmhub", sim))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "acme", Kind: dmhub.Kind, BaseURL: srv.URL + "/dmhub",
		Credentials: dmhub.Credentials{AppID: "sim-dmhub-app", AppSecret: "sim-dmhub-secret"}}
	hc := &httpapi.Client{Source: "acme", Timeout: 500 * time.Millisecond}
	k, err := dmhub.New(src, hc, dmhub.WithTokens(func(f dmhub.FetchFunc) *dmhub.TokenStore { return nil }))
	if err != nil {
		t.Fatal(err)
	}
	k.Client().UseTokens(&memTokens{fetch: k.Client().FetchToken})
	return k, sim
}

// TestDeliverReconciles: a first attempt answered 409000 is a conflict
// (Permanent); a retried deal, cancel or refund answered 409000 counts as
// delivered; a retried points change is found in the points log by its
// externalId and not applied twice; 5xx and truncated answers are unknown
// outcomes.
func TestDeliverReconciles(t *testing.T) {
	t.Parallel()
	k, sim := simWriter(t, vendorsim.DMHubOptions{})
	ctx := context.Background()
	m := sim.Members()[0].ID
	body := func(kind, b string) json.RawMessage {
		p, err := dmhub.PrepareWrite(kind, json.RawMessage(b), "")
		if err != nil {
			t.Fatalf("prepare %s: %v", kind, err)
		}
		return p.Body
	}
	d := body("deal", strings.Replace(deal, `"7"`, m, 1))
	if _, err := k.Deliver(ctx, connectors.Write{ID: "w1", Kind: "deal", Body: d}); err != nil {
		t.Fatalf("deal: %v", err)
	}
	_, err := k.Deliver(ctx, connectors.Write{ID: "w1", Kind: "deal", Body: d})
	if connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), "409000") {
		t.Fatalf("first attempt of an existing deal: %v, want a Permanent 409000 conflict", err)
	}
	res, err := k.Deliver(ctx, connectors.Write{ID: "w1", Kind: "deal", Body: d, MaybeApplied: true})
	if err != nil || !res.Reconciled {
		t.Fatalf("retried deal answered 409000: %+v, %v; want reconciled", res, err)
	}
	c := body("deal-cancel", `{"membershipId":`+m+`,"orderNo":"O-1"}`)
	for i, maybe := range []bool{false, true} {
		res, err := k.Deliver(ctx, connectors.Write{ID: "w2", Kind: "deal-cancel", Body: c, MaybeApplied: maybe})
		if err != nil || res.Reconciled != (i == 1) {
			t.Fatalf("cancel %d: %+v, %v", i, res, err)
		}
	}
	pts := body("points", `{"membershipId":`+m+`,"direction":"incr","point":3,"pattern":4,"externalId":"grant-9"}`)
	before := len(sim.PointRecords(m))
	if _, err := k.Deliver(ctx, connectors.Write{ID: "w3", Kind: "points", Body: pts}); err != nil {
		t.Fatalf("points: %v", err)
	}
	res, err = k.Deliver(ctx, connectors.Write{ID: "w3", Kind: "points", Body: pts, MaybeApplied: true})
	if err != nil || !res.Reconciled {
		t.Fatalf("retried points: %+v, %v; want found in the points log", res, err)
	}
	if n := len(sim.PointRecords(m)) - before; n != 1 {
		t.Fatalf("points applied %d times, want 1", n)
	}
	other := body("points", `{"membershipId":`+m+`,"direction":"incr","point":3,"pattern":4,"externalId":"grant-10"}`)
	if res, err := k.Deliver(ctx, connectors.Write{ID: "w4", Kind: "points", Body: other, MaybeApplied: true}); err != nil || res.Reconciled {
		t.Fatalf("retried points never applied: %+v, %v; want applied now", res, err)
	}
	if n := len(sim.PointRecords(m)) - before; n != 2 {
		t.Fatalf("points records %d, want 2", n)
	}
}

func TestDeliverUnknownOutcome(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  vendorsim.DMHubWriteFaults
		unknown bool
	}{
		{"applied then failed", vendorsim.DMHubWriteFaults{AppliedThenFailRate: 1}, true},
		{"failed before applying (5xx)", vendorsim.DMHubWriteFaults{FailBeforeRate: 1}, true},
		{"stalled then reset", vendorsim.DMHubWriteFaults{FailBeforeRate: 1, HangFor: 2 * time.Second}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k, sim := simWriter(t, vendorsim.DMHubOptions{WriteFaults: tt.faults})
			b := json.RawMessage(`{"provider":"jpush","appKey":"k","pushId":"p","os":"ios"}`)
			_, err := k.Deliver(context.Background(), connectors.Write{ID: "w", Kind: "push-device", Body: b})
			if errors.Is(err, connectors.ErrOutcomeUnknown) != tt.unknown {
				t.Fatalf("Deliver: %v; want unknown outcome %v", err, tt.unknown)
			}
			if strings.Contains(err.Error(), "sim-dmhub-secret") || strings.Contains(err.Error(), "access_token=") {
				t.Fatalf("secret in error: %v", err)
			}
			before, after := sim.WriteFaultCounts()
			if before+after != 1 {
				t.Fatalf("fault counts %d/%d", before, after)
			}
		})
	}
}
