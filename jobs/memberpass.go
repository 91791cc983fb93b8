package jobs

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// membersPerTask bounds the members one task of a per-member pass reads.
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
// the keys of member_keys (listed in a stable order from a cursor).
//
// Progress is member by member: a Fetch stops taking new members when the
// engine's task budget is spent, and returns the members of the group it
// finished, up to the first one not finished (the contiguous prefix), with
// a cursor right after it. When member k fails, Fetch returns the
// finished members before k in a *partialError: the group handler loads
// them and checkpoints after them, and the retry starts at k.
type memberPass struct {
	e      *Engine
	src    *config.Source
	stream string
	ms     connectors.MemberStream
}

type passCursor struct {
	After string `json:"after,omitempty"` // last member id read (DM Hub)
	Keys  string `json:"keys,omitempty"`  // key lister cursor of the current group (member_keys)
	// Skip is how many keys of the group at Keys are already read.
	Skip   int             `json:"skip,omitempty"`
	Commit json.RawMessage `json:"commit,omitempty"` // cursor to commit when the pass is done
}

// partialError is a member failure after some members of the group
// finished: batch holds those, with the cursor after the last of them.
type partialError struct {
	batch connectors.Batch
	err   error
}

func (e *partialError) Error() string { return e.err.Error() }
func (e *partialError) Unwrap() error { return e.err }

// memberResult is what one member's read gave.
type memberResult struct {
	batch connectors.MemberBatch
	err   error
}

// Fetch implements connectors.Stream.
func (p *memberPass) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	start := p.e.now()
	var cur passCursor
	if len(req.Cursor) > 0 {
		if err := json.Unmarshal(req.Cursor, &cur); err != nil {
			return connectors.Batch{}, fmt.Errorf("%s: cursor: %w", p.stream, err)
		}
	}
	var b connectors.Batch
	var snaps []warehouse.MemberSnap
	var keys []string
	lastGroup := false // this group is the pass's last one
	nextKeys := ""
	wh := p.e.wh
	if readsSyncedMembers(p.src, p.stream) {
		changedFor := ""
		if req.Mode == connectors.Incremental {
			changedFor = p.stream
		}
		// a key snapshot paged by position (O(N) ClickHouse work per
		// pass), in member id order: Keys is the page of the current
		// group, After the last member of the pass already read, so a
		// group re-read after a partial failure (or a snapshot made again)
		// skips exactly the members done
		page, next, err := wh.MemberPage(ctx, p.src.Name, changedFor, cur.Keys, membersPerTask)
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
		for _, s := range page {
			if cur.After == "" || s.ID > cur.After {
				snaps = append(snaps, s)
				keys = append(keys, s.ID)
			}
		}
		nextKeys, lastGroup = next, next == ""
	} else {
		if p.src.MemberKeys == nil {
			return b, fmt.Errorf("%s/%s: member_keys is not configured", p.src.Name, p.stream)
		}
		all, next, err := p.e.keys().ListKeys(ctx, p.src.MemberKeys, cur.Keys, membersPerTask)
		if err != nil {
			return b, err
		}
		keys = all[min(cur.Skip, len(all)):]
		nextKeys, lastGroup = next, next == ""
	}
	var known map[string]map[string]bool
	if l, ok := p.ms.(connectors.Ledger); ok && req.Mode == connectors.Incremental && readsSyncedMembers(p.src, p.stream) {
		var err error
		if known, err = wh.KnownEntries(ctx, l.LedgerTable(), p.src.Name, keys); err != nil {
			return b, err
		}
	}
	results, launched := p.readMembers(ctx, req, keys, known, start)
	// the contiguous prefix of finished members
	n := 0
	for n < launched && results[n].err == nil {
		n++
	}
	for _, r := range results[:n] {
		b.Rows = append(b.Rows, r.batch.Rows...)
		b.Pages += r.batch.Pages
		b.Requests += r.batch.Requests
		if r.batch.Commit != nil {
			cur.Commit = r.batch.Commit
		}
	}
	// the change-detection snapshot goes last: Load inserts table by table
	// in order, so it lands only after the records did
	for _, s := range snaps[:min(n, len(snaps))] {
		b.Rows = append(b.Rows, warehouse.MemberState{Common: warehouse.Common{Source: p.src.Name}, Stream: p.stream,
			MemberID: s.ID, LastUpdated: s.LastUpdated, Point: s.Point})
	}
	b.Items = int64(n)
	switch {
	case readsSyncedMembers(p.src, p.stream):
		if n > 0 {
			cur.After = keys[n-1]
		}
		if n == len(keys) {
			cur.Keys = nextKeys
		}
	case n == len(keys):
		cur.Keys, cur.Skip = nextKeys, 0
	default:
		cur.Skip += n
	}
	b.Done = lastGroup && n == len(keys)
	if b.Done {
		b.Commit = cur.Commit
	}
	b.Next, _ = json.Marshal(cur)
	if n < launched {
		err := results[n].err
		if n == 0 {
			return connectors.Batch{}, err
		}
		return connectors.Batch{}, &partialError{batch: b, err: err}
	}
	if n < len(keys) {
		loggerFrom(ctx, p.e.log).Info("task budget spent: checkpointing the members finished", "members", n, "of", len(keys),
			"budget", p.e.budget)
	}
	return b, nil
}

// readMembers reads members in order with bounded concurrency. It stops
// taking new members when one fails or when the task budget (from start)
// is spent, always taking at least the first; the members already taken
// finish. It returns every member's result and how many were taken.
func (p *memberPass) readMembers(ctx context.Context, req connectors.Request, keys []string, known map[string]map[string]bool,
	start time.Time) ([]memberResult, int) {
	results := make([]memberResult, len(keys))
	sem := make(chan struct{}, max(p.src.Concurrency, 1))
	var wg sync.WaitGroup
	var mu sync.Mutex
	failed := false
	launched := 0
	for i, key := range keys {
		mu.Lock()
		stop := failed
		mu.Unlock()
		if stop || (i > 0 && p.e.now().Sub(start) >= p.e.budget) {
			break
		}
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			results[i].err = ctx.Err()
			launched++
			wg.Wait()
			return results, launched
		}
		mu.Lock()
		stop = failed
		mu.Unlock()
		if stop {
			<-sem
			break
		}
		launched++
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			mreq := connectors.MemberRequest{Mode: req.Mode, Member: key, Since: req.Since, MaxPages: p.src.MaxMemberPages, Log: req.Logger()}
			if known != nil {
				k := known[key]
				mreq.Known = func(id string) bool { return k[id] }
			}
			r, err := p.ms.FetchMember(ctx, mreq)
			if connectors.IsNotFound(err) {
				// the vendor does not know this member: no records, but
				// the requests it took count
				results[i].batch = connectors.MemberBatch{Pages: r.Pages, Requests: r.Requests}
				return
			}
			if err != nil {
				results[i].err = fmt.Errorf("%s member %s: %w", p.stream, key, err)
				mu.Lock()
				failed = true
				mu.Unlock()
				return
			}
			results[i].batch = r
		}()
	}
	wg.Wait()
	return results, launched
}
