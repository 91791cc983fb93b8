package dmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// ledgerStreams are the per-member ledgers, with a record generator each.
var ledgerStreams = []struct {
	name, path string
	record     func(id int, created string) string // created "" = no order key
	entryID    func(r warehouse.Row) string
}{
	{name: "points", path: "/loyalty/v1/membership/399/point",
		record: func(id int, created string) string {
			return fmt.Sprintf(`{"id":%d,"membershipId":399,"point":1,"type":1,"pattern":0,"oldPoint":%d,"newPoint":%d%s}`,
				id, id-1, id, stamp("date", created)+stamp("dateCreated", created))
		},
		entryID: func(r warehouse.Row) string { return r.(warehouse.PointEntry).EntryID }},
	{name: "experience", path: "/loyalty/v1/membership/399/exp/changeLogs",
		record: func(id int, created string) string {
			return fmt.Sprintf(`{"id":%d,"membershipId":399,"expType":1,"expValue":1,"oldExp":%d,"newExp":%d%s}`,
				id, id-1, id, stamp("dateObtain", created)+stamp("dateCreated", created))
		},
		entryID: func(r warehouse.Row) string { return r.(warehouse.ExpEntry).EntryID }},
}

func stamp(key, v string) string {
	if v == "" {
		return ""
	}
	return fmt.Sprintf(`,%q:%q`, key, v)
}

// TestLedgerEarlyStop: an incremental read stops after the first page
// holding a known entry strictly newer than the oldest entry read, and
// only when every page read really was newest first.
func TestLedgerEarlyStop(t *testing.T) {
	t.Parallel()
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	minute := func(id int) string { return base.Add(time.Duration(id) * time.Minute).Format(time.RFC3339) }
	asc := func(n int) []int { // 1 … n
		ids := make([]int, n)
		for i := range ids {
			ids[i] = i + 1
		}
		return ids
	}
	desc := func(n int) []int { // n … 1
		ids := make([]int, n)
		for i := range ids {
			ids[i] = n - i
		}
		return ids
	}
	tests := []struct {
		name     string
		order    []int               // entry ids in the order the vendor serves them
		created  func(id int) string // order key of each entry
		knownMax int                 // entries 1…knownMax are known; 0 = full mode (Known nil)
		wantReqs int
		wantIDs  []int // must be among the rows read (besides the count check)
		wantRows int
	}{
		{name: "full mode reads every page", order: desc(50), created: minute, wantReqs: 6, wantRows: 50},
		{name: "stops after the page with a known entry", order: desc(50), created: minute, knownMax: 30,
			wantReqs: 3, wantRows: 30, wantIDs: []int{50, 31}},
		{name: "known entry on the first page", order: desc(50), created: minute, knownMax: 45, wantReqs: 1, wantRows: 10},
		{name: "known entry strictly inside page 2", order: desc(50), created: minute, knownMax: 32, wantReqs: 2, wantRows: 20},
		{name: "known entry only at the tail: one more page", order: desc(50), created: minute, knownMax: 31,
			wantReqs: 3, wantRows: 30},
		{name: "a tie across the page boundary is read", knownMax: 30, wantReqs: 3, wantRows: 30, wantIDs: []int{31},
			// 31 (new) and 30 (known) share a second; the vendor puts 30
			// at the end of page 2 and 31 at the head of page 3
			order: append(append(desc(50)[:19], 30, 31), desc(29)...),
			created: func(id int) string {
				if id == 31 {
					return minute(30)
				}
				return minute(id)
			}},
		{name: "vendor ignores sord (oldest first): reads all", order: asc(50), created: minute,
			knownMax: 30, wantReqs: 6, wantRows: 50},
		{name: "one entry out of order on page 2: reads all", knownMax: 32, wantReqs: 6, wantRows: 50,
			order: desc(50), created: func(id int) string {
				if id == 36 {
					return minute(45)
				}
				return minute(id)
			}},
		{name: "all in one second: order unverifiable, reads all", order: desc(50), created: func(int) string { return minute(1) },
			knownMax: 30, wantReqs: 6, wantRows: 50},
		{name: "no order keys: reads all", order: desc(50), created: func(int) string { return "" },
			knownMax: 30, wantReqs: 6, wantRows: 50},
		{name: "nothing known: reads all", order: desc(50), created: minute, knownMax: -1, wantReqs: 6, wantRows: 50},
	}
	for _, ls := range ledgerStreams {
		for _, tt := range tests {
			t.Run(ls.name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				rows := make([]json.RawMessage, len(tt.order))
				for i, id := range tt.order {
					rows[i] = json.RawMessage(ls.record(id, tt.created(id)))
				}
				f := newFakeVendor().handle(ls.path, pagedList(rows, listOpts{}))
				k := newTestConnector(t, f, func(s *config.Source) { s.PageSize = 10 })
				ms, _ := k.MemberStream(ls.name)
				req := connectors.MemberRequest{Mode: connectors.Full, Member: "399"}
				if tt.knownMax != 0 {
					req.Mode = connectors.Incremental
					req.Known = func(id string) bool {
						var n int
						_, err := fmt.Sscan(id, &n)
						return err == nil && n <= tt.knownMax
					}
				}
				b, err := ms.FetchMember(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if len(f.requests()) != tt.wantReqs || b.Requests != tt.wantReqs || b.Pages != tt.wantReqs {
					t.Errorf("vendor saw %d requests (batch: %d requests, %d pages), want %d",
						len(f.requests()), b.Requests, b.Pages, tt.wantReqs)
				}
				if len(b.Rows) != tt.wantRows {
					t.Errorf("%d rows, want %d", len(b.Rows), tt.wantRows)
				}
				got := map[string]bool{}
				for _, r := range b.Rows {
					got[ls.entryID(r)] = true
				}
				for _, id := range tt.wantIDs {
					if !got[fmt.Sprint(id)] {
						t.Errorf("entry %d not read", id)
					}
				}
				for _, r := range f.requests() {
					if r.Query.Get("sord") != "desc" || r.Query.Get("sidx") != "" {
						t.Errorf("request %v: want sord=desc and no sidx (undocumented for ledgers)", r.Query)
					}
				}
			})
		}
	}
}

