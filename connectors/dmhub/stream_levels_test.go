package dmhub

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestLevelsStream reads the §10 example: one request, done.
func TestLevelsStream(t *testing.T) {
	t.Parallel()
	f := newFakeVendor().handle("/loyalty/v1/settings/level/rules", fixture(t, "levels_rules.json"))
	k := newTestConnector(t, f, nil)
	st, err := k.Stream("levels")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Pages: 3})
	if err != nil {
		t.Fatal(err)
	}
	type view struct {
		ID, Name string
		Priority int32
	}
	want := []view{{"61", "1", 0}, {"62", "2", 1}, {"63", "3", 2}, {"64", "5", 3}}
	rows := rowsOf[warehouse.Level](t, b.Rows)
	if len(rows) != len(want) {
		t.Fatalf("%d levels, want %d", len(rows), len(want))
	}
	for i, l := range rows {
		if got := (view{l.LevelID, l.Name, l.Priority}); got != want[i] {
			t.Errorf("level %d = %+v, want %+v", i, got, want[i])
		}
		checkRaw(t, l.Source, l.Raw)
	}
	if !strings.Contains(rows[0].Raw, `"desp":"默认最低等级"`) {
		t.Errorf("raw lost the rule settings: %s", rows[0].Raw)
	}
	if !b.Done || b.Pages != 1 || b.Requests != 1 || len(f.requests()) != 1 || b.Commit != nil {
		t.Errorf("batch done %v pages %d requests %d (vendor saw %d), want one request, done", b.Done, b.Pages, b.Requests, len(f.requests()))
	}
	if q := f.requests()[0].Query; q.Has("rows") || q.Has("page") {
		t.Errorf("levels is not paged, got %v", q)
	}
}

func TestDecodeLevel(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in, err string
		wantID        string
		wantPrio      int32
	}{
		{name: "string priority, string id", in: `{"id":"7","name":"金卡","priority":"2"}`, wantID: "7", wantPrio: 2},
		{name: "no priority", in: `{"id":8,"name":"x"}`, wantID: "8"},
		{name: "no id", in: `{"name":"x","priority":1}`, err: "level rule without an id"},
		{name: "priority beyond int32", in: `{"id":9,"priority":4294967296}`, err: "out of range"},
		{name: "bad priority", in: `{"id":9,"priority":"high"}`, err: "level rule 9: field priority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			l, err := decodeLevel("acme", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || l.LevelID != tt.wantID || l.Priority != tt.wantPrio {
				t.Fatalf("decodeLevel = %+v, %v; want id %s priority %d", l, err, tt.wantID, tt.wantPrio)
			}
		})
	}
}

// TestLevelsStreamBadAnswer: a malformed rule goes to rejected_records
// and the good ones load; an answer that is not a list fails the run
// permanently.
func TestLevelsStreamBadAnswer(t *testing.T) {
	t.Parallel()
	f := newFakeVendor().handle("/loyalty/v1/settings/level/rules", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, `{"rows":[{"name":"no id"},{"id":7,"name":"金","priority":2}]}`)
	})
	st, _ := newTestConnector(t, f, nil).Stream("levels")
	b, err := st.Fetch(context.Background(), connectors.Request{Pages: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Rows) != 2 || b.Rejected != 1 {
		t.Fatalf("rows %+v (rejected %d), want the level and one rejected record", b.Rows, b.Rejected)
	}
	if r, ok := b.Rows[0].(warehouse.RejectedRecord); !ok || r.Stream != "levels" || !strings.Contains(r.Error, "without an id") {
		t.Errorf("row 0 = %+v, want the rejected rule", b.Rows[0])
	}
	f.handle("/loyalty/v1/settings/level/rules", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, `{"rows":{"id":1}}`)
	})
	if _, err := st.Fetch(context.Background(), connectors.Request{Pages: 1}); connectors.ClassOf(err) != connectors.Permanent {
		t.Fatalf("error %v, want a permanent error for a page that is not a list", err)
	}
}
