package dmhub

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// membersStream pages GET /loyalty/v1/membership.
//
// Full mode scans every page ordered by id ascending (new members append
// at the end, so none is missed) until a short page; `total`/`records` are
// never trusted for loop control (the documents' own example is
// inconsistent). Incremental mode asks for sidx=lastUpdated&sord=desc and
// stops at the first member updated before the committed cursor minus the
// lookback. DM Hub does not document sorting for this list, so the stream
// verifies the order it gets: when a page is not sorted by lastUpdated
// descending, it falls back to the full id-ordered scan for this run.
//
// The committed cursor is the newest lastUpdated a completed run saw, but
// never later than the run's start: a member updated while the scan ran
// has a lastUpdated after the start, so the next run's bound (cursor minus
// lookback) includes it even when the scan had already passed its page
// (an id-ordered scan cannot see such a change, and a lastUpdated-ordered
// one moves it to a page already read). A lastUpdated beyond now plus the
// source's clock_tolerance is a vendor clock error: it is loaded as sent
// but ignored for the cursor, logged and counted (Batch.Clamped), so one
// member dated 2099 cannot freeze incremental sync. A committed cursor
// beyond that limit (written by an older release) is dropped and the run
// scans everything by id. The cap assumes the vendor's clock lags ours by
// less than the lookback.
type membersStream struct {
	c         *Client
	source    string
	pageSize  int
	lookback  time.Duration
	tolerance time.Duration
	now       func() time.Time
}

type memberCursor struct {
	Order    string     `json:"order"` // "lastUpdated" (desc) or "id" (asc)
	Page     int        `json:"page"`
	Rows     int        `json:"rows,omitempty"` // page size the vendor actually serves, once probed
	Max      *time.Time `json:"max,omitempty"`  // newest lastUpdated seen in this run
	Prev     *time.Time `json:"prev,omitempty"` // last lastUpdated of the previous page (sort check)
	Fallback bool       `json:"fallback,omitempty"`
	Started  *time.Time `json:"started,omitempty"` // the run's start: the cursor's upper bound
}

// MemberSince is the members stream's committed cursor.
type MemberSince struct {
	LastUpdated time.Time `json:"last_updated"`
}

type memberPage struct {
	Rows    []json.RawMessage `json:"rows"`
	Records lenient.Int       `json:"records"`
}

