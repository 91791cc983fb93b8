package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/jobs/outbound"
)

// FuzzPushLines: push's JSON Lines reader, read in small chunks, returns
// exactly the non-blank lines of the input with their numbers (a "\r\n"
// ending is one line end), and every line over outbound.MaxLineBytes as a
// rejected line, whatever the bytes; never a panic.
func FuzzPushLines(f *testing.F) {
	for _, s := range []string{
		pushDeal + "\n\n" + pushDeal + "\r\n{bad\n", "", "\n\n\n", "a\r", "a\rb\r\n\r\n", "\xff\xfe\n{}",
		"{}\n" + strings.Repeat("x", outbound.MaxLineBytes+1) + "\n{}", strings.Repeat(" \t\n", 50),
	} {
		f.Add([]byte(s), uint8(3))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		type line struct {
			n    int
			body string
			long bool
		}
		var want []line
		parts := strings.Split(string(in), "\n")
		for i, p := range parts {
			if i == len(parts)-1 && p == "" {
				break // the input ends with a line end
			}
			if i < len(parts)-1 {
				p = strings.TrimSuffix(p, "\r")
			}
			switch {
			case len(p) > outbound.MaxLineBytes:
				want = append(want, line{n: i + 1, long: true})
			case len(bytes.TrimSpace([]byte(p))) > 0:
				want = append(want, line{n: i + 1, body: p})
			}
		}
		var got []line
		lr := newLineReader(bytes.NewReader(in))
		maxLines := int(chunk%8) + 1
		for rounds := 0; ; rounds++ {
			lines, bad, err := lr.chunk(maxLines, 64)
			if err != nil {
				t.Fatal(err)
			}
			if len(lines)+len(bad) > maxLines || rounds > len(in)+2 {
				t.Fatalf("chunk of %d lines and %d rejected, max %d (round %d)", len(lines), len(bad), maxLines, rounds)
			}
			for _, b := range bad {
				if !strings.Contains(b.Error, "longer than") {
					t.Fatalf("rejected line %d: %q", b.Line, b.Error)
				}
				got = append(got, line{n: b.Line, long: true})
			}
			for _, l := range lines {
				got = append(got, line{n: l.N, body: string(l.Body)})
			}
			if lr.eof {
				break
			}
		}
		// a chunk lists its accepted lines, then its rejected ones
		slices.SortFunc(got, func(a, b line) int { return a.n - b.n })
		if len(got) != len(want) {
			t.Fatalf("%q: got %d lines %+v, want %d %+v", in, len(got), got, len(want), want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%q: line %d: got %+v, want %+v", in, i, got[i], want[i])
			}
		}
	})
}
