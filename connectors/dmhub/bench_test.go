package dmhub

import (
	stdjson "encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors/vendorsim"
)

// simPage fetches one page of 100 members from the simulator (realistic
// shapes and quirks: level objects and numbers, custom attributes, nulls).
func simPage(b *testing.B) []byte {
	b.Helper()
	srv := httptest.NewServer(vendorsim.NewServer(vendorsim.ServerOptions{Seed: 3, Members: 100}))
	defer srv.Close()
	get := func(path string) []byte {
		resp, err := http.Get(srv.URL + "/dmhub" + path)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			b.Fatal(err)
		}
		return body
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(get("/security/accesstoken?grant_type=client_credentials&appid=sim-dmhub-app&secret=sim-dmhub-secret"), &tok); err != nil {
		b.Fatal(err)
	}
	return get("/loyalty/v1/membership?rows=100&page=1&access_token=" + tok.AccessToken)
}

// BenchmarkDecodeMembersPage compares the members path (goccy/go-json,
// typed rows, lenient fields, custom_attrs and compact raw) with the naive
// baseline a hand-written loader uses: encoding/json into map[string]any,
// which yields untyped values and still lacks normalization.
func BenchmarkDecodeMembersPage(b *testing.B) {
	page := simPage(b)
	b.Run("loyaltybridge", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			var p memberPage
			if err := json.Unmarshal(page, &p); err != nil {
				b.Fatal(err)
			}
			for _, raw := range p.Rows {
				if _, err := decodeMember("s", raw); err != nil {
					b.Fatal(err)
				}
			}
			if len(p.Rows) != 100 {
				b.Fatalf("%d rows", len(p.Rows))
			}
		}
	})
	b.Run("baseline_encoding_json_map", func(b *testing.B) {
		b.SetBytes(int64(len(page)))
		b.ReportAllocs()
		for b.Loop() {
			var p struct {
				Rows []map[string]any `json:"rows"`
			}
			if err := stdjson.Unmarshal(page, &p); err != nil {
				b.Fatal(err)
			}
			if len(p.Rows) != 100 {
				b.Fatalf("%d rows", len(p.Rows))
			}
		}
	})
}
