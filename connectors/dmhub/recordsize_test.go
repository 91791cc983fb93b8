package dmhub

import (
	"errors"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// A record over connectors.MaxRecordBytes (a 10 MB field) is an error of
// its decoder, so its stream rejects it instead of carrying it to the load.
func TestRecordSizeLimit(t *testing.T) {
	huge := `{"id":"1","remark":"` + strings.Repeat("x", connectors.MaxRecordBytes) + `"}`
	fits := `{"id":"1","remark":"` + strings.Repeat("x", connectors.MaxRecordBytes-100) + `"}`
	decoders := map[string]func([]byte) error{
		"points": func(b []byte) error { _, _, err := decodePointRecord("s", "m", b); return err },
		"member": func(b []byte) error { _, _, err := decodeMemberLevel("s", b); return err },
		"coupon": func(b []byte) error { _, err := decodeCoupon("s", b); return err },
	}
	for name, dec := range decoders {
		err := dec([]byte(huge))
		if !errors.Is(err, connectors.ErrRecordTooLarge) || !strings.Contains(err.Error(), "larger than the 1048576-byte record limit") {
			t.Errorf("%s: huge record: %v", name, err)
		}
		if err := dec([]byte(fits)); errors.Is(err, connectors.ErrRecordTooLarge) {
			t.Errorf("%s: a record under the limit: %v", name, err)
		}
	}
}
