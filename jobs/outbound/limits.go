package outbound

import (
	"bytes"
	"fmt"
	"unicode/utf8"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/connectors"
)

// The intake's bounds on hostile input (issue 14). A vendor write body is
// a flat object with at most an array of line objects (depth 3) and short
// texts; anything far beyond that is rejected by line, naming the field,
// before it is parsed further, stored or sent.
const (
	// MaxLineBytes bounds one JSON line (push and serve alike).
	MaxLineBytes = 1 << 20
	// MaxFieldBytes bounds one string value of a line.
	MaxFieldBytes = 64 << 10
	// MaxDepth bounds the nesting of objects and arrays in a line.
	MaxDepth = 32
	// MaxLinesPerRequest bounds the lines of one serve request (push
	// reads any number, PushChunk lines at a time).
	MaxLinesPerRequest = 10000
	// PushChunk is how many lines push accepts (stores) at a time.
	PushChunk = 1000
)

// CheckLine applies the intake's bounds to one line: its size, its depth,
// the size and UTF-8 validity of its strings and, in the top-level object,
// keys given twice (a reader of the body might take either value). The
// error is a *connectors.FieldError naming the top-level field the problem
// is in (none for the line as a whole). It does not check that the line is
// valid JSON (splitKey does), and it never fails on invalid JSON other than
// for these bounds.
func CheckLine(b []byte) error {
	if len(b) > MaxLineBytes {
		return &connectors.FieldError{Cause: fmt.Sprintf("line of %d bytes is longer than %d bytes", len(b), MaxLineBytes)}
	}
	var (
		stack   [MaxDepth]bool // the open containers: true for an object
		depth   int
		wantKey bool   // the next string of this object is a key
		top     string // the current top-level key
		keys    map[string]bool
	)
	for i := 0; i < len(b); i++ {
		switch c := b[i]; c {
		case '{', '[':
			if depth == MaxDepth {
				return &connectors.FieldError{Field: top, Cause: fmt.Sprintf("nested deeper than %d levels (byte %d)", MaxDepth, i)}
			}
			stack[depth] = c == '{'
			depth++
			wantKey = c == '{'
		case '}', ']':
			if depth > 0 {
				depth--
			}
			wantKey = false
		case ',':
			wantKey = depth > 0 && stack[depth-1]
		case ':':
			wantKey = false
		case '"':
			start := i
			end, bad := scanString(b, i+1)
			if bad >= 0 {
				return &connectors.FieldError{Field: top, Cause: fmt.Sprintf("invalid UTF-8 at byte %d", bad)}
			}
			i = end
			if wantKey && depth == 1 {
				top = keyText(b[start : end+1])
				if keys == nil {
					keys = map[string]bool{}
				}
				if keys[top] {
					return &connectors.FieldError{Field: top, Cause: "given twice"}
				}
				keys[top] = true
				continue
			}
			if !wantKey && end-start-1 > MaxFieldBytes {
				return &connectors.FieldError{Field: top, Cause: fmt.Sprintf("a string of %d bytes is longer than %d bytes", end-start-1, MaxFieldBytes)}
			}
		default:
			if c >= utf8.RuneSelf {
				if r, n := utf8.DecodeRune(b[i:]); r == utf8.RuneError && n <= 1 {
					return &connectors.FieldError{Field: top, Cause: fmt.Sprintf("invalid UTF-8 at byte %d", i)}
				}
			}
		}
	}
	return nil
}

// scanString returns the index of the quote closing the string that
// starts at b[i] (len(b)-1 when unterminated), and the offset of its first
// invalid UTF-8 byte (-1 if none).
func scanString(b []byte, i int) (end, bad int) {
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c == '\\':
			if i+1 < len(b) && b[i+1] < utf8.RuneSelf {
				i++ // an escaped ASCII byte; any other is checked next
			}
		case c == '"':
			return i, -1
		case c >= utf8.RuneSelf:
			r, n := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && n <= 1 {
				return i, i
			}
			i += n - 1
		}
	}
	return len(b) - 1, -1
}

// keyText is a key's text ("\u0061" and "a" are the same key).
func keyText(quoted []byte) string {
	if len(quoted) < 2 || quoted[len(quoted)-1] != '"' {
		return string(quoted) // unterminated: the line is invalid JSON anyway
	}
	if bytes.IndexByte(quoted, '\\') < 0 {
		return string(quoted[1 : len(quoted)-1])
	}
	var s string
	if json.Unmarshal(quoted, &s) != nil {
		return string(quoted)
	}
	return s
}
