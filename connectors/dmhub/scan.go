package dmhub

import (
	stdjson "encoding/json"
	"errors"
	"unicode/utf8"
)

var errNotObject = errors.New("not a JSON object")

// eachField calls fn with every top-level key of the JSON object b and the
// bytes of its value, without building a map. It checks the structure it
// walks (strings, nesting) and reports malformed input as an error, never
// a panic; values are handed over unvalidated for their own decoders.
func eachField(b []byte, fn func(key string, val []byte) error) error {
	i := skipWS(b, 0)
	if i >= len(b) || b[i] != '{' {
		return errNotObject
	}
	i = skipWS(b, i+1)
	if i < len(b) && b[i] == '}' {
		if skipWS(b, i+1) != len(b) {
			return errors.New("trailing data after the object")
		}
		return nil
	}
	for {
		if i >= len(b) || b[i] != '"' {
			return errors.New("object key is not a string")
		}
		end, escaped, err := stringEnd(b, i)
		if err != nil {
			return err
		}
		key := string(b[i+1 : end-1])
		if escaped || !utf8.ValidString(key) {
			// the rare path: escapes, or bytes a decoder replaces with U+FFFD
			if err := stdjson.Unmarshal(b[i:end], &key); err != nil {
				return err
			}
		}
		i = skipWS(b, end)
		if i >= len(b) || b[i] != ':' {
			return errors.New("missing ':' after an object key")
		}
		start := skipWS(b, i+1)
		vend, err := valueEnd(b, start)
		if err != nil {
			return err
		}
		if err := fn(key, b[start:vend]); err != nil {
			return err
		}
		i = skipWS(b, vend)
		if i >= len(b) {
			return errors.New("unterminated object")
		}
		if b[i] == '}' {
			if skipWS(b, i+1) != len(b) {
				return errors.New("trailing data after the object")
			}
			return nil
		}
		if b[i] != ',' {
			return errors.New("missing ',' between object fields")
		}
		i = skipWS(b, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string at i.
func stringEnd(b []byte, i int) (int, bool, error) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			escaped = true
			j++
		case '"':
			return j + 1, escaped, nil
		}
	}
	return 0, false, errors.New("unterminated string")
}

// valueEnd returns the index after the JSON value starting at i.
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("missing value")
	}
	switch b[i] {
	case '"':
		end, _, err := stringEnd(b, i)
		return end, err
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				end, _, err := stringEnd(b, j)
				if err != nil {
					return 0, err
				}
				j = end - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
		}
		return 0, errors.New("unterminated object or array")
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	if j == i {
		return 0, errors.New("missing value")
	}
	return j, nil
}
