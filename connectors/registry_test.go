package connectors_test

import (
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
)

func nopFactory(*config.Source, connectors.Deps) (connectors.Connector, error) { return nil, nil }

func TestRegisterChecksTheDeclaration(t *testing.T) {
	t.Parallel()
	list := config.StreamSpec{Name: "things", Tables: []string{"coupons"}}
	tests := []struct {
		name string
		spec config.KindSpec
		want string // "" = accepted
	}{
		{"ok", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{list}}, ""},
		{"no kind", config.KindSpec{Streams: []config.StreamSpec{list}}, "without a kind"},
		{"unnamed stream", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{{Tables: []string{"coupons"}}}}, "without a name"},
		{"twice", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{list, list}}, `stream "things" twice`},
		{"no table", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{{Name: "x"}}}, "fills no table"},
		{"proves what it does not fill", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{
			{Name: "x", Tables: []string{"coupons"}, Proves: []string{"members"}}}}, "proves table members it does not fill"},
		{"two members streams", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{
			{Name: "a", Tables: []string{"members"}, Members: true}, {Name: "b", Tables: []string{"members"}, Members: true}}}, "2 members streams"},
		{"synced members without members", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{
			{Name: "a", Tables: []string{"points_ledger"}, Reads: config.ReadsSyncedMembers}}}, "declares no members stream"},
		{"credentials", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{list}, Credentials: struct {
			Key config.Secret `yaml:"key" cred:"required"`
		}{}}, ""},
		{"credentials config cannot decode", config.KindSpec{Kind: "k", Streams: []config.StreamSpec{list}, Credentials: struct {
			Port int `yaml:"port"`
		}{}}, "kind k: credentials field Port has type int, not a string or Secret"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := connectors.NewRegistry().Register(tc.spec, nopFactory)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Register = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Register = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	reg := connectors.NewRegistry()
	spec := config.KindSpec{Kind: "k", Streams: []config.StreamSpec{list}}
	if err := reg.Register(spec, nopFactory); err != nil {
		t.Fatal(err)
	}
	if err := reg.Register(spec, nopFactory); err == nil || !strings.Contains(err.Error(), "registered twice") {
		t.Fatalf("second Register = %v", err)
	}
	if ks := reg.Kinds(); len(ks) != 1 || ks[0].Kind != "k" {
		t.Fatalf("Kinds = %+v", ks)
	}
}
