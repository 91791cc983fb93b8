package dmhub

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// sliceKeys is a KeyLister over a fixed list; the cursor is the index of
// the next key.
type sliceKeys struct {
	keys   []string
	mu     sync.Mutex
	limits []int
	specs  []*config.KeySource
}

func (s *sliceKeys) ListKeys(_ context.Context, spec *config.KeySource, cursor string, limit int) ([]string, string, error) {
	s.mu.Lock()
	s.limits = append(s.limits, limit)
	s.specs = append(s.specs, spec)
	s.mu.Unlock()
	from := 0
	if cursor != "" {
		var err error
		if from, err = strconv.Atoi(cursor); err != nil {
			return nil, "", err
		}
	}
	to := min(from+limit, len(s.keys))
	next := ""
	if to < len(s.keys) {
		next = strconv.Itoa(to)
	}
	return s.keys[from:to], next, nil
}

func identitySource(s *config.Source) {
	s.IdentityKeys = &config.KeySource{File: "keys.txt", Type: "wechat"}
	s.PageSize = 100
}

type identityView struct{ MemberID, Type, Value, Name string }

func viewIdentities(t *testing.T, rows []warehouse.Row) []identityView {
	t.Helper()
	var out []identityView
	for _, i := range rowsOf[warehouse.Identity](t, rows) {
		checkRaw(t, i.Source, i.Raw)
		out = append(out, identityView{i.MemberID, i.Type, i.Value, i.Name})
	}
	return out
}

// TestIdentitiesStreamDocExample sends the §8 request and reads the §8
// answer: one row per identity of each returned membership.
func TestIdentitiesStreamDocExample(t *testing.T) {
	t.Parallel()
	answer := readFixture(t, "identities_response.json")
	f := newFakeVendor().handle(identitiesPath, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "want a JSON POST", http.StatusMethodNotAllowed)
			return
		}
		writeJSON(w, string(answer))
	})
	keys := &sliceKeys{keys: []string{"666", "333"}}
	k := newTestConnector(t, f, identitySource).WithKeys(keys)
	st, err := k.Stream("identities")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Full, Pages: 10})
	if err != nil {
		t.Fatal(err)
	}
	want := []identityView{{"1", "wechat", "1111111111", "cm_test2"}, {"3", "wechat", "333", "cm_test2"}}
	got := viewIdentities(t, b.Rows)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("identities = %+v, want %+v", got, want)
	}
	reqs := f.requests()
	if len(reqs) != 1 || b.Requests != 1 || b.Pages != 1 || !b.Done || b.Items != 2 {
		t.Fatalf("batch %+v, vendor saw %d requests; want one request for 2 keys, done", b, len(reqs))
	}
	if body := compactJSON(t, reqs[0].Body); body != compactJSON(t, string(readFixture(t, "identities_request.json"))) {
		t.Errorf("request body %s, want the §8 example", body)
	}
	if keys.specs[0] != k.src.IdentityKeys || keys.limits[0] != IdentityBatch {
		t.Errorf("ListKeys(%+v, limit %d), want the source's identity_keys and %d", keys.specs[0], keys.limits[0], IdentityBatch)
	}
}

