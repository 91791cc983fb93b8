package warehouse

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// Row is one typed record bound for a ClickHouse table. Values returns the
// column values in the order of the table's Columns list; both come from the
// row type's one column declaration (tables.go). The loader appends them
// after an explicit column list, which ClickHouse 18.16 requires, and fills
// synced_at and ver (found by name) when they are zero.
type Row interface {
	Table() Table
	Values() []any
}

// Common holds the columns every entity table has. Source is set by the
// stream that produced the row; SyncedAt and Ver are set by the loader when
// they are zero.
type Common struct {
	Source   string
	SyncedAt time.Time
	Ver      uint64
}

// Member is a row of `members`.
type Member struct {
	Common
	MemberID  string
	Name      string
	Mobile    string
	Email     string
	Gender    string
	Birthday  string // YYYY-MM-DD text: may precede 1970
	LevelID   string
	LevelName string
	// LevelPriority is the level's priority (0 = lowest); DM Hub's old
	// format (S001) gives only this, as a bare number.
	LevelPriority *int32
	Point         int64
	Balance       *decimal.Decimal
	DateJoin      *time.Time
	LastUpdated   *time.Time
	CustomAttrs   string // JSON object
	MemberCode    string
	CustomerID    string
	DateCreated   *time.Time
	Raw           string
}

// Table implements Row.
func (Member) Table() Table { return Members }

// Values implements Row.
func (m Member) Values() []any { return memberTable.values(&m) }

// Identity is a row of `member_identities`.
type Identity struct {
	Common
	MemberID string
	Type     string
	Value    string
	Name     string
	Raw      string
}

// Table implements Row.
func (Identity) Table() Table { return MemberIdentities }

// Values implements Row.
func (i Identity) Values() []any { return identityTable.values(&i) }

// PointEntry is a row of `points_ledger`. Delta is signed: negative for a
// decrease. Pattern keeps the vendor's pattern code with its direction, e.g.
// "decr:2" for DM Hub's "returned on refund".
type PointEntry struct {
	Common
	EntryID     string
	MemberID    string
	Delta       int64
	Pattern     string
	PatternName string
	OldPoint    *int64
	NewPoint    *int64
	OccurredAt  *time.Time
	Remark      string
	EntryType   string // vendor's own type/kind code, as text
	ExternalID  string
	Raw         string
}

// Table implements Row.
func (PointEntry) Table() Table { return PointsLedger }

// Values implements Row.
func (p PointEntry) Values() []any { return pointEntryTable.values(&p) }

// ExpEntry is a row of `experience_ledger`.
type ExpEntry struct {
	Common
	EntryID    string
	MemberID   string
	Delta      int64
	OldExp     *int64
	NewExp     *int64
	OccurredAt *time.Time
	ExpType    string
	Remark     string
	ExternalID string
	Raw        string
}

// Table implements Row.
func (ExpEntry) Table() Table { return ExperienceLedger }

// Values implements Row.
func (e ExpEntry) Values() []any { return expEntryTable.values(&e) }

// Coupon is a row of `coupons` (coupon definitions).
type Coupon struct {
	Common
	CouponID   string
	Name       string
	CouponType string
	ValidType  string
	StartDate  string // YYYY-MM-DD or ""
	EndDate    string
	Raw        string
}

// Table implements Row.
func (Coupon) Table() Table { return Coupons }

// Values implements Row.
func (c Coupon) Values() []any { return couponTable.values(&c) }

// MemberCoupon is a row of `member_coupons`. Status is one of the normalized
// CouponStatus values; VendorStatus keeps the vendor's own value as text.
type MemberCoupon struct {
	Common
	CouponCode   string
	MemberID     string
	CouponID     string
	CouponName   string
	Status       CouponStatus
	VendorStatus string
	StartsAt     *time.Time
	EndsAt       *time.Time
	DrawnAt      *time.Time
	RedeemedAt   *time.Time
	StartDate    string // date-only vendor field kept as YYYY-MM-DD, "" when absent
	EndDate      string
	UUID         string // trimmed (DM Hub's ends with a literal "\r\n")
	Raw          string
}

// Table implements Row.
func (MemberCoupon) Table() Table { return MemberCoupons }

// Values implements Row.
func (m MemberCoupon) Values() []any { return memberCouponTable.values(&m) }

// Level is a row of `levels`.
type Level struct {
	Common
	LevelID  string
	Name     string
	Priority int32
	Raw      string
}

// Table implements Row.
func (Level) Table() Table { return Levels }

// Values implements Row.
func (l Level) Values() []any { return levelTable.values(&l) }

// CouponStatus is the cross-vendor normalized member-coupon status.
type CouponStatus string

// The normalized coupon statuses of CONTRACT.md.
const (
	CouponNotStarted CouponStatus = "not_started"
	CouponUnused     CouponStatus = "unused"
	CouponUsed       CouponStatus = "used"
	CouponExpired    CouponStatus = "expired"
	CouponFrozen     CouponStatus = "frozen"
	CouponInvalid    CouponStatus = "invalid"
	CouponDeleted    CouponStatus = "deleted"
	CouponRefunded   CouponStatus = "refunded"
	CouponGifting    CouponStatus = "gifting"
	CouponUnknown    CouponStatus = "unknown"
)

// MemberState is a row of member_sync_state: what a per-member stream saw
// of a member when it last read the member's records.
type MemberState struct {
	Common
	Stream      string
	MemberID    string
	LastUpdated *time.Time
	Point       int64
}

// Table implements Row.
func (MemberState) Table() Table { return MemberSyncState }

// Values implements Row.
func (s MemberState) Values() []any { return memberStateTable.values(&s) }

// RejectedRecord is a row of `rejected_records`: a vendor record that did
// not decode or did not fit its columns. A stream emits it in place of the
// record and the run goes on; only a page that cannot be parsed at all
// fails the task.
type RejectedRecord struct {
	Common
	Stream    string
	RecordKey string // the vendor's id of the record, or RejectedKey(raw)
	Raw       string // the record as the vendor sent it (truncated to MaxRejectedRaw)
	Error     string
}

// MaxRejectedRaw bounds the raw text kept of a rejected record.
const MaxRejectedRaw = 64 << 10

// RejectedKey is the record key of a rejected record without an id: the
// hex SHA-256 of its raw text, so a replay stores it once after FINAL.
func RejectedKey(raw []byte) string {
	sum := sha256.Sum256(raw)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// NewRejected builds the rejected_records row of a record of stream that
// failed with err; key "" is replaced by RejectedKey(raw).
func NewRejected(source, stream, key string, raw []byte, err error) RejectedRecord {
	if key == "" {
		key = RejectedKey(raw)
	}
	if len(raw) > MaxRejectedRaw {
		raw = raw[:MaxRejectedRaw]
	}
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	return RejectedRecord{Common: Common{Source: source}, Stream: stream, RecordKey: key, Raw: strings.ToValidUTF8(string(raw), "\uFFFD"), Error: msg}
}

// Table implements Row.
func (RejectedRecord) Table() Table { return RejectedRecords }

// Values implements Row.
func (r RejectedRecord) Values() []any { return rejectedRecordTable.values(&r) }
