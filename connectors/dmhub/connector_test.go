package dmhub

import (
	"errors"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/httpapi"
)

// TestConnectorStreams: every DM Hub stream is wired, by exactly one of
// Stream (source-wide) and MemberStream (per member).
func TestConnectorStreams(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, newFakeVendor(), identitySource).WithKeys(&sliceKeys{})
	perMember := map[string]bool{"points": true, "experience": true, "member_coupons": true}
	for _, name := range Spec.StreamNames() {
		if _, err := k.Stream(name); (err == nil) == perMember[name] {
			t.Errorf("Stream(%q) error = %v, want an error only for a per-member stream", name, err)
		}
		if _, ok := k.MemberStream(name); ok != perMember[name] {
			t.Errorf("MemberStream(%q) ok = %v, want %v", name, ok, perMember[name])
		}
	}
	if _, err := k.Stream("orders"); !errors.Is(err, connectors.ErrUnknownStream) {
		t.Errorf("Stream(orders) = %v, want ErrUnknownStream", err)
	}
}

// TestNewNeedsTokens: a connector without an access token store is a
// configuration error naming the source, not a nil dereference later.
func TestNewNeedsTokens(t *testing.T) {
	t.Parallel()
	src := &config.Source{Name: "acme", Kind: Kind}
	if _, err := New(src, &httpapi.Client{Source: "acme"}); err == nil || !strings.Contains(err.Error(), "acme") {
		t.Errorf("New without WithTokens: error %v, want one naming the source", err)
	}
}
