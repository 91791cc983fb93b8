package dmhub

import (
	"context"
	"errors"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// TestConnectorStreams: every DM Hub stream is wired; the per-member ones
// are member streams too.
func TestConnectorStreams(t *testing.T) {
	t.Parallel()
	k := newTestConnector(t, newFakeVendor(), identitySource).WithKeys(&sliceKeys{})
	perMember := map[string]bool{"points": true, "experience": true, "member_coupons": true}
	for _, name := range config.KindStreams[config.DMHub] {
		if _, err := k.Stream(name); err != nil {
			t.Errorf("Stream(%q): %v", name, err)
		}
		if _, ok := k.MemberStream(name); ok != perMember[name] {
			t.Errorf("MemberStream(%q) ok = %v, want %v", name, ok, perMember[name])
		}
	}
	if _, err := k.Stream("orders"); !errors.Is(err, connectors.ErrUnknownStream) {
		t.Errorf("Stream(orders) = %v, want ErrUnknownStream", err)
	}
}

// TestPartitionStream: a per-member stream used as a plain Stream reads
// the member in Request.Partition, whole, in one Fetch.
func TestPartitionStream(t *testing.T) {
	t.Parallel()
	f := newFakeVendor().handle("/loyalty/v1/membership/399/point", fixture(t, "points_page_1.json"))
	st, err := newTestConnector(t, f, nil).Stream("points")
	if err != nil {
		t.Fatal(err)
	}
	b, err := st.Fetch(context.Background(), connectors.Request{Mode: connectors.Incremental, Partition: "399", Pages: 1})
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf[warehouse.PointEntry](t, b.Rows)
	if len(rows) != 1 || viewPoint(rows[0]) != docPoint || !b.Done || b.Items != 1 || b.Requests != 1 {
		t.Fatalf("batch %+v, want the §15 example, done", b)
	}
	if _, err := st.Fetch(context.Background(), connectors.Request{Pages: 1}); connectors.ClassOf(err) != connectors.Permanent {
		t.Errorf("no partition: error %v, want permanent", err)
	}
}
