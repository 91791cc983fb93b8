package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/houcaller"
	"github.com/loyaltybridge/loyaltybridge/connectors/zvcms"
)

// testEnv is the environment the testdata configs are loaded with.
func testEnv(name string) (string, bool) {
	v, ok := map[string]string{
		"DMHUB_APP_ID": "app-1", "DMHUB_APP_SECRET": "s3cret-dmhub", "HOUCALLER_DES_KEY": "8bytekey",
		"ZVCMS_OPEN_ID": "open", "ZVCMS_GRANT_CODE": "gr4nt-zv", "ZVCMS_SECRET": "s3cret-zv",
		"WORKERS": "7", "RATE": "2.5", "SERVE_TOKEN": "0123456789abcdef-serve",
		"SHORT_KEY": "short-pii-key", "PII_KEY": "0123456789abcdef-pii-key",
	}[name]
	return v, ok
}

func TestBadConfigs(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) < 20 {
		t.Fatalf("want at least 20 bad configs, got %d (%v)", len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			t.Parallel()
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# error: ")
			if !ok {
				t.Fatalf("%s: first line must be '# error: <exact message>'", f)
			}
			cfg, err := config.Parse(f, data, testEnv, kinds)
			if err == nil {
				t.Fatalf("Parse(%s) = %+v, want error %q", f, cfg, want)
			}
			if got := err.Error(); got != want {
				t.Errorf("Parse(%s) error\n got: %s\nwant: %s", f, got, want)
			}
		})
	}
}

func TestGoodConfigs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		file  string
		check func(t *testing.T, c *config.Config)
	}{
		{"full.yaml", func(t *testing.T, c *config.Config) {
			if len(c.Sources) != 3 {
				t.Fatalf("sources = %d, want 3", len(c.Sources))
			}
			d := c.Sources[0]
			if cr := dmhub.CredentialsOf(&d); cr.AppID != "app-1" || cr.AppSecret.Reveal() != "s3cret-dmhub" {
				t.Errorf("env not expanded: %+v", cr)
			}
			if d.RateLimit != 10 || d.PageSize != 100 || d.Schedule != "*/15 * * * *" {
				t.Errorf("dmhub settings = %+v", d)
			}
			h := c.Sources[1]
			if cr := houcaller.CredentialsOf(&h); cr.DESKey.Reveal() != "8bytekey" || cr.DESMode != houcaller.ECB ||
				cr.DESPadding != houcaller.PKCS5 || h.RateLimit != 5 {
				t.Errorf("houcaller defaults = %+v", h)
			}
			if h.MemberKeys == nil || h.MemberKeys.FromSource != "acme-dmhub" || h.MemberKeys.Field != "c_houcaller_id" {
				t.Errorf("member_keys = %+v", h.MemberKeys)
			}
			if o := h.Houcaller; o == nil || *o != (config.HoucallerOptions{MemberKeyAs: "memberId", PointsMonths: 24, PointsEmptyMonths: 3, MonthFormat: "2006-01"}) {
				t.Errorf("houcaller defaults = %+v", o)
			}
			if c.Sources[0].Houcaller != nil || c.Sources[2].Houcaller != nil {
				t.Errorf("a houcaller block on another kind")
			}
			z := c.Sources[2]
			if zvcms.CredentialsOf(&z).Signer != zvcms.SignerHMACSHA1 || z.MemberKeys.File != "zvcms-customers.txt" {
				t.Errorf("zvcms = %+v", z)
			}
			if got := strings.Join(z.EnabledStreams(), ","); got != "members,member_coupons,points" {
				t.Errorf("zvcms default streams = %s", got)
			}
		}},
		{"minimal.yaml", func(t *testing.T, c *config.Config) {
			if c.Redis.Addr != "127.0.0.1:6379" || c.Redis.Namespace != "loyaltybridge" || c.ClickHouse.Database != "loyalty" ||
				c.ClickHouse.Addr[0] != "127.0.0.1:9000" || c.ClickHouse.Username != "default" {
				t.Errorf("defaults: redis %+v clickhouse %+v", c.Redis, c.ClickHouse)
			}
			if c.Serve.Addr != ":8080" || c.Serve.Token != "" {
				t.Errorf("serve defaults = %+v", c.Serve)
			}
			if w := c.Worker; w.Concurrency != 4 || w.PagesPerTask != 500 || w.InsertRows != 10_000 || w.MaxRetry != 8 || w.ShutdownTimeout != 30*time.Second {
				t.Errorf("worker defaults = %+v", w)
			}
			s := c.Sources[0]
			if s.Timeout != 30*time.Second || s.Lookback != 10*time.Minute || s.FullSweepEvery != 168*time.Hour ||
				s.ClockTolerance != 10*time.Minute || s.MaxMemberPages != 1000 ||
				strings.Join(s.EnabledStreams(), ",") != "members,points,experience,coupons,member_coupons,levels" {
				t.Errorf("source defaults = %+v", s)
			}
		}},
		{"serve.yaml", func(t *testing.T, c *config.Config) {
			s := c.Serve
			if s.Addr != "127.0.0.1:9090" || s.Token.Reveal() != "0123456789abcdef-serve" || s.MaxBodyBytes != config.DefaultMaxBodyBytes ||
				s.RequestTimeout != config.DefaultRequestTimeout {
				t.Errorf("serve = %+v", s)
			}
		}},
		{"houcaller-options.yaml", func(t *testing.T, c *config.Config) {
			if o := c.Sources[0].Houcaller; o == nil || *o != (config.HoucallerOptions{MemberKeyAs: "platformId", PointsMonths: 6, PointsEmptyMonths: -1, MonthFormat: "200601"}) {
				t.Errorf("houcaller = %+v", o)
			}
		}},
		{"url-and-env-number.yaml", func(t *testing.T, c *config.Config) {
			if c.Redis.URL != "redis://:pw@127.0.0.1:6380/2" || c.Redis.Addr != "" {
				t.Errorf("redis = %+v", c.Redis)
			}
			if c.Worker.Concurrency != 7 || c.Sources[0].RateLimit != 2.5 {
				t.Errorf("${WORKERS}/${RATE} not decoded as numbers: %d %v", c.Worker.Concurrency, c.Sources[0].RateLimit)
			}
			if k := c.Sources[0].IdentityKeys; k == nil || k.Type != "wechat" || k.Query == "" {
				t.Errorf("identity_keys = %+v", k)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join("testdata/good", tt.file)
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			c, err := config.Parse(p, data, testEnv, kinds)
			if err != nil {
				t.Fatalf("Parse(%s): %v", p, err)
			}
			tt.check(t, c)
		})
	}
}

