package connectors

import (
	"strings"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
)

// ReadCursor reads the position raw (a Request's Cursor or Since) into
// cur, which keeps its value when raw is absent (a new run). A position
// that does not decode, or that valid (when not nil) refuses, is a
// Permanent error of op: "invalid <what> <raw, clipped>". Retrying cannot
// fix a position the stream itself did not write.
func ReadCursor[T any](source, op, what string, raw json.RawMessage, cur *T, valid func(T) bool) error {
	if lenient.Absent(raw) {
		return nil
	}
	if err := json.Unmarshal(raw, cur); err != nil || (valid != nil && !valid(*cur)) {
		return &Error{Class: Permanent, Source: source, Op: op,
			Message: "invalid " + what + " " + lenient.Clip(strings.TrimSpace(string(raw)))}
	}
	return nil
}

// MemberKey returns key, the member a per-member stream reads (a
// Request's Partition, a MemberRequest's Member), trimmed; a blank key is
// a Permanent error of op.
func MemberKey(source, op, key string) (string, error) {
	if key = strings.TrimSpace(key); key == "" {
		return "", &Error{Class: Permanent, Source: source, Op: op,
			Message: "per-member stream fetched without a member key"}
	}
	return key, nil
}

// DataError is the error of a response that passed the vendor's
// classification but whose data does not have the documented shape:
// Permanent, since retrying cannot fix it.
func DataError(source, op string, err error) error {
	return &Error{Class: Permanent, Source: source, Op: op, Message: "unexpected data", Err: err}
}
