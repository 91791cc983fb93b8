package connectors_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

type pageCursor struct {
	Page int `json:"page"`
}

func TestReadCursor(t *testing.T) {
	t.Parallel()
	positive := func(c pageCursor) bool { return c.Page >= 1 }
	tests := []struct {
		name  string
		raw   string
		valid func(pageCursor) bool
		want  int    // the page read; 7 (the start) when raw is absent
		err   string // "" = read
	}{
		{name: "absent: the start", raw: "", want: 7},
		{name: "null: the start", raw: " null\n", want: 7},
		{name: "a cursor", raw: `{"page":3}`, valid: positive, want: 3},
		{name: "no check", raw: `{"page":-1}`, want: -1},
		{name: "refused", raw: ` {"page":0} `, valid: positive, err: `op: invalid things cursor {"page":0}`},
		{name: "not JSON", raw: `{"page":`, valid: positive, err: `op: invalid things cursor {"page":`},
		{name: "another type", raw: `"x"`, err: `invalid things cursor "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cur := pageCursor{Page: 7}
			err := connectors.ReadCursor("src", "op", "things cursor", json.RawMessage(tt.raw), &cur, tt.valid)
			if tt.err != "" {
				if connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a permanent %q", err, tt.err)
				}
				return
			}
			if err != nil || cur.Page != tt.want {
				t.Fatalf("page %d, error %v; want page %d", cur.Page, err, tt.want)
			}
		})
	}
}

func TestMemberKey(t *testing.T) {
	t.Parallel()
	if k, err := connectors.MemberKey("src", "op", " 42\t"); k != "42" || err != nil {
		t.Errorf("MemberKey = %q, %v; want 42", k, err)
	}
	_, err := connectors.MemberKey("src", "op", "  ")
	if connectors.ClassOf(err) != connectors.Permanent || !strings.Contains(err.Error(), "src: op: per-member stream fetched without a member key") {
		t.Errorf("blank key: error %v, want a permanent one", err)
	}
}

func TestDataError(t *testing.T) {
	t.Parallel()
	cause := errors.New("data: not an object")
	err := connectors.DataError("src", "op", cause)
	if connectors.ClassOf(err) != connectors.Permanent || !errors.Is(err, cause) || err.Error() != "src: op: unexpected data: data: not an object" {
		t.Errorf("DataError = %v, want a permanent error wrapping its cause", err)
	}
}

// TestDecodeRecords: a record that fails is its rejected_records row in
// its place, keyed by its id, its error saying where it stood; Add counts
// the rejected rows.
func TestDecodeRecords(t *testing.T) {
	t.Parallel()
	decode := func(raw json.RawMessage) (warehouse.Level, error) {
		var l struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &l); err != nil || l.ID == "" {
			return warehouse.Level{}, errors.New("no id")
		}
		return warehouse.Level{Common: warehouse.Common{Source: "src"}, LevelID: l.ID}, nil
	}
	list := []json.RawMessage{json.RawMessage(`{"id":"a"}`), json.RawMessage(`{"code":"b","id":1}`), json.RawMessage(`{"id":"c"}`)}
	for _, field := range []string{"list", ""} {
		rows := connectors.DecodeRecords("src", "levels", field, list, decode, "code")
		if len(rows) != 3 || rows[0].(warehouse.Level).LevelID != "a" || rows[2].(warehouse.Level).LevelID != "c" {
			t.Fatalf("field %q: rows %+v, want a, the rejected record, c", field, rows)
		}
		r, ok := rows[1].(warehouse.RejectedRecord)
		wantErr := "no id"
		if field != "" {
			wantErr = "list[1]: no id"
		}
		if !ok || r.Stream != "levels" || r.Error != wantErr || r.RecordKey != "b" {
			t.Errorf("field %q: row 1 = %+v, want the rejected record b: %q", field, rows[1], wantErr)
		}
		var b connectors.Batch
		b.Add(rows[:1])
		b.Add(rows)
		if len(b.Rows) != 4 || b.Rejected != 1 {
			t.Errorf("Add: %d rows, %d rejected; want 4 and 1", len(b.Rows), b.Rejected)
		}
	}
}

func TestReadRecord(t *testing.T) {
	t.Parallel()
	var v struct {
		ID string `json:"id"`
	}
	text, err := connectors.ReadRecord("thing", []byte("{ \"id\" : \"a\" }\n"), &v)
	if err != nil || text != `{"id":"a"}` || v.ID != "a" {
		t.Errorf("ReadRecord = %q, %v (id %q); want the compact record and id a", text, err, v.ID)
	}
	if _, err := connectors.ReadRecord("thing", []byte(`{"id":`), &v); err == nil {
		t.Error("a broken record decoded")
	}
	big := []byte(`{"id":"` + strings.Repeat("x", connectors.MaxRecordBytes) + `"}`)
	if _, err := connectors.ReadRecord("thing", big, &v); !errors.Is(err, connectors.ErrRecordTooLarge) || !strings.Contains(err.Error(), "thing of") {
		t.Errorf("a record over the limit: error %v, want ErrRecordTooLarge naming the thing", err)
	}
}