func TestSecretsDoNotFormat(t *testing.T) {
	t.Parallel()
	s := config.Secret("hunter2-secret")
	for _, got := range []string{s.String(), s.GoString(), sprintf("%v %+v %#v %s %q", s, s, s, s, s)} {
		if strings.Contains(got, "hunter2") {
			t.Errorf("secret leaked: %q", got)
		}
	}
	if s.Reveal() != "hunter2-secret" {
		t.Errorf("Reveal = %q", s.Reveal())
	}
}

// TestSourcesDoNotFormatSecrets: a loaded source, its credentials (each
// kind's own type) and the whole config print no secret with %v, %+v or
// %#v, and every credential secret reaches the log redactor (Secrets).
func TestSourcesDoNotFormatSecrets(t *testing.T) {
	t.Parallel()
	p := "testdata/good/full.yaml"
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	c, err := config.Parse(p, data, testEnv, kinds)
	if err != nil {
		t.Fatal(err)
	}
	secrets := []string{"s3cret-dmhub", "8bytekey", "gr4nt-zv", "s3cret-zv"}
	values := []any{c, *c}
	for i := range c.Sources {
		values = append(values, c.Sources[i], &c.Sources[i], c.Sources[i].Credentials)
	}
	for _, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s"} {
			got := sprintf(verb, v)
			for _, s := range secrets {
				if strings.Contains(got, s) {
					t.Errorf("%s of %T shows secret %q: %s", verb, v, s, got)
				}
			}
		}
	}
	if got := c.Secrets(); !slices.Equal(got, []string{"8bytekey", "gr4nt-zv", "s3cret-dmhub", "s3cret-zv"}) {
		t.Errorf("Secrets() = %d values, want the 4 credential secrets", len(got))
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := config.Load("testdata/does-not-exist.yaml", kinds)
	if err == nil || !strings.Contains(err.Error(), "testdata/does-not-exist.yaml") {
		t.Fatalf("Load(missing) = %v, want an error naming the file", err)
	}
}

// kinds are the shipped kinds' declarations the testdata configs are
// validated against.
var kinds = builtin.Kinds()
