package dmhub

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// levelsStream reads the level rules, GET /loyalty/v1/settings/level/rules
// (vendor-api.md §1.5 #10), into levels: one unpaged request per run.
type levelsStream struct {
	c      *Client
	source string
}

var _ connectors.Stream = (*levelsStream)(nil)

const levelsPath = "/loyalty/v1/settings/level/rules"

// Fetch implements connectors.Stream.
func (s *levelsStream) Fetch(ctx context.Context, _ connectors.Request) (connectors.Batch, error) {
	b := connectors.Batch{Requests: 1}
	body, err := s.c.Get(ctx, levelsPath, nil)
	if err != nil {
		return connectors.Batch{}, err
	}
	bad := func(err error) error {
		return &connectors.Error{Class: connectors.Permanent, Source: s.source, Op: "GET " + levelsPath,
			Message: "unexpected response", Err: err}
	}
	var page listPage
	if err := json.Unmarshal(body, &page); err != nil {
		return connectors.Batch{}, bad(fmt.Errorf("not a {\"rows\":[…]} list: %w", err))
	}
	b.Add(connectors.DecodeRecords(s.source, "levels", "", page.Rows, func(raw json.RawMessage) (warehouse.Level, error) {
		return decodeLevel(s.source, raw)
	}, "id"))
	b.Pages, b.Items, b.Done = 1, int64(len(b.Rows)), true
	return b, nil
}

// decodeLevel turns one level rule into a levels row: level_id = id
// (required), name, priority (0 = lowest, §1.9; absent reads as 0). The
// rule's settings (rules, operator, status, isForever…) stay in raw.
func decodeLevel(source string, raw []byte) (warehouse.Level, error) {
	var (
		id, name lenient.String
		priority lenient.Int
	)
	compact, err := decodeObject("level rule", raw, field{"id", &id}, field{"name", &name}, field{"priority", &priority})
	if err != nil {
		return warehouse.Level{}, err
	}
	lid := strings.TrimSpace(id.V)
	if lid == "" {
		return warehouse.Level{}, fmt.Errorf("level rule without an id: %s", lenient.Clip(compact))
	}
	if priority.V < math.MinInt32 || priority.V > math.MaxInt32 {
		return warehouse.Level{}, fmt.Errorf("level rule %s: priority %d is out of range", lenient.Clip(lid), priority.V)
	}
	return warehouse.Level{Common: warehouse.Common{Source: source}, LevelID: lid, Name: name.V,
		Priority: int32(priority.V), Raw: compact}, nil
}

// levelRules are a tenant's level rules, for reading the bare-number
// `level` of the old member format (S001).
type levelRules struct {
	byID       map[string]warehouse.Level
	byPriority map[int32]warehouse.Level
}

// fetchLevelRules reads the level rules (one request); rules that do not
// decode are left out.
func fetchLevelRules(ctx context.Context, c *Client, source string) (*levelRules, error) {
	body, err := c.Get(ctx, levelsPath, nil)
	if err != nil {
		return nil, err
	}
	var page listPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, &connectors.Error{Class: connectors.Permanent, Source: source, Op: "GET " + levelsPath,
			Message: "unexpected response", Err: fmt.Errorf("not a {\"rows\":[…]} list: %w", err)}
	}
	r := &levelRules{byID: map[string]warehouse.Level{}, byPriority: map[int32]warehouse.Level{}}
	for _, raw := range page.Rows {
		if l, err := decodeLevel(source, raw); err == nil {
			r.byID[l.LevelID] = l
			r.byPriority[l.Priority] = l
		}
	}
	return r, nil
}

// resolveLevel reads a bare-number level n of member m against the rules:
//   - n is a known level id and no rule has priority n: level_id = n,
//     with the rule's name and priority;
//   - n is a known priority and no rule has id n: level_priority = n,
//     with the rule's id and name;
//   - both (ambiguous): read as the priority, the meaning S001 documents
//     for the bare number (its example is 0, the lowest grade), with that
//     rule's id and name; raw keeps the value as sent;
//   - neither, or no rules: level_priority = n, id and name empty.
//
// It reports whether n was taken as a level id.
func (r *levelRules) resolveLevel(m *warehouse.Member, n int64) bool {
	m.LevelID, m.LevelName = "", ""
	p := int32Ptr(lenient.Int{V: n, Valid: true})
	m.LevelPriority = p
	if r == nil {
		return false
	}
	id := strconv.FormatInt(n, 10)
	byID, isID := r.byID[id]
	var byPrio warehouse.Level
	isPrio := false
	if p != nil {
		byPrio, isPrio = r.byPriority[*p]
	}
	switch {
	case isPrio:
		m.LevelID, m.LevelName = byPrio.LevelID, byPrio.Name
		return false
	case isID:
		prio := byID.Priority
		m.LevelID, m.LevelName, m.LevelPriority = byID.LevelID, byID.Name, &prio
		return true
	}
	return false
}
