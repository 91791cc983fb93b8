package houcaller

import (
	"time"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// Kind is the `kind` of a Houcaller source.
const Kind config.Kind = "houcaller"

// The stream names of a houcaller source (CONTRACT.md).
const (
	StreamMemberCoupons = "member_coupons"
	StreamPoints        = "points"
	StreamCoupons       = "coupons"
)

// MaxMonthsBack bounds houcaller.points_months (and points_empty_months).
const MaxMonthsBack = 120

// DefaultEmptyMonthsStop is houcaller.points_empty_months: a full points
// read stops after this many consecutive empty months (docs/benchmarks.md).
const DefaultEmptyMonthsStop = 3

// Spec declares the kind for the registry: config validates houcaller
// sources against it and jobs reads its run policy from it. Houcaller's
// API is looked up member by member, over member_keys; only the coupon
// catalogue is a list.
var Spec = config.KindSpec{
	Kind:  Kind,
	Title: "Houcaller",
	Streams: []config.StreamSpec{
		{Name: StreamMemberCoupons, Tables: []string{"member_coupons"}, Calls: "`listCpnItemByMember`", Reads: config.ReadsMemberKeys, Proves: []string{"member_coupons"}},
		{Name: StreamPoints, Tables: []string{"points_ledger"},
			Calls: "`queryMemberScoRecordForShop` (month by month, offset/limit)", Reads: config.ReadsMemberKeys},
		{Name: StreamCoupons, Tables: []string{"coupons"}, Calls: "`listCpnForShop`"},
	},
	Credentials: Credentials{},
	Fields:      []string{"houcaller"},
	Defaults:    defaults,
	Check:       check,
}

// Credentials are the keys of a houcaller source's credentials block: the
// channel and the DES key of the request envelope (des.go). The allowed
// modes and paddings are the constants of des.go
// (TestCredentialRulesMatchConstants).
type Credentials struct {
	Channel    string        `yaml:"channel" cred:"required"`
	DESKey     config.Secret `yaml:"des_key" cred:"required,bytes=8"`
	DESMode    Mode          `yaml:"des_mode" cred:"default=ecb,oneof=ecb cbc"`
	DESPadding Padding       `yaml:"des_padding" cred:"default=pkcs5,oneof=pkcs5 zero"`
	DESIV      config.Secret `yaml:"des_iv"` // des_mode cbc only: 8 bytes
}

// CredentialsOf returns the credentials of a houcaller source.
func CredentialsOf(src *config.Source) Credentials { return config.CredentialsAs[Credentials](src) }

// defaults fills the houcaller block of a source.
func defaults(s *config.Source) {
	if s.Houcaller == nil {
		s.Houcaller = &config.HoucallerOptions{}
	}
	h := s.Houcaller
	if h.MemberKeyAs == "" {
		h.MemberKeyAs = string(KeyMemberID)
	}
	if h.PointsMonths == 0 {
		h.PointsMonths = DefaultMonthsBack
	}
	if h.PointsEmptyMonths == 0 {
		h.PointsEmptyMonths = DefaultEmptyMonthsStop
	}
	if h.MonthFormat == "" {
		h.MonthFormat = DefaultMonthLayout
	}
}

// check validates the DES IV against the mode and the houcaller block: a
// known key field, a month count in range, a month format that writes and
// reads back a year and a month.
func check(s *config.Source) error {
	cr := CredentialsOf(s)
	if cr.DESMode == CBC && len(cr.DESIV) != 8 {
		return config.FieldErr("credentials.des_iv", "des_mode cbc needs an 8-byte des_iv, got %d bytes", len(cr.DESIV))
	}
	if cr.DESMode == ECB && cr.DESIV != "" {
		return config.FieldErr("credentials.des_iv", "is only used with des_mode cbc")
	}
	h := s.Houcaller
	switch k := KeyField(h.MemberKeyAs); {
	case k != KeyMemberID && k != KeyPlatformID:
		return config.FieldErr("houcaller.member_key_as", "%q is neither %s nor %s", h.MemberKeyAs, KeyMemberID, KeyPlatformID)
	case h.PointsMonths < 1 || h.PointsMonths > MaxMonthsBack:
		return config.FieldErr("houcaller.points_months", "%d is out of range 1..%d", h.PointsMonths, MaxMonthsBack)
	case h.PointsEmptyMonths > MaxMonthsBack:
		return config.FieldErr("houcaller.points_empty_months", "%d is out of range 1..%d (negative: never stop early)",
			h.PointsEmptyMonths, MaxMonthsBack)
	}
	probe := time.Date(2019, time.October, 1, 0, 0, 0, 0, time.UTC)
	back, err := time.Parse(h.MonthFormat, probe.Format(h.MonthFormat))
	if err != nil || back.Year() != 2019 || back.Month() != time.October {
		return config.FieldErr("houcaller.month_format", "%q is not a Go time layout of a year and a month (e.g. 2006-01 or 200601)", h.MonthFormat)
	}
	return nil
}
