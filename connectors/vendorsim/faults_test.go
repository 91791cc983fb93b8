package vendorsim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
)

// faultVendor builds a valid read request to one simulator of a Server
// and recognises that vendor's fault answers.
type faultVendor struct {
	name string
	// request returns a valid read (tok is the DM Hub token, if any)
	request func(t *testing.T, s *Server, base, tok string) *http.Request
	// kindOf recognises a well-formed 200 JSON answer: busy, business or
	// "" for the real answer; it fails on anything else.
	kindOf func(t *testing.T, v map[string]any) FaultKind
}

func faultVendors() []faultVendor {
	jsonReq := func(t *testing.T, u string, body any) *http.Request {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, u, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		return req
	}
	return []faultVendor{
		{
			name: "dmhub",
			request: func(t *testing.T, _ *Server, base, tok string) *http.Request {
				req, err := http.NewRequest(http.MethodGet, base+"/dmhub/loyalty/v1/membership?rows=5&access_token="+url.QueryEscape(tok), nil)
				if err != nil {
					t.Fatal(err)
				}
				return req
			},
			kindOf: func(t *testing.T, v map[string]any) FaultKind {
				if _, ok := v["rows"]; ok {
					return ""
				}
				code, msg := errCode(v)
				switch fmt.Sprint(code) {
				case "500000", "500001":
					return FaultBusy
				case "409000":
					return FaultBusiness
				}
				t.Fatalf("dmhub: unexpected 200 answer %v (%s)", v, msg)
				return ""
			},
		},
		{
			name: "houcaller",
			request: func(t *testing.T, _ *Server, base, _ string) *http.Request {
				return jsonReq(t, base+"/houcaller/htest/openapi/v1/listCpnForShop", map[string]string{
					"param": testDESEncrypt(t, "hklsim01", "", "", "", map[string]any{}), "channel": "hkl-test", "timestamp": "1581406120924"})
			},
			kindOf: func(t *testing.T, v map[string]any) FaultKind {
				switch fmt.Sprint(v["code"]) {
				case "0":
					return ""
				case "500000", "500":
					return FaultBusy
				case "1003":
					return FaultBusiness
				}
				t.Fatalf("houcaller: unexpected 200 answer %v", v)
				return ""
			},
		},
		{
			name: "zvcms",
			request: func(t *testing.T, s *Server, base, _ string) *http.Request {
				ts, nonce := "1547186244", "658965"
				return jsonReq(t, base+"/zvcms/v3/crm/customer/allCustomerInfo", map[string]any{
					"openId": "sim-zvcms-open", "grantCode": "sim-grant", "timestamp": ts, "nonce": nonce,
					"token": testSign("sim-zvcms-secret", "sim-zvcms-open", "sim-grant", ts, nonce), "params": map[string]any{"customerId": zvcmsWithCoupons(t, s)}})
			},
			kindOf: func(t *testing.T, v map[string]any) FaultKind {
				switch fmt.Sprint(v["status"], " ", v["code"]) {
				case "true 0":
					return ""
				case "false 50000", "false 50001":
					return FaultBusy
				case "true 20003":
					return FaultBusiness
				}
				t.Fatalf("zvcms: unexpected 200 answer %v", v)
				return ""
			},
		},
	}
}

// observe sends req and names what came back: a fault kind, "" for the
// real answer, or "timeout" when the client gave up first.
func observe(t *testing.T, c *http.Client, v faultVendor, req *http.Request, hang time.Duration) FaultKind {
	t.Helper()
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) && ue.Timeout() {
			return "timeout"
		}
		t.Fatalf("%s: %v", v.name, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return FaultTruncated // the connection was cut mid-body
		}
		t.Fatalf("%s: read body: %v", v.name, err)
	}
	var m map[string]any
	jsonErr := json.Unmarshal(body, &m)
	switch {
	case resp.StatusCode == http.StatusBadGateway && strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") &&
		strings.Contains(string(body), "<html>"):
		return FaultHTTP502
	case resp.StatusCode == http.StatusInternalServerError && jsonErr == nil:
		return FaultHTTP500
	case resp.StatusCode == http.StatusOK && jsonErr != nil:
		if len(body) == 0 {
			t.Fatalf("%s: empty 200 body", v.name)
		}
		return FaultTruncated
	case resp.StatusCode == http.StatusOK:
		k := v.kindOf(t, m)
		if k == "" && hang > 0 && time.Since(start) >= hang {
			return FaultHang // the real answer, after the hang
		}
		return k
	}
	t.Fatalf("%s: unexpected answer HTTP %d %q", v.name, resp.StatusCode, body)
	return ""
}

