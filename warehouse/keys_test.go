package warehouse_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
	"github.com/loyaltybridge/loyaltybridge/warehouse/warehousetest"
)

// drain lists every key of spec, limit at a time, the way a member pass
// streams them: with ListKeys, or with ListChangedKeys when since is set.
func drain(t *testing.T, k *warehouse.KeyLister, spec *config.KeySource, since time.Time, limit int) ([]string, int) {
	t.Helper()
	var all []string
	cursor, calls := "", 0
	for {
		var keys []string
		var next string
		var err error
		if since.IsZero() {
			keys, next, err = k.ListKeys(context.Background(), spec, cursor, limit)
		} else {
			keys, next, err = k.ListChangedKeys(context.Background(), spec, since, cursor, limit)
		}
		if err != nil {
			t.Fatalf("listing keys of %+v (since %v): %v", spec, since, err)
		}
		calls++
		if len(keys) > limit {
			t.Fatalf("ListKeys returned %d keys for limit %d", len(keys), limit)
		}
		all = append(all, keys...)
		if next == "" {
			return all, calls
		}
		cursor = next
	}
}

func TestKeyLister(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	var rows []warehouse.Row
	for i, attrs := range []string{`{"c_houcaller_id":"K2"}`, `{"c_houcaller_id":"K1","c_zvcms_id":383933091455959041}`,
		`{"c_houcaller_id":null}`, `{}`, `{"c_houcaller_id":"K3","nested":{"c_houcaller_id":"X"}}`, `{"c_houcaller_id":"K1"}`} {
		rows = append(rows, warehouse.Member{Common: warehouse.Common{Source: "dm"}, MemberID: string(rune('a' + i)),
			Mobile: "1380000000" + string(rune('0'+i)), CustomAttrs: attrs})
	}
	rows = append(rows, warehouse.Member{Common: warehouse.Common{Source: "other"}, MemberID: "z", CustomAttrs: `{"c_houcaller_id":"K9"}`})
	if err := wh.Load(ctx, rows); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("# zvcms customers\n383933091455959041\n\n  42  \n7\r\n8"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := wh.Keys(dir)
	tests := []struct {
		name string
		spec config.KeySource
		want string
	}{
		{"custom attribute, sorted, distinct, nulls skipped", config.KeySource{FromSource: "dm", Field: "c_houcaller_id"}, "K1,K2,K3"},
		{"numeric custom attribute keeps its digits", config.KeySource{FromSource: "dm", Field: "c_zvcms_id"}, "383933091455959041"},
		{"a column", config.KeySource{FromSource: "dm", Field: "member_id"}, "a,b,c,d,e,f"},
		{"a file, in file order, comments and blanks skipped", config.KeySource{File: "keys.txt"}, "383933091455959041,42,7,8"},
		{"a query", config.KeySource{Query: "SELECT mobile AS m FROM " + wh.Q("members") + " FINAL WHERE source = 'dm' AND member_id < 'c'"},
			"13800000000,13800000001"},
	}
	for _, tt := range tests {
		for _, limit := range []int{1, 2, 100} {
			got, calls := drain(t, k, &tt.spec, time.Time{}, limit)
			if strings.Join(got, ",") != tt.want {
				t.Errorf("%s (limit %d) = %s, want %s", tt.name, limit, strings.Join(got, ","), tt.want)
			}
			if limit == 1 && calls < len(got) {
				t.Errorf("%s: %d keys in %d calls with limit 1: not streamed", tt.name, len(got), calls)
			}
		}
	}
	if _, _, err := k.ListKeys(ctx, &config.KeySource{Query: "SELECT 1, 2"}, "", 10); err == nil || !strings.Contains(err.Error(), "2 columns") {
		t.Errorf("a two-column query: %v, want an error naming the column count", err)
	}
	if _, _, err := k.ListKeys(ctx, &config.KeySource{File: "missing.txt"}, "", 10); err == nil || !strings.Contains(err.Error(), "missing.txt") {
		t.Errorf("a missing file: %v, want an error naming it", err)
	}
}

func TestBatcherFlushesByRowsBytesAndTime(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	count := func() uint64 {
		var n uint64
		if err := wh.Conn().QueryRow(ctx, "SELECT count() FROM "+wh.Q("levels")).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	lvl := func(id string, name string) warehouse.Row {
		return warehouse.Level{Common: warehouse.Common{Source: "s"}, LevelID: id, Name: name}
	}
	b := wh.NewBatcher()
	b.MaxRows, b.MaxBytes, b.MaxAge = 3, 1<<20, time.Hour
	for _, id := range []string{"1", "2"} {
		if err := b.Add(ctx, lvl(id, "x")); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(); n != 0 || b.Len() != 2 {
		t.Fatalf("below every threshold: %d loaded, %d buffered", n, b.Len())
	}
	if err := b.Add(ctx, lvl("3", "x")); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 3 || b.Len() != 0 {
		t.Fatalf("at MaxRows: %d loaded, %d buffered", n, b.Len())
	}
	b.MaxRows, b.MaxBytes = 1000, 100
	if err := b.Add(ctx, lvl("4", strings.Repeat("n", 200))); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 4 {
		t.Fatalf("past MaxBytes: %d loaded", n)
	}
	b.MaxBytes, b.MaxAge = 1<<20, 50*time.Millisecond
	if err := b.Add(ctx, lvl("5", "x")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(60 * time.Millisecond)
	if err := b.Add(ctx, lvl("6", "x")); err != nil {
		t.Fatal(err)
	}
	if n := count(); n != 6 {
		t.Fatalf("past MaxAge: %d loaded", n)
	}
	if err := b.Add(ctx, lvl("7", "x")); err != nil {
		t.Fatal(err)
	}
	if err := b.Flush(ctx); err != nil || count() != 7 {
		t.Fatalf("Flush: %v, %d loaded", err, count())
	}
}

// TestListChangedKeys: a from_source key source narrowed to members whose
// latest row (after FINAL) was loaded at or after a time; a reload of an
// old member counts as changed; a file is never narrowed.
func TestListChangedKeys(t *testing.T) {
	t.Parallel()
	_, wh := warehousetest.ClickHouse(t)
	ctx := context.Background()
	old := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	cut := old.Add(time.Hour)
	member := func(id, mobile string, at time.Time, ver uint64) warehouse.Row {
		return warehouse.Member{Common: warehouse.Common{Source: "dm", SyncedAt: at, Ver: ver}, MemberID: id, Mobile: mobile}
	}
	rows := []warehouse.Row{
		member("a", "m-a", old, 1), member("b", "m-b", old, 1), member("c", "m-c", old, 1),
		member("b", "m-b", cut, 2),                   // reloaded exactly at the bound: closed, included
		member("d", "m-d", cut.Add(time.Minute), 1),  // new
		member("c", "m-c2", old.Add(time.Minute), 2), // changed, but before the bound
	}
	if err := wh.Load(ctx, rows); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "keys.txt"), []byte("x\ny\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := wh.Keys(dir)
	tests := []struct {
		spec config.KeySource
		want string
	}{
		{config.KeySource{FromSource: "dm", Field: "mobile"}, "m-b,m-d"},
		{config.KeySource{FromSource: "dm", Field: "member_id"}, "b,d"},
		{config.KeySource{File: "keys.txt"}, "x,y"},
	}
	for _, tt := range tests {
		got, _ := drain(t, k, &tt.spec, cut, 1)
		if strings.Join(got, ",") != tt.want {
			t.Errorf("ListChangedKeys(%+v, %s) = %s, want %s", tt.spec, cut, strings.Join(got, ","), tt.want)
		}
	}
}
