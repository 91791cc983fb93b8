package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the YAML file at path: it expands ${NAME} references, rejects
// unknown keys, decodes (each source's credentials into its kind's type),
// applies defaults and validates every source against the declaration of
// its kind in kinds (the connectors.Registry's Kinds). Every error names
// the file, the line and the field.
func Load(path string, kinds Kinds) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, os.LookupEnv, kinds)
}

// LookupFunc looks up an environment variable, like os.LookupEnv.
type LookupFunc func(name string) (string, bool)

// Parse is Load on bytes; name is used in error messages and lookup
// resolves ${NAME} references.
func Parse(name string, data []byte, lookup LookupFunc, kinds Kinds) (*Config, error) {
	c := &Config{file: name, lines: map[string]int{}, credentials: map[string]*yaml.Node{}, kinds: kinds}
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("config: %s: the file is empty", name)
		}
		return nil, yamlErr(name, data, err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) == 1 {
		root = root.Content[0]
	}
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("config: %s:%d: the top level must be a mapping of keys (redis, clickhouse, sources, ...)", name, root.Line)
	}
	c.maskInlineSecrets(root)
	if err := c.walk(root, reflect.TypeOf(Config{}), "", lookup); err != nil {
		return nil, err
	}
	if err := root.Decode(c); err != nil {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			return nil, c.typeErr(te.Errors[0])
		}
		return nil, yamlErr(name, data, err)
	}
	if err := c.decodeCredentials(lookup); err != nil {
		return nil, err
	}
	c.setDefaults()
	if err := c.validate(); err != nil {
		return nil, err
	}
	c.masks = nil // they hold the secrets
	return c, nil
}

var envRef = regexp.MustCompile(`\$\{([^}]*)\}`)

// walk checks every mapping key against the yaml tags of t, records the
// line of every field path, and expands ${NAME} in scalar values.
func (c *Config) walk(n *yaml.Node, t reflect.Type, path string, lookup LookupFunc) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode {
		return c.errf(path, n.Line, "YAML aliases are not supported")
	}
	switch n.Kind {
	case yaml.ScalarNode:
		return c.expand(n, path, lookup)
	case yaml.SequenceNode:
		if t.Kind() == reflect.Map {
			return c.errf(path, n.Line, "expected a mapping, got a list")
		}
		if t.Kind() != reflect.Slice {
			return c.errf(path, n.Line, "expected a single value, got a list")
		}
		for i, item := range n.Content {
			p := fmt.Sprintf("%s[%d]", path, i)
			c.lines[p] = item.Line
			if err := c.walk(item, t.Elem(), p, lookup); err != nil {
				return err
			}
		}
		return nil
	case yaml.MappingNode:
		if t.Kind() == reflect.Map {
			return c.walkMap(n, t, path, lookup)
		}
		if t.Kind() != reflect.Struct {
			return c.errf(path, n.Line, "expected %s, got a mapping", kindName(t))
		}
		fields := yamlFields(t)
		seen := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			p := k.Value
			if path != "" {
				p = path + "." + k.Value
			}
			ft, ok := fields[k.Value]
			if !ok {
				return c.errf("", k.Line, "unknown key %q in %s (known keys: %s)", k.Value, orTop(path), knownKeys(t))
			}
			if seen[k.Value] {
				return c.errf("", k.Line, "duplicate key %q in %s", k.Value, orTop(path))
			}
			seen[k.Value] = true
			c.lines[p] = k.Line
			if ft.Kind() == reflect.Interface {
				// Source.Credentials, the one field of interface type: its
				// type is its kind's, known once the sources are decoded;
				// set aside for decodeCredentials
				c.credentials[p] = v
				n.Content[i+1] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
				continue
			}
			if err := c.walk(v, ft, p, lookup); err != nil {
				return err
			}
		}
	}
	return nil
}

// walkMap walks a mapping decoded into a Go map (a source's pii): any
// key is accepted here (validation checks them and names the bad one),
// each value is walked with the map's element type and its line recorded.
func (c *Config) walkMap(n *yaml.Node, t reflect.Type, path string, lookup LookupFunc) error {
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			return c.errf(path, k.Line, "keys must be plain names")
		}
		if seen[k.Value] {
			return c.errf("", k.Line, "duplicate key %q in %s", k.Value, orTop(path))
		}
		seen[k.Value] = true
		p := path + "." + k.Value
		c.lines[p] = k.Line
		if err := c.walk(v, t.Elem(), p, lookup); err != nil {
			return err
		}
	}
	return nil
}

func orTop(path string) string {
	if path == "" {
		return "the top level"
	}
	return path
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice:
		return "a list"
	case reflect.String:
		return "a string"
	case reflect.Map:
		return "a mapping"
	default:
		return "a single value"
	}
}

// expand replaces ${NAME} in a scalar. An unset variable is an error naming
// it. The node's tag is reset so that "${PORT}" can fill a number field.
func (c *Config) expand(n *yaml.Node, path string, lookup LookupFunc) error {
	if !strings.Contains(n.Value, "${") {
		return nil
	}
	var missing []string
	out := envRef.ReplaceAllStringFunc(n.Value, func(m string) string {
		name := m[2 : len(m)-1]
		v, ok := lookup(name)
		if !ok || name == "" {
			missing = append(missing, name)
		}
		c.maskEnv(name, v)
		return v
	})
	if len(missing) > 0 {
		return c.errf(path, n.Line, "environment variable %s is not set", missing[0])
	}
	n.Value = out
	if n.Style == 0 {
		n.Tag = "" // re-resolve: "${RATE}" may become the number 10
	}
	return nil
}

