package connectors

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// Reject is the rejected_records row of a vendor record of stream that
// could not be decoded or would not fit its columns: the stream emits it
// among its rows in place of the record, and the run goes on. The record
// key is the first of idKeys the record has as a non-empty string or
// number (the vendor's id, when the record is an object at all), else the
// hash of raw (warehouse.RejectedKey), so a replay stores it once.
func Reject(source, stream string, raw []byte, err error, idKeys ...string) warehouse.RejectedRecord {
	return warehouse.NewRejected(source, stream, recordKey(raw, idKeys), bytes.TrimSpace(raw), err)
}

// DecodeRecords decodes each record of list with decode, in order. A
// record that fails is a poison record: its rejected_records row (Reject,
// keyed by the first of idKeys it has) stands in its place, its error
// prefixed with where it stood, field[i] (nothing when field is ""), and
// the run goes on.
func DecodeRecords[T ~[]byte, R warehouse.Row](source, stream, field string, list []T,
	decode func(raw T) (R, error), idKeys ...string) []warehouse.Row {
	rows := make([]warehouse.Row, 0, len(list))
	for i, raw := range list {
		r, err := decode(raw)
		if err != nil {
			if field != "" {
				err = fmt.Errorf("%s[%d]: %w", field, i, err)
			}
			rows = append(rows, Reject(source, stream, []byte(raw), err, idKeys...))
			continue
		}
		rows = append(rows, r)
	}
	return rows
}

func recordKey(raw []byte, idKeys []string) string {
	if len(idKeys) == 0 {
		return ""
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	for _, k := range idKeys {
		v := bytes.TrimSpace(m[k])
		if lenient.Absent(v) {
			continue
		}
		var s string
		if v[0] == '"' {
			if json.Unmarshal(v, &s) != nil {
				continue
			}
		} else if v[0] == '-' || (v[0] >= '0' && v[0] <= '9') {
			s = string(v)
		}
		if s = string(bytes.TrimSpace([]byte(s))); s != "" && len(s) <= 256 {
			return s
		}
	}
	return ""
}

// Rejected counts the rejected_records rows among rows (Batch.Rejected).
func Rejected(rows []warehouse.Row) int {
	n := 0
	for _, r := range rows {
		if _, ok := r.(warehouse.RejectedRecord); ok {
			n++
		}
	}
	return n
}

// MaxRecordBytes bounds one vendor record (its JSON text). Real records are
// a few KB; a larger one (a 10 MB field, issue 14) is rejected into
// rejected_records, with its raw cut to warehouse.MaxRejectedRaw, instead
// of being decoded and carried through the load several times over.
const MaxRecordBytes = 1 << 20

// ErrRecordTooLarge is wrapped by CheckRecordSize's error.
var ErrRecordTooLarge = errors.New("record too large")

// ReadRecord starts a record decoder: it checks raw's size
// (CheckRecordSize, naming kind), decodes raw into v, and returns raw as
// compact JSON text, the form kept in the raw columns.
func ReadRecord(kind string, raw []byte, v any) (string, error) {
	if err := CheckRecordSize(kind, raw); err != nil {
		return "", err
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return "", err
	}
	return lenient.Compact(raw)
}

// CheckRecordSize returns an error naming kind and the sizes when raw is
// larger than MaxRecordBytes; every record decoder calls it first.
func CheckRecordSize(kind string, raw []byte) error {
	if len(raw) > MaxRecordBytes {
		return fmt.Errorf("%s of %d bytes is larger than the %d-byte record limit: %w", kind, len(raw), MaxRecordBytes, ErrRecordTooLarge)
	}
	return nil
}
