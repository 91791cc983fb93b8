package lenient

import (
	"testing"
	"time"
)

func TestDayBounds(t *testing.T) {
	t.Parallel()
	show := func(p *time.Time) string {
		if p == nil {
			return "<nil>"
		}
		return p.UTC().Format(time.RFC3339)
	}
	tests := []struct{ in, startDate, startsAt, endDate, endsAt string }{
		{"2019-09-01", "2019-09-01", "2019-08-31T16:00:00Z", "2019-09-01", "2019-09-01T15:59:59Z"},
		{" 2019-09-01 ", "2019-09-01", "2019-08-31T16:00:00Z", "2019-09-01", "2019-09-01T15:59:59Z"},
		{"2019-08-24 00:00:00", "", "2019-08-23T16:00:00Z", "", "2019-08-23T16:00:00Z"},
		{"2019-08-24T10:00:00+08:00", "", "2019-08-24T02:00:00Z", "", "2019-08-24T02:00:00Z"},
		{"", "", "<nil>", "", "<nil>"},
		{"soon", "", "<nil>", "", "<nil>"},
	}
	for _, tt := range tests {
		sd, sa := DayStart(tt.in, Shanghai)
		ed, ea := DayEnd(tt.in, Shanghai)
		if sd != tt.startDate || show(sa) != tt.startsAt || ed != tt.endDate || show(ea) != tt.endsAt {
			t.Errorf("%q: got %s %s / %s %s", tt.in, sd, show(sa), ed, show(ea))
		}
	}
}

func TestCheckTimes(t *testing.T) {
	t.Parallel()
	if err := CheckTimes(Shanghai, "a", "2019-08-24 00:00:00", "b", ""); err != nil {
		t.Fatalf("valid and absent times: %v", err)
	}
	if err := CheckTimes(Shanghai, "a", "2019-08-24", "b", "yesterday"); err == nil {
		t.Fatal("a value that is not a time passed")
	}
}
