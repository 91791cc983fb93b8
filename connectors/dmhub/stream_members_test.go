package dmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// liveMembers is a DM Hub members list whose records change while a scan
// runs: onPage is called before a page is served, with the page number
// and sort, and may edit the members.
type liveMembers struct {
	mu         sync.Mutex
	members    []liveMember
	onPage     func(l *liveMembers, page int, sidx string)
	ignoreSort bool // always serve id order
}

type liveMember struct {
	id      int
	updated time.Time
}

func (l *liveMembers) touch(id int, at time.Time) {
	for i := range l.members {
		if l.members[i].id == id {
			l.members[i].updated = at
		}
	}
}

func (l *liveMembers) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	size, _ := strconv.Atoi(q.Get("rows"))
	page, _ := strconv.Atoi(q.Get("page"))
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.onPage != nil {
		l.onPage(l, page, q.Get("sidx"))
	}
	ms := slices.Clone(l.members)
	if q.Get("sidx") == "lastUpdated" && !l.ignoreSort {
		slices.SortStableFunc(ms, func(a, b liveMember) int { return b.updated.Compare(a.updated) })
	} else {
		slices.SortFunc(ms, func(a, b liveMember) int { return a.id - b.id })
	}
	rows := []json.RawMessage{}
	for i := (page - 1) * size; i >= 0 && i < len(ms) && i < page*size; i++ {
		rows = append(rows, json.RawMessage(fmt.Sprintf(`{"id":%d,"name":"m%d","lastUpdated":%q}`,
			ms[i].id, ms[i].id, ms[i].updated.Format(time.RFC3339))))
	}
	b, _ := json.Marshal(map[string]any{"rows": rows})
	writeJSON(w, string(b))
}

// runMembers drives a members run to its end and returns the member ids
// it loaded and the cursor it commits.
func runMembers(t *testing.T, s connectors.Stream, mode connectors.Mode, since json.RawMessage, started time.Time) ([]string, json.RawMessage, int) {
	t.Helper()
	var ids []string
	var cursor json.RawMessage
	clamped := 0
	for i := 0; i < 100; i++ {
		b, err := s.Fetch(context.Background(), connectors.Request{Mode: mode, Cursor: cursor, Since: since, Pages: 1, RunStarted: started})
		if err != nil {
			t.Fatal(err)
		}
		clamped += b.Clamped
		for _, m := range rowsOf[warehouse.Member](t, b.Rows) {
			ids = append(ids, m.MemberID)
		}
		if b.Done {
			return ids, b.Commit, clamped
		}
		cursor = b.Next
	}
	t.Fatal("members run did not finish")
	return nil, nil, 0
}

func TestMembersWatermarkNeverSkips(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	old := start.Add(-48 * time.Hour)
	tests := []struct {
		name string
		// edit changes the vendor's members before the full run and
		// while it runs
		setup   func(l *liveMembers)
		onPage  func(l *liveMembers, page int, sidx string)
		wantInc []string // members the next incremental run must load
		clamped int      // timestamps clamped over both runs
	}{
		{
			name: "a member on a page already read is updated during the id-ordered scan",
			onPage: func(l *liveMembers, page int, sidx string) {
				if sidx == "id" && page == 2 {
					l.touch(5, start.Add(time.Minute))    // page 1: already read
					l.touch(35, start.Add(2*time.Minute)) // page 2: read now
				}
			},
			wantInc: []string{"35", "5"},
		},
		{
			name:    "one member's lastUpdated is in 2099",
			setup:   func(l *liveMembers) { l.touch(7, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)) },
			onPage:  func(l *liveMembers, page int, sidx string) {},
			wantInc: []string{"7", "12"},
			clamped: 2,
		},
		{
			name:  "the vendor's clock is 8 h ahead for one member",
			setup: func(l *liveMembers) { l.touch(9, start.Add(8*time.Hour)) },
			onPage: func(l *liveMembers, page int, sidx string) {
				if sidx == "id" && page == 2 {
					l.touch(3, start.Add(time.Minute))
				}
			},
			wantInc: []string{"9", "12", "3"},
			clamped: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l := &liveMembers{}
			for i := 1; i <= 50; i++ {
				l.members = append(l.members, liveMember{id: i, updated: old})
			}
			if tt.setup != nil {
				tt.setup(l)
			}
			l.onPage = tt.onPage
			k := newTestConnector(t, newFakeVendor().handle("/loyalty/v1/membership", l.ServeHTTP), func(s *config.Source) {
				s.Lookback = 0 // the cursor alone must be right
			})
			now := start.Add(5 * time.Minute)
			k.now = func() time.Time { return now }
			s, err := k.Stream("members")
			if err != nil {
				t.Fatal(err)
			}
			ids, commit, c1 := runMembers(t, s, connectors.Full, nil, start)
			if len(ids) != 50 {
				t.Fatalf("full run loaded %d members, want 50", len(ids))
			}
			var cur MemberSince
			if err := json.Unmarshal(commit, &cur); err != nil {
				t.Fatal(err)
			}
			if cur.LastUpdated.After(start) {
				t.Errorf("full run commits %s, after the run's start %s", cur.LastUpdated, start)
			}
			// after the run: member 12 is updated
			l.mu.Lock()
			l.onPage = nil
			l.touch(12, start.Add(10*time.Minute))
			l.mu.Unlock()
			now = start.Add(20 * time.Minute)
			inc, _, c2 := runMembers(t, s, connectors.Incremental, commit, start.Add(15*time.Minute))
			for _, id := range tt.wantInc {
				if !slices.Contains(inc, id) {
					t.Errorf("incremental run loaded %v: member %s, changed after the full run's cursor, is missing", inc, id)
				}
			}
			if c1+c2 != tt.clamped {
				t.Errorf("clamped %d timestamps, want %d", c1+c2, tt.clamped)
			}
		})
	}
}

