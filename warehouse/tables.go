package warehouse

// Table names a ClickHouse table and the column list the loader inserts into,
// in the order of Row.Values. Each table's columns are declared once, below,
// beside the row field each one holds.
type Table struct {
	Name    string
	Columns []string
}

// memberTable declares the columns of members (rows of Member).
var memberTable = declare("members", func(m *Member) *Common { return &m.Common },
	col("member_id", func(m *Member) any { return m.MemberID }),
	col("name", func(m *Member) any { return m.Name }),
	col("mobile", func(m *Member) any { return m.Mobile }),
	col("email", func(m *Member) any { return m.Email }),
	col("gender", func(m *Member) any { return m.Gender }),
	col("birthday", func(m *Member) any { return m.Birthday }),
	col("level_id", func(m *Member) any { return m.LevelID }),
	col("level_name", func(m *Member) any { return m.LevelName }),
	col("level_priority", func(m *Member) any { return m.LevelPriority }),
	col("point", func(m *Member) any { return m.Point }),
	col("balance", func(m *Member) any { return m.Balance }),
	col("date_join", func(m *Member) any { return m.DateJoin }),
	col("last_updated", func(m *Member) any { return m.LastUpdated }),
	col("custom_attrs", func(m *Member) any { return m.CustomAttrs }),
	col("member_code", func(m *Member) any { return m.MemberCode }),
	col("customer_id", func(m *Member) any { return m.CustomerID }),
	col("date_created", func(m *Member) any { return m.DateCreated }),
	col("raw", func(m *Member) any { return m.Raw }),
)

// identityTable declares the columns of member_identities (rows of Identity).
var identityTable = declare("member_identities", func(i *Identity) *Common { return &i.Common },
	col("member_id", func(i *Identity) any { return i.MemberID }),
	col("type", func(i *Identity) any { return i.Type }),
	col("value", func(i *Identity) any { return i.Value }),
	col("name", func(i *Identity) any { return i.Name }),
	col("raw", func(i *Identity) any { return i.Raw }),
)

// pointEntryTable declares the columns of points_ledger (rows of PointEntry).
var pointEntryTable = declare("points_ledger", func(p *PointEntry) *Common { return &p.Common },
	col("entry_id", func(p *PointEntry) any { return p.EntryID }),
	col("member_id", func(p *PointEntry) any { return p.MemberID }),
	col("delta", func(p *PointEntry) any { return p.Delta }),
	col("pattern", func(p *PointEntry) any { return p.Pattern }),
	col("pattern_name", func(p *PointEntry) any { return p.PatternName }),
	col("old_point", func(p *PointEntry) any { return p.OldPoint }),
	col("new_point", func(p *PointEntry) any { return p.NewPoint }),
	col("occurred_at", func(p *PointEntry) any { return p.OccurredAt }),
	col("remark", func(p *PointEntry) any { return p.Remark }),
	col("entry_type", func(p *PointEntry) any { return p.EntryType }),
	col("external_id", func(p *PointEntry) any { return p.ExternalID }),
	col("raw", func(p *PointEntry) any { return p.Raw }),
)

// expEntryTable declares the columns of experience_ledger (rows of ExpEntry).
var expEntryTable = declare("experience_ledger", func(e *ExpEntry) *Common { return &e.Common },
	col("entry_id", func(e *ExpEntry) any { return e.EntryID }),
	col("member_id", func(e *ExpEntry) any { return e.MemberID }),
	col("delta", func(e *ExpEntry) any { return e.Delta }),
	col("old_exp", func(e *ExpEntry) any { return e.OldExp }),
	col("new_exp", func(e *ExpEntry) any { return e.NewExp }),
	col("occurred_at", func(e *ExpEntry) any { return e.OccurredAt }),
	col("exp_type", func(e *ExpEntry) any { return e.ExpType }),
	col("remark", func(e *ExpEntry) any { return e.Remark }),
	col("external_id", func(e *ExpEntry) any { return e.ExternalID }),
	col("raw", func(e *ExpEntry) any { return e.Raw }),
)

