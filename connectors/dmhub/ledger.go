package dmhub

import (
	"context"
	"net/url"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// ledgerEntry is what the ledger reader needs of one decoded entry.
type ledgerEntry struct {
	row     warehouse.Row
	id      string
	created *time.Time // when the vendor recorded the entry: the order key
}

// readLedger reads one member's ledger (points or experience history),
// asking for newest first (sord=desc, vendor-api.md §1.4: the ledgers
// document sord but not sidx).
//
// Full mode (req.Known nil) reads every page. Incremental mode stops
// early, but only when the order is verified on what was read: every entry
// has an order key (dateCreated, else the business date) and the keys are
// non-increasing across all pages read, and the pages read hold a known
// entry strictly newer than the oldest entry read. The strictness matters:
// an entry the vendor recorded after the known one was loaded has a key
// at least as new as the known one's, so every later page (keys at most
// the oldest read, hence strictly older than the known entry) cannot hold
// it, even when several entries share one second. A page whose known
// entries all tie with its tail costs one more page; an order that cannot
// be verified (the vendor ignores sord, keys missing) means reading every
// page. Insertion time is the key rather than the business date, which a
// caller may backdate (§1.5 #5 takes a `date`): a backdated new entry sorts
// among old ones by date, but never by dateCreated.
//
// An entry that does not decode is emitted as a rejected_records row in
// its place (connectors.Reject) and breaks the verified order, so the
// reader then reads every page.
//
// A member the vendor does not know (on any page) gives no rows and an
// error wrapping connectors.ErrNotFound.
func readLedger(ctx context.Context, p *pager, req connectors.MemberRequest,
	stream string, decode func(raw []byte) (ledgerEntry, error)) (connectors.MemberBatch, error) {
	var b connectors.MemberBatch
	var order newestFirst
	var known *time.Time // the newest known entry read
	for !p.done() {
		rows, err := p.next(ctx)
		if err != nil {
			return p.memberFailed(err)
		}
		for _, raw := range rows {
			e, err := decode(raw)
			if err != nil {
				// a poison entry goes to rejected_records; without its
				// order key the early stop is off for this member
				b.Rows = append(b.Rows, connectors.Reject(p.source, stream, raw, err, "id"))
				order.add(nil)
				continue
			}
			b.Rows = append(b.Rows, e.row)
			order.add(e.created)
			if req.Known != nil && e.created != nil && req.Known(e.id) && (known == nil || e.created.After(*known)) {
				known = e.created
			}
		}
		if req.Known != nil && order.ok() && known != nil && known.After(order.oldest) {
			break
		}
	}
	b.Pages, b.Requests, b.Capped = p.pages, p.requests, p.capped
	return b, nil
}

// newestFirst checks that order keys arrive non-increasing.
type newestFirst struct {
	n      int
	broken bool      // a key was missing or newer than its predecessor
	oldest time.Time // the last (oldest) key
}

func (o *newestFirst) add(t *time.Time) {
	switch {
	case t == nil:
		o.broken = true
	case o.n > 0 && t.After(o.oldest):
		o.broken = true
	default:
		o.oldest = *t
	}
	o.n++
}

// ok reports a verified newest-first order so far.
func (o *newestFirst) ok() bool { return o.n > 0 && !o.broken }

// memberPath is /loyalty/v1/membership/{id}{suffix}.
func memberPath(member, suffix string) string {
	return "/loyalty/v1/membership/" + url.PathEscape(member) + suffix
}

// orPtr returns a, or b when a is nil.
func orPtr[T any](a, b *T) *T {
	if a != nil {
		return a
	}
	return b
}
