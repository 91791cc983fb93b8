package dmhub

import (
	"context"
	"fmt"
	"math"
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
	for _, raw := range page.Rows {
		l, err := decodeLevel(s.source, raw)
		if err != nil {
			b.Rows = append(b.Rows, connectors.Reject(s.source, "levels", raw, err, "id"))
			b.Rejected++
			continue
		}
		b.Rows = append(b.Rows, l)
	}
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
