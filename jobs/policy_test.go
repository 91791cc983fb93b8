package jobs

import (
	"slices"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// acmeSpec is a fourth vendor, declared only here: a test that config and
// jobs follow a kind they have never heard of.
var acmeSpec = config.KindSpec{
	Kind: "acme",
	Streams: []config.StreamSpec{
		{Name: "ledger", Tables: []string{"points_ledger"}, Reads: config.ReadsSyncedMembers, FullSweep: true},
		{Name: "catalogue", Tables: []string{"coupons"}},
		{Name: "people", Tables: []string{"members"}, Members: true, Proves: []string{"members"}},
		{Name: "wallets", Tables: []string{"member_coupons"}, Off: true},
	},
	Credentials: acmeCredentials{},
}

// acmeCredentials are the fourth vendor's own credential keys.
type acmeCredentials struct {
	AppID  string        `yaml:"app_id" cred:"required"`
	Secret config.Secret `yaml:"secret" cred:"required"`
	Region string        `yaml:"region" cred:"default=cn,oneof=cn sg"`
}

type acmeConn struct{}

func (acmeConn) Stream(name string) (connectors.Stream, error) { return nil, nil }

// TestFourthVendor registers a kind declared outside config and jobs and
// shows that config validates its sources and jobs orders, waits for and
// sweeps its streams from the declaration alone.
func TestFourthVendor(t *testing.T) {
	t.Parallel()
	reg := connectors.NewRegistry()
	if err := reg.Register(acmeSpec, func(*config.Source, connectors.Deps) (connectors.Connector, error) { return acmeConn{}, nil }); err != nil {
		t.Fatal(err)
	}
	yml := `
sources:
  - name: shop
    kind: acme
    base_url: https://acme.example
    credentials: {app_id: a, secret: s}
`
	cfg, err := config.Parse("acme.yaml", []byte(yml), func(string) (string, bool) { return "", false }, reg.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	src := &cfg.Sources[0]
	if got, want := config.CredentialsAs[acmeCredentials](src), (acmeCredentials{AppID: "a", Secret: "s", Region: "cn"}); got != want {
		t.Errorf("credentials = %+v, want %+v", got, want)
	}
	if got, want := src.EnabledStreams(), []string{"ledger", "catalogue", "people"}; !slices.Equal(got, want) {
		t.Errorf("enabled = %v, want %v (wallets is off by default)", got, want)
	}
	if got, want := orderStreams(src, src.EnabledStreams()), []string{"people", "ledger", "catalogue"}; !slices.Equal(got, want) {
		t.Errorf("order = %v, want %v (the members stream first)", got, want)
	}
	for _, tc := range []struct {
		stream                     string
		waits, sweeps, synced, mks bool
		proves                     []string
	}{
		{stream: "ledger", waits: true, sweeps: true, synced: true},
		{stream: "catalogue"},
		{stream: "people", proves: []string{"members"}},
		{stream: "wallets"},
	} {
		if got := waitsForMembers(src, tc.stream); got != tc.waits {
			t.Errorf("%s: waitsForMembers = %v, want %v", tc.stream, got, tc.waits)
		}
		if got := sweepsPeriodically(src, tc.stream); got != tc.sweeps {
			t.Errorf("%s: sweepsPeriodically = %v, want %v", tc.stream, got, tc.sweeps)
		}
		if got := readsSyncedMembers(src, tc.stream); got != tc.synced {
			t.Errorf("%s: readsSyncedMembers = %v, want %v", tc.stream, got, tc.synced)
		}
		if got := partitionedByMember(src, tc.stream); got != tc.mks {
			t.Errorf("%s: partitionedByMember = %v, want %v", tc.stream, got, tc.mks)
		}
		tables, err := provedTables(src, tc.stream)
		if err != nil {
			t.Fatal(err)
		}
		if got := tableNames(tables); !slices.Equal(got, tc.proves) {
			t.Errorf("%s: proved tables = %v, want %v", tc.stream, got, tc.proves)
		}
	}
	conn, err := reg.Connector(src, connectors.Deps{})
	if err != nil || conn == nil {
		t.Fatalf("Connector = %v, %v", conn, err)
	}

	for _, tc := range []struct{ name, yml, want string }{
		{"unknown stream", "    streams: [people, orders]\n", `sources[0].streams[1]: "orders" is not a stream of kind acme (streams: ledger, catalogue, people, wallets)`},
		{"missing credential", "", "sources[0].credentials.secret: is required for kind acme"},
		{"another kind's credential", "", "acme.yaml:6: sources[0].credentials.app_secret: is not a credential of kind acme (it takes: app_id, secret, region)"},
		{"foreign credential", "    member_keys: {file: k.txt}\n", "sources[0].member_keys: kind acme has no stream read over member_keys"},
	} {
		y := yml
		switch tc.name {
		case "missing credential":
			y = strings.Replace(y, ", secret: s", "", 1)
		case "another kind's credential":
			y = strings.Replace(y, "secret: s", "app_secret: s", 1)
		default:
			y += tc.yml
		}
		_, err := config.Parse("acme.yaml", []byte(y), func(string) (string, bool) { return "", false }, reg.Kinds())
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to contain %q", tc.name, err, tc.want)
		}
	}
	// a kind the registry does not know is refused, naming the known ones
	_, err = config.Parse("x.yaml", []byte(strings.Replace(yml, "kind: acme", "kind: dmhub", 1)), func(string) (string, bool) { return "", false }, reg.Kinds())
	if err == nil || !strings.Contains(err.Error(), `"dmhub" is not a known kind (acme)`) {
		t.Errorf("unregistered kind: err = %v", err)
	}
}

func tableNames(ts []warehouse.Table) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Name)
	}
	return out
}

