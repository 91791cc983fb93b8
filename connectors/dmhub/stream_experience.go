package dmhub

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// experienceStream reads one member's experience history,
// GET /loyalty/v1/membership/{id}/exp/changeLogs?rows=&page=&sord=desc
// (vendor-api.md §1.5 #16), into experience_ledger. See readLedger for
// paging and the incremental early stop.
type experienceStream struct {
	c        *Client
	source   string
	pageSize int
	maxPages int // per member (max_member_pages)
}

var (
	_ connectors.MemberStream = (*experienceStream)(nil)
	_ connectors.Ledger       = (*experienceStream)(nil)
)

// LedgerTable implements connectors.Ledger.
func (s *experienceStream) LedgerTable() warehouse.Table { return warehouse.ExperienceLedger }

// FetchMember implements connectors.MemberStream.
func (s *experienceStream) FetchMember(ctx context.Context, req connectors.MemberRequest) (connectors.MemberBatch, error) {
	member, err := connectors.MemberKey(s.source, "GET /loyalty/v1/membership/{id}/exp/changeLogs", req.Member)
	if err != nil {
		return connectors.MemberBatch{}, err
	}
	p := newPager(s.c, s.source, memberPath(member, "/exp/changeLogs"), s.pageSize, url.Values{"sord": {"desc"}}).bounded(s.maxPages, req)
	return readLedger(ctx, p, req, "experience", func(raw []byte) (ledgerEntry, error) {
		e, created, err := decodeExpRecord(s.source, member, raw)
		return ledgerEntry{row: e, id: e.EntryID, created: created}, err
	})
}

// decodeExpRecord turns one expRecord (vendor-api.md §1.6) into an
// experience_ledger row, and returns the record's order key (dateCreated,
// else dateObtain; see readLedger).
//
//   - entry_id = id (required); member_id = membershipId, else member.
//   - delta = newExp-oldExp when both are present, else expValue as sent
//     (with its sign, if any), else 0. The documents give no direction
//     field for experience (expType's meaning is undocumented, §1.9).
//   - occurred_at = dateObtain, else dateCreated (UTC, §1.8).
//   - exp_type = expType as sent, as text.
func decodeExpRecord(source, member string, raw []byte) (warehouse.ExpEntry, *time.Time, error) {
	var (
		id, membership, created, obtain, expType, remark, external lenient.String
		value, oldExp, newExp                                      lenient.Int
	)
	compact, err := decodeObject("expRecord", raw,
		field{"id", &id}, field{"membershipId", &membership}, field{"dateCreated", &created},
		field{"dateObtain", &obtain}, field{"expType", &expType}, field{"remark", &remark},
		field{"externalId", &external}, field{"expValue", &value}, field{"oldExp", &oldExp}, field{"newExp", &newExp})
	if err != nil {
		return warehouse.ExpEntry{}, nil, err
	}
	entry := strings.TrimSpace(id.V)
	if entry == "" {
		return warehouse.ExpEntry{}, nil, fmt.Errorf("expRecord without an id: %s", lenient.Clip(compact))
	}
	var delta int64
	switch {
	case oldExp.Valid && newExp.Valid:
		d, ok := sub(newExp.V, oldExp.V)
		if !ok {
			return warehouse.ExpEntry{}, nil, fmt.Errorf("expRecord %s: newExp-oldExp is out of the int64 range", lenient.Clip(entry))
		}
		delta = d
	case value.Valid:
		delta = value.V
	}
	var times lenient.Times
	ob, cr := times.Parse("dateObtain", obtain.V, time.UTC), times.Parse("dateCreated", created.V, time.UTC)
	if err := times.Err(); err != nil {
		return warehouse.ExpEntry{}, nil, fmt.Errorf("expRecord %s: %w", lenient.Clip(entry), err)
	}
	e := warehouse.ExpEntry{
		Common:     warehouse.Common{Source: source},
		EntryID:    entry,
		MemberID:   orStr(strings.TrimSpace(membership.V), member),
		Delta:      delta,
		OldExp:     oldExp.Ptr(),
		NewExp:     newExp.Ptr(),
		OccurredAt: orPtr(ob, cr),
		ExpType:    strings.TrimSpace(expType.V),
		Remark:     remark.V,
		ExternalID: external.V,
		Raw:        compact,
	}
	return e, orPtr(cr, ob), nil
}
