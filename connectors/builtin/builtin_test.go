package builtin_test

import (
	"flag"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

var update = flag.Bool("update", false, "rewrite the stream table in docs/architecture.md")

// TestShippedKinds checks the shipped declarations against the contract
// and the warehouse: the registry takes them, the streams are those of
// CONTRACT.md, and every table a stream fills or proves exists.
func TestShippedKinds(t *testing.T) {
	t.Parallel()
	reg, err := builtin.Registry()
	if err != nil {
		t.Fatal(err)
	}
	contract := map[config.Kind][]string{ // CONTRACT.md "Streams per kind"
		"dmhub":     {"members", "identities", "points", "experience", "coupons", "member_coupons", "levels"},
		"houcaller": {"member_coupons", "points", "coupons"},
		"zvcms":     {"members", "member_coupons", "points"},
	}
	kinds := reg.Kinds()
	if len(kinds) != len(contract) {
		t.Fatalf("kinds = %d, want %d", len(kinds), len(contract))
	}
	for _, k := range kinds {
		if got := k.StreamNames(); !slices.Equal(got, contract[k.Kind]) {
			t.Errorf("%s streams = %v, want %v", k.Kind, got, contract[k.Kind])
		}
		for _, st := range k.Streams {
			for _, name := range append(slices.Clone(st.Tables), st.Proves...) {
				if _, err := warehouse.TableNamed(name); err != nil {
					t.Errorf("%s/%s: %v", k.Kind, st.Name, err)
				}
			}
			if st.Calls == "" {
				t.Errorf("%s/%s: no vendor calls declared (the README table shows them)", k.Kind, st.Name)
			}
		}
	}
}

const (
	tableBegin = "<!-- streams:begin (generated from the connectors' Spec: go test ./connectors/builtin -update) -->\n"
	tableEnd   = "<!-- streams:end -->"
)

// TestStreamTableCurrent checks that the stream tables of
// docs/architecture.md and the README are the one the declarations
// render; -update rewrites them.
func TestStreamTableCurrent(t *testing.T) {
	want := connectors.StreamTable(builtin.Kinds())
	for _, path := range []string{"../../docs/architecture.md", "../../README.md"} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		doc := string(data)
		before, rest, found := strings.Cut(doc, tableBegin)
		if !found {
			t.Fatalf("%s: no %q marker", path, strings.TrimSpace(tableBegin))
		}
		got, after, found := strings.Cut(rest, tableEnd)
		if !found {
			t.Fatalf("%s: no %q marker", path, tableEnd)
		}
		if got == want {
			continue
		}
		if *update {
			if err := os.WriteFile(path, []byte(before+tableBegin+want+tableEnd+after), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		t.Errorf("%s: the stream table is stale; run go test ./connectors/builtin -update\n got:\n%s\nwant:\n%s", path, got, want)
	}
}
