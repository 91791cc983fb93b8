package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// FuzzParse: a config file is user input. Whatever its bytes, Parse returns
// a config or one error that starts with "config: <file>", never a panic,
// and the secrets of the environment never appear in the error.
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
				if strings.Contains(msg, secret) {
					t.Fatalf("error reveals a secret: %q", msg)
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
