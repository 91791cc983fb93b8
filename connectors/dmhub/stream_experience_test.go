package dmhub

import (
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

func expRow(e warehouse.ExpEntry) decoded[expView] {
	return decoded[expView]{view: viewExp(e), source: e.Source, raw: e.Raw}
}

// docExp is the §16 example, normalized.
var docExp = expView{EntryID: "256", MemberID: "667", Delta: 10, OldExp: "0", NewExp: "10",
	OccurredAt: "2018-01-22T10:09:17Z", ExpType: "1", ExternalID: "1d09ca04-0c80-4d43-8db7-3d9c4f89f47d"}

func TestDecodeExpRecord(t *testing.T) {
	t.Parallel()
	doc := string(fixtureRows(t, "experience_page_1.json")[0])
	tests := []decodeCase[expView]{
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
	decoderTest[expView]{fn: "decodeExpRecord", ordered: true, decode: func(in []byte) (decoded[expView], error) {
		return keyed(expRow)(decodeExpRecord("acme", "667", in))
	}}.run(t, tests)
}

// TestExperienceStreamDocPage reads the §16 example through the stream.
func TestExperienceStreamDocPage(t *testing.T) {
	t.Parallel()
	docPage[warehouse.ExpEntry, expView]{stream: "experience", path: "/loyalty/v1/membership/667/exp/changeLogs",
		fixture: "experience_page_1.json", member: "667", ledger: warehouse.ExperienceLedger.Name, mode: connectors.Full,
		row: expRow, want: []expView{docExp}, query: map[string]string{"rows": "20", "page": "1", "sord": "desc"}}.run(t)
}
