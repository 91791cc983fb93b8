package houcaller

import (
	"errors"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// A record over connectors.MaxRecordBytes (a 10 MB field) is an error of
// its decoder, so its stream rejects it instead of carrying it to the load.
func TestRecordSizeLimit(t *testing.T) {
	huge := `{"id":"1","remark":"` + strings.Repeat("x", connectors.MaxRecordBytes) + `"}`
	fits := `{"id":"1","remark":"` + strings.Repeat("x", connectors.MaxRecordBytes-100) + `"}`
	decoders := map[string]func([]byte) error{
		"coupon item":   func(b []byte) error { _, err := decodeMemberCoupon("s", "m", b); return err },
		"points record": func(b []byte) error { _, err := decodePoint("s", "m", "k", b, lenient.Occurrences{}); return err },
	}
	for name, dec := range decoders {
		err := dec([]byte(huge))
		if !errors.Is(err, connectors.ErrRecordTooLarge) || !strings.Contains(err.Error(), name+" of ") {
			t.Errorf("%s: huge record: %v", name, err)
		}
		if err := dec([]byte(fits)); errors.Is(err, connectors.ErrRecordTooLarge) {
			t.Errorf("%s: a record under the limit: %v", name, err)
		}
	}
}
