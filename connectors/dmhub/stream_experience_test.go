package dmhub

import (
	"context"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// expView is an ExpEntry with comparable fields.
type expView struct {
	EntryID, MemberID           string
	Delta                       int64
	OldExp, NewExp, OccurredAt  string
	ExpType, Remark, ExternalID string
}

func viewExp(e warehouse.ExpEntry) expView {
	return expView{EntryID: e.EntryID, MemberID: e.MemberID, Delta: e.Delta, OldExp: fmtInt(e.OldExp),
		NewExp: fmtInt(e.NewExp), OccurredAt: fmtTime(e.OccurredAt), ExpType: e.ExpType, Remark: e.Remark,
		ExternalID: e.ExternalID}
}

// docExp is the §16 example, normalized.
var docExp = expView{EntryID: "256", MemberID: "667", Delta: 10, OldExp: "0", NewExp: "10",
	OccurredAt: "2018-01-22T10:09:17Z", ExpType: "1", ExternalID: "1d09ca04-0c80-4d43-8db7-3d9c4f89f47d"}

func TestDecodeExpRecord(t *testing.T) {
	t.Parallel()
	doc := string(fixtureRows(t, "experience_page_1.json")[0])
	tests := []struct {
		name    string
		in      string
		want    expView
		created string
		err     string
	}{
		{name: "documented example (S000 §16)", in: doc, want: docExp, created: "2018-01-22T10:09:18Z"},
		{name: "balances win over expValue", in: `{"id":1,"expValue":5,"oldExp":20,"newExp":15,"dateCreated":"2018-01-22T10:09:18Z"}`,
			want:    expView{EntryID: "1", MemberID: "667", Delta: -5, OldExp: "20", NewExp: "15", OccurredAt: "2018-01-22T10:09:18Z"},
			created: "2018-01-22T10:09:18Z"},
		{name: "only expValue, signed", in: `{"id":2,"expValue":"-3","dateObtain":"2018-01-22T10:09:17"}`,
			want:    expView{EntryID: "2", MemberID: "667", Delta: -3, OldExp: "<nil>", NewExp: "<nil>", OccurredAt: "2018-01-22T10:09:17Z"},
			created: "2018-01-22T10:09:17Z"},
		{name: "one balance only: expValue", in: `{"id":3,"expValue":4,"oldExp":1}`,
			want: expView{EntryID: "3", MemberID: "667", Delta: 4, OldExp: "1", NewExp: "<nil>", OccurredAt: "<nil>"}, created: "<nil>"},
		{name: "nothing: zero", in: `{"id":4,"expType":"2","remark":"补发"}`,
			want: expView{EntryID: "4", MemberID: "667", OldExp: "<nil>", NewExp: "<nil>", OccurredAt: "<nil>", ExpType: "2",
				Remark: "补发"}, created: "<nil>"},
		{name: `"null" strings read as null`, in: `{"id":5,"membershipId":"null","expValue":"null","remark":"null","externalId":"null",
			"dateObtain":"null","dateCreated":"2018-01-22T10:09:18Z"}`,
			want:    expView{EntryID: "5", MemberID: "667", OldExp: "<nil>", NewExp: "<nil>", OccurredAt: "2018-01-22T10:09:18Z"},
			created: "2018-01-22T10:09:18Z"},
		{name: "no id", in: `{"expValue":1}`, err: "expRecord without an id"},
		{name: "bad expValue", in: `{"id":9,"expValue":true}`, err: "expRecord 9: field expValue"},
		{name: "difference beyond int64", in: `{"id":9,"oldExp":-9223372036854775808,"newExp":1}`, err: "out of the int64 range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, created, err := decodeExpRecord("acme", "667", []byte(tt.in))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := viewExp(e); got != tt.want {
				t.Errorf("decodeExpRecord =\n %+v\nwant\n %+v", got, tt.want)
			}
			if got := fmtTime(created); got != tt.created {
				t.Errorf("order key = %s, want %s", got, tt.created)
			}
			checkRaw(t, e.Source, e.Raw)
		})
	}
}

// TestExperienceStreamDocPage reads the §16 example through the stream.
func TestExperienceStreamDocPage(t *testing.T) {
	t.Parallel()
	f := newFakeVendor().handle("/loyalty/v1/membership/667/exp/changeLogs", fixture(t, "experience_page_1.json"))
	k := newTestConnector(t, f, nil)
	ms, _ := k.MemberStream("experience")
	if l, ok := ms.(connectors.Ledger); !ok || l.LedgerTable().Name != warehouse.ExperienceLedger.Name {
		t.Fatalf("experience: not a ledger of experience_ledger")
	}
	b, err := ms.FetchMember(context.Background(), connectors.MemberRequest{Mode: connectors.Full, Member: "667"})
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf[warehouse.ExpEntry](t, b.Rows)
	if len(rows) != 1 || viewExp(rows[0]) != docExp {
		t.Fatalf("rows = %+v, want the §16 example", rows)
	}
	if q := f.requests()[0].Query; q.Get("sord") != "desc" || q.Get("rows") != "20" || q.Get("page") != "1" {
		t.Errorf("first request %v, want rows=20 page=1 sord=desc", q)
	}
}
