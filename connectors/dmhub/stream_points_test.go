package dmhub

import (
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// pointView is a PointEntry with comparable fields.
type pointView struct {
	EntryID, MemberID             string
	Delta                         int64
	Pattern, PatternName          string
	OldPoint, NewPoint            string
	OccurredAt                    string
	Remark, EntryType, ExternalID string
}

func viewPoint(e warehouse.PointEntry) pointView {
	return pointView{EntryID: e.EntryID, MemberID: e.MemberID, Delta: e.Delta, Pattern: e.Pattern,
		PatternName: e.PatternName, OldPoint: fmtInt(e.OldPoint), NewPoint: fmtInt(e.NewPoint),
		OccurredAt: fmtTime(e.OccurredAt), Remark: e.Remark, EntryType: e.EntryType, ExternalID: e.ExternalID}
}

func pointRow(e warehouse.PointEntry) decoded[pointView] {
	return decoded[pointView]{view: viewPoint(e), source: e.Source, raw: e.Raw}
}

// docPoint is the §15 example, normalized.
var docPoint = pointView{EntryID: "248", MemberID: "399", Delta: -5, Pattern: "3", PatternName: "参与互动消耗积分",
	OldPoint: "119", NewPoint: "114", OccurredAt: "2018-07-11T09:55:35Z", EntryType: "-1", ExternalID: "wechat_leave_message"}

func TestDecodePointRecord(t *testing.T) {
	t.Parallel()
	doc := string(fixtureRows(t, "points_page_1.json")[0])
	tests := []decodeCase[pointView]{
		{name: "documented example (S000 §15)", in: doc, want: docPoint, created: "2018-07-11T09:55:35Z"},
		{name: "increase, earned on purchase", in: `{"id":1,"membershipId":7,"point":30,"oldPoint":0,"newPoint":30,"type":1,"pattern":2,
			"date":"2019-01-02T03:04:05Z","dateCreated":"2019-01-02T03:04:06Z"}`,
			want: pointView{EntryID: "1", MemberID: "7", Delta: 30, Pattern: "2", PatternName: "交易送积分", OldPoint: "0",
				NewPoint: "30", OccurredAt: "2019-01-02T03:04:05Z", EntryType: "1"}, created: "2019-01-02T03:04:06Z"},
		{name: "no type: sign from newPoint-oldPoint (refund)", in: `{"id":"2","point":10,"oldPoint":100,"newPoint":90,"pattern":"2"}`,
			want: pointView{EntryID: "2", MemberID: "399", Delta: -10, Pattern: "2", PatternName: "交易退积分",
				OldPoint: "100", NewPoint: "90", OccurredAt: "<nil>"}, created: "<nil>"},
		{name: "no type, no balances: a negative point decreases", in: `{"id":3,"point":-7,"pattern":6}`,
			want: pointView{EntryID: "3", MemberID: "399", Delta: -7, Pattern: "6", PatternName: "积分失效",
				OldPoint: "<nil>", NewPoint: "<nil>", OccurredAt: "<nil>"}, created: "<nil>"},
		{name: "no type, no balances: a positive point increases", in: `{"id":4,"point":8,"pattern":0}`,
			want: pointView{EntryID: "4", MemberID: "399", Delta: 8, Pattern: "0", PatternName: "其他",
				OldPoint: "<nil>", NewPoint: "<nil>", OccurredAt: "<nil>"}, created: "<nil>"},
		{name: "type wins over the balances", in: `{"id":5,"point":5,"oldPoint":10,"newPoint":15,"type":-1,"pattern":1}`,
			want: pointView{EntryID: "5", MemberID: "399", Delta: -5, Pattern: "1", PatternName: "积分兑换",
				OldPoint: "10", NewPoint: "15", OccurredAt: "<nil>", EntryType: "-1"}, created: "<nil>"},
		{name: "unknown type: sign from the balances, type kept", in: `{"id":6,"point":4,"oldPoint":10,"newPoint":14,"type":0,"pattern":4}`,
			want: pointView{EntryID: "6", MemberID: "399", Delta: 4, Pattern: "4", PatternName: "积分奖励",
				OldPoint: "10", NewPoint: "14", OccurredAt: "<nil>", EntryType: "0"}, created: "<nil>"},
		{name: "no point: magnitude from the balances", in: `{"id":7,"oldPoint":"50","newPoint":"20","type":"-1","pattern":"5"}`,
			want: pointView{EntryID: "7", MemberID: "399", Delta: -30, Pattern: "5", PatternName: "积分调整",
				OldPoint: "50", NewPoint: "20", OccurredAt: "<nil>", EntryType: "-1"}, created: "<nil>"},
		{name: "code without a label, pattern as float", in: `{"id":8,"point":1,"type":1,"pattern":6.0}`,
			want: pointView{EntryID: "8", MemberID: "399", Delta: 1, Pattern: "6", OldPoint: "<nil>", NewPoint: "<nil>",
				OccurredAt: "<nil>", EntryType: "1"}, created: "<nil>"},
		{name: "no pattern", in: `{"id":9,"point":2,"type":1,"pattern":null}`,
			want: pointView{EntryID: "9", MemberID: "399", Delta: 2, OldPoint: "<nil>", NewPoint: "<nil>", OccurredAt: "<nil>",
				EntryType: "1"}, created: "<nil>"},
		{name: "zoneless date is UTC, date absent falls back", in: `{"id":10,"point":1,"type":1,"dateCreated":"2018-07-11T09:55:35",
			"remark":"赠送","externalId":"x-1"}`,
			want: pointView{EntryID: "10", MemberID: "399", Delta: 1, OldPoint: "<nil>", NewPoint: "<nil>",
				OccurredAt: "2018-07-11T09:55:35Z", Remark: "赠送", EntryType: "1", ExternalID: "x-1"}, created: "2018-07-11T09:55:35Z"},
		{name: `"null" strings read as null`, in: `{"id":11,"membershipId":"null","point":1,"type":1,"remark":"null","externalId":"null",
			"date":"null","dateCreated":"2018-01-01T00:00:00Z"}`,
			want: pointView{EntryID: "11", MemberID: "399", Delta: 1, OldPoint: "<nil>", NewPoint: "<nil>",
				OccurredAt: "2018-01-01T00:00:00Z", EntryType: "1"}, created: "2018-01-01T00:00:00Z"},
		{name: "18-digit ids keep their digits", in: `{"id":418615942793357312,"membershipId":"418615942793357313","point":1,"type":1}`,
			want: pointView{EntryID: "418615942793357312", MemberID: "418615942793357313", Delta: 1, OldPoint: "<nil>",
				NewPoint: "<nil>", OccurredAt: "<nil>", EntryType: "1"}, created: "<nil>"},
		{name: "no id", in: `{"point":1}`, err: "pointRecord without an id"},
		{name: "bad point", in: `{"id":1,"point":"lots"}`, err: "pointRecord 1: field point"},
		{name: "point beyond int64", in: `{"id":1,"point":-9223372036854775808}`, err: "out of the int64 range"},
		{name: "balance difference beyond int64", in: `{"id":1,"oldPoint":-9223372036854775808,"newPoint":1}`, err: "out of the int64 range"},
		{name: "not an object", in: `[1]`, err: "pointRecord is not a JSON object"},
	}
	decoderTest[pointView]{fn: "decodePointRecord", ordered: true, decode: func(in []byte) (decoded[pointView], error) {
		return keyed(pointRow)(decodePointRecord("acme", "399", in))
	}}.run(t, tests)
}

// TestPointsStreamDocPage reads the §15 example through the stream.
func TestPointsStreamDocPage(t *testing.T) {
	t.Parallel()
	docPage[warehouse.PointEntry, pointView]{stream: "points", path: "/loyalty/v1/membership/399/point",
		fixture: "points_page_1.json", member: "399", ledger: warehouse.PointsLedger.Name, mode: connectors.Full,
		row: pointRow, want: []pointView{docPoint}, query: map[string]string{"rows": "20", "page": "1", "sord": "desc"}}.run(t)
}