// dmToken gets a DM Hub token through faults: the token endpoint is never
// faulted twice in a row, so two attempts are enough.
func dmTokenThroughFaults(t *testing.T, c *http.Client, base string) string {
	t.Helper()
	for range 2 {
		resp, err := c.Get(base + "/dmhub/security/accesstoken?grant_type=client_credentials&appid=sim-dmhub-app&secret=sim-dmhub-secret")
		if err != nil {
			continue
		}
		var v struct {
			Token string `json:"access_token"`
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err == nil && v.Token != "" {
			return v.Token
		}
	}
	t.Fatal("two token attempts did not yield a token")
	return ""
}

func faultServer(t *testing.T, seed int64, rate float64, mix FaultMix) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(ServerOptions{Seed: seed, Members: 20,
		DMHub:     DMHubOptions{ErrorRate: rate, Faults: mix},
		Houcaller: HoucallerOptions{ErrorRate: rate, Faults: mix},
		Zvcms:     ZvcmsOptions{ErrorRate: rate, Faults: mix}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

// TestEachFaultKindIsProduced: with one kind selected and rate 1, every
// read of every vendor gets exactly that kind, and the counters say so.
func TestEachFaultKindIsProduced(t *testing.T) {
	t.Parallel()
	const hang = 150 * time.Millisecond
	for _, kind := range FaultKinds() {
		for _, v := range faultVendors() {
			t.Run(string(kind)+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				s, srv := faultServer(t, 3, 1, FaultMix{Weights: map[FaultKind]int{kind: 1}, Hang: hang})
				c := &http.Client{Timeout: 10 * time.Second}
				tok := ""
				if v.name == "dmhub" {
					tok = dmTokenThroughFaults(t, c, srv.URL)
				}
				before := s.Faults()[v.name].Kinds[kind]
				const n = 8
				for i := range n {
					if got := observe(t, c, v, v.request(t, s, srv.URL, tok), hang); got != kind {
						t.Fatalf("request %d: got %q, want %q", i, got, kind)
					}
				}
				if got := s.Faults()[v.name].Kinds[kind] - before; got != n {
					t.Errorf("counter of %s = %d, want %d", kind, got, n)
				}
			})
		}
	}
}

// TestHangEndsWithTheRequest: a hang far longer than the client's timeout
// ends when the client gives up, so the server closes at once and no
// handler goroutine is left behind.
func TestHangEndsWithTheRequest(t *testing.T) {
	t.Parallel()
	for _, v := range faultVendors() {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			s := NewServer(ServerOptions{Seed: 5, Members: 5,
				DMHub:     DMHubOptions{ErrorRate: 1, Faults: FaultMix{Weights: map[FaultKind]int{FaultHang: 1}, Hang: time.Hour}},
				Houcaller: HoucallerOptions{ErrorRate: 1, Faults: FaultMix{Weights: map[FaultKind]int{FaultHang: 1}, Hang: time.Hour}},
				Zvcms:     ZvcmsOptions{ErrorRate: 1, Faults: FaultMix{Weights: map[FaultKind]int{FaultHang: 1}, Hang: time.Hour}}})
			srv := httptest.NewServer(s)
			c := &http.Client{Timeout: 150 * time.Millisecond}
			if got := observe(t, c, v, v.request(t, s, srv.URL, "any"), 0); got != "timeout" {
				t.Fatalf("got %q, want the client to time out", got)
			}
			done := make(chan struct{})
			go func() { srv.Close(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("the server still waits for a hung handler 10s after the client gave up")
			}
		})
	}
}

// TestFaultRateAndMix: the fraction of faulted requests is the rate, the
// default mix spreads them over the five transient kinds and never picks
// business, and weights are respected.
func TestFaultRateAndMix(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		rate    float64
		weights map[FaultKind]int
		share   map[FaultKind]float64 // expected share of the faults
	}{
		{"default 5%", 0.05, nil, map[FaultKind]float64{FaultHTTP500: .2, FaultHTTP502: .2, FaultBusy: .2, FaultTruncated: .2, FaultHang: .2}},
		{"busy=3,hang=1 at 20%", 0.2, map[FaultKind]int{FaultBusy: 3, FaultHang: 1}, map[FaultKind]float64{FaultBusy: .75, FaultHang: .25}},
		{"all at 50%", 0.5, map[FaultKind]int{FaultHTTP500: 1, FaultHTTP502: 1, FaultBusy: 1, FaultTruncated: 1, FaultHang: 1, FaultBusiness: 1},
			map[FaultKind]float64{FaultHTTP500: 1. / 6, FaultHTTP502: 1. / 6, FaultBusy: 1. / 6, FaultTruncated: 1. / 6, FaultHang: 1. / 6, FaultBusiness: 1. / 6}},
		{"rate 0", 0, nil, nil},
		{"all weights 0", 1, map[FaultKind]int{FaultBusy: 0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := newFaultModel(9, 1, tc.rate, FaultMix{Weights: tc.weights})
			const n = 40000
			for range n {
				m.pick("membership.list", false)
			}
			st := m.stats()
			total := st.Total()
			if tc.share == nil {
				if total != 0 {
					t.Fatalf("%d faults, want none: %s", total, st)
				}
				return
			}
			// 4.5 standard deviations of a binomial: fails only on a real bias
			want := tc.rate * n
			if tol := 4.5 * math.Sqrt(n*tc.rate*(1-tc.rate)); math.Abs(float64(total)-want) > tol {
				t.Errorf("%d faults in %d requests, want %.0f ± %.0f", total, n, want, tol)
			}
			for _, k := range FaultKinds() {
				p := tc.share[k]
				want := p * float64(total)
				tol := 4.5*math.Sqrt(float64(total)*p*(1-p)) + 0.5
				if got := float64(st.Kinds[k]); math.Abs(got-want) > tol {
					t.Errorf("%s: %v faults, want %.0f ± %.0f (%s)", k, got, want, tol, st)
				}
			}
		})
	}
}