// TestIdentitiesStreamBatches: keys go 50 to a request, req.Pages
// batches per Fetch, with the KeyLister cursor carried across Fetch
// calls; keys without a member are absent from the answer.
func TestIdentitiesStreamBatches(t *testing.T) {
	t.Parallel()
	var keys []string
	for i := range 120 {
		keys = append(keys, fmt.Sprintf("k%03d", i))
	}
	keys[5] = "  " // blank keys are not sent
	f := newFakeVendor().handle(identitiesPath, func(w http.ResponseWriter, r *http.Request) {
		var body []identityKey
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var rows []string
		for _, k := range body {
			n, _ := strconv.Atoi(strings.TrimPrefix(k.Value, "k"))
			if n%3 == 0 {
				continue // no member
			}
			rows = append(rows, fmt.Sprintf(`{"identities":[{"type":%q,"value":%q,"name":null},{"type":"mobile","value":"138%08d"}],
				"membership":{"id":%d,"name":"m"}}`, k.Type, k.Value, n, n))
		}
		writeJSON(w, `{"rows":[`+strings.Join(rows, ",")+`]}`)
	})
	lister := &sliceKeys{keys: keys}
	st, err := newTestConnector(t, f, identitySource).WithKeys(lister).Stream("identities")
	if err != nil {
		t.Fatal(err)
	}
	var cursor json.RawMessage
	var all []identityView
	var batches []connectors.Batch
	for {
		b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Cursor: cursor, Pages: 2})
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, b)
		all = append(all, viewIdentities(t, b.Rows)...)
		cursor = b.Next
		if b.Done {
			break
		}
	}
	if len(batches) != 2 || batches[0].Requests != 2 || batches[1].Requests != 1 || batches[0].Items != 100 || batches[1].Items != 20 {
		t.Fatalf("batches %+v: want 2 fetches (2 requests, then 1) over 100 + 20 keys", batches)
	}
	for _, r := range f.requests() {
		var body []identityKey
		if err := json.Unmarshal([]byte(r.Body), &body); err != nil || len(body) > IdentityBatch || len(body) == 0 {
			t.Errorf("request body of %d keys (%v), want 1…%d", len(body), err, IdentityBatch)
		}
		for _, k := range body {
			if k.Type != "wechat" || strings.TrimSpace(k.Value) == "" {
				t.Errorf("key %+v: want type wechat and a value", k)
			}
		}
	}
	// 119 sent keys, 40 of them (0, 3, …, 117) without a member: 79
	// members with two identities each
	if len(all) != 2*79 {
		t.Errorf("%d identities, want %d", len(all), 2*79)
	}

	// a smaller page_size lowers the batch
	small := &sliceKeys{keys: keys}
	st, err = newTestConnector(t, f, func(s *config.Source) { identitySource(s); s.PageSize = 30 }).WithKeys(small).Stream("identities")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Fetch(context.Background(), connectors.Request{Pages: 1}); err != nil || small.limits[0] != 30 {
		t.Errorf("page_size 30: ListKeys limit %v (%v), want 30", small.limits, err)
	}
	if all[0] != (identityView{"1", "wechat", "k001", ""}) || all[1] != (identityView{"1", "mobile", "13800000001", ""}) {
		t.Errorf("first identities %+v", all[:2])
	}
}

func TestDecodeIdentities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want []identityView
		// rejected counts the records stored in rejected_records
		rejected int
		err      string
	}{
		{name: "membership null is no member", in: `{"rows":[{"identities":[{"type":"wechat","value":"1"}],"membership":null}]}`},
		{name: "no rows", in: `{"rows":[]}`},
		{name: `"null" name`, in: `{"rows":[{"identities":[{"type":"wechat","value":"1","name":"null"}],"membership":{"id":"5"}}]}`,
			want: []identityView{{"5", "wechat", "1", ""}}},
		{name: "membership without an id", in: `{"rows":[{"identities":[],"membership":{"name":"x"}}]}`, rejected: 1},
		{name: "identity without a value", in: `{"rows":[{"identities":[{"type":"wechat"},{"type":"wechat","value":"2"}],"membership":{"id":1}}]}`,
			want: []identityView{{"1", "wechat", "2", ""}}, rejected: 1},
		{name: "not a list", in: `{"rows":{}}`, err: "not a {\"rows\":[…]} list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, rejected, err := decodeIdentities("acme", []byte(tt.in))
			if failed(t, err, tt.err) {
				return
			}
			if len(rejected) != tt.rejected {
				t.Errorf("rejected %d records (%+v), want %d", len(rejected), rejected, tt.rejected)
			}
			rows := make([]warehouse.Row, len(got))
			for i, r := range got {
				rows[i] = r
			}
			if v := viewIdentities(t, rows); fmt.Sprint(v) != fmt.Sprint(tt.want) {
				t.Errorf("identities = %+v, want %+v", v, tt.want)
			}
		})
	}
}

// TestIdentitiesStreamNeeds: the stream needs identity_keys with a type
// and a key lister.
func TestIdentitiesStreamNeeds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(*config.Source)
		keys connectors.KeyLister
		err  string
	}{
		{name: "no identity_keys", keys: &sliceKeys{}, err: "needs identity_keys"},
		{name: "no type", edit: func(s *config.Source) { s.IdentityKeys = &config.KeySource{File: "k"} }, keys: &sliceKeys{},
			err: "needs a type"},
		{name: "no key lister", edit: identitySource, err: "needs a key lister"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			k := newTestConnector(t, newFakeVendor(), tt.edit)
			if tt.keys != nil {
				k.WithKeys(tt.keys)
			}
			if _, err := k.Stream("identities"); err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("Stream(identities) error = %v, want %q", err, tt.err)
			}
		})
	}
	k := newTestConnector(t, newFakeVendor(), identitySource).WithKeys(&sliceKeys{})
	if _, err := k.WithKeys(nil).Stream("identities"); err == nil {
		t.Error("WithKeys(nil) kept the lister")
	}
}

