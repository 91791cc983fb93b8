package dmhub

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/url"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// defaultPageSize is used when a stream is built without a page size
// (config defaults page_size to 100, vendor-api.md §5 #1).
const defaultPageSize = 100

// PagePos is a position in a paged DM Hub list; streams that page across
// Fetch calls keep it in their cursor.
type PagePos struct {
	// Page is the next page to request (1-based).
	Page int `json:"page"`
	// Rows is the page size the vendor actually serves, once a short
	// first page was probed; 0 means the configured size.
	Rows int `json:"rows,omitempty"`
	// Last fingerprints the previous full page, to notice a vendor that
	// ignores `page` and serves the same rows forever.
	Last uint64 `json:"last,omitempty"`
	// Done is set once the list is exhausted.
	Done bool `json:"done,omitempty"`
}

// pager reads a DM Hub list endpoint ({"rows":[…]}) with rows/page until a
// short page (vendor-api.md §1.4). `total` and `records` are never used
// for loop control: they come only with needTotal and the documents' own
// example is inconsistent (§1.10 #7).
//
// The maximum page size is undocumented (§5 #1), so a vendor cap below
// the configured size would make the first page look short and end the
// list early. A short, non-empty first page is therefore probed once:
// page 2 is requested at the size served; empty (or short) means the list
// really was that short, full means the vendor caps rows and paging goes
// on at that size. Only a length that could be a cap is probed (mayBeCap),
// so the typical short per-member ledger costs one request, not two.
//
// The caller drives it with next and may stop at any time; pages and
// requests count what it read. A pager is not safe for concurrent use.
type pager struct {
	c      *Client
	source string
	path   string
	params url.Values // extra query parameters (sord, sidx, needTotal…)
	size   int        // configured page size
	pos    PagePos
	read   int // the page number of the rows next returned last

	pages, requests int
	records         lenient.Int // `records` of the last page, when sent (progress only)

	// A per-member read (perMember) is bounded: it stops, logged, after
	// maxPages pages, or at a page repeating the previous one (a vendor
	// ignoring `page`), keeping what it read; capped reports it. A list
	// read fails permanently on a repeated page instead.
	perMember bool
	maxPages  int
	log       *slog.Logger
	member    string
	capped    bool
}

// bounded makes p a per-member read capped at maxPages pages
// (config.DefaultMaxMemberPages when 0), logging to req's logger.
func (p *pager) bounded(maxPages int, req connectors.MemberRequest) *pager {
	if maxPages <= 0 {
		maxPages = config.DefaultMaxMemberPages
	}
	p.perMember, p.maxPages, p.log, p.member = true, maxPages, req.Logger(), req.Member
	return p
}

// stop ends a per-member read early (see pager.perMember).
func (p *pager) stop(why string) {
	p.log.Warn("a per-member read stops early: "+why, "source", p.source, "path", p.path, "member", p.member,
		"pages", p.pages, "max_member_pages", p.maxPages)
	p.capped, p.pos.Done = true, true
}

func newPager(c *Client, source, path string, size int, params url.Values) *pager {
	if size <= 0 {
		size = defaultPageSize
	}
	return &pager{c: c, source: source, path: path, params: params, size: size, pos: PagePos{Page: 1}}
}

// listPage is the list envelope; a missing or null `rows` is an empty
// page.
type listPage struct {
	Rows    []json.RawMessage `json:"rows"`
	Records lenient.Int       `json:"records"`
}

// done reports that the list is exhausted.
func (p *pager) done() bool { return p.pos.Done }

// memberFailed is what a member stream returns when a page fails with
// err: for a member the vendor does not know (connectors.ErrNotFound), no
// rows with the pages and requests it took; otherwise nothing.
func (p *pager) memberFailed(err error) (connectors.MemberBatch, error) {
	if connectors.IsNotFound(err) {
		return connectors.MemberBatch{Pages: p.pages, Requests: p.requests}, err
	}
	return connectors.MemberBatch{}, err
}

