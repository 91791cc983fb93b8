package dmhub

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// TestPerMemberPageCap: a per-member read of a vendor that ignores
// paging stops at the first repeated page, and one that pages forever
// stops at max_member_pages; both keep what they read, log it and report
// Capped, instead of failing the run or growing without bound.
func TestPerMemberPageCap(t *testing.T) {
	t.Parallel()
	full := func(page int) string { // a full page (20 rows) of distinct entries
		var rows []string
		for i := 0; i < 20; i++ {
			rows = append(rows, fmt.Sprintf(`{"id":"p%d-%d","point":1,"type":1,"dateCreated":"2024-01-01T00:00:00Z","couponCode":"c%d-%d"}`, page, i, page, i))
		}
		return `{"rows":[` + strings.Join(rows, ",") + `]}`
	}
	tests := []struct {
		name       string
		ignorePage bool
		wantPages  int
		wantRows   int
		wantLog    string
	}{
		{name: "vendor ignores page", ignorePage: true, wantPages: 2, wantRows: 20, wantLog: "ignores `page`"},
		{name: "vendor pages forever", wantPages: 5, wantRows: 100, wantLog: "page cap"},
	}
	for _, tt := range tests {
		for _, stream := range []string{"points", "experience", "member_coupons"} {
			t.Run(tt.name+"/"+stream, func(t *testing.T) {
				t.Parallel()
				var served atomic.Int64
				h := func(w http.ResponseWriter, r *http.Request) {
					if served.Add(1) > 50 { // the old unbounded read: end it so the test fails, not hangs
						writeJSON(w, `{"rows":[]}`)
						return
					}
					page, _ := strconv.Atoi(r.URL.Query().Get("page"))
					if tt.ignorePage {
						page = 1
					}
					writeJSON(w, full(page))
				}
				suffix := map[string]string{"points": "/point", "experience": "/exp/changeLogs", "member_coupons": "/coupon"}[stream]
				k := newTestConnector(t, newFakeVendor().handle("/loyalty/v1/membership/9"+suffix, h), func(s *config.Source) {
					s.MaxMemberPages = 5
				})
				var logs bytes.Buffer
				ms, _ := k.MemberStream(stream)
				b, err := ms.FetchMember(context.Background(), connectors.MemberRequest{Mode: connectors.Full, Member: "9",
					Log: slog.New(slog.NewTextHandler(&logs, nil))})
				if err != nil {
					t.Fatalf("FetchMember: %v", err)
				}
				if b.Pages != tt.wantPages || len(b.Rows) != tt.wantRows || !b.Capped || !strings.Contains(logs.String(), tt.wantLog) {
					t.Errorf("pages %d rows %d capped %v log %q; want %d pages, %d rows, capped, a log naming %q",
						b.Pages, len(b.Rows), b.Capped, logs.String(), tt.wantPages, tt.wantRows, tt.wantLog)
				}
			})
		}
	}
}
