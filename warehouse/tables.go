package warehouse

// Table names a ClickHouse table and the column list the loader inserts into,
// in the order of Row.Values.
type Table struct {
	Name    string
	Columns []string
}

var head = []string{"source", "synced_at", "ver"}

func cols(names ...string) []string { return append(append([]string{}, head...), names...) }

// The entity tables of CONTRACT.md, with the columns rows are loaded into.
var (
	Members = Table{"members", cols("member_id", "name", "mobile", "email", "gender", "birthday",
		"level_id", "level_name", "level_priority", "point", "balance", "date_join", "last_updated", "custom_attrs",
		"member_code", "customer_id", "date_created", "raw")}
	MemberIdentities = Table{"member_identities", cols("member_id", "type", "value", "name", "raw")}
	PointsLedger     = Table{"points_ledger", cols("entry_id", "member_id", "delta", "pattern", "pattern_name",
		"old_point", "new_point", "occurred_at", "remark", "entry_type", "external_id", "raw")}
	ExperienceLedger = Table{"experience_ledger", cols("entry_id", "member_id", "delta", "old_exp", "new_exp",
		"occurred_at", "exp_type", "remark", "external_id", "raw")}
	Coupons       = Table{"coupons", cols("coupon_id", "name", "coupon_type", "valid_type", "start_date", "end_date", "raw")}
	MemberCoupons = Table{"member_coupons", cols("coupon_code", "member_id", "coupon_id", "coupon_name", "status",
		"vendor_status", "starts_at", "ends_at", "drawn_at", "redeemed_at", "start_date", "end_date", "uuid", "raw")}
	Levels = Table{"levels", cols("level_id", "name", "priority", "raw")}
)

// MemberSyncState is the internal change-detection table of per-member
// streams.
var MemberSyncState = Table{"member_sync_state", cols("stream", "member_id", "last_updated", "point")}

// RejectedRecords holds vendor records that could not be decoded or
// stored; the run went on without them.
var RejectedRecords = Table{"rejected_records", cols("stream", "record_key", "raw", "error")}
