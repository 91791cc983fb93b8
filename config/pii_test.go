package config_test

import (
	"fmt"
	"github.com/loyaltybridge/loyaltybridge/config"
	"os"
	"slices"
	"strings"
	"testing"
)

const piiYAML = `
pii_key: "${PII_KEY}"
sources:
  - name: shop1
    kind: dmhub
    base_url: http://127.0.0.1:8900/dmhub
    credentials: {app_id: a, app_secret: s}
    pii:
      mobile: hash
      email: mask
      name: drop
      c_*: mask
      c_id*: hash
      c_id_card_old: drop
      c_zvcms_id: keep
`

func TestPIIPolicy(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("pii.yaml", []byte(piiYAML), testEnv, kinds)
	if err != nil {
		t.Fatal(err)
	}
	s := &c.Sources[0]
	tests := []struct {
		field string
		want  config.PIIAction
	}{
		{"mobile", config.PIIHash},
		{"email", config.PIIMask},
		{"name", config.PIIDrop},
		{"address", config.PIIKeep},       // not listed: the default
		{"id_card", config.PIIKeep},       // named fields do not match c_ patterns
		{"c_vip_store", config.PIIMask},   // c_*
		{"c_id_card", config.PIIHash},     // c_id* is longer than c_*
		{"c_id_card_old", config.PIIDrop}, // the exact key beats every pattern
		{"c_zvcms_id", config.PIIKeep},
		{"cm_test2", config.PIIKeep}, // not a c_ key
	}
	for _, tt := range tests {
		if got := s.PIIPolicy(tt.field); got != tt.want {
			t.Errorf("PIIPolicy(%q) = %s, want %s", tt.field, got, tt.want)
		}
	}
	if !s.PIIActive() {
		t.Error("PIIActive = false")
	}
	if (&config.Source{PII: map[string]string{"mobile": "keep"}}).PIIActive() {
		t.Error("an all-keep policy is active")
	}
}

// TestPIIKeyNeverPrinted: pii_key is a config.Secret: formatting the config in
// any way does not show it, and the log redactor gets it.
func TestPIIKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	c, err := config.Parse("pii.yaml", []byte(piiYAML), testEnv, kinds)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := testEnv("PII_KEY")
	if c.PIIKey.Reveal() != key {
		t.Fatalf("pii_key = %d bytes, want the env value", len(c.PIIKey))
	}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, c); strings.Contains(out, key) {
			t.Errorf("Sprintf(%q, cfg) shows pii_key", format)
		}
	}
	if !slices.Contains(c.Secrets(), key) {
		t.Error("Secrets() (the log redactor's list) lacks pii_key")
	}
}

// TestExamplePIIBlock: the commented pii block of the example config is
// valid once uncommented (and hashes mobiles).
func TestExamplePIIBlock(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("../loyaltybridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	inBlock := false
	for _, l := range strings.Split(string(data), "\n") {
		switch {
		case l == "# pii_key: ${LOYALTYBRIDGE_PII_KEY}":
			l = strings.TrimPrefix(l, "# ")
		case l == "    # pii:":
			l, inBlock = "    pii:", true
		case inBlock && strings.HasPrefix(l, "    #   "):
			l = "    " + strings.TrimPrefix(l, "    # ")
		default:
			inBlock = false
		}
		out = append(out, l)
	}
	env := func(name string) (string, bool) {
		if name == "LOYALTYBRIDGE_PII_KEY" {
			return "0123456789abcdef0123456789abcdef", true
		}
		return testEnv(name)
	}
	c, err := config.Parse("example.yaml", []byte(strings.Join(out, "\n")), env, kinds)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sources[0].PIIPolicy(config.FieldMobile); got != config.PIIHash || len(c.Sources[0].PII) != 6 {
		t.Errorf("example pii block: mobile %s, %d entries (%v)", got, len(c.Sources[0].PII), c.Sources[0].PII)
	}
}
