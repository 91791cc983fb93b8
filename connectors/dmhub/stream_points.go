package dmhub

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// pointsStream reads one member's points history,
// GET /loyalty/v1/membership/{id}/point?rows=&page=&sord=desc
// (vendor-api.md §1.5 #15), into points_ledger. See readLedger for paging
// and the incremental early stop.
type pointsStream struct {
	c        *Client
	source   string
	pageSize int
	maxPages int // per member (max_member_pages)
}

var (
	_ connectors.MemberStream = (*pointsStream)(nil)
	_ connectors.Ledger       = (*pointsStream)(nil)
)

// LedgerTable implements connectors.Ledger.
func (s *pointsStream) LedgerTable() warehouse.Table { return warehouse.PointsLedger }

// FetchMember implements connectors.MemberStream.
func (s *pointsStream) FetchMember(ctx context.Context, req connectors.MemberRequest) (connectors.MemberBatch, error) {
	member, err := connectors.MemberKey(s.source, "GET /loyalty/v1/membership/{id}/point", req.Member)
	if err != nil {
		return connectors.MemberBatch{}, err
	}
	p := newPager(s.c, s.source, memberPath(member, "/point"), s.pageSize, url.Values{"sord": {"desc"}}).bounded(s.maxPages, req)
	return readLedger(ctx, p, req, "points", func(raw []byte) (ledgerEntry, error) {
		e, created, err := decodePointRecord(s.source, member, raw)
		return ledgerEntry{row: e, id: e.EntryID, created: created}, err
	})
}

// patternNames are the points `pattern` labels of vendor-api.md §1.9
// (S000 §5 积分方式): one code means different things on incr and decr.
var patternNames = map[string]map[string]string{
	"incr": {"0": "其他", "1": "初始积分", "2": "交易送积分", "3": "参与互动得积分", "4": "积分奖励", "5": "积分调整"},
	"decr": {"0": "其他", "1": "积分兑换", "2": "交易退积分", "3": "参与互动消耗积分", "4": "惩罚扣积分", "5": "积分调整",
		"6": "积分失效"},
}

// decodePointRecord turns one pointRecord (vendor-api.md §1.6) into a
// points_ledger row, and returns the record's order key (dateCreated,
// else date; see readLedger).
//
//   - entry_id = id (required); member_id = membershipId, else member.
//   - Direction: `type` -1 is a decrease and 1 an increase ([INF] §1.9,
//     §5 #5: the example has type -1 with oldPoint 119 → newPoint 114).
//     Without a usable type (absent, or another value) the direction is
//     the sign of newPoint-oldPoint; when that is 0 or unknown, a negative
//     `point` means a decrease, anything else an increase.
//   - delta = |point| with the direction's sign (`point` is the magnitude);
//     without `point`, |newPoint-oldPoint|; without either, 0.
//   - pattern = the vendor's pattern number N as sent (CONTRACT.md: the
//     direction is the sign of delta), pattern_name its §1.9 label for
//     that direction ("" for codes the table lacks); both "" without a
//     pattern.
//   - occurred_at = date, else dateCreated (UTC; zoneless means UTC, §1.8).
//   - entry_type = `type` as sent, as text.
func decodePointRecord(source, member string, raw []byte) (warehouse.PointEntry, *time.Time, error) {
	var (
		id, membership, date, created, pattern, typ, remark, external lenient.String
		point, oldPoint, newPoint                                     lenient.Int
	)
	compact, err := decodeObject("pointRecord", raw,
		field{"id", &id}, field{"membershipId", &membership}, field{"date", &date}, field{"dateCreated", &created},
		field{"pattern", &pattern}, field{"type", &typ}, field{"remark", &remark}, field{"externalId", &external},
		field{"point", &point}, field{"oldPoint", &oldPoint}, field{"newPoint", &newPoint})
	if err != nil {
		return warehouse.PointEntry{}, nil, err
	}
	entry := strings.TrimSpace(id.V)
	if entry == "" {
		return warehouse.PointEntry{}, nil, fmt.Errorf("pointRecord without an id: %s", lenient.Clip(compact))
	}
	dir, magnitude, err := pointChange(typ, point, oldPoint, newPoint)
	if err != nil {
		return warehouse.PointEntry{}, nil, fmt.Errorf("pointRecord %s: %w", lenient.Clip(entry), err)
	}
	delta := magnitude
	if dir == "decr" {
		delta = -magnitude
	}
	e := warehouse.PointEntry{
		Common:     warehouse.Common{Source: source},
		EntryID:    entry,
		MemberID:   orStr(strings.TrimSpace(membership.V), member),
		Delta:      delta,
		OldPoint:   oldPoint.Ptr(),
		NewPoint:   newPoint.Ptr(),
		Remark:     remark.V,
		EntryType:  strings.TrimSpace(typ.V),
		ExternalID: external.V,
		Raw:        compact,
	}
	if code := strings.TrimSpace(pattern.V); code != "" {
		// the vendor's pattern is a number (§1.9); anything else is a bad
		// record (rejected_records), not a pattern
		n, err := lenient.ParseInt(code)
		if err != nil {
			return warehouse.PointEntry{}, nil, fmt.Errorf("pointRecord %s: pattern %s is not a number", lenient.Clip(entry), lenient.Clip(code))
		}
		code = strconv.FormatInt(n, 10)
		e.Pattern = code
		e.PatternName = patternNames[dir][code]
	}
	var times lenient.Times
	at, cr := times.Parse("date", date.V, time.UTC), times.Parse("dateCreated", created.V, time.UTC)
	if err := times.Err(); err != nil {
		return warehouse.PointEntry{}, nil, fmt.Errorf("pointRecord %s: %w", lenient.Clip(entry), err)
	}
	e.OccurredAt = orPtr(at, cr)
	return e, orPtr(cr, at), nil
}

// pointChange returns the direction ("incr" or "decr") and the magnitude
// of a points change (see decodePointRecord).
func pointChange(typ lenient.String, point, oldPoint, newPoint lenient.Int) (string, int64, error) {
	var diff int64
	hasDiff := oldPoint.Valid && newPoint.Valid
	if hasDiff {
		var ok bool
		if diff, ok = sub(newPoint.V, oldPoint.V); !ok {
			return "", 0, errors.New("newPoint-oldPoint is out of the int64 range")
		}
	}
	t, terr := lenient.ParseInt(strings.TrimSpace(typ.V))
	dir := "incr"
	switch {
	case terr == nil && t == -1:
		dir = "decr"
	case terr == nil && t == 1:
	case diff < 0, diff == 0 && point.Valid && point.V < 0:
		dir = "decr"
	}
	var magnitude int64
	switch {
	case point.Valid:
		magnitude = point.V
	case hasDiff:
		magnitude = diff
	}
	if magnitude == math.MinInt64 {
		return "", 0, errors.New("point is out of the int64 range")
	}
	if magnitude < 0 {
		magnitude = -magnitude
	}
	return dir, magnitude, nil
}

// sub returns a-b, ok false on int64 overflow.
func sub(a, b int64) (int64, bool) {
	d := a - b
	if (b > 0 && d > a) || (b < 0 && d < a) {
		return 0, false
	}
	return d, true
}

// orStr returns a, or b when a is empty.
func orStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
