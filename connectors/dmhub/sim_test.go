package dmhub

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// fetchedTokens fetches one token from the vendor and keeps it.
type fetchedTokens struct {
	c   *Client
	mu  sync.Mutex
	tok string
}

func (f *fetchedTokens) Token(ctx context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tok == "" {
		tok, _, err := f.c.FetchToken(ctx)
		if err != nil {
			return "", err
		}
		f.tok = tok
	}
	return f.tok, nil
}

func (f *fetchedTokens) Invalidate(_ context.Context, tok string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tok == tok {
		f.tok = ""
	}
	return nil
}

// TestStreamsAgainstSimulator is an extra end-to-end check: every stream
// against the vendor simulator (built independently from the same
// documents), compared with its ground truth. A small page size and a
// vendor cap below it exercise paging and the cap probe.
func TestStreamsAgainstSimulator(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	sim := vendorsim.NewServer(vendorsim.ServerOptions{Seed: 11, Members: 12, Now: clock,
		DMHub: vendorsim.DMHubOptions{MaxRows: 10}})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	src := &config.Source{Name: "acme", Kind: Kind, BaseURL: srv.URL + "/dmhub", PageSize: 20,
		Credentials:  Credentials{AppID: "sim-dmhub-app", AppSecret: "sim-dmhub-secret"},
		IdentityKeys: &config.KeySource{File: "k", Type: "wechat"}}
	c := NewClient(src, &httpapi.Client{Source: src.Name, HTTP: srv.Client()})
	c.UseTokens(&fetchedTokens{c: c})
	truth := sim.DMHub

	var wechat []string
	memberOf := map[string]string{}
	for _, m := range truth.Members() {
		for _, id := range truth.Identities(m.ID) {
			if id.Type == "wechat" {
				wechat = append(wechat, id.Value)
				memberOf[id.Value] = m.ID
			}
		}
	}
	k := &Connector{src: src, c: c}

	t.Run("levels", func(t *testing.T) {
		rows := readAll(t, k, "levels")
		var got, want []string
		for _, l := range rowsOf[warehouse.Level](t, rows) {
			got = append(got, fmt.Sprintf("%s/%s/%d", l.LevelID, l.Name, l.Priority))
		}
		for _, l := range truth.Levels() {
			want = append(want, fmt.Sprintf("%s/%s/%d", l.ID, l.Name, l.Priority))
		}
		sameSet(t, got, want)
	})
	t.Run("coupons", func(t *testing.T) {
		var got, want []string
		for _, c := range rowsOf[warehouse.Coupon](t, readAll(t, k, "coupons")) {
			got = append(got, fmt.Sprintf("%s/%s/%s/%s/%s/%s", c.CouponID, c.Name, c.CouponType, c.ValidType, c.StartDate, c.EndDate))
		}
		for _, c := range truth.Coupons() {
			want = append(want, fmt.Sprintf("%s/%s/%d/%d/%s/%s", c.ID, c.Name, c.Type, c.ValidType, c.StartDate, c.EndDate))
		}
		sameSet(t, got, want)
	})
	t.Run("identities", func(t *testing.T) {
		found := map[string]bool{}
		// the simulator caps the identity list like its pages
		small := *src
		small.PageSize = 4
		ki := (&Connector{src: &small, c: c}).WithKeys(&sliceKeys{keys: wechat})
		for _, i := range rowsOf[warehouse.Identity](t, readAll(t, ki, "identities")) {
			if i.Type == "wechat" && memberOf[i.Value] != "" {
				if memberOf[i.Value] != i.MemberID {
					t.Errorf("identity %s resolved to member %s, want %s", i.Value, i.MemberID, memberOf[i.Value])
				}
				found[i.Value] = true
			}
		}
		if len(found) != len(memberOf) || len(wechat) == 0 {
			t.Errorf("resolved %d of %d wechat identities", len(found), len(memberOf))
		}
	})
	t.Run("per member", func(t *testing.T) {
		points, _ := k.MemberStream("points")
		exp, _ := k.MemberStream("experience")
		coupons, _ := k.MemberStream("member_coupons")
		var nPoints, nExp, nCoupons int
		for _, m := range truth.Members() {
			req := connectors.MemberRequest{Mode: connectors.Full, Member: m.ID}
			var got, want []string
			for _, e := range rowsOf[warehouse.PointEntry](t, fetchMember(t, points, req).Rows) {
				got = append(got, fmt.Sprintf("%s %d %s %s>%s @%s", e.EntryID, e.Delta, e.Pattern, fmtInt(e.OldPoint),
					fmtInt(e.NewPoint), fmtTime(e.OccurredAt)))
			}
			for _, r := range truth.PointRecords(m.ID) {
				want = append(want, fmt.Sprintf("%s %d %d %d>%d @%s", r.ID, r.Delta, r.Pattern, r.OldPoint, r.NewPoint,
					fmtTime(&r.Date)))
			}
			sameSet(t, got, want)
			nPoints += len(got)

			got, want = nil, nil
			for _, e := range rowsOf[warehouse.ExpEntry](t, fetchMember(t, exp, req).Rows) {
				got = append(got, fmt.Sprintf("%s %d @%s", e.EntryID, e.Delta, fmtTime(e.OccurredAt)))
			}
			for _, r := range truth.ExpRecords(m.ID) {
				want = append(want, fmt.Sprintf("%s %d @%s", r.ID, r.ExpValue, fmtTime(&r.DateObtain)))
			}
			sameSet(t, got, want)
			nExp += len(got)

			got, want = nil, nil
			for _, c := range rowsOf[warehouse.MemberCoupon](t, fetchMember(t, coupons, req).Rows) {
				got = append(got, fmt.Sprintf("%s %s %s %s %s %s %s", c.CouponCode, c.CouponID, c.VendorStatus, c.Status,
					c.StartDate, c.EndDate, c.UUID))
			}
			for _, c := range truth.MemberCoupons(m.ID) {
				st, ok := couponStatuses[c.Status]
				if !ok {
					st = warehouse.CouponUnknown
				}
				want = append(want, fmt.Sprintf("%s %s %s %s %s %s %s", c.Code, c.CouponID, c.Status, st, c.StartDate,
					c.EndDate, strings.TrimSpace(c.UUID)))
			}
			sameSet(t, got, want)
			nCoupons += len(got)
		}
		if nPoints == 0 || nExp == 0 || nCoupons == 0 {
			t.Errorf("compared %d points, %d experience entries, %d coupons: want some of each", nPoints, nExp, nCoupons)
		}
		t.Logf("compared %d points, %d experience entries, %d member coupons", nPoints, nExp, nCoupons)
	})
	t.Run("incremental points", func(t *testing.T) {
		points, _ := k.MemberStream("points")
		m := truth.Members()[0].ID
		for range 20 { // a ledger of several pages
			if _, err := truth.AddPointRecord(m, 3, 2); err != nil {
				t.Fatal(err)
			}
		}
		known := map[string]bool{}
		full := fetchMember(t, points, connectors.MemberRequest{Mode: connectors.Full, Member: m})
		for _, r := range full.Rows {
			known[r.(warehouse.PointEntry).EntryID] = true
		}
		mu.Lock()
		now = now.Add(time.Minute) // the new entry is a minute newer
		mu.Unlock()
		added, err := truth.AddPointRecord(m, -4, 1)
		if err != nil {
			t.Fatal(err)
		}
		inc := fetchMember(t, points, connectors.MemberRequest{Mode: connectors.Incremental, Member: m,
			Known: func(id string) bool { return known[id] }})
		var seen bool
		for _, r := range inc.Rows {
			if e := r.(warehouse.PointEntry); e.EntryID == added.ID {
				seen = e.Delta == -4 && e.Pattern == "1" && e.PatternName == "积分兑换"
			}
		}
		if !seen {
			t.Errorf("the new entry %s was not read correctly", added.ID)
		}
		t.Logf("full read: %d requests; incremental: %d", full.Requests, inc.Requests)
		if inc.Requests > full.Requests+1 {
			t.Errorf("incremental read %d requests, full %d", inc.Requests, full.Requests)
		}
	})
}

func readAll(t *testing.T, k *Connector, name string) []warehouse.Row {
	t.Helper()
	st, err := k.Stream(name)
	if err != nil {
		t.Fatal(err)
	}
	var rows []warehouse.Row
	var cursor []byte
	for range 1000 {
		b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Cursor: cursor, Pages: 2})
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, b.Rows...)
		if b.Done {
			return rows
		}
		cursor = b.Next
	}
	t.Fatalf("%s never finished", name)
	return nil
}

func fetchMember(t *testing.T, ms connectors.MemberStream, req connectors.MemberRequest) connectors.MemberBatch {
	t.Helper()
	b, err := ms.FetchMember(context.Background(), req)
	if err != nil {
		t.Fatalf("member %s: %v", req.Member, err)
	}
	return b
}

func sameSet(t *testing.T, got, want []string) {
	t.Helper()
	g := map[string]int{}
	for _, s := range got {
		g[s]++
	}
	for _, s := range want {
		if g[s] == 0 {
			t.Errorf("missing %q", s)
		}
		g[s]--
	}
	for s, n := range g {
		if n > 0 {
			t.Errorf("unexpected %q", s)
		}
	}
}