// TestFaultsOverHTTPMatchTheCounters: what a client observes over HTTP at
// a 30% rate is exactly what the simulator's counters report.
func TestFaultsOverHTTPMatchTheCounters(t *testing.T) {
	t.Parallel()
	mix := FaultMix{Weights: map[FaultKind]int{FaultHTTP500: 1, FaultHTTP502: 1, FaultBusy: 1, FaultTruncated: 1, FaultBusiness: 1}}
	s, srv := faultServer(t, 21, 0.3, mix)
	c := &http.Client{Timeout: 10 * time.Second}
	tok := dmTokenThroughFaults(t, c, srv.URL)
	s.DMHub.ResetFaults()
	for _, v := range faultVendors() {
		seen := map[FaultKind]int64{}
		const n = 200
		for range n {
			if k := observe(t, c, v, v.request(t, s, srv.URL, tok), 0); k != "" {
				seen[k]++
			}
		}
		st := s.Faults()[v.name]
		for _, k := range FaultKinds() {
			if seen[k] != st.Kinds[k] {
				t.Errorf("%s: observed %d %s faults, counters say %d", v.name, seen[k], k, st.Kinds[k])
			}
		}
		if st.Total() < 30 || st.Total() > 90 {
			t.Errorf("%s: %d faults in %d requests at 30%%", v.name, st.Total(), n)
		}
	}
}

// TestFaultsReproducibleFromSeed: the same seed and request sequence give
// the same faults; another seed gives others.
func TestFaultsReproducibleFromSeed(t *testing.T) {
	t.Parallel()
	mix := FaultMix{Weights: map[FaultKind]int{FaultHTTP500: 1, FaultHTTP502: 1, FaultBusy: 1, FaultTruncated: 1, FaultBusiness: 1}}
	run := func(seed int64) (string, map[string]FaultStats) {
		s, srv := faultServer(t, seed, 0.25, mix)
		c := &http.Client{Timeout: 10 * time.Second}
		tok := dmTokenThroughFaults(t, c, srv.URL)
		var seq strings.Builder
		for range 60 {
			for _, v := range faultVendors() {
				fmt.Fprintf(&seq, "%s ", cmpOr(observe(t, c, v, v.request(t, s, srv.URL, tok), 0), "-"))
			}
		}
		return seq.String(), s.Faults()
	}
	a, sa := run(4)
	b, sb := run(4)
	c, _ := run(5)
	if a != b || fmt.Sprint(sa) != fmt.Sprint(sb) {
		t.Errorf("same seed, different faults:\n%s\n%s\n%v\n%v", a, b, sa, sb)
	}
	if a == c {
		t.Error("seeds 4 and 5 gave the same fault sequence")
	}
}

