package config_test

import (
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// vaultCredentials are the credentials of kind "vault", declared only
// here: config decodes and checks a type it has never heard of.
type vaultCredentials struct {
	User   string        `yaml:"user" cred:"required"`
	Token  config.Secret `yaml:"token" cred:"required,bytes=12"`
	Region string        `yaml:"region" cred:"default=eu,oneof=eu us"`
	Pin    config.Secret `yaml:"pin"`
}

var credKinds = config.Kinds{
	{Kind: "vault", Streams: []config.StreamSpec{{Name: "items", Tables: []string{"coupons"}}}, Credentials: vaultCredentials{}},
	{Kind: "open", Streams: []config.StreamSpec{{Name: "items", Tables: []string{"coupons"}}}},
}

const vaultToken = "tok-0123-abc" // 12 bytes, from ${VAULT_TOKEN}

func vaultEnv(name string) (string, bool) {
	v, ok := map[string]string{"VAULT_TOKEN": vaultToken, "SHORT": "tok-9", "PIN": "pin-4711"}[name]
	return v, ok
}

// TestCredentialsDecodeIntoTheKindsType: a source's credentials block
// becomes a value of its kind's type, ${NAME} expanded, defaults filled,
// whichever of kind and credentials comes first; a key the type does not
// declare fails with its line and the keys the kind takes; a rule's error
// shows the value of no secret.
func TestCredentialsDecodeIntoTheKindsType(t *testing.T) {
	t.Parallel()
	const head = "sources:\n  - name: s\n    base_url: http://x\n"
	tests := []struct {
		name string
		yaml string // after head
		want vaultCredentials
		err  string // "" = accepted
	}{
		{"decoded, env, default", "    kind: vault\n    credentials: {user: u, token: '${VAULT_TOKEN}', pin: '${PIN}'}\n",
			vaultCredentials{User: "u", Token: vaultToken, Region: "eu", Pin: "pin-4711"}, ""},
		{"credentials before kind", "    credentials:\n      user: u\n      token: ${VAULT_TOKEN}\n      region: us\n    kind: vault\n",
			vaultCredentials{User: "u", Token: vaultToken, Region: "us"}, ""},
		{"unknown key, with its line", "    kind: vault\n    credentials:\n      user: u\n      token: ${VAULT_TOKEN}\n      app_secret: ${PIN}\n", vaultCredentials{},
			"config: x.yaml:8: sources[0].credentials.app_secret: is not a credential of kind vault (it takes: user, token, region, pin)"},
		{"required", "    kind: vault\n    credentials:\n      user: ' '\n      token: ${VAULT_TOKEN}\n", vaultCredentials{},
			"config: x.yaml:6: sources[0].credentials.user: is required for kind vault"},
		{"no block", "    kind: vault\n", vaultCredentials{},
			"config: x.yaml:2: sources[0].credentials.user: is required for kind vault"},
		{"empty block", "    kind: vault\n    credentials:\n", vaultCredentials{},
			"config: x.yaml:5: sources[0].credentials.user: is required for kind vault"},
		{"secret of the wrong length", "    kind: vault\n    credentials: {user: u, token: '${SHORT}'}\n", vaultCredentials{},
			"config: x.yaml:5: sources[0].credentials.token: must be exactly 12 bytes, got 5"},
		{"value not allowed", "    kind: vault\n    credentials: {user: u, token: '${VAULT_TOKEN}', region: asia}\n", vaultCredentials{},
			`config: x.yaml:5: sources[0].credentials.region: "asia" is not one of eu, us`},
		{"secret of the wrong type", "    kind: vault\n    credentials: {user: u, token: [a, b]}\n", vaultCredentials{},
			"config: x.yaml:5: sources[0].credentials.token: expected a single value, got a list"},
		{"unset variable", "    kind: vault\n    credentials: {user: u, token: '${NOPE}'}\n", vaultCredentials{},
			"config: x.yaml:5: sources[0].credentials.token: environment variable NOPE is not set"},
		{"kind without credentials", "    kind: open\n    credentials: {token: '${VAULT_TOKEN}'}\n", vaultCredentials{},
			"config: x.yaml:5: sources[0].credentials: kind open takes no credentials"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := config.Parse("x.yaml", []byte(head+tt.yaml), vaultEnv, credKinds)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Parse error\n got: %v\nwant: %s", err, tt.err)
				}
				for _, secret := range []string{vaultToken, "tok-9", "pin-4711"} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("error shows secret %q: %v", secret, err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, ok := c.Sources[0].Credentials.(vaultCredentials)
			if !ok || got != tt.want {
				t.Errorf("credentials = %#v (%T), want %#v", got, c.Sources[0].Credentials, tt.want)
			}
		})
	}
}

