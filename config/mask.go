package config

import (
	"cmp"
	"maps"
	"reflect"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

// Errors echo what the file says (`"dmhb" is not a known kind`, `unknown
// key "pagesize"`), because that is what makes them useful. So that an
// echo never shows a secret, every error Parse returns masks two kinds of
// text wherever they occur in it:
//
//   - the value of every ${NAME} reference the file expanded, shown as
//     ${NAME}: the environment may hold a secret, and a reference put in
//     the wrong field (`kind: ${DES_KEY}`) would otherwise print it;
//   - every value written inline under a secret key (a Secret field of the
//     config, or a secret credential of any kind), shown as [secret]: the
//     same text elsewhere in the file (a pasted key, a flow mapping) is
//     still the secret.
//
// Texts shorter than minMasked bytes are left alone: masking "7", "open"
// or "hash" would garble numbers and words, and the vendors' secrets are
// not that short (a DES key is exactly 8 bytes; pii_key, serve.token and
// webhook_secret must be longer). A value that is itself a ${NAME}
// reference is not a secret; what it expands to is masked as above.
// The masks live only while Parse runs: a returned Config holds none.
const minMasked = 8

// maskEnv records that value came from ${name}.
func (c *Config) maskEnv(name, value string) {
	c.addMask(value, "${"+name+"}")
}

// addMask records that text is shown as as; the first record of a text
// stands.
func (c *Config) addMask(text, as string) {
	if len(text) < minMasked || strings.Contains(text, "${") {
		return
	}
	if c.masks == nil {
		c.masks = map[string]string{}
	}
	if _, ok := c.masks[text]; !ok {
		c.masks[text] = as
	}
}

// maskInlineSecrets records the scalar under every secret key of the
// document, before anything is walked or reported.
func (c *Config) maskInlineSecrets(root *yaml.Node) {
	keys := secretKeys(c.kinds)
	var visit func(n *yaml.Node)
	visit = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if v := n.Content[i+1]; v.Kind == yaml.ScalarNode && keys[n.Content[i].Value] {
					c.addMask(v.Value, "[secret]")
				}
			}
		}
		for _, ch := range n.Content {
			visit(ch)
		}
	}
	visit(root)
}

// masked returns s with every recorded text replaced, the longest first,
// so that a secret containing another is masked whole.
func (c *Config) masked(s string) string {
	texts := slices.SortedFunc(maps.Keys(c.masks), func(a, b string) int {
		return cmp.Or(len(b)-len(a), strings.Compare(a, b)) // deterministic for overlaps
	})
	for _, t := range texts {
		s = strings.ReplaceAll(s, t, c.masks[t])
	}
	return s
}

// secretKeys returns the YAML keys that hold a Secret anywhere in the
// config: fields of type Secret (found by reflection, so a Secret field
// added later is covered) and the secret credentials of every kind.
func secretKeys(kinds Kinds) map[string]bool {
	keys := map[string]bool{}
	var visit func(t reflect.Type, seen map[reflect.Type]bool)
	visit = func(t reflect.Type, seen map[reflect.Type]bool) {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice || t.Kind() == reflect.Map {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return
		}
		seen[t] = true
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
			if !f.IsExported() || tag == "-" {
				continue
			}
			if f.Type == secretType {
				keys[tag] = true
			}
			visit(f.Type, seen)
		}
	}
	visit(reflect.TypeOf(Config{}), map[reflect.Type]bool{})
	for _, k := range kinds {
		specs, _ := k.CredentialKeys() // decodeCredentials reports the error
		for _, cs := range specs {
			if cs.Secret {
				keys[cs.Key] = true
			}
		}
	}
	return keys
}
