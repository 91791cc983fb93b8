package config

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// This file decodes and checks the credentials of a source. Each kind
// declares its own credentials type (KindSpec.Credentials): a struct of
// string fields, Secret for a secret, each with its YAML key and its rules
// in a `cred` tag:
//
//	type Credentials struct {
//		User  string        `yaml:"user" cred:"required"`
//		Key   config.Secret `yaml:"key" cred:"required,bytes=8"`
//		Mode  string        `yaml:"mode" cred:"default=ecb,oneof=ecb cbc"`
//	}
//
// The rules, comma-separated: required (set and not blank), default=V (the
// value when unset), oneof=A B (the allowed values), bytes=N (the exact
// length in bytes when set). Parse decodes each source's `credentials`
// block into its kind's type (a key the type does not declare is an
// error), fills the defaults and checks the rules; the connector reads the
// value with CredentialsAs. Config names no credential key of any kind.

// CredentialSpec is one key of a kind's credentials, as its type declares
// it.
type CredentialSpec struct {
	Key      string   // the YAML key under credentials
	Secret   bool     // a Secret: its value is never shown
	Required bool     // must be set (not blank)
	Default  string   // value when unset
	OneOf    []string // the allowed values; empty: any
	Bytes    int      // the exact length in bytes when set; 0: any

	field int // the index of the struct field
}

// CredentialKeys returns the keys of the kind's credentials type, in field
// order, with their rules; nil for a kind without credentials. It is an
// error when the type is not one Parse can decode and print safely: a
// struct whose fields are all exported, of a string type (string, Secret
// or a named string type), with a YAML key each and well-formed rules.
func (k *KindSpec) CredentialKeys() ([]CredentialSpec, error) {
	if k.Credentials == nil {
		return nil, nil
	}
	t := reflect.TypeOf(k.Credentials)
	if t.Kind() != reflect.Struct {
		return nil, fmt.Errorf("kind %s: credentials type %s is not a struct", k.Kind, t)
	}
	var out []CredentialSpec
	for i := range t.NumField() {
		f := t.Field(i)
		key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch {
		case !f.IsExported():
			return nil, fmt.Errorf("kind %s: credentials field %s is unexported (fmt would print a secret in it)", k.Kind, f.Name)
		case f.Type.Kind() != reflect.String:
			return nil, fmt.Errorf("kind %s: credentials field %s has type %s, not a string or Secret", k.Kind, f.Name, f.Type)
		case key == "" || key == "-":
			return nil, fmt.Errorf("kind %s: credentials field %s has no yaml key", k.Kind, f.Name)
		case slices.ContainsFunc(out, func(cs CredentialSpec) bool { return cs.Key == key }):
			return nil, fmt.Errorf("kind %s: credentials key %s is declared twice", k.Kind, key)
		}
		cs := CredentialSpec{Key: key, Secret: f.Type == secretType, field: i}
		if err := cs.parseRules(f.Tag.Get("cred")); err != nil {
			return nil, fmt.Errorf("kind %s: credentials key %s: %w", k.Kind, key, err)
		}
		out = append(out, cs)
	}
	return out, nil
}

// parseRules reads a `cred` tag.
func (cs *CredentialSpec) parseRules(tag string) error {
	if tag == "" {
		return nil
	}
	for _, rule := range strings.Split(tag, ",") {
		name, val, hasVal := strings.Cut(rule, "=")
		switch {
		case name == "required" && !hasVal:
			cs.Required = true
		case name == "default" && val != "":
			cs.Default = val
		case name == "oneof" && len(strings.Fields(val)) > 0:
			cs.OneOf = strings.Fields(val)
		case name == "bytes":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return fmt.Errorf("rule %q: want bytes=N, N ≥ 1", rule)
			}
			cs.Bytes = n
		default:
			return fmt.Errorf("unknown rule %q (want required, default=V, oneof=A B or bytes=N)", rule)
		}
	}
	switch {
	case cs.Default != "" && cs.Secret:
		return errors.New("a secret has no default")
	case len(cs.OneOf) > 0 && cs.Secret:
		return errors.New("a secret has no list of allowed values (errors would show them)")
	case cs.Default != "" && cs.Required:
		return errors.New("a required key has no default")
	case cs.Default != "" && len(cs.OneOf) > 0 && !slices.Contains(cs.OneOf, cs.Default):
		return fmt.Errorf("default %q is not one of %s", cs.Default, strings.Join(cs.OneOf, ", "))
	}
	return nil
}