// changedKeys is a ChangedKeyLister over a fixed list: ListChangedKeys
// returns only the keys in changed and records the bound it was given.
type changedKeys struct {
	sliceKeys
	changed []string
	mu2     sync.Mutex
	since   []time.Time
}

func (c *changedKeys) ListChangedKeys(ctx context.Context, spec *config.KeySource, since time.Time, cursor string, limit int) ([]string, string, error) {
	c.mu2.Lock()
	c.since = append(c.since, since)
	c.mu2.Unlock()
	sub := &sliceKeys{keys: c.changed}
	return sub.ListKeys(ctx, spec, cursor, limit)
}

// TestIdentitiesStreamScope: which keys a run resolves and what it
// commits. Only an incremental run over a from_source key source with a
// committed start time is narrowed, to members loaded since that start
// minus the lookback; every finished run commits its own start time.
func TestIdentitiesStreamScope(t *testing.T) {
	t.Parallel()
	clock := time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)
	last := clock.Add(-time.Hour)
	commit := func(t time.Time) json.RawMessage {
		b, _ := json.Marshal(IdentitiesCommit{Started: t})
		return b
	}
	tests := []struct {
		name      string
		fromFile  bool
		mode      connectors.Mode
		since     json.RawMessage
		wantKeys  int        // keys resolved
		wantSince *time.Time // bound given to ListChangedKeys; nil: not called
	}{
		{name: "full", mode: connectors.Full, since: commit(last), wantKeys: 4},
		{name: "first incremental", mode: connectors.Incremental, wantKeys: 4},
		{name: "unreadable commit", mode: connectors.Incremental, since: json.RawMessage(`{"keys":"x"}`), wantKeys: 4},
		{name: "incremental", mode: connectors.Incremental, since: commit(last), wantKeys: 1,
			wantSince: ptr(last.Add(-10 * time.Minute))},
		{name: "file keys: no change signal", fromFile: true, mode: connectors.Incremental, since: commit(last), wantKeys: 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFakeVendor().handle(identitiesPath, func(w http.ResponseWriter, r *http.Request) {
				writeJSON(w, `{"rows":[]}`)
			})
			keys := &changedKeys{sliceKeys: sliceKeys{keys: []string{"a", "b", "c", "d"}}, changed: []string{"c"}}
			k := newTestConnector(t, f, func(s *config.Source) {
				s.Lookback = 10 * time.Minute
				s.IdentityKeys = &config.KeySource{FromSource: "acme", Field: "mobile", Type: "mobile"}
				if tt.fromFile {
					s.IdentityKeys = &config.KeySource{File: "keys.txt", Type: "mobile"}
				}
			}).WithKeys(keys)
			k.now = func() time.Time { return clock }
			st, err := k.Stream("identities")
			if err != nil {
				t.Fatal(err)
			}
			var cursor json.RawMessage
			items := int64(0)
			for {
				b, err := st.Fetch(context.Background(), connectors.Request{Mode: tt.mode, Cursor: cursor, Since: tt.since, Pages: 1})
				if err != nil {
					t.Fatal(err)
				}
				items += b.Items
				cursor = b.Next
				if b.Done {
					var c IdentitiesCommit
					if err := json.Unmarshal(b.Commit, &c); err != nil || !c.Started.Equal(clock) {
						t.Errorf("commit = %s (%v), want the run's start %s", b.Commit, err, clock)
					}
					break
				}
				if b.Commit != nil {
					t.Errorf("commit %s before the run is done", b.Commit)
				}
			}
			if items != int64(tt.wantKeys) {
				t.Errorf("resolved %d keys, want %d", items, tt.wantKeys)
			}
			switch {
			case tt.wantSince == nil && len(keys.since) > 0:
				t.Errorf("ListChangedKeys called with %v, want every key listed", keys.since)
			case tt.wantSince != nil && (len(keys.since) == 0 || !keys.since[0].Equal(*tt.wantSince)):
				t.Errorf("ListChangedKeys bounds %v, want %s", keys.since, tt.wantSince)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