// TestMembersFutureCursorIsDropped: a committed cursor in the future
// (written before the clamp existed) no longer freezes the stream.
func TestMembersFutureCursorIsDropped(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := &liveMembers{}
	for i := 1; i <= 30; i++ {
		l.members = append(l.members, liveMember{id: i, updated: start.Add(-time.Hour)})
	}
	k := newTestConnector(t, newFakeVendor().handle("/loyalty/v1/membership", l.ServeHTTP), nil)
	k.now = func() time.Time { return start }
	s, _ := k.Stream("members")
	frozen, _ := json.Marshal(MemberSince{LastUpdated: time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC)})
	ids, commit, clamped := runMembers(t, s, connectors.Incremental, frozen, start)
	if len(ids) != 30 || clamped != 1 {
		t.Fatalf("loaded %d members, clamped %d: want every member (30) and 1", len(ids), clamped)
	}
	var cur MemberSince
	if err := json.Unmarshal(commit, &cur); err != nil || !cur.LastUpdated.Equal(start.Add(-time.Hour)) {
		t.Errorf("commit %s, want %s", commit, start.Add(-time.Hour))
	}
}

// TestMembersFallbackKeepsTheStart: a run that falls back to the id scan
// (the vendor ignored the sort) and ends within the same Fetch still caps
// its cursor at the run's start.
func TestMembersFallbackKeepsTheStart(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := &liveMembers{ignoreSort: true}
	for i := 1; i <= 30; i++ {
		l.members = append(l.members, liveMember{id: i, updated: start.Add(time.Duration(i%7) * time.Minute)})
	}
	k := newTestConnector(t, newFakeVendor().handle("/loyalty/v1/membership", l.ServeHTTP), nil)
	k.now = func() time.Time { return start.Add(time.Minute) }
	s, _ := k.Stream("members")
	since, _ := json.Marshal(MemberSince{LastUpdated: start.Add(-time.Hour)})
	b, err := s.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Since: since, Pages: 10})
	if err != nil || !b.Done || !b.Fallback {
		t.Fatalf("done %v fallback %v err %v: want one Fetch falling back and finishing", b.Done, b.Fallback, err)
	}
	var cur MemberSince
	if err := json.Unmarshal(b.Commit, &cur); err != nil || cur.LastUpdated.After(start.Add(time.Minute)) {
		t.Errorf("commit %s, want at most the run's start %s", b.Commit, start.Add(time.Minute))
	}
}

// TestMembersResumedRunKeepsScanStart: a run resumed from a failed run's
// cursor (a new run, started later) caps its cursor at the start of the
// scan that read the first pages, not at its own start.
func TestMembersResumedRunKeepsScanStart(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	l := &liveMembers{}
	for i := 1; i <= 50; i++ {
		l.members = append(l.members, liveMember{id: i, updated: start.Add(-time.Hour)})
	}
	k := newTestConnector(t, newFakeVendor().handle("/loyalty/v1/membership", l.ServeHTTP), nil)
	k.now = func() time.Time { return start.Add(3 * time.Hour) }
	s, _ := k.Stream("members")
	b, err := s.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 1, RunStarted: start})
	if err != nil || b.Done {
		t.Fatalf("first page: done %v, %v", b.Done, err)
	}
	// member 5 (page 1, read) changes; the run fails; a new run resumes
	l.mu.Lock()
	l.touch(5, start.Add(time.Hour))
	l.touch(45, start.Add(90*time.Minute))
	l.mu.Unlock()
	cursor := b.Next
	for i := 0; i < 10 && !b.Done; i++ {
		if b, err = s.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Cursor: cursor, Pages: 1,
			RunStarted: start.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		cursor = b.Next
	}
	var cur MemberSince
	if err := json.Unmarshal(b.Commit, &cur); err != nil || cur.LastUpdated.After(start) {
		t.Errorf("commit %s: want at most the scan's start %s (member 5 changed after it)", b.Commit, start)
	}
}
