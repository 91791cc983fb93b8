package dmhub

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// The checks every stream's tests share: a record decoder against its
// table (decoderTest), and the vendor's documented page read through the
// stream (docPage).

// decoded is what a stream made of one record: its comparable view, the
// row's source and raw, and (for a decoder that returns one) its order
// key.
type decoded[V comparable] struct {
	view        V
	source, raw string
	created     *time.Time
}

// keyed makes what row makes of a record, with the order key, from a
// decoder's results.
func keyed[R any, V comparable](row func(R) decoded[V]) func(R, *time.Time, error) (decoded[V], error) {
	return func(r R, created *time.Time, err error) (decoded[V], error) {
		d := row(r)
		d.created = created
		return d, err
	}
}

// failed checks a decoder's error against want, the text it must
// contain ("" for no error), and reports whether the case ended in the
// error it wanted.
func failed(t *testing.T, err error, want string) bool {
	t.Helper()
	if want != "" {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("error = %v, want %q", err, want)
		}
		return true
	}
	if err != nil {
		t.Fatal(err)
	}
	return false
}

// decodeCase is a row of a decoder's table: in decodes to want, with the
// order key created (fmtTime) when the decoder is ordered, or fails with
// an error that contains err.
type decodeCase[V comparable] struct {
	name    string
	in      string
	want    V
	created string
	err     string
}

// decoderTest checks a record decoder.
type decoderTest[V comparable] struct {
	fn      string // the decoder's name, for messages
	ordered bool   // decode returns an order key
	decode  func(in []byte) (decoded[V], error)
}

// run checks each case: the error, or the view, the order key, the row's
// source and that its raw is the record as sent, compacted.
func (d decoderTest[V]) run(t *testing.T, tests []decodeCase[V]) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := d.decode([]byte(tt.in))
			if failed(t, err, tt.err) {
				return
			}
			if got.view != tt.want {
				t.Errorf("%s =\n %+v\nwant\n %+v", d.fn, got.view, tt.want)
			}
			if created := fmtTime(got.created); d.ordered && created != tt.created {
				t.Errorf("order key = %s, want %s", created, tt.created)
			}
			checkRaw(t, got.source, got.raw)
			if got.raw != compactJSON(t, tt.in) {
				t.Errorf("raw = %s, want the record as sent", got.raw)
			}
		})
	}
}

// docPage is a stream's documented example: the fixture served at path,
// read through the stream in one request of one page.
type docPage[R warehouse.Row, V comparable] struct {
	stream, path, fixture string
	// member is the member a member stream reads; "" for a stream.
	member string
	// ledger is the ledger table a member stream declares; "" when it
	// must not be a Ledger.
	ledger string
	mode   connectors.Mode
	known  func(string) bool // a member stream's MemberRequest.Known
	pages  int               // a stream's Request.Pages
	total  int64             // a stream's Batch.Total
	row    func(R) decoded[V]
	want   []V
	rawHas string // text the first row's raw keeps as sent; "" for none
	// query is the request's parameters; "" for one that must be absent.
	query map[string]string
}

// run reads the page and checks the rows (their views, source and
// compact raw), the single request and its parameters, and for a stream
// that the batch is done with no cursor to commit.
func (d docPage[R, V]) run(t *testing.T) {
	t.Helper()
	f := newFakeVendor().handle(d.path, fixture(t, d.fixture))
	k := newTestConnector(t, f, nil)
	var rows []warehouse.Row
	var pages, requests int
	if d.member != "" {
		ms, ok := k.MemberStream(d.stream)
		if !ok {
			t.Fatalf("%s is not a member stream", d.stream)
		}
		l, ok := ms.(connectors.Ledger)
		if d.ledger != "" && (!ok || l.LedgerTable().Name != d.ledger) {
			t.Fatalf("%s: not a ledger of %s", d.stream, d.ledger)
		}
		if d.ledger == "" && ok {
			t.Errorf("%s must not be a Ledger (its rows change in place)", d.stream)
		}
		b, err := ms.FetchMember(context.Background(), connectors.MemberRequest{Mode: d.mode, Member: d.member, Known: d.known})
		if err != nil {
			t.Fatal(err)
		}
		rows, pages, requests = b.Rows, b.Pages, b.Requests
	} else {
		st, err := k.Stream(d.stream)
		if err != nil {
			t.Fatal(err)
		}
		b, err := st.Fetch(context.Background(), connectors.Request{Mode: d.mode, Pages: d.pages})
		if err != nil {
			t.Fatal(err)
		}
		if !b.Done || b.Commit != nil || b.Total != d.total {
			t.Errorf("batch done %v commit %s total %d, want done, no commit, total %d", b.Done, b.Commit, b.Total, d.total)
		}
		rows, pages, requests = b.Rows, b.Pages, b.Requests
	}
	got := rowsOf[R](t, rows)
	if len(got) != len(d.want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(d.want), got)
	}
	for i, r := range got {
		g := d.row(r)
		if g.view != d.want[i] {
			t.Errorf("row %d =\n %+v\nwant\n %+v", i, g.view, d.want[i])
		}
		checkRaw(t, g.source, g.raw)
	}
	if raw := d.row(got[0]).raw; d.rawHas != "" && !strings.Contains(raw, d.rawHas) {
		t.Errorf("raw lost %s as sent: %s", d.rawHas, raw)
	}
	// a short first page cannot be a vendor cap: no probe
	reqs := f.requests()
	if len(reqs) != 1 || pages != 1 || requests != 1 {
		t.Fatalf("%d requests (batch says %d, %d pages), want 1", len(reqs), requests, pages)
	}
	q := reqs[0].Query
	for k, v := range d.query {
		if (v == "" && q.Has(k)) || q.Get(k) != v {
			t.Errorf("request %v: want %s=%q (\"\": absent)", q, k, v)
		}
	}
}
