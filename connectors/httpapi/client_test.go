package httpapi

import (
	"strings"
	"testing"
)

// TestScrubBeforeCutting: a secret that an error excerpt would cut in two
// must not leave its first half behind; scrubbing comes first.
func TestScrubBeforeCutting(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-0123456789"
	c := &Client{Source: "acme", Secrets: []string{secret}}
	tests := []struct {
		name string
		got  string
	}{
		{"Clip across the cut", c.Clip(strings.Repeat("x", 190)+secret, 200)},
		{"Excerpt across the cut", c.Excerpt([]byte(strings.Repeat("x", 190) + secret))},
		{"Excerpt of an HTML title", c.Excerpt([]byte("<html><title>" + strings.Repeat("y", 75) + secret + "</title></html>"))},
		{"CheckStatus", c.CheckStatus("GET /x", &Response{Status: 500, Body: []byte(strings.Repeat("z", 195) + secret)}).Error()},
	}
	for _, tt := range tests {
		if strings.Contains(tt.got, secret[:5]) {
			t.Errorf("%s: %q keeps a piece of the secret", tt.name, tt.got)
		}
		if !strings.Contains(tt.got, "[reda") { // the marker may be cut itself
			t.Errorf("%s: %q does not mark the redaction", tt.name, tt.got)
		}
	}
}
