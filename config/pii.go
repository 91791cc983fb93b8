package config

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
)

// PIIAction is what a source's privacy policy does with a personal field
// before a row is stored (docs/privacy.md).
type PIIAction string

// The PII actions. Keep is the default of every field.
const (
	PIIKeep PIIAction = "keep" // stored as the vendor sent it
	PIIHash PIIAction = "hash" // hex HMAC-SHA256 under pii_key of the normalized value
	PIIMask PIIAction = "mask" // partly starred, e.g. 138****5678
	PIIDrop PIIAction = "drop" // not stored: "" in columns, the key left out of JSON
)

// PIIActions lists the actions in the order error messages give them.
var PIIActions = []PIIAction{PIIKeep, PIIHash, PIIMask, PIIDrop}

// The named PII fields. Custom attributes are named by their own key,
// which starts with c_ (CustomPrefix), or by a c_ prefix pattern ending in
// *, such as c_* or c_addr*.
const (
	FieldMobile  = "mobile"
	FieldEmail   = "email"
	FieldIDCard  = "id_card"
	FieldAddress = "address"
	FieldName    = "name"
	CustomPrefix = "c_"
)

// PIIFields lists the named fields (custom c_ keys come besides them).
var PIIFields = []string{FieldMobile, FieldEmail, FieldIDCard, FieldAddress, FieldName}

// MinPIIKeyBytes is the shortest pii_key accepted.
const MinPIIKeyBytes = 16

// PIIPolicy returns the action of field under the source's pii block:
// the field's own entry; for a c_ key, its exact entry, else the entry of
// the longest matching c_ prefix pattern (c_id* beats c_*); else keep.
// A custom key not starting with c_ (cm_test2) has no entry and is kept.
func (s *Source) PIIPolicy(field string) PIIAction {
	if a, ok := s.PII[field]; ok {
		return PIIAction(a)
	}
	if !strings.HasPrefix(field, CustomPrefix) {
		return PIIKeep
	}
	best, action := -1, PIIKeep
	for k, a := range s.PII {
		prefix, ok := strings.CutSuffix(k, "*")
		if ok && strings.HasPrefix(field, prefix) && len(prefix) > best {
			best, action = len(prefix), PIIAction(a)
		}
	}
	return action
}

// PIIActive reports whether the source's policy changes any field.
func (s *Source) PIIActive() bool {
	for _, a := range s.PII {
		if PIIAction(a) != PIIKeep {
			return true
		}
	}
	return false
}

// keyFieldPII maps a member_keys/identity_keys field to the PII field
// whose policy changes the stored values it reads: member columns mobile
// and email, or a c_ custom attribute. Other fields (member_id, ...) are
// not personal fields here.
func keyFieldPII(field string) (string, bool) {
	switch {
	case field == FieldMobile || field == FieldEmail:
		return field, true
	case strings.HasPrefix(field, CustomPrefix):
		return field, true
	}
	return "", false
}

// validatePII checks every source's pii block (known fields and actions;
// hash needs pii_key) and pii_key itself.
func (c *Config) validatePII() error {
	if k := c.PIIKey; k != "" && len(k) < MinPIIKeyBytes {
		// the length only: the key is a secret
		return c.fieldErr("pii_key", "must be at least %d bytes, got %d", MinPIIKeyBytes, len(k))
	}
	for i := range c.Sources {
		s := &c.Sources[i]
		fields := make([]string, 0, len(s.PII))
		for f := range s.PII {
			fields = append(fields, f)
		}
		slices.Sort(fields)
		for _, f := range fields {
			p := fmt.Sprintf("sources[%d].pii.%s", i, f)
			if !validPIIField(f) {
				return c.fieldErr(p, "%q is not a PII field (%s, or a custom attribute key starting with %s, optionally ending in * as a prefix pattern such as c_*)",
					f, strings.Join(PIIFields, ", "), CustomPrefix)
			}
			a := PIIAction(s.PII[f])
			if !slices.Contains(PIIActions, a) {
				return c.fieldErr(p, "%q is not a PII action (keep, hash, mask or drop)", s.PII[f])
			}
			if a == PIIHash && c.PIIKey == "" {
				return c.fieldErr(p, "hash needs the top-level pii_key (one HMAC key for the deployment, at least %d bytes)", MinPIIKeyBytes)
			}
		}
	}
	return nil
}

// validPIIField reports whether f names a PII field: a named one, a c_
// key, or a c_ prefix pattern (one * at the end).
func validPIIField(f string) bool {
	if slices.Contains(PIIFields, f) {
		return true
	}
	rest, ok := strings.CutPrefix(f, CustomPrefix)
	if !ok {
		return false
	}
	rest = strings.TrimSuffix(rest, "*")
	for _, r := range rest {
		if r == '*' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// validateKeyPII rejects a key source reading {from_source: S, field: F}
// when S's policy changes F: the look-ups would send hashed, masked or
// empty values to the vendor.
func (c *Config) validateKeyPII(p string, spec *KeySource, from *Source) error {
	f, ok := keyFieldPII(spec.Field)
	if !ok {
		return nil
	}
	if a := from.PIIPolicy(f); a != PIIKeep {
		return c.fieldErr(p+".field", "source %q stores %s with pii action %s, so its members hold no plain %s values to look members up by; "+
			"take the keys from another field, a file or a query, or keep %s in %q", from.Name, f, a, f, f, from.Name)
	}
	return nil
}