// next reads the next page and returns its rows (nil once done).
func (p *pager) next(ctx context.Context) ([]json.RawMessage, error) {
	if p.pos.Done {
		return nil, nil
	}
	if p.pos.Page < 1 {
		p.pos.Page = 1
	}
	if p.perMember && p.pages >= p.maxPages {
		p.stop("it hit the page cap (max_member_pages)")
		return nil, nil
	}
	p.read = p.pos.Page
	rows := p.size
	if p.pos.Rows > 0 {
		rows = p.pos.Rows
	}
	q := url.Values{}
	for k, v := range p.params {
		q[k] = append([]string(nil), v...)
	}
	q.Set("rows", itoa(rows))
	q.Set("page", itoa(p.pos.Page))
	body, err := p.c.Get(ctx, p.path, q)
	p.requests++
	if err != nil {
		return nil, err
	}
	p.pages++
	var page listPage
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, p.badPage(fmt.Errorf("not a {\"rows\":[…]} list: %w", err))
	}
	p.records = page.Records
	n := len(page.Rows)
	switch {
	case p.pos.Page == 1 && p.pos.Rows == 0 && mayBeCap(n, rows):
		p.pos.Rows, p.pos.Page = n, 2
	case n < rows:
		p.pos.Done = true
	default:
		sum := fingerprint(page.Rows)
		if p.pos.Page > 1 && sum == p.pos.Last {
			if p.perMember {
				p.stop("the vendor ignores `page` (a page repeats the previous one)")
				return nil, nil
			}
			return nil, p.badPage(fmt.Errorf("page %d repeats page %d: the vendor ignores `page`", p.pos.Page, p.pos.Page-1))
		}
		p.pos.Last = sum
		p.pos.Page++
	}
	return page.Rows, nil
}

// badPage is a page whose shape no retry can fix.
func (p *pager) badPage(err error) error {
	return &connectors.Error{Class: connectors.Permanent, Source: p.source,
		Op: fmt.Sprintf("GET %s page %d", p.path, p.read), Message: "unexpected response", Err: err}
}

// fingerprint hashes a page's rows (never 0, so the zero PagePos.Last
// matches nothing).
func fingerprint(rows []json.RawMessage) uint64 {
	h := fnv.New64a()
	for _, r := range rows {
		h.Write(bytes.TrimSpace(r))
		h.Write([]byte{0})
	}
	if s := h.Sum64(); s != 0 {
		return s
	}
	return 1
}

// field pairs a record key with the lenient value it decodes into.
type field struct {
	key string
	dst json.Unmarshaler
}

// decodeObject reads the keys of a JSON object into their fields (exact,
// case-sensitive keys; absent keys leave the zero value) and returns the
// object compacted, for raw. kind names the record in errors, with its id
// when the first field is the record's id and decoded.
func decodeObject(kind string, raw []byte, fields ...field) (string, error) {
	if err := connectors.CheckRecordSize(kind, raw); err != nil {
		return "", err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return "", fmt.Errorf("%s is not a JSON object: %s", kind, lenient.Clip(string(raw)))
	}
	for i, f := range fields {
		v, ok := m[f.key]
		if !ok {
			continue
		}
		if err := f.dst.UnmarshalJSON(v); err != nil {
			what := kind
			if id, ok := fields[0].dst.(*lenient.String); ok && i > 0 && id.V != "" {
				what += " " + lenient.Clip(id.V)
			}
			return "", fmt.Errorf("%s: field %s: %w", what, f.key, err)
		}
	}
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return "", fmt.Errorf("%s: %w", kind, err)
	}
	return b.String(), nil
}

// mayBeCap reports whether a short first page of n rows (rows asked for)
// could be a vendor cap on the page size rather than the end of the list.
// Every page size DM Hub documents or was seen to serve is a multiple of 10
// (20, 100, 1000: vendor-api.md §1.4), so other lengths are real ends.
func mayBeCap(n, rows int) bool {
	return n > 0 && n < rows && n%10 == 0
}
