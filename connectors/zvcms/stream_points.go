package zvcms

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/goccy/go-json"
	"github.com/shopspring/decimal"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// pointsStream reads one customer's points history with the V2 action
// user.user-points-records [Z-pts2] (there is no V3 history, vendor-api.md
// §5 #14), paging with page/page_size until last_page. The history has no
// date filter and no documented order, so both modes read every page;
// there is no incremental cursor, and reloads are idempotent (stable
// entry ids).
type pointsStream struct {
	c        *Client
	source   string
	pageSize int
}

var _ connectors.Stream = (*pointsStream)(nil)

// PointsCursor is the next page of one customer's history.
type PointsCursor struct {
	Page int `json:"page"`
}

type pointsParams struct {
	UserID   userID `json:"user_id"`
	Page     int    `json:"page"`
	PageSize int    `json:"page_size"`
}

// userID is user_id, typed int by the vendor: a decimal key that fits an
// int64 is sent as a JSON number (all 18 digits, no float rounding), any
// other key as a string.
type userID string

func (u userID) MarshalJSON() ([]byte, error) {
	s := strings.TrimSpace(string(u))
	if n, err := strconv.ParseInt(s, 10, 64); err == nil && n > 0 && s[0] != '+' && s[0] != '0' {
		return []byte(s), nil
	}
	return json.Marshal(string(u))
}

// Fetch implements connectors.Stream. Partition is the customer id, sent
// as user_id.
func (s *pointsStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	const op = "POST /api/v2 " + ActionPointsRecords
	key, err := connectors.MemberKey(s.source, op, req.Partition)
	if err != nil {
		return connectors.Batch{}, err
	}
	cur := PointsCursor{Page: 1}
	if err := connectors.ReadCursor(s.source, op, "points cursor", req.Cursor, &cur,
		func(c PointsCursor) bool { return c.Page >= 1 }); err != nil {
		return connectors.Batch{}, err
	}
	var b connectors.Batch
	for b.Pages < max(req.Pages, 1) {
		data, err := s.c.CallV2(ctx, ActionPointsRecords, pointsParams{UserID: userID(key), Page: cur.Page, PageSize: s.pageSize})
		b.Pages++
		b.Requests++
		if err != nil {
			return connectors.Batch{}, err
		}
		pg, err := decodePoints(s.source, key, data)
		if err != nil {
			return connectors.Batch{}, connectors.DataError(s.source, op, err)
		}
		b.Add(pg.rows)
		b.Items += int64(len(pg.rows))
		b.Total = max(b.Total, pg.total)
		n := len(pg.rows)
		if n == 0 || (pg.lastPage > 0 && int64(cur.Page) >= pg.lastPage) || (pg.lastPage <= 0 && n < s.pageSize) {
			b.Done = true
			return b, nil
		}
		cur.Page++
	}
	b.Next, _ = json.Marshal(cur)
	return b, nil
}

// pointsData is the `data` of user.user-points-records.
type pointsData struct {
	LastPage lenient.Int       `json:"last_page"`
	Total    lenient.Int       `json:"total"`
	ItemList []json.RawMessage `json:"item_list"`
}

// pointsItem is one history entry [Z-pts2]. id is not documented and is
// used when present.
type pointsItem struct {
	ID            lenient.String  `json:"id"`
	PreviousPoint lenient.Decimal `json:"previous_point"`
	Type          lenient.String  `json:"type"`
	SubType       lenient.String  `json:"sub_type"`
	SubName       lenient.String  `json:"sub_name"`
	Points        lenient.Decimal `json:"points"`
	Desc          lenient.String  `json:"desc"`
	CreatedAt     lenient.String  `json:"created_at"`
	ChangeText    lenient.String  `json:"change_text"`
}

type pointsPage struct {
	rows     []warehouse.Row
	lastPage int64
	total    int64
}

// decodePoints maps the `data` of one history page.
func decodePoints(source, member string, data json.RawMessage) (pointsPage, error) {
	d := bytes.TrimSpace(data)
	if lenient.Absent(d) || string(d) == "[]" {
		return pointsPage{}, nil
	}
	var pd pointsData
	if err := json.Unmarshal(d, &pd); err != nil {
		return pointsPage{}, fmt.Errorf("data: %w", err)
	}
	seen := lenient.Occurrences{}
	rows := connectors.DecodeRecords(source, "points", "item_list", pd.ItemList, func(raw json.RawMessage) (warehouse.PointEntry, error) {
		return decodePoint(source, member, raw, seen)
	}, "id")
	return pointsPage{rows: rows, lastPage: pd.LastPage.V, total: pd.Total.V}, nil
}

// decodePoint maps one entry: type 1 (奖励积分, awarded) is +|points|,
// type 2 (消耗积分, spent) is −|points|, any other type keeps the sign it
// was sent with. pattern = sub_type, the vendor's pattern number (the
// direction is the sign of delta; type stays in entry_type);
// pattern_name = sub_name; old_point = previous_point
// and new_point = old_point + delta; remark = desc, else change_text;
// occurred_at = created_at in China time. entry_id = id when sent, else
// hashID over the customer id, created_at, type, sub_type, points,
// previous_point, desc and change_text, numbered when repeated in a page.
func decodePoint(source, member string, raw json.RawMessage, seen lenient.Occurrences) (warehouse.PointEntry, error) {
	var it pointsItem
	rawText, err := connectors.ReadRecord("points item", raw, &it)
	if err != nil {
		return warehouse.PointEntry{}, err
	}
	if instant(it.CreatedAt.V) == nil {
		if err := lenient.CheckTimes(lenient.Shanghai, "created_at", it.CreatedAt.V); err != nil {
			return warehouse.PointEntry{}, err
		}
	}
	typ, sub := lenient.Code(it.Type.V), lenient.Code(it.SubType.V)
	pts := it.Points.V.Round(0)
	switch typ {
	case "1":
		pts = pts.Abs()
	case "2":
		pts = pts.Abs().Neg()
	}
	if !fitsPoints(pts) || (it.PreviousPoint.Valid && !fitsPoints(it.PreviousPoint.V.Round(0))) {
		return warehouse.PointEntry{}, fmt.Errorf("points out of range: %s", lenient.Clip(string(raw)))
	}
	id := strings.TrimSpace(it.ID.V)
	if id == "" {
		id = seen.ID(lenient.HashID(member, it.CreatedAt.V, typ, sub, it.Points.V.String(), it.PreviousPoint.V.String(),
			it.Desc.V, it.ChangeText.V))
	}
	e := warehouse.PointEntry{
		Common:      warehouse.Common{Source: source},
		EntryID:     id,
		MemberID:    member,
		Delta:       pts.IntPart(),
		Pattern:     sub,
		PatternName: strings.TrimSpace(it.SubName.V),
		OccurredAt:  instant(it.CreatedAt.V),
		Remark:      lenient.First(it.Desc.V, it.ChangeText.V),
		EntryType:   typ,
		Raw:         rawText,
	}
	if it.PreviousPoint.Valid {
		old := it.PreviousPoint.V.Round(0).IntPart()
		next := old + e.Delta
		e.OldPoint, e.NewPoint = &old, &next
	}
	return e, nil
}

// fitsPoints bounds point values so that sums cannot overflow an int64.
func fitsPoints(d decimal.Decimal) bool { return d.Abs().BigInt().BitLen() <= 61 }