func TestCredentialsAs(t *testing.T) {
	t.Parallel()
	want := vaultCredentials{User: "u", Token: "t"}
	tests := []struct {
		name string
		held any
		want vaultCredentials
	}{
		{"value", want, want},
		{"pointer", &want, want},
		{"nil pointer", (*vaultCredentials)(nil), vaultCredentials{}},
		{"none", nil, vaultCredentials{}},
		{"another kind's", struct{ User string }{"u"}, vaultCredentials{}},
	}
	for _, tt := range tests {
		src := &config.Source{Credentials: tt.held}
		if got := config.CredentialsAs[vaultCredentials](src); got != tt.want {
			t.Errorf("%s: CredentialsAs = %#v, want %#v", tt.name, got, tt.want)
		}
	}
}

// TestCredentialKeys: the rules are read from the type's tags, and a type
// config cannot decode, or print without its secrets, is refused.
func TestCredentialKeys(t *testing.T) {
	t.Parallel()
	keys, err := (&credKinds[0]).CredentialKeys()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range keys {
		got = append(got, sprintf("%s secret=%v required=%v default=%q oneof=%v bytes=%d", k.Key, k.Secret, k.Required, k.Default, k.OneOf, k.Bytes))
	}
	want := []string{
		`user secret=false required=true default="" oneof=[] bytes=0`,
		`token secret=true required=true default="" oneof=[] bytes=12`,
		`region secret=false required=false default="eu" oneof=[eu us] bytes=0`,
		`pin secret=true required=false default="" oneof=[] bytes=0`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("CredentialKeys:\n got: %q\nwant: %q", got, want)
	}
	if keys, err := (&credKinds[1]).CredentialKeys(); keys != nil || err != nil {
		t.Errorf("CredentialKeys of a kind without credentials = %v, %v", keys, err)
	}

	tests := []struct {
		name  string
		creds any
		want  string
	}{
		{"not a struct", "key", "credentials type string is not a struct"},
		{"unexported", struct {
			key config.Secret `yaml:"key"`
		}{}, "field key is unexported"},
		{"not a string", struct {
			Port int `yaml:"port"`
		}{}, "field Port has type int"},
		{"no yaml key", struct{ Key string }{}, "field Key has no yaml key"},
		{"key twice", struct {
			A string `yaml:"key"`
			B string `yaml:"key"`
		}{}, "key key is declared twice"},
		{"unknown rule", struct {
			A string `yaml:"a" cred:"min=3"`
		}{}, `unknown rule "min=3"`},
		{"bad length", struct {
			A string `yaml:"a" cred:"bytes=0"`
		}{}, `rule "bytes=0": want bytes=N`},
		{"secret default", struct {
			A config.Secret `yaml:"a" cred:"default=x"`
		}{}, "a secret has no default"},
		{"secret values", struct {
			A config.Secret `yaml:"a" cred:"oneof=x y"`
		}{}, "a secret has no list of allowed values"},
		{"required default", struct {
			A string `yaml:"a" cred:"required,default=x"`
		}{}, "a required key has no default"},
		{"default not allowed", struct {
			A string `yaml:"a" cred:"default=z,oneof=x y"`
		}{}, `default "z" is not one of x, y`},
	}
	for _, tt := range tests {
		k := config.KindSpec{Kind: "k", Credentials: tt.creds}
		if _, err := k.CredentialKeys(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: CredentialKeys = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
