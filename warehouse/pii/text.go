package pii

import (
	"regexp"
	"slices"
	"strings"

	"github.com/loyaltybridge/loyaltybridge/config"
)

var (
	// a run of digits with an optional ID-card check letter
	digitRun = regexp.MustCompile(`[0-9]+[Xx]?`)
	emailRE  = regexp.MustCompile(`[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}`)
)

// Text scrubs free text (a rejected record's error message or key, a
// body that is not JSON): first every value the record's JSON held that
// the policy changed (ch, from JSON), then anything shaped like a value
// of a field the rules change: a Chinese mobile (11 digits starting with
// 1, or 13 starting with 861), an e-mail address, an 18-character ID-card
// number. Each is replaced as its field's action says (drop: removed),
// and noted in ch when ch is not nil.
func (r *Rules) Text(s string, ch Changes) string {
	if r == nil || s == "" {
		return s
	}
	if len(ch) > 0 {
		olds := make([]string, 0, len(ch))
		for k := range ch {
			olds = append(olds, k)
		}
		// longest first, so a value is not half-replaced by a shorter one
		slices.SortFunc(olds, func(a, b string) int { return len(b) - len(a) })
		pairs := make([]string, 0, 2*len(olds))
		for _, k := range olds {
			pairs = append(pairs, k, ch[k])
		}
		s = strings.NewReplacer(pairs...).Replace(s)
	}
	mobile, idCard := r.Action(config.FieldMobile), r.Action(config.FieldIDCard)
	if mobile != config.PIIKeep || idCard != config.PIIKeep {
		s = digitRun.ReplaceAllStringFunc(s, func(d string) string {
			switch {
			case mobile != config.PIIKeep && isMobile(d):
				return note(ch, d, r.apply(config.FieldMobile, mobile, d))
			case idCard != config.PIIKeep && isIDCard(d):
				return note(ch, d, r.apply(config.FieldIDCard, idCard, d))
			}
			return d
		})
	}
	if email := r.Action(config.FieldEmail); email != config.PIIKeep {
		s = emailRE.ReplaceAllStringFunc(s, func(e string) string { return note(ch, e, r.apply(config.FieldEmail, email, e)) })
	}
	return s
}

// note records a replacement found by shape in ch (when not nil), so a
// record key equal to it is replaced the same way.
func note(ch Changes, old, repl string) string {
	if ch != nil {
		ch[old] = repl
	}
	return repl
}

func isMobile(d string) bool {
	switch len(d) {
	case 11:
		return d[0] == '1' && d[1] >= '3' && d[1] <= '9'
	case 13:
		return strings.HasPrefix(d, "861") && d[3] >= '3' && d[3] <= '9'
	}
	return false
}

func isIDCard(d string) bool { return len(d) == 18 }
