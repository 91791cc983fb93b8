package vendorsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
)

// Hostile selects a hostile-payload mode: the simulator's successful
// answers that hold a list of records (DM Hub rows, Houcaller data.list /
// data.records, zvcms data / data.coupons.list / data.item_list) are
// replaced by payloads a client must survive with a clear error and
// bounded memory. Answers without a non-empty list are left alone. See
// doc.go ("Hostile payloads").
type Hostile string

// The hostile-payload modes ("" = none).
const (
	// HostileHugePage answers with HostileRows records whatever page size
	// was asked for, streamed; by default as many as make HugePageBytes.
	HostileHugePage Hostile = "huge-page"
	// HostileHugeField gives the first record a 10 MB string field.
	HostileHugeField Hostile = "huge-field"
	// HostileWrongTypes gives the first record values of unexpected types:
	// numbers become "N/A", objects "gold", arrays "x", booleans "yes" and
	// strings an object {"value": the string} (keys naming an id or code
	// keep their value).
	HostileWrongTypes Hostile = "wrong-types"
	// HostileEndlessBody streams records without end, until the client
	// hangs up: a body that never ends.
	HostileEndlessBody Hostile = "endless-body"
	// HostileEndlessPages makes every page full (MaxRows records, the
	// list's own records repeated) and say there is more (next true,
	// total/records/pages/last_page huge), whatever page is asked for.
	HostileEndlessPages Hostile = "endless-pages"
)

// HugePageBytes is the default size of a HostileHugePage body: twice a
// 64 MiB response cap, whatever the size of the vendor's records.
const HugePageBytes = 128 << 20

// HugeFieldBytes is the size of the HostileHugeField string.
const HugeFieldBytes = 10 << 20

// endlessPageRows is the size of a HostileEndlessPages page: the largest
// page any simulator serves.
const endlessPageRows = 100

// HostileModes lists every mode.
func HostileModes() []Hostile {
	return []Hostile{HostileHugePage, HostileHugeField, HostileWrongTypes, HostileEndlessBody, HostileEndlessPages}
}

// ParseHostile checks a mode name ("" or "none" = no mode).
func ParseHostile(s string) (Hostile, error) {
	s = strings.TrimSpace(s)
	if s == "" || s == "none" {
		return "", nil
	}
	h := Hostile(s)
	if !slices.Contains(HostileModes(), h) {
		names := make([]string, 0, len(HostileModes()))
		for _, m := range HostileModes() {
			names = append(names, string(m))
		}
		return "", fmt.Errorf("hostile mode %q is unknown (want none or one of %s)", s, strings.Join(names, ", "))
	}
	return h, nil
}

// hostileListKeys are the keys under which the vendors return lists, in
// the order they are looked for.
var hostileListKeys = []string{"rows", "list", "records", "item_list", "data", "coupons"}

// hugeFieldKeys are the text fields HostileHugeField fills, first present
// wins ("remark" is added when none is).
var hugeFieldKeys = []string{"name", "cpnName", "title", "remark", "desc", "content", "sub_name"}