func yamlFields(t reflect.Type) map[string]reflect.Type {
	m := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if tag == "" || tag == "-" || !f.IsExported() {
			continue
		}
		m[tag] = f.Type
	}
	return m
}

func knownKeys(t reflect.Type) string {
	var keys []string
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]
		if tag != "" && tag != "-" && t.Field(i).IsExported() {
			keys = append(keys, tag)
		}
	}
	return strings.Join(keys, ", ")
}

// errf formats "config: FILE:LINE: PATH: message", masking the secrets
// the file holds or references (config/mask.go).
func (c *Config) errf(path string, line int, format string, args ...any) error {
	var b strings.Builder
	b.WriteString("config: ")
	if c.file != "" {
		b.WriteString(c.file)
		if line > 0 {
			fmt.Fprintf(&b, ":%d", line)
		}
		b.WriteString(": ")
	}
	if path != "" {
		b.WriteString(c.masked(path))
		b.WriteString(": ")
	}
	b.WriteString(c.masked(fmt.Sprintf(format, args...)))
	return errors.New(b.String())
}

// line returns the line of a field path, or of its nearest recorded parent.
func (c *Config) line(path string) int {
	for path != "" {
		if l, ok := c.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// fieldErr reports a validation error at a field path, with its line.
func (c *Config) fieldErr(path, format string, args ...any) error {
	return c.errf(path, c.line(path), format, args...)
}

var typeErrRE = regexp.MustCompile("^line (\\d+): cannot unmarshal (!!\\w+)(?: `.*`)? into (.+)$")

// typeErr rewrites a yaml.v3 type error ("line 6: cannot unmarshal !!str
// `s3cret-...` into int") without the value, which may be (a prefix of) a
// secret put in the wrong field: "config: FILE:6: sources[0].page_size:
// expected an integer, got a string (the value is not shown)". The field
// is named when one field alone starts on that line.
func (c *Config) typeErr(msg string) error {
	m := typeErrRE.FindStringSubmatch(msg)
	if m == nil {
		return c.errf("", 0, "a value has the wrong type (the value is not shown)")
	}
	line, _ := strconv.Atoi(m[1])
	path := ""
	for p, l := range c.lines {
		if l != line {
			continue
		}
		switch {
		case path == "" || strings.HasPrefix(p, path):
			path = p // the deepest path on the line
		case !strings.HasPrefix(path, p):
			return c.errf("", line, "expected %s, got %s (the value is not shown)", goTypeName(m[3]), yamlTagName(m[2]))
		}
	}
	return c.errf(path, line, "expected %s, got %s (the value is not shown)", goTypeName(m[3]), yamlTagName(m[2]))
}

func yamlTagName(tag string) string {
	switch tag {
	case "!!str":
		return "a string"
	case "!!int":
		return "an integer"
	case "!!float":
		return "a number"
	case "!!bool":
		return "true or false"
	case "!!seq":
		return "a list"
	case "!!map":
		return "a mapping"
	case "!!null":
		return "null"
	}
	return "a " + strings.TrimPrefix(tag, "!!")
}

func goTypeName(t string) string {
	switch t {
	case "int", "int64", "int32", "uint", "uint64", "uint32":
		return "an integer"
	case "float64", "float32":
		return "a number"
	case "bool":
		return "true or false"
	case "string", "config.Secret", "config.Kind":
		return "a string"
	case "time.Duration":
		return "a duration such as 30s or 10m"
	}
	if strings.HasPrefix(t, "[]") {
		return "a list"
	}
	if strings.HasPrefix(t, "map[") || strings.HasPrefix(t, "config.") {
		return "a mapping"
	}
	return t
}

var (
	yamlLine      = regexp.MustCompile(`^line (\d+): `)
	unknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)
)

// yamlErr rewrites a yaml.v3 error as "config: FILE:LINE: message", with
// a hint for the classic trap: ${NAME} unquoted inside [ ] or { }.
func yamlErr(file string, data []byte, err error) error {
	s := err.Error()
	s = strings.TrimPrefix(s, "yaml: unmarshal errors:\n  ")
	s = strings.TrimPrefix(s, "yaml: ")
	s = strings.ReplaceAll(s, "\n  ", "; ")
	// yaml.v3 quotes an undefined alias's name, without a line: a secret
	// written inline and starting with * (`des_key: *k3y`) would be shown.
	// Name the line instead of the text.
	if m := unknownAnchor.FindStringSubmatch(s); m != nil {
		s = "an alias (*name) refers to an anchor (&name) that is not defined; quote a value that starts with *"
		for i, l := range strings.Split(string(data), "\n") {
			if strings.Contains(l, "*"+m[1]) {
				s = fmt.Sprintf("line %d: %s", i+1, s)
				break
			}
		}
	}
	m := yamlLine.FindStringSubmatch(s)
	if m == nil {
		return fmt.Errorf("config: %s: %s", file, s)
	}
	msg := s[len(m[0]):]
	n, _ := strconv.Atoi(m[1])
	lines := strings.Split(string(data), "\n")
	// yaml.v3 may place scanner errors a line early: look around
	for i := max(1, n-1); i <= min(len(lines), n+1); i++ {
		if l := lines[i-1]; strings.Contains(l, "${") && strings.ContainsAny(l, "[{") {
			msg += ` (inside [ ] or { }, quote ${...} references: "${NAME}")`
			n = i
			break
		}
	}
	return fmt.Errorf("config: %s:%d: %s", file, n, msg)
}
