package connectors

import (
	"context"
	"encoding/json"
	"log/slog"

	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// MemberStream reads the records of one member at a time (DM Hub's
// per-member ledgers and coupons; Houcaller's and zvcms's look-ups). The
// engine runs it over the members of a pass, many members per task, with
// bounded concurrency per source; the shared rate limit is the real bound.
// Implementations are safe for concurrent use.
type MemberStream interface {
	FetchMember(ctx context.Context, req MemberRequest) (MemberBatch, error)
}

// MemberRequest asks for one member's records.
type MemberRequest struct {
	Mode Mode
	// Member is the member key: the DM Hub member id, or a key from
	// member_keys for the vendors looked up member by member.
	Member string
	// Known reports entries already in the warehouse for this member (nil
	// in full mode). A reader that pages newest first may stop after the
	// first page holding a known entry, if it verified the vendor really
	// returns newest first.
	Known func(entryID string) bool
	// Since is the stream's committed (source-wide) incremental cursor
	// (the same cursor as Request.Since).
	Since json.RawMessage
	// MaxPages caps the vendor pages this member's read may take (the
	// source's max_member_pages; 0: config.DefaultMaxMemberPages). A read
	// that hits it, or meets a page repeating the previous one (a vendor
	// ignoring paging), stops there with what it read, logs it and sets
	// MemberBatch.Capped, so memory stays bounded.
	MaxPages int
	// Log receives the read's warnings; nil discards them.
	Log *slog.Logger
}

// Logger returns req.Log, or a logger that discards everything.
func (req MemberRequest) Logger() *slog.Logger { return orDiscard(req.Log) }

// MemberBatch is what FetchMember read. A member the vendor does not know
// (deleted, or a key without a member) is an error wrapping ErrNotFound,
// returned with the batch of the Pages and Requests it took: the engine
// counts those and the member as having no rows, not as a failure.
type MemberBatch struct {
	Rows     []warehouse.Row
	Pages    int
	Requests int
	// Commit, when set, is the incremental cursor this member's read
	// supports; the pass commits it when every member is done.
	Commit json.RawMessage
	// Capped reports a read stopped by the page cap or a repeated page
	// (see MemberRequest.MaxPages): the member's records may be incomplete.
	Capped bool
}

// Ledger is implemented by member streams whose rows are entries of a
// ledger table (entry_id, member_id): the engine looks up the entry ids
// already loaded for Known.
type Ledger interface {
	LedgerTable() warehouse.Table
}

// MemberConnector is implemented by connectors with per-member streams.
type MemberConnector interface {
	// MemberStream returns the per-member stream called name, ok false
	// when name is not a per-member stream of this connector.
	MemberStream(name string) (MemberStream, bool)
}
