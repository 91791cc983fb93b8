package dmhub

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// levelView is a Level without its raw and common columns.
type levelView struct {
	ID, Name string
	Priority int32
}

func levelRow(l warehouse.Level) decoded[levelView] {
	return decoded[levelView]{view: levelView{l.LevelID, l.Name, l.Priority}, source: l.Source, raw: l.Raw}
}

// TestLevelsStream reads the §10 example: one request, done.
func TestLevelsStream(t *testing.T) {
	t.Parallel()
	docPage[warehouse.Level, levelView]{stream: "levels", path: "/loyalty/v1/settings/level/rules", fixture: "levels_rules.json",
		mode: connectors.Incremental, pages: 3, row: levelRow,
		want:   []levelView{{"61", "1", 0}, {"62", "2", 1}, {"63", "3", 2}, {"64", "5", 3}},
		rawHas: `"desp":"默认最低等级"`, query: map[string]string{"rows": "", "page": ""}}.run(t) // not paged
}

func TestDecodeLevel(t *testing.T) {
	t.Parallel()
	decoderTest[levelView]{fn: "decodeLevel", decode: func(in []byte) (decoded[levelView], error) {
		l, err := decodeLevel("acme", in)
		return levelRow(l), err
	}}.run(t, []decodeCase[levelView]{
		{name: "string priority, string id", in: `{"id":"7","name":"金卡","priority":"2"}`, want: levelView{"7", "金卡", 2}},
		{name: "no priority", in: `{"id":8,"name":"x"}`, want: levelView{ID: "8", Name: "x"}},
		{name: "no id", in: `{"name":"x","priority":1}`, err: "level rule without an id"},
		{name: "priority beyond int32", in: `{"id":9,"priority":4294967296}`, err: "out of range"},
		{name: "bad priority", in: `{"id":9,"priority":"high"}`, err: "level rule 9: field priority"},
	})
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
