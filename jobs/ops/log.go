package ops

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"slices"
	"strings"
)

// Log formats.
const (
	LogJSON = "json"
	LogText = "text"
)

// NewLogger returns a logger writing format (json or text) at level to w,
// with every secret and access_token value redacted.
func NewLogger(w io.Writer, format string, level slog.Level, secrets []string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler
	switch format {
	case LogJSON, "":
		h = slog.NewJSONHandler(w, opts)
	case LogText:
		h = slog.NewTextHandler(w, opts)
	default:
		return nil, fmt.Errorf("log format %q: want json or text", format)
	}
	return slog.New(NewRedactor(h, secrets)), nil
}

// Redacted replaces a secret in log output.
const Redacted = "[redacted]"

// tokenParam matches credentials carried as URL query or form values
// (DM Hub's access_token, and the signing parameters of the others).
// Both the URL form (access_token=V) and the JSON form ("access_token":"V")
// are matched.
var tokenParam = regexp.MustCompile(`(?i)(\b(?:access_token|app_secret|secret|grant_code|sign|token)(?:=|\\?"\s*:\s*\\?"))[^&\s"'\\;,)]+`)

// Redactor is a slog.Handler that rewrites every string the record
// carries (message, attribute values, errors, Stringers, groups) so that
// no configured secret and no access_token=... value reaches the output.
type Redactor struct {
	next    slog.Handler
	secrets []string
	rep     *strings.Replacer
}

// NewRedactor wraps next. Secrets shorter than 4 bytes are ignored: they
// would redact ordinary words (config validation keeps real ones longer).
func NewRedactor(next slog.Handler, secrets []string) *Redactor {
	var s []string
	for _, x := range secrets {
		if len(x) >= 4 {
			s = append(s, x)
		}
	}
	// longest first, so a secret containing another is replaced whole
	slices.SortFunc(s, func(a, b string) int { return len(b) - len(a) })
	var pairs []string
	for _, x := range s {
		pairs = append(pairs, x, Redacted)
	}
	return &Redactor{next: next, secrets: s, rep: strings.NewReplacer(pairs...)}
}

// Scrub redacts one string.
func (r *Redactor) Scrub(s string) string {
	if len(r.secrets) > 0 {
		s = r.rep.Replace(s)
	}
	return tokenParam.ReplaceAllString(s, "${1}"+Redacted)
}

// Enabled implements slog.Handler.
func (r *Redactor) Enabled(ctx context.Context, l slog.Level) bool { return r.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (r *Redactor) Handle(ctx context.Context, rec slog.Record) error {
	out := slog.NewRecord(rec.Time, rec.Level, r.Scrub(rec.Message), rec.PC)
	rec.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(r.attr(a))
		return true
	})
	return r.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (r *Redactor) WithAttrs(as []slog.Attr) slog.Handler {
	scrubbed := make([]slog.Attr, len(as))
	for i, a := range as {
		scrubbed[i] = r.attr(a)
	}
	return &Redactor{next: r.next.WithAttrs(scrubbed), secrets: r.secrets, rep: r.rep}
}

// WithGroup implements slog.Handler.
func (r *Redactor) WithGroup(name string) slog.Handler {
	return &Redactor{next: r.next.WithGroup(name), secrets: r.secrets, rep: r.rep}
}

func (r *Redactor) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, r.Scrub(v.String()))
	case slog.KindGroup:
		g := v.Group()
		out := make([]any, len(g))
		for i, x := range g {
			out[i] = r.attr(x)
		}
		return slog.Group(a.Key, out...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, r.Scrub(x.Error()))
		case fmt.Stringer:
			return slog.String(a.Key, r.Scrub(x.String()))
		case []byte:
			return slog.String(a.Key, r.Scrub(string(x)))
		default:
			// structs, maps, slices: render as the handler would, then scrub
			return slog.String(a.Key, r.Scrub(fmt.Sprintf("%+v", x)))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
