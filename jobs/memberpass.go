package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/goccy/go-json"
	"golang.org/x/sync/errgroup"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// membersPerTask bounds the members one task of a per-member pass reads:
// a crash repeats at most this many members' requests.
const membersPerTask = 50

// memberPass runs a per-member stream over the members of a source, as a
// connectors.Stream: each Fetch takes the next group of members and reads
// them with bounded concurrency (source.concurrency; the shared rate limit
// is the real bound).
//
// Which members: for DM Hub, the members already synced into `members`
// (all of them in full mode; in incremental mode only those whose
// last_updated or point differ from what this stream saw when it last read
// them, per member_sync_state). For vendors looked up member by member,
// the keys of member_keys.
type memberPass struct {
	e      *Engine
	src    *config.Source
	stream string
	ms     connectors.MemberStream
}

type passCursor struct {
	After  string          `json:"after,omitempty"`  // last member id read (DM Hub)
	Keys   string          `json:"keys,omitempty"`   // key lister cursor (member_keys)
	Commit json.RawMessage `json:"commit,omitempty"` // cursor to commit when the pass is done
}

// Fetch implements connectors.Stream.
func (p *memberPass) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	var cur passCursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			return connectors.Batch{}, fmt.Errorf("%s: cursor: %w", p.stream, err)
		}
	}
	var b connectors.Batch
	var snaps []warehouse.MemberSnap
	var keys []string
	wh := p.e.WH
	if p.src.Kind == config.DMHub {
		changedFor := ""
		if req.Mode == connectors.Incremental {
			changedFor = p.stream
		}
		// a key snapshot paged by position: O(N) ClickHouse work per pass
		var err error
		snaps, cur.Keys, err = wh.MemberPage(ctx, p.src.Name, changedFor, cur.Keys, membersPerTask)
		if err != nil {
			return b, err
		}
		if len(req.Cursor) == 0 {
			n, err := wh.CountMembers(ctx, p.src.Name, changedFor)
			if err != nil {
				return b, err
			}
			b.Total = int64(n)
		}
		for _, s := range snaps {
			keys = append(keys, s.ID)
		}
		b.Done = cur.Keys == ""
		if len(snaps) > 0 {
			cur.After = snaps[len(snaps)-1].ID
		}
	} else {
		if p.src.MemberKeys == nil {
			return b, fmt.Errorf("%s/%s: member_keys is not configured", p.src.Name, p.stream)
		}
		var next string
		var err error
		keys, next, err = p.e.keys().ListKeys(ctx, p.src.MemberKeys, cur.Keys, membersPerTask)
		if err != nil {
			return b, err
		}
		cur.Keys, b.Done = next, next == ""
	}
	var known map[string]map[string]bool
	if l, ok := p.ms.(connectors.Ledger); ok && req.Mode == connectors.Incremental && p.src.Kind == config.DMHub {
		var err error
		if known, err = wh.KnownEntries(ctx, l.LedgerTable(), p.src.Name, keys); err != nil {
			return b, err
		}
	}
	results := make([]connectors.MemberBatch, len(keys))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(p.src.Concurrency)
	for i, key := range keys {
		g.Go(func() error {
			mreq := connectors.MemberRequest{Mode: req.Mode, Member: key, Since: req.Since, MaxPages: p.src.MaxMemberPages, Log: req.Logger()}
			if known != nil {
				k := known[key]
				mreq.Known = func(id string) bool { return k[id] }
			}
			r, err := p.ms.FetchMember(gctx, mreq)
			if errors.Is(err, connectors.ErrNotFound) {
				return nil // the vendor does not know this member: no records
			}
			if err != nil {
				return fmt.Errorf("%s member %s: %w", p.stream, key, err)
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return connectors.Batch{}, err
	}
	for _, r := range results {
		b.Rows = append(b.Rows, r.Rows...)
		b.Pages += r.Pages
		b.Requests += r.Requests
		if r.Commit != nil {
			cur.Commit = r.Commit
		}
	}
	if b.Done {
		b.Commit = cur.Commit
	}
	// the change-detection snapshot goes last: Load inserts table by table
	// in order, so it lands only after the records did
	for _, s := range snaps {
		b.Rows = append(b.Rows, warehouse.MemberState{Common: warehouse.Common{Source: p.src.Name}, Stream: p.stream,
			MemberID: s.ID, LastUpdated: s.LastUpdated, Point: s.Point})
	}
	b.Items = int64(len(keys))
	b.Next, _ = json.Marshal(cur)
	return b, nil
}

// keys is the engine's key lister.
func (e *Engine) keys() connectors.KeyLister { return e.Deps.Keys }
