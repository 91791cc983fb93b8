package vendorsim

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDMHubWriteFaults: an applied-then-failed write is in the ledger
// although its answer was lost, a failed-before write is not, and the
// vendor rejects a duplicate order and a refund of an unknown order.
func TestDMHubWriteFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		faults  DMHubWriteFaults
		status  int // 0: any (502 or a truncated 200)
		applied bool
	}{
		{"applied then failed", DMHubWriteFaults{AppliedThenFailRate: 1}, 0, true},
		{"failed before applying", DMHubWriteFaults{FailBeforeRate: 1}, http.StatusServiceUnavailable, false},
		{"no fault", DMHubWriteFaults{}, http.StatusOK, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newDMEnv(t, DMHubOptions{Seed: 1, Members: 5, WriteFaults: tt.faults})
			tok := e.token(t)
			m := e.sim.Members()[0].ID
			body := `{"salesChannel":"web","store":"s","orderNo":"O-1","dateOrder":"2024-01-01T00:00:00","membershipId":` + m +
				`,"amountDiscount":0,"amountPaid":1,"dealLines":[{"lineId":"a","productName":"x","qty":1}]}`
			post := func(path, b string) (int, string) {
				resp, err := http.Post(e.srv.URL+path+"?access_token="+tok, "application/json", strings.NewReader(b))
				if err != nil {
					return 0, err.Error()
				}
				defer resp.Body.Close()
				out, _ := io.ReadAll(resp.Body)
				return resp.StatusCode, string(out)
			}
			status, out := post("/loyalty/v1/deal", body)
			if tt.status != 0 && status != tt.status {
				t.Fatalf("status %d (%s), want %d", status, out, tt.status)
			}
			if tt.status == 0 && status == http.StatusOK && strings.HasSuffix(strings.TrimSpace(out), "}") {
				t.Fatalf("applied-then-failed write answered in full: %d %s", status, out)
			}
			if got := len(e.sim.Writes()) == 1; got != tt.applied {
				t.Fatalf("applied = %v, want %v (%d %s)", got, tt.applied, status, out)
			}
			if !tt.applied {
				return
			}
			e.sim.opts.WriteFaults = DMHubWriteFaults{} // now only the vendor's own rejections
			if _, out := post("/loyalty/v1/deal", body); !strings.Contains(out, "409000") {
				t.Errorf("duplicate order: %s, want 409000", out)
			}
			refund := `{"membershipId":` + m + `,"orderNo":"O-9","dateRefund":"2024-01-02T00:00:00","refundTotal":1,"refundLines":[{"lineId":"a"}]}`
			if _, out := post("/loyalty/v1/dealService/refund", refund); !strings.Contains(out, "409000") {
				t.Errorf("refund of an unknown order: %s, want 409000", out)
			}
			if n := len(e.sim.Writes()); n != 1 {
				t.Errorf("ledger has %d writes, want 1", n)
			}
		})
	}
}