// couponTable declares the columns of coupons (rows of Coupon).
var couponTable = declare("coupons", func(c *Coupon) *Common { return &c.Common },
	col("coupon_id", func(c *Coupon) any { return c.CouponID }),
	col("name", func(c *Coupon) any { return c.Name }),
	col("coupon_type", func(c *Coupon) any { return c.CouponType }),
	col("valid_type", func(c *Coupon) any { return c.ValidType }),
	col("start_date", func(c *Coupon) any { return c.StartDate }),
	col("end_date", func(c *Coupon) any { return c.EndDate }),
	col("raw", func(c *Coupon) any { return c.Raw }),
)

// memberCouponTable declares the columns of member_coupons (rows of MemberCoupon).
var memberCouponTable = declare("member_coupons", func(m *MemberCoupon) *Common { return &m.Common },
	col("coupon_code", func(m *MemberCoupon) any { return m.CouponCode }),
	col("member_id", func(m *MemberCoupon) any { return m.MemberID }),
	col("coupon_id", func(m *MemberCoupon) any { return m.CouponID }),
	col("coupon_name", func(m *MemberCoupon) any { return m.CouponName }),
	col("status", func(m *MemberCoupon) any { return string(m.Status) }),
	col("vendor_status", func(m *MemberCoupon) any { return m.VendorStatus }),
	col("starts_at", func(m *MemberCoupon) any { return m.StartsAt }),
	col("ends_at", func(m *MemberCoupon) any { return m.EndsAt }),
	col("drawn_at", func(m *MemberCoupon) any { return m.DrawnAt }),
	col("redeemed_at", func(m *MemberCoupon) any { return m.RedeemedAt }),
	col("start_date", func(m *MemberCoupon) any { return m.StartDate }),
	col("end_date", func(m *MemberCoupon) any { return m.EndDate }),
	col("uuid", func(m *MemberCoupon) any { return m.UUID }),
	col("raw", func(m *MemberCoupon) any { return m.Raw }),
)

// levelTable declares the columns of levels (rows of Level).
var levelTable = declare("levels", func(l *Level) *Common { return &l.Common },
	col("level_id", func(l *Level) any { return l.LevelID }),
	col("name", func(l *Level) any { return l.Name }),
	col("priority", func(l *Level) any { return l.Priority }),
	col("raw", func(l *Level) any { return l.Raw }),
)

// memberStateTable declares the columns of member_sync_state (rows of MemberState).
var memberStateTable = declare("member_sync_state", func(s *MemberState) *Common { return &s.Common },
	col("stream", func(s *MemberState) any { return s.Stream }),
	col("member_id", func(s *MemberState) any { return s.MemberID }),
	col("last_updated", func(s *MemberState) any { return s.LastUpdated }),
	col("point", func(s *MemberState) any { return s.Point }),
)

// rejectedRecordTable declares the columns of rejected_records (rows of RejectedRecord).
var rejectedRecordTable = declare("rejected_records", func(r *RejectedRecord) *Common { return &r.Common },
	col("stream", func(r *RejectedRecord) any { return r.Stream }),
	col("record_key", func(r *RejectedRecord) any { return r.RecordKey }),
	col("raw", func(r *RejectedRecord) any { return r.Raw }),
	col("error", func(r *RejectedRecord) any { return r.Error }),
)

// The entity tables of CONTRACT.md, with the columns rows are loaded into.
var (
	Members          = memberTable.table
	MemberIdentities = identityTable.table
	PointsLedger     = pointEntryTable.table
	ExperienceLedger = expEntryTable.table
	Coupons          = couponTable.table
	MemberCoupons    = memberCouponTable.table
	Levels           = levelTable.table
)

// MemberSyncState is the internal change-detection table of per-member
// streams.
var MemberSyncState = memberStateTable.table

// RejectedRecords holds vendor records that could not be decoded or
// stored; the run went on without them.
var RejectedRecords = rejectedRecordTable.table

// RowTables lists the table of every Row type, the internal ones included.
func RowTables() []Table {
	return []Table{Members, MemberIdentities, PointsLedger, ExperienceLedger, Coupons, MemberCoupons, Levels,
		MemberSyncState, RejectedRecords}
}