// TestMemberStreamsNotFound: a member the vendor does not know is
// NotFound with no rows and no error, on any page; other errors are
// errors.
func TestMemberStreamsNotFound(t *testing.T) {
	t.Parallel()
	notFound := `{"error":{"code":"409200","message":"Not found"}}`
	streams := map[string]struct {
		path string
		row  func(i int) string
	}{
		"points":     {"/loyalty/v1/membership/77/point", func(i int) string { return ledgerStreams[0].record(i, "") }},
		"experience": {"/loyalty/v1/membership/77/exp/changeLogs", func(i int) string { return ledgerStreams[1].record(i, "") }},
		"member_coupons": {"/loyalty/v1/membership/77/coupon", func(i int) string {
			return fmt.Sprintf(`{"couponCode":"c%d","status":"normal"}`, i)
		}},
	}
	tests := []struct {
		name     string
		page1    bool // page 1 is a full page; the error comes on page 2
		body     string
		notFound bool
		class    connectors.Class
	}{
		{name: "409200 on page 1", body: notFound, notFound: true},
		{name: "409200 on page 2", page1: true, body: notFound, notFound: true},
		{name: "other permanent error", body: `{"error":{"code":"400001","message":"Invalid rows"}}`, class: connectors.Permanent},
	}
	for name, st := range streams {
		for _, tt := range tests {
			t.Run(name+"/"+tt.name, func(t *testing.T) {
				t.Parallel()
				f := newFakeVendor().handle(st.path, func(w http.ResponseWriter, r *http.Request) {
					if tt.page1 && r.URL.Query().Get("page") == "1" {
						full := make([]json.RawMessage, 10)
						for i := range full {
							full[i] = json.RawMessage(st.row(i + 1))
						}
						b, _ := json.Marshal(map[string]any{"rows": full})
						writeJSON(w, string(b))
						return
					}
					writeJSON(w, tt.body)
				})
				k := newTestConnector(t, f, func(s *config.Source) { s.PageSize = 10 })
				ms, _ := k.MemberStream(name)
				b, err := ms.FetchMember(context.Background(), connectors.MemberRequest{Mode: connectors.Full, Member: "77"})
				if !tt.notFound {
					if got := connectors.ClassOf(err); err == nil || got != tt.class {
						t.Fatalf("error %v (class %s), want class %s", err, got, tt.class)
					}
					return
				}
				if !connectors.IsNotFound(err) || connectors.ClassOf(err) != connectors.Permanent {
					t.Fatalf("error %v, want a permanent not-found", err)
				}
				want := 1
				if tt.page1 {
					want = 2
				}
				if len(b.Rows) != 0 || b.Requests != want {
					t.Fatalf("batch = %+v, want no rows, %d requests", b, want)
				}
			})
		}
	}
}

// TestMemberStreamsNeedAMember: an empty member id is a permanent error.
func TestMemberStreamsNeedAMember(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, newFakeVendor(), nil)
	for _, name := range []string{"points", "experience", "member_coupons"} {
		ms, _ := k.MemberStream(name)
		_, err := ms.FetchMember(context.Background(), connectors.MemberRequest{Member: " "})
		if connectors.ClassOf(err) != connectors.Permanent {
			t.Errorf("%s: error %v, want permanent", name, err)
		}
	}
}
