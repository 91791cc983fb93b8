package houcaller

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// pointsStream reads one member's points history with
// queryMemberScoRecordForShop [H-sco]: `month` is required, so it walks
// month by month, and pages each month with page{offset, limit} until
// page.next is false.
//
// Full mode (and Incremental with nothing committed) walks back from the
// current China-local month towards monthsBack months before it, and stops
// early after emptyStop consecutive months without a record (0: never):
// a member with three months of history costs 3 + emptyStop requests, not
// monthsBack + 1. The price: history older than a gap of emptyStop empty
// months is not read on a full run (houcaller.points_empty_months).
// Incremental walks forward from one month before the committed month
// (records booked late into the previous month are re-read; loads are
// idempotent) to the current one. Either way the run commits the month
// that was current when it started. The window is fixed in the cursor by
// the run's first Fetch, so later replays read the same months.
type pointsStream struct {
	c          *Client
	source     string
	key        KeyField
	now        func() time.Time
	monthsBack int
	emptyStop  int
	layout     string
	pageSize   int
}

var _ connectors.Stream = (*pointsStream)(nil)

// PointsCursor is the position of a points run: the month being read
// ("YYYY-MM", China time), the row offset inside it, and the last month of
// the run. A backward run (From set) reads from Until down to From, and
// Empty counts the consecutive empty months it has just read.
type PointsCursor struct {
	Month  string `json:"month"`
	Offset int    `json:"offset"`
	Until  string `json:"until"`
	From   string `json:"from,omitempty"`
	Empty  int    `json:"empty,omitempty"`
}

// PointsSince is the committed cursor of the points stream: the last
// month a completed run read.
type PointsSince struct {
	Month string `json:"month"`
}

const monthKey = "2006-01"

// scoParam is the plaintext of `param`. offset and limit are strings, as
// the vendor types them.
type scoParam struct {
	QueryType string  `json:"queryType"`
	MemberID  string  `json:"memberId,omitempty"`
	OpenID    string  `json:"openId,omitempty"`
	Month     string  `json:"month"`
	Page      scoPage `json:"page"`
}

type scoPage struct {
	Offset string `json:"offset"`
	Limit  string `json:"limit"`
}

// scoData is the `data` of queryMemberScoRecordForShop.
type scoData struct {
	Records []json.RawMessage `json:"records"`
	Page    *struct {
		Next  *bool       `json:"next"`
		Pages lenient.Int `json:"pages"`
	} `json:"page"`
}

// Fetch implements connectors.Stream. Partition is the member key.
func (s *pointsStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	key, err := connectors.MemberKey(s.source, opName(MethodQueryScoRecord), req.Partition)
	if err != nil {
		return connectors.Batch{}, err
	}
	cur, err := s.start(req)
	if err != nil {
		return connectors.Batch{}, err
	}
	month, _ := time.Parse(monthKey, cur.Month)
	until, _ := time.Parse(monthKey, cur.Until)
	back := cur.From != ""
	from, _ := time.Parse(monthKey, cur.From)
	fallback := ""
	if s.key == KeyMemberID {
		fallback = key
	}
	limit := s.pageSize
	if limit <= 0 {
		limit = DefaultPageSize
	}
	var b connectors.Batch
	for b.Pages < max(req.Pages, 1) {
		data, err := s.c.Call(ctx, MethodQueryScoRecord, s.param(key, month, cur.Offset, limit))
		b.Pages++
		b.Requests++
		if err != nil {
			return connectors.Batch{}, err
		}
		rows, pg, err := decodePoints(s.source, fallback, key, data, limit)
		if err != nil {
			return connectors.Batch{}, connectors.DataError(s.source, opName(MethodQueryScoRecord), err)
		}
		b.Add(rows)
		b.Items += int64(len(rows))
		// page.pages, when sent, bounds the month even if next stays true
		if pg.next && (pg.pages <= 0 || int64(cur.Offset/limit+1) < pg.pages) {
			cur.Offset += limit
			continue
		}
		if !back {
			month, cur.Offset = month.AddDate(0, 1, 0), 0
			if month.After(until) {
				b.Done = true
				b.Commit, _ = json.Marshal(PointsSince{Month: cur.Until})
				return b, nil
			}
			continue
		}
		// the month ends: empty when its first page had no record
		if cur.Offset == 0 && len(rows) == 0 {
			cur.Empty++
		} else {
			cur.Empty = 0
		}
		month, cur.Offset = month.AddDate(0, -1, 0), 0
		if month.Before(from) || (s.emptyStop > 0 && cur.Empty >= s.emptyStop) {
			b.Done = true
			b.Commit, _ = json.Marshal(PointsSince{Month: cur.Until})
			return b, nil
		}
	}
	cur.Month = month.Format(monthKey)
	b.Next, _ = json.Marshal(cur)
	return b, nil
}

