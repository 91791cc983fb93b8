package zvcms

import "github.com/loyaltybridge/loyaltybridge/config"

// Kind is the `kind` of a zvcms source.
const Kind config.Kind = "zvcms"

// The stream names of a zvcms source (CONTRACT.md).
const (
	StreamMembers       = "members"
	StreamMemberCoupons = "member_coupons"
	StreamPoints        = "points"
)

// Spec declares the kind for the registry: config validates zvcms sources
// against it and jobs reads its run policy from it. Every zvcms stream is
// looked up member by member over member_keys; allCustomerInfo (members)
// returns a customer's complete coupon list too, so a full members run
// proves both tables.
var Spec = config.KindSpec{
	Kind:  Kind,
	Title: "zvcms",
	Streams: []config.StreamSpec{
		{Name: StreamMembers, Tables: []string{"members", "member_coupons"},
			Calls: "V3 `allCustomerInfo` (profile, balances, paged coupons)", Reads: config.ReadsMemberKeys, Members: true,
			Proves: []string{"members", "member_coupons"}},
		{Name: StreamMemberCoupons, Tables: []string{"member_coupons"}, Calls: "V3 `getCustomerCoupons`", Reads: config.ReadsMemberKeys},
		{Name: StreamPoints, Tables: []string{"points_ledger"}, Calls: "V2 `user.user-points-records`", Reads: config.ReadsMemberKeys},
	},
	Credentials: Credentials{},
}

// Credentials are the keys of a zvcms source's credentials block: the
// tenant's open id and grant code, and the secret that signs each request
// with the signer named (sign.go; the allowed names are its constants,
// TestCredentialRulesMatchConstants).
type Credentials struct {
	OpenID    string        `yaml:"open_id" cred:"required"`
	GrantCode config.Secret `yaml:"grant_code" cred:"required"`
	Secret    config.Secret `yaml:"secret" cred:"required"`
	Signer    string        `yaml:"signer" cred:"default=hmac-sha1,oneof=hmac-sha1 sha1"`
}

// CredentialsOf returns the credentials of a zvcms source.
func CredentialsOf(src *config.Source) Credentials { return config.CredentialsAs[Credentials](src) }
