package dmhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// numbered returns n rows {"id":1}…{"id":n}.
func numbered(n int) []json.RawMessage {
	rows := make([]json.RawMessage, n)
	for i := range rows {
		rows[i] = json.RawMessage(fmt.Sprintf(`{"id":%d}`, i+1))
	}
	return rows
}

func TestPager(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		n        int // rows in the list
		size     int // configured page size
		opts     listOpts
		wantReqs []string // rows=…&page=… of each request
		err      string
	}{
		{name: "empty list", n: 0, size: 20, wantReqs: []string{"20/1"}},
		{name: "short first page of a cap-like length is probed once", n: 10, size: 20, wantReqs: []string{"20/1", "10/2"}},
		{name: "short first page of another length is the end", n: 7, size: 20, wantReqs: []string{"20/1"}},
		{name: "exact multiple ends on an empty page", n: 40, size: 20, wantReqs: []string{"20/1", "20/2", "20/3"}},
		{name: "full pages then a short one", n: 45, size: 20, wantReqs: []string{"20/1", "20/2", "20/3"}},
		{name: "vendor cap below page size", n: 25, size: 20, opts: listOpts{cap: 10},
			wantReqs: []string{"20/1", "10/2", "10/3"}},
		{name: "vendor cap, list ends on the probe", n: 10, size: 20, opts: listOpts{cap: 10},
			wantReqs: []string{"20/1", "10/2"}},
		{name: "total and records are not trusted", n: 45, size: 20, opts: listOpts{lying: true},
			wantReqs: []string{"20/1", "20/2", "20/3"}},
		{name: "page ignored: the repeat is an error", n: 45, size: 20, opts: listOpts{ignorePage: true},
			wantReqs: []string{"20/1", "20/2"}, err: "page 2 repeats page 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVendor().handle("/list", pagedList(numbered(tt.n), tt.opts))
			k := newTestConnector(t, f, nil)
			p := newPager(k.c, "acme", "/list", tt.size, url.Values{"sord": {"desc"}})
			var ids []int
			var err error
			for !p.done() {
				var rows []json.RawMessage
				if rows, err = p.next(context.Background()); err != nil {
					break
				}
				for _, r := range rows {
					var v struct{ ID int }
					_ = json.Unmarshal(r, &v)
					ids = append(ids, v.ID)
				}
			}
			var got []string
			for _, r := range f.requests() {
				if r.Query.Get("sord") != "desc" {
					t.Errorf("request %v lacks the caller's sord=desc", r.Query)
				}
				got = append(got, r.Query.Get("rows")+"/"+r.Query.Get("page"))
			}
			if !slices.Equal(got, tt.wantReqs) {
				t.Errorf("requests = %v, want %v", got, tt.wantReqs)
			}
			if p.requests != len(tt.wantReqs) {
				t.Errorf("requests counted = %d, want %d", p.requests, len(tt.wantReqs))
			}
			if tt.err != "" {
				var ce *connectors.Error
				if !errors.As(err, &ce) || ce.Class != connectors.Permanent || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want a permanent %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.pages != len(tt.wantReqs) {
				t.Errorf("pages = %d, want %d", p.pages, len(tt.wantReqs))
			}
			want := make([]int, tt.n)
			for i := range want {
				want[i] = i + 1
			}
			if !slices.Equal(ids, want) {
				t.Errorf("ids = %v, want 1..%d once each", ids, tt.n)
			}
		})
	}
}

// TestPagerCallerStopsEarly: the pager reads only what the caller asks
// for, and its position resumes where it stopped.
func TestPagerCallerStopsEarly(t *testing.T) {
	t.Parallel()
	f := newFakeVendor().handle("/list", pagedList(numbered(100), listOpts{}))
	k := newTestConnector(t, f, nil)
	p := newPager(k.c, "acme", "/list", 10, nil)
	for range 2 {
		if _, err := p.next(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if p.done() || p.pages != 2 || p.requests != 2 || len(f.requests()) != 2 {
		t.Fatalf("after 2 pages: done %v pages %d requests %d (vendor saw %d)", p.done(), p.pages, p.requests, len(f.requests()))
	}
	q := newPager(k.c, "acme", "/list", 10, nil)
	q.pos = p.pos
	rows, err := q.next(context.Background())
	if err != nil || len(rows) != 10 || string(rows[0]) != `{"id":21}` {
		t.Fatalf("resumed page = %s, %v; want ids 21…30", rows, err)
	}
}

func TestPagerVendorErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		body  string
		class connectors.Class
	}{
		{name: "not a list", body: `[1,2]`, class: connectors.Permanent},
		{name: "rows not an array", body: `{"rows":{"id":1}}`, class: connectors.Permanent},
		{name: "documented error in 200", body: `{"error":{"code":"400001","message":"Invalid rows"}}`, class: connectors.Permanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVendor().handle("/list", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, tt.body) })
			k := newTestConnector(t, f, nil)
			p := newPager(k.c, "acme", "/list", 10, nil)
			_, err := p.next(context.Background())
			if got := connectors.ClassOf(err); got != tt.class {
				t.Fatalf("error %v: class %s, want %s", err, got, tt.class)
			}
		})
	}
}