// start returns the run's position: the request's cursor, or a new one.
func (s *pointsStream) start(req connectors.Request) (PointsCursor, error) {
	op := opName(MethodQueryScoRecord)
	if !lenient.Absent(req.Cursor) {
		var cur PointsCursor
		err := connectors.ReadCursor(s.source, op, "points cursor", req.Cursor, &cur, func(cur PointsCursor) bool {
			return validMonth(cur.Month) && validMonth(cur.Until) && cur.Offset >= 0 && cur.Month <= cur.Until && cur.Empty >= 0 &&
				(cur.From == "" || (validMonth(cur.From) && cur.Month >= cur.From))
		})
		return cur, err
	}
	until := monthOf(s.now())
	from := until.AddDate(0, -s.monthsBack, 0)
	if req.Mode != connectors.Incremental || lenient.Absent(req.Since) {
		// a full read: newest month first, so it can stop at a gap
		return PointsCursor{Month: until.Format(monthKey), Until: until.Format(monthKey), From: from.Format(monthKey)}, nil
	}
	var since PointsSince
	if err := connectors.ReadCursor(s.source, op, "committed points cursor", req.Since, &since,
		func(since PointsSince) bool { return validMonth(since.Month) }); err != nil {
		return PointsCursor{}, err
	}
	m, _ := time.Parse(monthKey, since.Month)
	from = m.AddDate(0, -1, 0)
	if from.After(until) {
		from = until
	}
	return PointsCursor{Month: from.Format(monthKey), Until: until.Format(monthKey)}, nil
}

func (s *pointsStream) param(key string, month time.Time, offset, limit int) scoParam {
	p := scoParam{QueryType: "memberId", MemberID: key, Month: month.Format(s.layout),
		Page: scoPage{Offset: strconv.Itoa(offset), Limit: strconv.Itoa(limit)}}
	if s.key == KeyPlatformID {
		p.QueryType, p.MemberID, p.OpenID = "openId", "", key
	}
	return p
}

