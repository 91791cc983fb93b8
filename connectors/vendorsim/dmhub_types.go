package vendorsim

import (
	"encoding/json"
	"maps"
	"time"
)

// DMHubMember is the ground truth of one simulated DM Hub membership, in
// canonical Go values. String fields are "" exactly when the vendor emits
// JSON null (the simulator never emits an empty string for them).
type DMHubMember struct {
	ID                  string // JSON number "id"
	Name                string
	FamilyName          string
	GivenName           string
	CustomerID          string // JSON number, may exceed 2^53; "" when null
	MembershipCode      string
	IDCard              string
	Address             string
	EducationBackground string // JSON key "educationBackgro" (vendor typo)
	Img                 string
	Gender              int // 0 or 1
	Mobile              string
	Email               string
	Birthday            string // "YYYY-MM-DD" (may precede 1970); "" when null
	DateJoin            time.Time
	LastUpdated         time.Time
	DateCreated         time.Time
	CreateMethod        string
	CreateChannel       string
	Industry            string
	Income              string
	Referrer            string   // only emitted for legacy-format members
	Balance             *float64 // 2 decimals; nil when null
	LevelID             string
	LevelName           string
	LevelPriority       int
	// LegacyLevel is true when the member is emitted in the old (S001)
	// format: "level" is a bare number (= LevelPriority), "referrer" is
	// present and source/contentName/campaignId/country/province/city/county
	// are absent.
	LegacyLevel bool
	// NoZ is true when dateJoin/dateCreated/lastUpdated are emitted without
	// the trailing "Z" (still UTC).
	NoZ         bool
	Point       int64
	Source      string
	ContentName string
	CampaignID  string
	Country     string
	Province    string
	City        string
	County      string
	HoucallerID string // value of c_houcaller_id; "" when null
	ZvcmsID     string // value of c_zvcms_id (18 digits); "" when null
	// CustomAttrs holds every custom key exactly as emitted: the c_* keys and
	// the unprefixed "cm_test2". Values are nil, string, bool or int64.
	CustomAttrs map[string]any
}

func (m DMHubMember) clone() DMHubMember {
	c := m
	if m.Balance != nil {
		b := *m.Balance
		c.Balance = &b
	}
	c.CustomAttrs = maps.Clone(m.CustomAttrs)
	return c
}

// DMHubIdentity is one identity ({type,value,name}) of a member.
type DMHubIdentity struct {
	Type  string
	Value string
	Name  string // "" when null
}

// DMHubPointRecord is one points-history entry (vendor doc §15).
type DMHubPointRecord struct {
	ID          string // JSON number
	MemberID    string
	TenantID    int64
	Date        time.Time
	DateNoZ     bool // "date" emitted without the trailing Z
	DateCreated time.Time
	LastUpdated time.Time
	Point       int64 // positive magnitude, as emitted
	Delta       int64 // signed change: Type * Point
	OldPoint    int64
	NewPoint    int64
	LeftPoint   int64
	Pattern     int
	Type        int // 1 increase, -1 decrease
	Status      int // 1 for increases, -1 for decreases (undocumented)
	ExpireDate  *time.Time
	Remark      string
	Source      string
	ContentName string
	CampaignID  string
	ExternalID  string
}

// DMHubExpRecord is one experience-history entry (vendor doc §16).
type DMHubExpRecord struct {
	ID          string
	MemberID    string
	TenantID    int64
	DateCreated time.Time
	LastUpdated time.Time
	DateObtain  time.Time
	ExpType     int
	ExpValue    int64 // signed change
	OldExp      int64
	NewExp      int64
	Remark      string
	ExternalID  string
}

// DMHubCouponChannel is one entry of coupon.channels.
type DMHubCouponChannel struct {
	CouponID      string // channel coupon code
	CouponChannel string // online | offline
	URL           string // "" when null
}

// DMHubCoupon is a coupon definition (vendor doc §13 "coupon").
type DMHubCoupon struct {
	ID        string // couponId
	Name      string
	Label     string
	SubLabel  string
	Type      int // 1 cash voucher, 2 discount, 3 product
	DrawLimit int
	Total     int
	Note      string
	ValidType int    // 1 absolute (StartDate/EndDate), 2 relative (StartDays/ValidDays)
	StartDays int    // ValidType 2
	ValidDays int    // ValidType 2
	StartDate string // ValidType 1, YYYY-MM-DD
	EndDate   string // ValidType 1, YYYY-MM-DD
	Channels  []DMHubCouponChannel
	// Rule values; nil when JSON null.
	AmountLimit *float64
	Discount    *float64
	FreeFee     *float64
	// GoodsLimit is "" when the vendor sends JSON null or the STRING "null".
	GoodsLimit string
	// GoodsLimitNullString is true when goodsLimit is emitted as the string "null".
	GoodsLimitNullString bool
}

func (c DMHubCoupon) clone() DMHubCoupon {
	d := c
	d.Channels = append([]DMHubCouponChannel(nil), c.Channels...)
	return d
}

// DMHubMemberCoupon is a member's coupon instance (membershipCoupon).
type DMHubMemberCoupon struct {
	Code       string // couponCode
	MemberID   string
	CouponID   string
	CouponName string
	CouponType int
	Status     string // vendor value: notStarted | normal | used | expired (undocumented)
	DateDraw   time.Time
	DateRedeem *time.Time
	StartDate  string // YYYY-MM-DD
	EndDate    string // YYYY-MM-DD
	UUID       string // as emitted, including the trailing "\r\n"
	BarcodeURL string
	QrcodeURL  string
}

func (c DMHubMemberCoupon) clone() DMHubMemberCoupon {
	d := c
	if c.DateRedeem != nil {
		t := *c.DateRedeem
		d.DateRedeem = &t
	}
	return d
}

// DMHubLevel is one membership level (GET /loyalty/v1/settings/level/rules).
type DMHubLevel struct {
	ID        string
	Name      string
	Priority  int // 0 = lowest
	IsForever bool
	Operator  string
	Status    int
}

// DMHubWrite is one write the simulated vendor accepted (and applied).
type DMHubWrite struct {
	Seq int64 // 1-based, in acceptance order
	// Kind uses the outbound kind names of the contract: deal, deal-update,
	// deal-cancel, deal-delete, refund, refund-delete, push-device, points,
	// plus coupon-draw and coupon-redeem.
	Kind      string
	Direction string // "incr" | "decr" for Kind "points"; "" otherwise
	Endpoint  string // request counter name, e.g. "deal.create"
	MemberID  string // "" when not applicable / anonymous
	OrderNo   string // deal and refund kinds
	Body      json.RawMessage
	At        time.Time // the simulator clock when accepted
}
