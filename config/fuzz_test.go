package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// FuzzParse: a config file is user input. Whatever its bytes, Parse returns
// a config or one error that starts with "config: <file>", never a panic,
// and the error shows no secret: neither a secret of the environment that
// the file does not itself contain (it could only have come through a
// ${NAME} reference), nor any value the file writes under a secret key.
// A secret's text that the file also writes in a plain field may be
// echoed from there, unless it is also written under a secret key.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*/*.yaml")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.Parse("fuzz.yaml", data, testEnv, kinds)
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "config: fuzz.yaml") {
				t.Fatalf("error without the file name: %q", msg)
			}
			for _, secret := range []string{"s3cret-dmhub", "s3cret-zv", "gr4nt-zv", "8bytekey"} {
				if !bytes.Contains(data, []byte(secret)) && strings.Contains(msg, secret) {
					t.Fatalf("error reveals a secret of the environment: %q", msg)
				}
			}
			for _, secret := range inlineSecrets(data) {
				if strings.Contains(msg, secret) {
					t.Fatalf("error reveals %q, written under a secret key: %q", secret, msg)
				}
			}
			return
		}
		if cfg == nil {
			t.Fatal("Parse returned neither a config nor an error")
		}
		for i, s := range cfg.Sources {
			if s.Name == "" || s.Kind == "" || s.PageSize <= 0 {
				t.Fatalf("sources[%d] accepted without defaults or validation: %+v", i, s)
			}
		}
	})
}

// secretKey names the keys that hold secrets in the built-in kinds and the
// config (listed here, not taken from the package, so the test does not
// share the code it checks).
var secretKey = map[string]bool{
	"app_secret": true, "des_key": true, "des_iv": true, "grant_code": true, "secret": true,
	"webhook_secret": true, "pii_key": true, "password": true, "token": true,
}

// inlineSecret finds `key: value` in a file YAML cannot parse.
var inlineSecret = regexp.MustCompile(`(?:^|[\s{,])(app_secret|des_key|des_iv|grant_code|secret|webhook_secret|pii_key|password|token)\s*:\s*[*&]?([^\s,}\]]+)`)

// inlineSecrets returns the values the first document of data writes
// under a secret key: those of 8 bytes or more, the shortest Parse masks.
func inlineSecrets(data []byte) []string {
	var out []string
	add := func(v string) {
		if len(v) >= 8 && !strings.Contains(v, "${") {
			out = append(out, v)
		}
	}
	var doc yaml.Node
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&doc); err != nil {
		for _, m := range inlineSecret.FindAllStringSubmatch(string(data), -1) {
			add(strings.Trim(m[2], `"'`))
		}
		return out
	}
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && secretKey[n.Content[i].Value] {
					add(v.Value)
				}
			}
		}
		for _, c := range n.Content {
			visit(c)
		}
	}
	visit(&doc)
	return out
}
