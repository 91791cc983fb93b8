package dmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestBareLevelResolved: a bare-number level (S001) is resolved against
// the level rules: a known id is the level id, a known priority the
// priority, the name is filled when known; a number that is both is read
// as the priority (documented); the rules are read once per Fetch, and
// not at all when no member has a bare level.
func TestBareLevelResolved(t *testing.T) {
	t.Parallel()
	rules := `{"rows":[{"id":61,"name":"普通","priority":0},{"id":422,"name":"青铜","priority":1},
		{"id":3,"name":"金","priority":2},{"id":5,"name":"钻石","priority":3}]}`
	tests := []struct {
		level              string
		id, name, priority string
	}{
		{level: `422`, id: "422", name: "青铜", priority: "1"},                           // a known id
		{level: `"1"`, id: "422", name: "青铜", priority: "1"},                           // a known priority
		{level: `3`, id: "5", name: "钻石", priority: "3"},                               // id 3 and priority 3: ambiguous, read as the priority
		{level: `99`, id: "", name: "", priority: "99"},                                // unknown
		{level: `{"id":7,"name":"x","priority":9}`, id: "7", name: "x", priority: "9"}, // the object form is as sent
	}
	var rows []json.RawMessage
	for i, tt := range tests {
		rows = append(rows, json.RawMessage(fmt.Sprintf(`{"id":%d,"level":%s}`, i+1, tt.level)))
	}
	f := newFakeVendor().handle("/loyalty/v1/membership", pagedList(rows, listOpts{})).
		handle(levelsPath, func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, rules) })
	k := newTestConnector(t, f, nil)
	s, _ := k.Stream("members")
	b, err := s.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 5})
	if err != nil {
		t.Fatal(err)
	}
	got := rowsOf[warehouse.Member](t, b.Rows)
	if len(got) != len(tests) {
		t.Fatalf("%d members", len(got))
	}
	for i, tt := range tests {
		m := got[i]
		prio := "<nil>"
		if m.LevelPriority != nil {
			prio = fmt.Sprint(*m.LevelPriority)
		}
		if m.LevelID != tt.id || m.LevelName != tt.name || prio != tt.priority {
			t.Errorf("level %s: id %q name %q priority %s, want %q %q %s", tt.level, m.LevelID, m.LevelName, prio, tt.id, tt.name, tt.priority)
		}
	}
	n := 0
	for _, r := range f.requests() {
		if r.Path == levelsPath {
			n++
		}
	}
	if n != 1 {
		t.Errorf("level rules read %d times, want once", n)
	}

	// no bare level: no rules request
	f2 := newFakeVendor().handle("/loyalty/v1/membership", pagedList(rows[4:], listOpts{}))
	s2, _ := newTestConnector(t, f2, nil).Stream("members")
	if _, err := s2.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 5}); err != nil {
		t.Fatal(err)
	}
	for _, r := range f2.requests() {
		if r.Path == levelsPath {
			t.Errorf("level rules read without a bare level")
		}
	}
}