func credentialKeyNames(keys []CredentialSpec) string {
	names := make([]string, len(keys))
	for i, cs := range keys {
		names[i] = cs.Key
	}
	return strings.Join(names, ", ")
}

// CredentialsAs returns the credentials of s as its kind's type T: the
// value Parse decoded, or one set in code (a T or a *T). It returns the
// zero T when s holds none or another type; the connector's own checks
// then report the missing keys.
func CredentialsAs[T any](s *Source) T {
	switch v := s.Credentials.(type) {
	case T:
		return v
	case *T:
		if v != nil {
			return *v
		}
	}
	var zero T
	return zero
}

// decodeCredentials decodes the credentials block of every source of a
// known kind (set aside by walk) into the kind's type, expanding ${NAME}
// references, and fills the defaults. A key the type does not declare is
// an error naming its line and the keys the kind takes.
func (c *Config) decodeCredentials(lookup LookupFunc) error {
	defer func() { c.credentials = nil }() // the nodes hold the secrets
	for i := range c.Sources {
		s := &c.Sources[i]
		spec, ok := c.kinds.Spec(s.Kind)
		if !ok {
			continue // validate reports the unknown kind
		}
		p := fmt.Sprintf("sources[%d].credentials", i)
		n := c.credentials[p]
		if n != nil && n.ShortTag() == "!!null" {
			n = nil // `credentials:` without a value
		}
		keys, err := spec.CredentialKeys()
		switch {
		case err != nil:
			return c.errf("", 0, "%v", err)
		case spec.Credentials == nil && n != nil:
			return c.errf(p, n.Line, "kind %s takes no credentials", s.Kind)
		case spec.Credentials == nil:
			continue
		}
		t := reflect.TypeOf(spec.Credentials)
		v := reflect.New(t)
		if n != nil {
			if err := c.checkCredentialKeys(n, p, s.Kind, keys); err != nil {
				return err
			}
			if err := c.walk(n, t, p, lookup); err != nil {
				return err
			}
			if err := n.Decode(v.Interface()); err != nil {
				var te *yaml.TypeError
				if errors.As(err, &te) && len(te.Errors) > 0 {
					return c.typeErr(te.Errors[0])
				}
				return c.errf(p, n.Line, "the value cannot be decoded (the value is not shown)")
			}
		}
		for _, cs := range keys {
			if f := v.Elem().Field(cs.field); f.String() == "" && cs.Default != "" {
				f.SetString(cs.Default)
			}
		}
		s.Credentials = v.Elem().Interface()
	}
	return nil
}

// checkCredentialKeys checks that the block n is a mapping of keys the
// kind's credentials declare.
func (c *Config) checkCredentialKeys(n *yaml.Node, p string, kind Kind, keys []CredentialSpec) error {
	switch n.Kind {
	case yaml.AliasNode:
		return c.errf(p, n.Line, "YAML aliases are not supported")
	case yaml.MappingNode:
	default:
		return c.errf(p, n.Line, "expected a mapping of the credentials of kind %s (%s)", kind, credentialKeyNames(keys))
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !slices.ContainsFunc(keys, func(cs CredentialSpec) bool { return cs.Key == k.Value }) {
			return c.errf(p+"."+k.Value, k.Line, "is not a credential of kind %s (it takes: %s)", kind, credentialKeyNames(keys))
		}
	}
	return nil
}

// validateCredentials checks the decoded credentials of source s (at
// path p) against the rules of its kind's type. Only the oneof rule shows
// the value, and a secret has none.
func (c *Config) validateCredentials(p string, s *Source) error {
	keys, _ := s.spec.CredentialKeys() // decodeCredentials returned its error
	if len(keys) == 0 {
		return nil
	}
	v := reflect.ValueOf(s.Credentials) // the kind's type: decodeCredentials set it
	for _, cs := range keys {
		kp := p + ".credentials." + cs.Key
		val := v.Field(cs.field).String()
		switch {
		case strings.TrimSpace(val) == "":
			if cs.Required {
				return c.fieldErr(kp, "is required for kind %s", s.Kind)
			}
		case cs.Bytes > 0 && len(val) != cs.Bytes:
			return c.fieldErr(kp, "must be exactly %d bytes, got %d", cs.Bytes, len(val))
		case len(cs.OneOf) > 0 && !slices.Contains(cs.OneOf, val): // not a secret (parseRules)
			return c.fieldErr(kp, "%q is not one of %s", val, strings.Join(cs.OneOf, ", "))
		}
	}
	return nil
}
