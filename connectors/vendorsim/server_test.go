package vendorsim

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
)

func newTestServer(t *testing.T) (*Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	s := NewServer(ServerOptions{Seed: 77, Members: 40, Now: clock.Now})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv, clock
}

func TestServerCrossVendorKeys(t *testing.T) {
	t.Parallel()
	s, _, _ := newTestServer(t)
	var hou []string
	for _, m := range s.Houcaller.Members() {
		hou = append(hou, m.ID)
	}
	if len(hou) == 0 || !slices.Equal(hou, s.DMHub.HoucallerIDs()) {
		t.Fatal("Houcaller members differ from DM Hub c_houcaller_id values")
	}
	var zv []string
	for _, c := range s.Zvcms.Customers() {
		zv = append(zv, c.ID)
	}
	if len(zv) == 0 || !slices.Equal(zv, s.DMHub.ZvcmsIDs()) {
		t.Fatal("zvcms customers differ from DM Hub c_zvcms_id values")
	}
}

func TestServerRoutes(t *testing.T) {
	t.Parallel()
	s, srv, _ := newTestServer(t)
	o := s.DMHub.Options()
	tests := []struct {
		method, path string
		body         any
		status       int
		contains     string
	}{
		{"GET", "/_sim/healthz", nil, 200, "ok"},
		{"GET", "/dmhub/security/accesstoken?grant_type=client_credentials&appid=" + o.AppID + "&secret=" + o.AppSecret, nil, 200, "access_token"},
		{"POST", "/houcaller/htest/openapi/v1/listCpnForShop", map[string]string{"param": "00", "channel": "hkl-test", "timestamp": "1"}, 200, `"code":1002`},
		{"POST", "/zvcms/v3/crm/coupon/getCustomerCoupons", map[string]any{}, 200, `"status":false`},
		{"POST", "/zvcms/api/v2", map[string]any{}, 200, `"status":false`},
		{"GET", "/_sim/requests", nil, 200, `"dmhub":{"token":1}`},
		{"GET", "/elsewhere", nil, 404, ""},
		{"POST", "/_sim/mutate", map[string]any{"op": "explode"}, 400, "unknown op"},
		{"POST", "/_sim/mutate", map[string]any{"op": "update_member", "typo": 1}, 400, "unknown field"},
	}
	for _, tc := range tests {
		res := do(t, tc.method, srv.URL+tc.path, tc.body)
		if res.status != tc.status || !strings.Contains(string(res.body), tc.contains) {
			t.Errorf("%s %s: %d %s", tc.method, tc.path, res.status, truncate(res.body))
		}
	}
}

func TestServerMutate(t *testing.T) {
	t.Parallel()
	s, srv, clock := newTestServer(t)
	m := s.DMHub.Members()[0]
	clock.Advance(time.Hour)
	res := do(t, "POST", srv.URL+"/_sim/mutate", map[string]any{"vendor": "dmhub", "op": "update_member", "member_id": m.ID})
	if res.status != 200 {
		t.Fatalf("mutate: %d %s", res.status, res.body)
	}
	if got, _ := s.DMHub.Member(m.ID); !got.LastUpdated.Equal(clock.Now()) {
		t.Fatalf("lastUpdated %v, want %v", got.LastUpdated, clock.Now())
	}
	res = do(t, "POST", srv.URL+"/_sim/mutate", map[string]any{"op": "create_members", "count": 2})
	var out struct {
		OK     bool
		Result []DMHubMember
	}
	if err := json.Unmarshal(res.body, &out); err != nil || !out.OK || len(out.Result) != 2 || len(s.DMHub.Members()) != 42 {
		t.Fatalf("create_members: %s", res.body)
	}
	hid := s.Houcaller.Members()[0].ID
	before := len(s.Houcaller.Coupons(hid))
	if res := do(t, "POST", srv.URL+"/_sim/mutate", map[string]any{"vendor": "houcaller", "op": "issue_coupon", "member_id": hid}); res.status != 200 {
		t.Fatalf("houcaller issue: %s", res.body)
	}
	if len(s.Houcaller.Coupons(hid)) != before+1 {
		t.Fatal("coupon not issued")
	}
	zid := s.Zvcms.Customers()[0].ID
	if res := do(t, "POST", srv.URL+"/_sim/mutate", map[string]any{"vendor": "zvcms", "op": "add_points", "member_id": zid, "delta": 5}); res.status != 200 {
		t.Fatalf("zvcms add_points: %s", res.body)
	}
	if res := do(t, "POST", srv.URL+"/_sim/mutate", map[string]any{"op": "add_point", "member_id": "0", "delta": 5}); res.status != http.StatusBadRequest {
		t.Fatalf("unknown member: %d", res.status)
	}
}
