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
	Credentials: []config.CredentialSpec{
		{Key: "open_id", Required: true},
		{Key: "grant_code", Required: true},
		{Key: "secret", Required: true},
		{Key: "signer", Default: SignerHMACSHA1, OneOf: []string{SignerHMACSHA1, SignerSHA1}},
	},
}