// monthOf is the first day of t's China-local month, as a UTC date
// (months are calendar labels, not instants).
func monthOf(t time.Time) time.Time {
	l := t.In(lenient.Shanghai)
	return time.Date(l.Year(), l.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func validMonth(s string) bool {
	_, err := time.Parse(monthKey, s)
	return err == nil
}

// scoRecord is one points record [H-sco]; id, ctime, srcId, scoType,
// hbsBusiType and mmbId are not in the H-sco table but appear in the
// vendor's points records elsewhere [H-cons] and are read when present.
type scoRecord struct {
	ID          lenient.String  `json:"id"`
	BizDate     lenient.String  `json:"bizDate"`
	CTime       lenient.String  `json:"ctime"`
	CardNo      lenient.String  `json:"cardNo"`
	OrgCode     lenient.String  `json:"orgCode"`
	Remark      lenient.String  `json:"remark"`
	ScoType     lenient.String  `json:"scoType"`
	HbsBusiType lenient.String  `json:"hbsBusiType"`
	IncScore    lenient.Decimal `json:"incScore"`
	ExpScore    lenient.Decimal `json:"expScore"`
	Amount      lenient.String  `json:"amount"`
	ConsAmt     lenient.String  `json:"consAmt"`
	ScoreAmt    lenient.String  `json:"scoreAmt"`
	SrcID       lenient.String  `json:"srcId"`
	MmbID       lenient.String  `json:"mmbId"`
}

// pageInfo is what a points page says about the rest of its month.
type pageInfo struct {
	next  bool
	pages int64 // page.pages, 0 when absent
}

// decodePoints turns the `data` of one points page into ledger rows and
// says whether the month has a next page: page.next when the vendor sends
// it, else whether the page was full. An empty page never has a next one.
// member is the member id when the key is one; key goes into entry ids.
func decodePoints(source, member, key string, data json.RawMessage, limit int) ([]warehouse.Row, pageInfo, error) {
	if lenient.Absent(data) {
		return nil, pageInfo{}, nil
	}
	var sd scoData
	if err := json.Unmarshal(data, &sd); err != nil {
		return nil, pageInfo{}, fmt.Errorf("data: %w", err)
	}
	seen := lenient.Occurrences{}
	rows := connectors.DecodeRecords(source, "points", "records", sd.Records, func(raw json.RawMessage) (warehouse.PointEntry, error) {
		return decodePoint(source, member, key, raw, seen)
	}, "id")
	pg := pageInfo{next: len(sd.Records) >= limit}
	if sd.Page != nil {
		if sd.Page.Next != nil {
			pg.next = *sd.Page.Next
		}
		pg.pages = sd.Page.Pages.V
	}
	pg.next = pg.next && len(sd.Records) > 0
	return rows, pg, nil
}

// decodePoint maps one record. Delta = |incScore| − |expScore|, rounded
// to an integer. Records without an id get a hash id over the member key
// and every identifying field (hashID), numbered within the page when
// repeated.
func decodePoint(source, member, key string, raw json.RawMessage, seen lenient.Occurrences) (warehouse.PointEntry, error) {
	var r scoRecord
	rawText, err := connectors.ReadRecord("points record", raw, &r)
	if err != nil {
		return warehouse.PointEntry{}, err
	}
	if err := lenient.CheckTimes(lenient.Shanghai, "ctime", r.CTime.V, "bizDate", r.BizDate.V); err != nil {
		return warehouse.PointEntry{}, err
	}
	delta := r.IncScore.V.Abs().Sub(r.ExpScore.V.Abs()).Round(0)
	if !delta.IsInteger() || delta.Abs().BigInt().BitLen() > 62 {
		return warehouse.PointEntry{}, fmt.Errorf("points out of range: %s", lenient.Clip(delta.String()))
	}
	id := strings.TrimSpace(r.ID.V)
	if id == "" {
		id = seen.ID(lenient.HashID(key, r.BizDate.V, r.CTime.V, r.ScoType.V, r.HbsBusiType.V, r.IncScore.V.String(),
			r.ExpScore.V.String(), r.Amount.V, r.ConsAmt.V, r.ScoreAmt.V, r.OrgCode.V, r.CardNo.V, r.Remark.V, r.SrcID.V))
	}
	return warehouse.PointEntry{
		Common:      warehouse.Common{Source: source},
		EntryID:     id,
		MemberID:    lenient.First(r.MmbID.V, member, key),
		Delta:       delta.IntPart(),
		Pattern:     lenient.Code(r.ScoType.V),
		PatternName: ScoTypeName(r.ScoType.V),
		OccurredAt:  firstTime(r.CTime.V, r.BizDate.V),
		Remark:      r.Remark.V,
		EntryType:   lenient.Code(r.HbsBusiType.V),
		ExternalID:  strings.TrimSpace(r.SrcID.V),
		Raw:         rawText,
	}, nil
}
