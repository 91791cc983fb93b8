package pii

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// Scope says which record a JSON text is: it decides whether a bare
// "name" key is a person's name and how an identity's "value" is read.
type Scope int

// The scopes.
const (
	// Other: a ledger entry, a coupon, a level, a webhook payload. A bare
	// "name" is the name of a thing (a coupon, a level), kept.
	Other Scope = iota
	// Member: a member record (members.raw, custom_attrs). "name" at the
	// top level, or inside a customerInfo or baseInfo object (zvcms), is
	// the member's name.
	Member
	// Identity: an identity {type, value, name}. "value" is read by the
	// identity's type (IdentityField); "name" is the channel's name.
	Identity
)

// fieldKeys maps JSON keys (lower-cased) to the PII field they hold, at
// any depth of any record: the three vendors' documented keys for each.
// A bare "name" is handled by scope (see Member).
var fieldKeys = map[string]string{
	"mobile": config.FieldMobile, "phone": config.FieldMobile, "mobilephone": config.FieldMobile,
	"cellphone": config.FieldMobile, "telephone": config.FieldMobile, "tel": config.FieldMobile,
	"contacttel": config.FieldMobile, "oldmobile": config.FieldMobile, "newmobile": config.FieldMobile,
	"phonenumber": config.FieldMobile, "mobileno": config.FieldMobile,
	"email": config.FieldEmail, "mail": config.FieldEmail, "emailaddress": config.FieldEmail,
	"idcard": config.FieldIDCard, "id_card": config.FieldIDCard, "idcardno": config.FieldIDCard,
	"idno": config.FieldIDCard, "idnumber": config.FieldIDCard,
	"address": config.FieldAddress, "shippingaddress": config.FieldAddress, "shippingstreet": config.FieldAddress,
	"detailaddress": config.FieldAddress, "addr": config.FieldAddress,
	"familyname": config.FieldName, "givenname": config.FieldName, "realname": config.FieldName,
	"username": config.FieldName, "nickname": config.FieldName, "fullname": config.FieldName,
	"contactname": config.FieldName, "referrer": config.FieldName,
}

// FieldKeys returns the JSON keys (lower-cased) that hold field at any
// depth; for docs and tests.
func FieldKeys(field string) []string {
	var out []string
	for k, f := range fieldKeys {
		if f == field {
			out = append(out, k)
		}
	}
	return out
}

// profileKeys are the member-scope objects whose bare "name" is the
// member's name (zvcms allCustomerInfo's nested profiles).
var profileKeys = map[string]bool{"customerInfo": true, "baseInfo": true}

// Changes maps each string or number a JSON text held that the policy
// changed (at least 4 characters long) to what replaced it ("" when
// dropped): Text uses it to scrub the same values out of free text, such
// as an error message quoting them.
type Changes map[string]string

// JSON applies the rules to the JSON text raw of scope. When raw is valid
// JSON the result is valid JSON with the same keys in the same order,
// except that changed values become strings and dropped keys are left
// out; raw is returned as is when nothing changed. When raw is not valid
// JSON, see Opaque.
func (r *Rules) JSON(raw string, scope Scope) (string, Changes) {
	ch := Changes{}
	if r == nil {
		return raw, ch
	}
	root, err := parse(raw)
	if err != nil {
		return r.Opaque(raw, ch), ch
	}
	t := transformer{r: r, ch: ch}
	switch scope {
	case Member:
		t.object(root, true, false)
	case Identity:
		t.identity(root)
	default:
		t.walk(root)
	}
	if !t.changed {
		return raw, ch
	}
	var b bytes.Buffer
	b.Grow(len(raw))
	root.write(&b)
	return b.String(), ch
}

// Withheld is what Opaque stores in place of a text it cannot redact.
const Withheld = `{"pii_withheld":"not valid JSON: the source's pii policy cannot find its fields, so the text is not stored"}`

// Opaque redacts a text that is not JSON (a rejected record's broken
// body): mobiles, e-mail addresses and ID-card numbers are found by
// their shape (Text). Names, addresses and c_ values have no shape: when
// the rules change any of them, the whole text is withheld (Withheld).
func (r *Rules) Opaque(s string, ch Changes) string {
	if r == nil {
		return s
	}
	scrubbed := r.Text(s, ch) // also notes the shaped values in ch, for the record key
	for _, f := range []string{config.FieldName, config.FieldAddress} {
		if r.Action(f) != config.PIIKeep {
			return Withheld
		}
	}
	for k, a := range r.src.PII {
		if strings.HasPrefix(k, config.CustomPrefix) && config.PIIAction(a) != config.PIIKeep {
			return Withheld
		}
	}
	return scrubbed
}

// node is a parsed JSON value that keeps key order and number text.
type node struct {
	kind  byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	str   string
	keys  []string
	vals  []*node
	items []*node
	drop  []bool // object members left out
}

// maxDepth bounds nesting, as encoding/json does.
const maxDepth = 10000

