package houcaller

import (
	"slices"
	"testing"
)

// TestCredentialRulesMatchConstants: the des_mode and des_padding values
// the Credentials tags allow, and their defaults, are the constants
// NewCipher takes.
func TestCredentialRulesMatchConstants(t *testing.T) {
	t.Parallel()
	keys, err := Spec.CredentialKeys()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"des_mode":    {string(ECB), string(CBC)},
		"des_padding": {string(PKCS5), string(ZeroPadding)},
	}
	for _, k := range keys {
		if w, ok := want[k.Key]; ok && (!slices.Equal(k.OneOf, w) || k.Default != w[0]) {
			t.Errorf("%s: oneof %v default %q, want oneof %v default %q", k.Key, k.OneOf, k.Default, w, w[0])
		}
		delete(want, k.Key)
	}
	if len(want) > 0 {
		t.Errorf("keys not declared: %v", want)
	}
}
