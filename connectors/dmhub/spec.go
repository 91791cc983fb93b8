package dmhub

import "github.com/loyaltybridge/loyaltybridge/config"

// Kind is the `kind` of a DM Hub source.
const Kind config.Kind = "dmhub"

// The stream names of a dmhub source (CONTRACT.md).
const (
	StreamMembers       = "members"
	StreamIdentities    = "identities"
	StreamPoints        = "points"
	StreamExperience    = "experience"
	StreamCoupons       = "coupons"
	StreamMemberCoupons = "member_coupons"
	StreamLevels        = "levels"
)

// Spec declares the kind for the registry: config validates dmhub sources
// against it and jobs reads its run policy from it. The members stream
// lists members by last change; the per-member streams read the members it
// synced (only the changed ones in incremental runs, hence the periodic
// full sweep: a coupon or experience change does not touch the member);
// identities resolves identity_keys in batches.
var Spec = config.KindSpec{
	Kind:  Kind,
	Title: "DM Hub",
	Streams: []config.StreamSpec{
		{Name: StreamMembers, Tables: []string{"members"},
			Calls: "`GET /loyalty/v1/membership` (paged; incremental by `lastUpdated`)", Members: true, Proves: []string{"members"}},
		{Name: StreamIdentities, Tables: []string{"member_identities"},
			Calls: "`POST …/membershipService/listMembershipByIdentities` over `identity_keys`, 50 per call (incremental: only the keys of members loaded since the last run)", Reads: config.ReadsIdentityKeys, FullSweep: true,
			Proves: []string{"member_identities"}},
		{Name: StreamPoints, Tables: []string{"points_ledger"}, Calls: "`GET /membership/{id}/point`", Reads: config.ReadsSyncedMembers, FullSweep: true},
		{Name: StreamExperience, Tables: []string{"experience_ledger"}, Calls: "`GET /membership/{id}/exp/changeLogs`", Reads: config.ReadsSyncedMembers, FullSweep: true},
		{Name: StreamCoupons, Tables: []string{"coupons"}, Calls: "`GET /loyalty/v1/coupon` (paged)"},
		{Name: StreamMemberCoupons, Tables: []string{"member_coupons"}, Calls: "`GET /membership/{id}/coupon`", Reads: config.ReadsSyncedMembers, FullSweep: true,
			Proves: []string{"member_coupons"}},
		{Name: StreamLevels, Tables: []string{"levels"}, Calls: "`GET /settings/level/rules`"},
	},
	Credentials: Credentials{},
	// pushed events (POST /v1/webhooks/{source} on serve; docs/webhooks.md)
	Fields: []string{"webhook_secret", "webhook"},
}

// Credentials are the keys of a dmhub source's credentials block: the
// app's id and secret, traded for an access token (token.go).
type Credentials struct {
	AppID     string        `yaml:"app_id" cred:"required"`
	AppSecret config.Secret `yaml:"app_secret" cred:"required"`
}

// CredentialsOf returns the credentials of a dmhub source.
func CredentialsOf(src *config.Source) Credentials { return config.CredentialsAs[Credentials](src) }