var errSyntax = errors.New("not valid JSON")

// parse reads one JSON value (and nothing after it but white space). It
// accepts exactly what encoding/json's Valid accepts (FuzzJSON checks),
// and is several times faster than its Decoder.Token, which the
// loader's per-row budget needs.
func parse(raw string) (*node, error) {
	p := parser{s: raw}
	n, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i != len(p.s) {
		return nil, errSyntax
	}
	return n, nil
}

type parser struct {
	s     string
	i     int
	arena []node // nodes are allocated in chunks: one allocation per 32
}

func (p *parser) node(kind byte, str string) *node {
	if len(p.arena) == cap(p.arena) {
		p.arena = make([]node, 0, 32)
	}
	p.arena = append(p.arena, node{kind: kind, str: str})
	return &p.arena[len(p.arena)-1]
}

func (p *parser) ws() {
	for p.i < len(p.s) {
		switch p.s[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (*node, error) {
	if depth > maxDepth {
		return nil, errSyntax
	}
	p.ws()
	if p.i >= len(p.s) {
		return nil, errSyntax
	}
	switch c := p.s[p.i]; {
	case c == '{':
		p.i++
		n := p.node('o', "")
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == '}' {
			p.i++
			return n, nil
		}
		for {
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != '"' {
				return nil, errSyntax
			}
			k, err := p.str()
			if err != nil {
				return nil, err
			}
			p.ws()
			if p.i >= len(p.s) || p.s[p.i] != ':' {
				return nil, errSyntax
			}
			p.i++
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.keys = append(n.keys, k)
			n.vals = append(n.vals, v)
			n.drop = append(n.drop, false)
			done, err := p.next('}')
			if err != nil {
				return nil, err
			}
			if done {
				return n, nil
			}
		}
	case c == '[':
		p.i++
		n := p.node('a', "")
		p.ws()
		if p.i < len(p.s) && p.s[p.i] == ']' {
			p.i++
			return n, nil
		}
		for {
			v, err := p.value(depth + 1)
			if err != nil {
				return nil, err
			}
			n.items = append(n.items, v)
			done, err := p.next(']')
			if err != nil {
				return nil, err
			}
			if done {
				return n, nil
			}
		}
	case c == '"':
		str, err := p.str()
		if err != nil {
			return nil, err
		}
		return p.node('s', str), nil
	case c == 't':
		return p.literal("true", 'b')
	case c == 'f':
		return p.literal("false", 'b')
	case c == 'n':
		return p.literal("null", 'z')
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, errSyntax
}

// next reads the separator after an object member or an array item: a
// comma, when another follows (done is false), or end, the closing '}'
// or ']' (done is true).
func (p *parser) next(end byte) (done bool, err error) {
	p.ws()
	if p.i >= len(p.s) {
		return false, errSyntax
	}
	switch p.s[p.i] {
	case ',':
		p.i++
		return false, nil
	case end:
		p.i++
		return true, nil
	}
	return false, errSyntax
}

func (p *parser) literal(lit string, kind byte) (*node, error) {
	if !strings.HasPrefix(p.s[p.i:], lit) {
		return nil, errSyntax
	}
	p.i += len(lit)
	return p.node(kind, lit), nil
}

// number reads -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? and keeps
// its text exactly.
func (p *parser) number() (*node, error) {
	start := p.i
	if p.s[p.i] == '-' {
		p.i++
	}
	switch {
	case p.i < len(p.s) && p.s[p.i] == '0':
		p.i++
	case p.i < len(p.s) && p.s[p.i] >= '1' && p.s[p.i] <= '9':
		p.digits()
	default:
		return nil, errSyntax
	}
	if p.i < len(p.s) && p.s[p.i] == '.' {
		p.i++
		if p.digits() == 0 {
			return nil, errSyntax
		}
	}
	if p.i < len(p.s) && (p.s[p.i] == 'e' || p.s[p.i] == 'E') {
		p.i++
		if p.i < len(p.s) && (p.s[p.i] == '+' || p.s[p.i] == '-') {
			p.i++
		}
		if p.digits() == 0 {
			return nil, errSyntax
		}
	}
	return p.node('n', p.s[start:p.i]), nil
}

func (p *parser) digits() int {
	n := 0
	for p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		p.i++
		n++
	}
	return n
}

// str reads a string at p.i (on its opening quote) and returns its value;
// escapes are checked here and decoded by encoding/json.
func (p *parser) str() (string, error) {
	start := p.i
	p.i++
	escaped := false
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '"':
			p.i++
			if !escaped {
				return p.s[start+1 : p.i-1], nil
			}
			var out string
			if err := json.Unmarshal([]byte(p.s[start:p.i]), &out); err != nil {
				return "", errSyntax
			}
			return out, nil
		case c == '\\':
			escaped = true
			if p.i+1 >= len(p.s) {
				return "", errSyntax
			}
			switch p.s[p.i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i += 2
			case 'u':
				if p.i+6 > len(p.s) {
					return "", errSyntax
				}
				for _, h := range []byte(p.s[p.i+2 : p.i+6]) {
					if !isHex(h) {
						return "", errSyntax
					}
				}
				p.i += 6
			default:
				return "", errSyntax
			}
		case c < 0x20:
			return "", errSyntax
		default:
			p.i++
		}
	}
	return "", errSyntax
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func (n *node) write(b *bytes.Buffer) {
	switch n.kind {
	case 'o':
		b.WriteByte('{')
		first := true
		for i, k := range n.keys {
			if n.drop[i] {
				continue
			}
			if !first {
				b.WriteByte(',')
			}
			first = false
			writeString(b, k)
			b.WriteByte(':')
			n.vals[i].write(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, it := range n.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.write(b)
		}
		b.WriteByte(']')
	case 's':
		writeString(b, n.str)
	case 'n', 'b':
		b.WriteString(n.str)
	default:
		b.WriteString("null")
	}
}

// writeString writes s as a JSON string, escaping only what JSON
// requires (no HTML escaping: the vendor's text stays readable).
func writeString(b *bytes.Buffer, s string) {
	const hexDigits = "0123456789abcdef"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case c == '\n':
				b.WriteString(`\n`)
			case c == '\r':
				b.WriteString(`\r`)
			case c == '\t':
				b.WriteString(`\t`)
			case c < 0x20:
				b.WriteString(`\u00`)
				b.WriteByte(hexDigits[c>>4])
				b.WriteByte(hexDigits[c&0xf])
			default:
				b.WriteByte(c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(`\ufffd`)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
}

type transformer struct {
	r       *Rules
	ch      Changes
	changed bool
}

// walk visits a value of Other scope (or below the top of a member).
func (t *transformer) walk(n *node) {
	switch n.kind {
	case 'o':
		t.object(n, false, false)
	case 'a':
		for _, it := range n.items {
			t.walk(it)
		}
	}
}

// object visits an object's members: top is the top level of a member
// record, profile a nested member profile; in both, a bare "name" is the
// member's name.
func (t *transformer) object(n *node, top, profile bool) {
	if n.kind != 'o' {
		t.walk(n)
		return
	}
	for i, k := range n.keys {
		field := keyField(k)
		if field == "" && k == "name" && (top || profile) {
			field = config.FieldName
		}
		if field != "" {
			if a := t.r.Action(field); a != config.PIIKeep {
				t.apply(n, i, field, a)
				continue
			}
		}
		if top && profileKeys[k] {
			t.object(n.vals[i], false, true)
			continue
		}
		t.walk(n.vals[i])
	}
}

// identity visits an identity object: its value by its type, the rest
// as Other.
func (t *transformer) identity(n *node) {
	if n.kind != 'o' {
		t.walk(n)
		return
	}
	typ := ""
	for i, k := range n.keys {
		if k == "type" && n.vals[i].kind == 's' {
			typ = n.vals[i].str
		}
	}
	f := IdentityField(typ)
	for i, k := range n.keys {
		if k == "value" && f != "" {
			if a := t.r.Action(f); a != config.PIIKeep {
				t.apply(n, i, f, a)
			}
			continue
		}
		field := keyField(k)
		if field != "" {
			if a := t.r.Action(field); a != config.PIIKeep {
				t.apply(n, i, field, a)
				continue
			}
		}
		t.walk(n.vals[i])
	}
}

// keyField is the PII field a JSON key names: a c_ key names itself.
func keyField(k string) string {
	if strings.HasPrefix(k, config.CustomPrefix) {
		return k
	}
	return fieldKeys[strings.ToLower(k)]
}

// apply applies action a of field to member i of object n.
func (t *transformer) apply(n *node, i int, field string, a config.PIIAction) {
	v := n.vals[i]
	if a == config.PIIDrop { // the key goes, whatever its value
		t.record(v, "")
		n.drop[i] = true
		t.changed = true
		return
	}
	t.leaves(v, field, a) // null stays null: nothing to protect
}

// leaves applies a to every scalar under v (an object or a list under a
// personal key: each string, number or bool in it).
func (t *transformer) leaves(v *node, field string, a config.PIIAction) {
	switch v.kind {
	case 'o':
		for _, c := range v.vals {
			t.leaves(c, field, a)
		}
	case 'a':
		for _, c := range v.items {
			t.leaves(c, field, a)
		}
	case 's', 'n', 'b':
		out := t.r.apply(field, a, v.str)
		if v.kind != 's' || out != v.str {
			t.record(v, out)
			v.kind, v.str = 's', out
			t.changed = true
		}
	}
}

// record notes a changed scalar for Text.
func (t *transformer) record(v *node, out string) {
	switch v.kind {
	case 's', 'n':
		if len(v.str) >= 4 {
			t.ch[v.str] = out
		}
	case 'o', 'a':
		for _, c := range append(append([]*node(nil), v.vals...), v.items...) {
			t.record(c, out)
		}
	}
}
