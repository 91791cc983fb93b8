package ops_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
)

type creds struct{ Secret string }

type stringer string

func (s stringer) String() string { return string(s) }

func TestRedactor(t *testing.T) {
	t.Parallel()
	secrets := []string{"s3cret-dmhub", "hklsim01", "grant-xyz", "ab"} // "ab" is too short to redact
	urlErr := &url.Error{Op: "Get", URL: "https://api.example.com/v1/customers?access_token=tok-12345&rows=100", Err: errors.New("connection refused")}
	tests := []struct {
		name string
		log  func(l *slog.Logger)
		leak []string // must not appear
		keep []string // must appear
	}{
		{"message", func(l *slog.Logger) { l.Info("calling with s3cret-dmhub") }, []string{"s3cret-dmhub"}, []string{"calling with [redacted]"}},
		{"string attr", func(l *slog.Logger) { l.Info("x", "key", "des hklsim01") }, []string{"hklsim01"}, []string{"des [redacted]"}},
		{"error attr with access_token URL", func(l *slog.Logger) { l.Warn("task failed", "err", fmt.Errorf("page 3: %w", urlErr)) },
			[]string{"tok-12345"}, []string{"access_token=[redacted]", "rows=100", "connection refused"}},
		{"stringer", func(l *slog.Logger) { l.Info("x", "u", stringer("/token?app_secret=zz99&x=1")) }, []string{"zz99"}, []string{"app_secret=[redacted]"}},
		{"group", func(l *slog.Logger) { l.Info("x", slog.Group("g", "inner", "grant-xyz")) }, []string{"grant-xyz"}, []string{"[redacted]"}},
		{"with attrs", func(l *slog.Logger) { l.With("cred", "s3cret-dmhub").Info("x") }, []string{"s3cret-dmhub"}, []string{"[redacted]"}},
		{"with group", func(l *slog.Logger) { l.WithGroup("task").Info("x", "url", "/a?access_token=T0KEN") }, []string{"T0KEN"}, []string{"access_token=[redacted]"}},
		{"struct", func(l *slog.Logger) { l.Info("x", "creds", creds{"s3cret-dmhub"}) }, []string{"s3cret-dmhub"}, []string{"[redacted]"}},
		{"bytes", func(l *slog.Logger) { l.Info("x", "body", []byte(`{"secret":"grant-xyz"}`)) }, []string{"grant-xyz"}, nil},
		{"json token body", func(l *slog.Logger) { l.Info("x", "body", `{"access_token":"eyJtok","expires_in":7200}`) },
			[]string{"eyJtok"}, []string{"access_token", "[redacted]", "expires_in"}},
		{"short secret ignored", func(l *slog.Logger) { l.Info("x", "word", "about") }, nil, []string{"about"}},
		{"design= is not sign=", func(l *slog.Logger) { l.Info("x", "q", "design=blue") }, nil, []string{"design=blue"}},
	}
	for _, format := range []string{ops.LogJSON, ops.LogText} {
		for _, tc := range tests {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				t.Parallel()
				var buf bytes.Buffer
				l, err := ops.NewLogger(&buf, format, slog.LevelDebug, secrets)
				if err != nil {
					t.Fatal(err)
				}
				tc.log(l)
				out := buf.String()
				for _, s := range tc.leak {
					if strings.Contains(out, s) {
						t.Errorf("log leaks %q: %s", s, out)
					}
				}
				for _, s := range tc.keep {
					if !strings.Contains(out, s) {
						t.Errorf("log lacks %q: %s", s, out)
					}
				}
			})
		}
	}
}

func TestNewLoggerFormats(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	l, err := ops.NewLogger(&buf, "", slog.LevelInfo, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Debug("hidden")
	l.Info("shown", "source", "acme")
	if got := buf.String(); !strings.HasPrefix(got, `{"time":`) || !strings.Contains(got, `"source":"acme"`) || strings.Contains(got, "hidden") {
		t.Errorf("default format is not JSON at info: %s", got)
	}
	if _, err := ops.NewLogger(&buf, "xml", slog.LevelInfo, nil); err == nil || !strings.Contains(err.Error(), `"xml"`) {
		t.Errorf("NewLogger(xml) error = %v, want one naming the format", err)
	}
}