func cmpOr(k FaultKind, def string) string {
	if k == "" {
		return def
	}
	return string(k)
}

// TestTokenEndpointFaults: the token endpoint is never faulted twice in a
// row and never gets a truncated or business answer (a cut answer would
// rotate the token unseen).
func TestTokenEndpointFaults(t *testing.T) {
	t.Parallel()
	m := newFaultModel(1, 2, 1, FaultMix{Weights: map[FaultKind]int{FaultTruncated: 1, FaultBusiness: 1, FaultBusy: 1}})
	prev := FaultKind("")
	for i := range 200 {
		p := m.pick("token", true)
		if p.kind == FaultTruncated || p.kind == FaultBusiness {
			t.Fatalf("request %d: token endpoint got %s", i, p.kind)
		}
		if p.kind != "" && prev != "" {
			t.Fatalf("request %d: token endpoint faulted twice in a row (%s, %s)", i, prev, p.kind)
		}
		prev = p.kind
	}
	if st := m.stats(); st.Kinds[FaultHTTP502] == 0 || st.Kinds[FaultBusy] == 0 {
		t.Errorf("token faults = %s, want 502s (replacing truncations) and busy answers", st)
	}
}

func TestParseFaultWeights(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    map[FaultKind]int
		wantErr string
	}{
		{"", DefaultFaultWeights(), ""},
		{"default", DefaultFaultWeights(), ""},
		{"all", map[FaultKind]int{FaultHTTP500: 1, FaultHTTP502: 1, FaultBusy: 1, FaultTruncated: 1, FaultHang: 1, FaultBusiness: 1}, ""},
		{"busy", map[FaultKind]int{FaultBusy: 1}, ""},
		{" busy=3 , hang ", map[FaultKind]int{FaultBusy: 3, FaultHang: 1}, ""},
		{"http500=0,http502=2", map[FaultKind]int{FaultHTTP500: 0, FaultHTTP502: 2}, ""},
		{"busy,slow", nil, `fault kind "slow" is unknown`},
		{"busy=-1", nil, `fault weight "-1" of "busy"`},
		{"busy=x", nil, `fault weight "x" of "busy"`},
		{"busy,busy=2", nil, `"busy" is listed twice`},
	}
	for _, tc := range tests {
		got, err := ParseFaultWeights(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("ParseFaultWeights(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !maps.Equal(got, tc.want) {
			t.Errorf("ParseFaultWeights(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
	if def := DefaultFaultWeights(); def[FaultBusiness] != 0 || len(def) != 5 || slices.Contains(slices.Collect(maps.Keys(def)), FaultBusiness) {
		t.Errorf("the default mix must hold the 5 transient kinds and not business: %v", def)
	}
}

// TestFaultsEndpoint: GET /_sim/faults reports every simulator's counts.
func TestFaultsEndpoint(t *testing.T) {
	t.Parallel()
	s, srv := faultServer(t, 8, 1, FaultMix{Weights: map[FaultKind]int{FaultBusy: 1}})
	c := &http.Client{Timeout: 10 * time.Second}
	v := faultVendors()[1]
	if k := observe(t, c, v, v.request(t, s, srv.URL, ""), 0); k != FaultBusy {
		t.Fatalf("got %q", k)
	}
	res := do(t, http.MethodGet, srv.URL+"/_sim/faults", nil)
	var got map[string]FaultStats
	if err := json.Unmarshal(res.body, &got); err != nil {
		t.Fatalf("%s: %v", res.body, err)
	}
	if got["houcaller"].Kinds[FaultBusy] != 1 || got["zvcms"].Total() != 0 || len(got) != 3 {
		t.Errorf("/_sim/faults = %s", res.body)
	}
}

// zvcmsWithCoupons returns a customer who has coupons (a non-empty list).
func zvcmsWithCoupons(t *testing.T, s *Server) string {
	t.Helper()
	for _, c := range s.Zvcms.Customers() {
		if len(s.Zvcms.Coupons(c.ID)) > 0 {
			return c.ID
		}
	}
	t.Fatal("no zvcms customer has coupons")
	return ""
}