// Fetch implements connectors.Stream.
func (s *membersStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	log := req.Logger()
	now := s.clock()
	limit := now.Add(s.tol())
	var b connectors.Batch
	var since *MemberSince
	if len(req.Since) > 0 {
		since = new(MemberSince)
		if err := json.Unmarshal(req.Since, since); err != nil {
			return connectors.Batch{}, fmt.Errorf("members: committed cursor %s: %w", req.Since, err)
		}
		if since.LastUpdated.After(limit) {
			if len(req.Cursor) == 0 { // once per run
				b.Clamped++
				log.Warn("members: the committed cursor is in the future (a vendor clock error); ignoring it and scanning every member",
					"source", s.source, "cursor", since.LastUpdated, "now", now)
			}
			since = nil
		}
	}
	cur := memberCursor{Order: "id", Page: 1}
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			return connectors.Batch{}, fmt.Errorf("members: cursor %s: %w", req.Cursor, err)
		}
	} else if req.Mode == connectors.Incremental && since != nil {
		cur.Order = "lastUpdated"
	}
	// the scan's start: fixed by its first Fetch and kept in the cursor,
	// so a run resumed from a failed run's position keeps the start of
	// the scan that read the earlier pages. Whole seconds, rounded down:
	// the vendor's lastUpdated has whole seconds, so a member changed in
	// the second the scan started (after its page was read) has a
	// lastUpdated before a sub-second start and would fall below the next
	// run's bound (TestReliabilityVendorChangesMidScan, lookback 1ms).
	switch {
	case cur.Started != nil:
	case !req.RunStarted.IsZero():
		t := req.RunStarted.UTC().Truncate(time.Second)
		cur.Started = &t
	default:
		t := now.Truncate(time.Second)
		cur.Started = &t
	}
	var bound time.Time
	if since != nil {
		bound = since.LastUpdated.Add(-s.lookback)
	}
	var rules *levelRules
	rulesRead := false
	for n := 0; n < max(req.Pages, 1) && !b.Done; n++ {
		rows := s.pageSize
		if cur.Rows > 0 {
			rows = cur.Rows
		}
		q := url.Values{"rows": {itoa(rows)}, "page": {itoa(cur.Page)}, "sidx": {cur.Order}}
		if cur.Order == "id" {
			q.Set("sord", "asc")
		} else {
			q.Set("sord", "desc")
		}
		if cur.Page == 1 {
			q.Set("needTotal", "true")
		}
		body, err := s.c.Get(ctx, "/loyalty/v1/membership", q)
		b.Requests++
		if err != nil {
			return connectors.Batch{}, err
		}
		b.Pages++
		var page memberPage
		if err := json.Unmarshal(body, &page); err != nil {
			return connectors.Batch{}, s.badPage(cur.Page, err)
		}
		if cur.Page == 1 && cur.Order == "id" && page.Records.Valid {
			b.Total = page.Records.V
		}
		sorted := true
		prev := cur.Prev
		below := false
		pageStart := len(b.Rows)
		var old []bool // per row of this page: updated before the bound
		for i, raw := range page.Rows {
			m, lvl, err := decodeMemberLevel(s.source, raw)
			if err == nil && lvl.Bare {
				if !rulesRead {
					if rules, err = s.levelRules(ctx, log); err != nil {
						return connectors.Batch{}, err
					}
					rulesRead = true
				}
				rules.resolveLevel(&m, lvl.Priority.V)
			}
			if err != nil {
				// a poison record: stored in rejected_records, the run
				// goes on (it has no lastUpdated for the order check)
				b.Rows = append(b.Rows, connectors.Reject(s.source, "members", raw, err, "id"))
				b.Rejected++
				b.Items++
				old = append(old, false)
				continue
			}
			b.Rows = append(b.Rows, m)
			b.Items++
			old = append(old, false)
			if lu := m.LastUpdated; lu != nil {
				if lu.After(limit) {
					b.Clamped++
					log.Warn("members: lastUpdated is beyond now plus the clock tolerance; loaded, but not used for the cursor",
						"source", s.source, "member", m.MemberID, "last_updated", *lu, "now", now)
				} else if cur.Max == nil || lu.After(*cur.Max) {
					t := *lu
					cur.Max = &t
				}
				if cur.Order == "lastUpdated" {
					if prev != nil && lu.After(*prev) {
						sorted = false
					}
					prev = lu
					if since != nil && lu.Before(bound) {
						below, old[i] = true, true
					}
				}
			}
		}
		switch {
		case cur.Order == "lastUpdated" && !sorted:
			// The vendor ignored sidx/sord: scan everything by id instead.
			cur = memberCursor{Order: "id", Page: 1, Max: cur.Max, Fallback: true, Started: cur.Started}
			b.Fallback = true
		case below:
			// the page was checked whole for its order; the members
			// updated before the bound are unchanged: do not load them
			// again (their new synced_at would mark them changed)
			kept := b.Rows[:pageStart]
			for i, r := range b.Rows[pageStart:] {
				if !old[i] {
					kept = append(kept, r)
				}
			}
			b.Rows = kept
			b.Done = true
		case cur.Page == 1 && cur.Rows == 0 && mayBeCap(len(page.Rows), rows):
			// A short first page is either the whole list or a vendor
			// cap on rows below page_size. Probe page 2 at the size
			// served: empty means done, full means the vendor caps.
			cur.Rows, cur.Page, cur.Prev = len(page.Rows), 2, prev
		case len(page.Rows) < rows:
			b.Done = true
		default:
			cur.Page++
			cur.Prev = prev
		}
	}
	next, _ := json.Marshal(cur)
	b.Next = next
	if b.Done {
		commit := MemberSince{}
		if since != nil {
			commit.LastUpdated = since.LastUpdated
		}
		if m := cur.Max; m != nil && m.After(commit.LastUpdated) {
			if cur.Started != nil && m.After(*cur.Started) {
				// never past the run's start: see membersStream
				m = cur.Started
			}
			if m.After(commit.LastUpdated) {
				commit.LastUpdated = *m
			}
		}
		if !commit.LastUpdated.IsZero() {
			b.Commit, _ = json.Marshal(commit)
		}
	}
	return b, nil
}

// levelRules reads the level rules, which a bare-number level needs (at
// most once per Fetch). A permanent error (the tenant cannot read its
// rules) is logged and the bare numbers are read as priorities; any other
// error fails the Fetch, to be retried.
func (s *membersStream) levelRules(ctx context.Context, log *slog.Logger) (*levelRules, error) {
	r, err := fetchLevelRules(ctx, s.c, s.source)
	if err != nil {
		if connectors.ClassOf(err) != connectors.Permanent {
			return nil, err
		}
		log.Warn("members: the level rules cannot be read; bare-number levels are stored as priorities",
			"source", s.source, "err", err)
		return nil, nil
	}
	return r, nil
}

func (s *membersStream) clock() time.Time {
	if s.now != nil {
		return s.now().UTC()
	}
	return time.Now().UTC()
}

func (s *membersStream) tol() time.Duration {
	if s.tolerance > 0 {
		return s.tolerance
	}
	return config.DefaultClockTolerance
}

func (s *membersStream) badPage(page int, err error) error {
	return &connectors.Error{Class: connectors.Permanent, Source: s.source,
		Op: fmt.Sprintf("GET /loyalty/v1/membership page %d", page), Message: "unexpected response", Err: err}
}
