package warehouse

import (
	"github.com/loyaltybridge/loyaltybridge/warehouse/pii"
)

// SetPrivacy sets the PII policy Load applies to every row before it is
// stored (nil: none; docs/privacy.md). jobs.NewEngine sets it from the
// config, so every process that syncs applies it.
func (w *Warehouse) SetPrivacy(p *pii.Policy) { w.privacy.Store(p) }

// Privacy returns the policy Load applies (nil when none is set).
func (w *Warehouse) Privacy() *pii.Policy { return w.privacy.Load() }

// scopes are the pii scopes of the raw JSON of the tables whose records
// are not "other" records; rejected_records rows are scoped by their
// stream, which is a stream name or, for a row that did not fit its
// columns (misfit), a table name.
var scopes = map[string]pii.Scope{
	Members.Name: pii.Member, MemberIdentities.Name: pii.Identity,
	"members": pii.Member, "identities": pii.Identity,
}

// redact applies p to the values v of a row of t, in place (v is the
// row's own copy, from Values): by column name, so a table added later
// is covered by the same rules.
//
//   - members: name, mobile, email by their fields; custom_attrs and raw
//     as member JSON;
//   - member_identities: value by the identity's type; raw as an identity;
//   - rejected_records: raw as JSON of its stream's scope (a body that is
//     not JSON: pii.Rules.Opaque); error and record_key scrubbed of the
//     values the raw held (pii.Rules.Text; the error also of anything
//     shaped like a mobile, e-mail or ID card), a record key that was
//     such a value replaced like it; a key derived from the body (the
//     SHA-256 of the plain body) replaced by its HMAC under pii_key;
//   - every table: a raw or payload column as JSON of scope Other.
func redact(p *pii.Policy, t Table, v []any) {
	if !p.Active() {
		return
	}
	src, _ := v[0].(string) // source is the first column of every table
	r := p.For(src)
	if r == nil {
		return
	}
	str := func(col string) (int, string, bool) {
		i := t.Col(col)
		if i < 0 {
			return -1, "", false
		}
		s, ok := v[i].(string)
		return i, s, ok
	}
	set := func(col string, f func(string) string) {
		if i, s, ok := str(col); ok {
			v[i] = f(s)
		}
	}
	switch t.Name {
	case Members.Name:
		for _, f := range []string{"name", "mobile", "email"} {
			set(f, func(s string) string { return r.Value(f, s) })
		}
		set("custom_attrs", func(s string) string { out, _ := r.JSON(s, pii.Member); return out })
		set("raw", func(s string) string { out, _ := r.JSON(s, pii.Member); return out })
	case MemberIdentities.Name:
		_, typ, _ := str("type")
		set("value", func(s string) string { return r.Identity(typ, s) })
		set("raw", func(s string) string { out, _ := r.JSON(s, pii.Identity); return out })
	case RejectedRecords.Name:
		_, stream, _ := str("stream")
		_, raw, _ := str("raw")
		out, ch := r.JSON(raw, scopes[stream])
		set("raw", func(string) string { return out })
		// the key first: it is matched against the raw's changes only
		// a key derived from the body: one that neither reveals the plain
		// body nor merges different bodies (as the hash of one withheld
		// text would)
		bodyKey := func() string {
			if hk := r.RecordKey(raw); hk != "" {
				return hk
			}
			if out == pii.Withheld {
				return RejectedKey([]byte(raw))
			}
			return RejectedKey([]byte(out))
		}
		set("record_key", func(k string) string {
			if out == raw {
				return k // nothing personal in the body (by this policy)
			}
			if k == RejectedKey([]byte(raw)) {
				return bodyKey()
			}
			if rep, ok := ch[k]; ok {
				if rep == "" {
					return bodyKey()
				}
				return rep
			}
			// not a value the policy changed: a vendor id, kept (no shape
			// scan, which would take an 18-digit id for an ID card)
			return k
		})
		set("error", func(s string) string { return r.Text(s, ch) })
	default:
		for _, c := range []string{"raw", "payload"} {
			set(c, func(s string) string { out, _ := r.JSON(s, pii.Other); return out })
		}
	}
}
