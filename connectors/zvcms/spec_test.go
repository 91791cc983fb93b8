package zvcms

import (
	"slices"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// TestCredentialRulesMatchConstants: the signer names the Credentials tag
// allows, and its default, are the constants NewSigner takes.
func TestCredentialRulesMatchConstants(t *testing.T) {
	t.Parallel()
	keys, err := Spec.CredentialKeys()
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(keys, func(k config.CredentialSpec) bool { return k.Key == "signer" })
	if i < 0 {
		t.Fatal("no signer key declared")
	}
	if want := []string{SignerHMACSHA1, SignerSHA1}; !slices.Equal(keys[i].OneOf, want) || keys[i].Default != SignerHMACSHA1 {
		t.Errorf("signer: oneof %v default %q, want oneof %v default %q", keys[i].OneOf, keys[i].Default, want, SignerHMACSHA1)
	}
}