// serveHostile runs fn and, when mode is set and fn answered 200 with a
// JSON object holding a non-empty list of records, writes the hostile
// version instead. rows is the HostileHugePage size (0: HugePageBytes).
func serveHostile(mode Hostile, rows int, w http.ResponseWriter, r *http.Request, fn http.HandlerFunc) {
	if mode == "" {
		fn(w, r)
		return
	}
	buf := newBufferedResponse()
	fn(buf, r)
	var root map[string]any
	dec := json.NewDecoder(bytes.NewReader(buf.body.Bytes()))
	dec.UseNumber()
	parent, key := map[string]any(nil), ""
	if (buf.status == 0 || buf.status == http.StatusOK) && dec.Decode(&root) == nil {
		parent, key = findList(root)
	}
	if parent == nil {
		buf.replay(w)
		return
	}
	list := parent[key].([]any)
	switch mode {
	case HostileHugeField:
		rec := list[0].(map[string]any)
		field := "remark"
		for _, k := range hugeFieldKeys {
			if _, ok := rec[k]; ok {
				field = k
				break
			}
		}
		rec[field] = strings.Repeat("x", HugeFieldBytes)
	case HostileWrongTypes:
		rec := list[0].(map[string]any)
		for k, v := range rec {
			lk := strings.ToLower(k)
			if strings.Contains(lk, "id") || strings.Contains(lk, "code") {
				continue
			}
			switch v.(type) {
			case json.Number:
				rec[k] = "N/A"
			case map[string]any:
				rec[k] = "gold"
			case []any:
				rec[k] = "x"
			case bool:
				rec[k] = "yes"
			case string:
				rec[k] = map[string]any{"value": v}
			}
		}
	case HostileEndlessPages:
		for _, k := range []string{"total", "records", "pages", "last_page"} {
			setEverywhere(root, k, json.Number("1000000"))
		}
		setEverywhere(root, "next", true)
		page := make([]any, endlessPageRows)
		for i := range page {
			page[i] = list[i%len(list)]
		}
		parent[key] = page
	case HostileHugePage, HostileEndlessBody:
		n := rows
		if mode == HostileEndlessBody {
			n = -1
		}
		if n == 0 { // enough records for HugePageBytes
			size := 0
			for _, rec := range list {
				b, _ := marshalNoHTMLEscape(rec)
				size += len(b) + 1
			}
			n = HugePageBytes/max(1, size/len(list)) + 1
		}
		streamList(w, r, buf.header, root, parent, key, list, n)
		return
	}
	out, err := marshalNoHTMLEscape(root)
	if err != nil {
		buf.replay(w)
		return
	}
	buf.body.Reset()
	buf.body.Write(out)
	buf.header.Del("Content-Length")
	buf.replay(w)
}

// findList returns the map and key of the first non-empty list of objects,
// looking breadth-first under the known list keys.
func findList(root map[string]any) (map[string]any, string) {
	queue := []map[string]any{root}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, k := range hostileListKeys {
			if l, ok := m[k].([]any); ok && len(l) > 0 {
				if _, isObj := l[0].(map[string]any); isObj {
					return m, k
				}
			}
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if sub, ok := m[k].(map[string]any); ok {
				queue = append(queue, sub)
			}
		}
	}
	return nil, ""
}

// setEverywhere sets key to v in every object of the tree that has it.
func setEverywhere(v any, key string, val any) {
	switch x := v.(type) {
	case map[string]any:
		for k, sub := range x {
			if k == key {
				if _, isList := sub.([]any); !isList {
					x[k] = val
					continue
				}
			}
			setEverywhere(sub, key, val)
		}
	case []any:
		for _, sub := range x {
			setEverywhere(sub, key, val)
		}
	}
}

const hostileMarker = "\u0000hostile-list\u0000"

// streamList writes root with parent[key] replaced by n records cycled
// from list (n < 0: without end), never holding the body in memory, and
// stops when the client hangs up.
func streamList(w http.ResponseWriter, r *http.Request, header http.Header, root, parent map[string]any, key string, list []any, n int) {
	parent[key] = hostileMarker
	out, err := marshalNoHTMLEscape(root)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	marker, _ := marshalNoHTMLEscape(hostileMarker)
	prefix, suffix, _ := bytes.Cut(out, marker)
	recs := make([][]byte, len(list))
	for i, rec := range list {
		if recs[i], err = marshalNoHTMLEscape(rec); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	for k, v := range header {
		if k != "Content-Length" {
			w.Header()[k] = v
		}
	}
	w.WriteHeader(http.StatusOK)
	var chunk bytes.Buffer
	chunk.Write(prefix)
	chunk.WriteByte('[')
	for i := 0; n < 0 || i < n; i++ {
		if i > 0 {
			chunk.WriteByte(',')
		}
		chunk.Write(recs[i%len(recs)])
		if chunk.Len() >= 64<<10 {
			if _, err := w.Write(chunk.Bytes()); err != nil || r.Context().Err() != nil {
				return // the client hung up
			}
			chunk.Reset()
		}
	}
	chunk.WriteByte(']')
	chunk.Write(suffix)
	_, _ = w.Write(chunk.Bytes())
}

// replay writes a captured response as it was.
func (b *bufferedResponse) replay(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	if b.status != 0 {
		w.WriteHeader(b.status)
	}
	_, _ = w.Write(b.body.Bytes())
}