// TestShippedPolicy pins the run policy the shipped declarations give, as
// jobs had it spelled out before the declarations existed.
func TestShippedPolicy(t *testing.T) {
	t.Parallel()
	yml := `
sources:
  - name: d
    kind: dmhub
    base_url: https://d.example
    credentials: {app_id: a, app_secret: s}
    identity_keys: {from_source: d, field: c_openid, type: wechat}
  - name: h
    kind: houcaller
    base_url: https://h.example
    credentials: {channel: c, des_key: 8bytekey}
    member_keys: {from_source: d, field: c_houcaller_id}
  - name: z
    kind: zvcms
    base_url: https://z.example
    credentials: {open_id: o, grant_code: g, secret: s}
    member_keys: {file: keys.txt}
`
	cfg, err := config.Parse("shipped.yaml", []byte(yml), func(string) (string, bool) { return "", false }, builtin.Kinds())
	if err != nil {
		t.Fatal(err)
	}
	type policy struct{ waits, sweeps, synced, keys bool }
	want := map[string]map[string]policy{
		"d": {
			"members": {}, "identities": {waits: true, sweeps: true}, "points": {waits: true, sweeps: true, synced: true},
			"experience": {waits: true, sweeps: true, synced: true}, "coupons": {},
			"member_coupons": {waits: true, sweeps: true, synced: true}, "levels": {},
		},
		"h": {"member_coupons": {keys: true}, "points": {keys: true}, "coupons": {}},
		"z": {"members": {keys: true}, "member_coupons": {keys: true}, "points": {keys: true}},
	}
	proves := map[string]map[string][]string{
		"d": {"members": {"members"}, "member_coupons": {"member_coupons"}, "identities": {"member_identities"}},
		"h": {"member_coupons": {"member_coupons"}},
		"z": {"members": {"members", "member_coupons"}},
	}
	for i := range cfg.Sources {
		src := &cfg.Sources[i]
		streams := src.EnabledStreams()
		if len(streams) != len(want[src.Name]) {
			t.Errorf("%s: enabled = %v", src.Name, streams)
		}
		if ordered := orderStreams(src, streams); slices.Contains(streams, "members") && ordered[0] != "members" {
			t.Errorf("%s: order = %v, want members first", src.Name, ordered)
		}
		for _, st := range streams {
			got := policy{waitsForMembers(src, st), sweepsPeriodically(src, st), readsSyncedMembers(src, st), partitionedByMember(src, st)}
			if got != want[src.Name][st] {
				t.Errorf("%s/%s: policy = %+v, want %+v", src.Name, st, got, want[src.Name][st])
			}
			tables, err := provedTables(src, st)
			if err != nil {
				t.Fatal(err)
			}
			if got := tableNames(tables); !slices.Equal(got, proves[src.Name][st]) {
				t.Errorf("%s/%s: proved tables = %v, want %v", src.Name, st, got, proves[src.Name][st])
			}
		}
	}
	// identities waits only when its keys come from the source's own members
	d := cfg.Sources[0]
	d.IdentityKeys = &config.KeySource{File: "ids.txt", Type: "wechat"}
	if waitsForMembers(&d, "identities") {
		t.Error("identities from a file waits for the members run")
	}
}
