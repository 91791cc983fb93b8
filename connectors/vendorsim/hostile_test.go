package vendorsim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func hostileServer(t *testing.T, mode Hostile, rows int) (*Server, *httptest.Server) {
	t.Helper()
	s := NewServer(ServerOptions{Seed: 3, Members: 20,
		DMHub:     DMHubOptions{Hostile: mode, HostileRows: rows},
		Houcaller: HoucallerOptions{Hostile: mode, HostileRows: rows},
		Zvcms:     ZvcmsOptions{Hostile: mode, HostileRows: rows}})
	srv := httptest.NewServer(s)
	return s, srv
}

// firstList decodes body and returns its list of records.
func firstList(t *testing.T, body []byte) []any {
	t.Helper()
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		t.Fatalf("decode %q: %v", truncate(body), err)
	}
	parent, key := findList(root)
	if parent == nil {
		t.Fatalf("no list in %q", truncate(body))
	}
	return parent[key].([]any)
}

// TestHostileModes: every mode turns every vendor's list answer into the
// payload it names.
func TestHostileModes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		mode  Hostile
		check func(t *testing.T, resp *http.Response, calm []any)
	}{
		{HostileHugePage, func(t *testing.T, resp *http.Response, _ []any) {
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(firstList(t, body)); n != 1500 {
				t.Errorf("huge page holds %d records, want HostileRows 1500", n)
			}
		}},
		{HostileHugeField, func(t *testing.T, resp *http.Response, _ []any) {
			body, _ := io.ReadAll(resp.Body)
			rec := firstList(t, body)[0].(map[string]any)
			huge := 0
			for _, v := range rec {
				if s, ok := v.(string); ok && len(s) == HugeFieldBytes {
					huge++
				}
			}
			if huge != 1 {
				t.Errorf("first record has %d fields of %d bytes, want 1", huge, HugeFieldBytes)
			}
		}},
		{HostileWrongTypes, func(t *testing.T, resp *http.Response, calm []any) {
			body, _ := io.ReadAll(resp.Body)
			rec := firstList(t, body)[0].(map[string]any)
			orig := calm[0].(map[string]any)
			changed := 0
			for k, v := range orig {
				if _, isNum := v.(json.Number); isNum && rec[k] == "N/A" {
					changed++
				}
				if _, isObj := rec[k].(map[string]any); isObj {
					if _, wasStr := v.(string); wasStr {
						changed++
					}
				}
				lk := strings.ToLower(k)
				if (strings.Contains(lk, "id") || strings.Contains(lk, "code")) && rec[k] != nil && rec[k] != v {
					t.Errorf("key %s changed from %v to %v: ids must survive", k, v, rec[k])
				}
			}
			if changed == 0 {
				t.Errorf("no value changed type: %v", rec)
			}
		}},
		{HostileEndlessBody, func(t *testing.T, resp *http.Response, _ []any) {
			n, err := io.CopyN(io.Discard, resp.Body, 8<<20)
			if err != nil || n != 8<<20 {
				t.Errorf("endless body ended after %d bytes: %v", n, err)
			}
		}},
		{HostileEndlessPages, func(t *testing.T, resp *http.Response, _ []any) {
			body, _ := io.ReadAll(resp.Body)
			if n := len(firstList(t, body)); n != endlessPageRows {
				t.Errorf("page holds %d records, want a full page of %d", n, endlessPageRows)
			}
		}},
	}
	for _, tc := range tests {
		for _, v := range faultVendors() {
			t.Run(string(tc.mode)+"/"+v.name, func(t *testing.T) {
				t.Parallel()
				calmS, calmSrv := hostileServer(t, "", 0)
				defer calmSrv.Close()
				s, srv := hostileServer(t, tc.mode, 1500)
				c := &http.Client{Timeout: 20 * time.Second}
				tok := dmTokenThroughFaults(t, c, srv.URL)
				calmTok := dmTokenThroughFaults(t, c, calmSrv.URL)
				calmResp, err := c.Do(v.request(t, calmS, calmSrv.URL, calmTok))
				if err != nil {
					t.Fatal(err)
				}
				calmBody, _ := io.ReadAll(calmResp.Body)
				calmResp.Body.Close()
				calm := firstList(t, calmBody)
				resp, err := c.Do(v.request(t, s, srv.URL, tok))
				if err != nil {
					t.Fatal(err)
				}
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("HTTP %d", resp.StatusCode)
				}
				tc.check(t, resp, calm)
				resp.Body.Close()
				done := make(chan struct{})
				go func() { srv.Close(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					t.Fatal("a handler still runs 10s after the client hung up")
				}
			})
		}
	}
}

func TestParseHostile(t *testing.T) {
	t.Parallel()
	for _, m := range HostileModes() {
		if got, err := ParseHostile(string(m)); got != m || err != nil {
			t.Errorf("ParseHostile(%q) = %q, %v", m, got, err)
		}
	}
	for _, in := range []string{"", "none", " none "} {
		if got, err := ParseHostile(in); got != "" || err != nil {
			t.Errorf("ParseHostile(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseHostile("evil"); err == nil || !strings.Contains(err.Error(), `"evil"`) {
		t.Errorf("ParseHostile(evil) error = %v", err)
	}
}

// TestSetHostileAtRuntime: POST /_sim/mutate set_hostile switches one
// vendor's mode on and off.
func TestSetHostileAtRuntime(t *testing.T) {
	t.Parallel()
	s, srv := hostileServer(t, "", 0)
	defer srv.Close()
	c := &http.Client{Timeout: 20 * time.Second}
	v := faultVendors()[1] // houcaller
	fieldSizes := func() int {
		resp, err := c.Do(v.request(t, s, srv.URL, ""))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		for _, val := range firstList(t, body)[0].(map[string]any) {
			if str, ok := val.(string); ok && len(str) == HugeFieldBytes {
				return HugeFieldBytes
			}
		}
		return 0
	}
	mutate := func(mode string) {
		res := do(t, http.MethodPost, srv.URL+"/_sim/mutate", map[string]string{"vendor": "houcaller", "op": "set_hostile", "mode": mode})
		if res.status != http.StatusOK {
			t.Fatalf("set_hostile %q: %d %s", mode, res.status, res.body)
		}
	}
	if fieldSizes() != 0 {
		t.Fatal("huge field before the mode was set")
	}
	mutate("huge-field")
	if fieldSizes() != HugeFieldBytes {
		t.Fatal("no huge field after set_hostile huge-field")
	}
	if s.Zvcms.hostileMode() != "" || s.DMHub.hostileMode() != "" {
		t.Error("set_hostile for houcaller changed another vendor")
	}
	mutate("none")
	if fieldSizes() != 0 {
		t.Fatal("huge field after set_hostile none")
	}
	if res := do(t, http.MethodPost, srv.URL+"/_sim/mutate", map[string]string{"op": "set_hostile", "mode": "evil"}); res.status != 400 ||
		!strings.Contains(string(res.body), "evil") {
		t.Errorf("bad mode: %d %s", res.status, res.body)
	}
}
