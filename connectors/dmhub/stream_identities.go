package dmhub

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/goccy/go-json"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/lenient"
	"github.com/loyaltybridge/loyaltybridge/warehouse"
)

// IdentityBatch is the most identity keys one listMembershipByIdentities
// request resolves. The vendor documents no limit; the source's page_size,
// when smaller, lowers it (for a tenant that caps list sizes lower).
const IdentityBatch = 50

const identitiesPath = "/loyalty/v1/membershipService/listMembershipByIdentities"

// identitiesStream resolves the source's identity_keys to members:
// it lists keys with the engine's KeyLister, min(IdentityBatch, page_size)
// at a time, and POSTs each batch as [{"type":T,"value":V},…] to
// /loyalty/v1/membershipService/listMembershipByIdentities
// (vendor-api.md §1.5 #8). Every identity of every returned membership
// becomes a member_identities row (so a member's other identities are
// learnt too); keys without a member are simply absent from the answer.
// The cursor is the KeyLister's; each Fetch handles up to req.Pages
// batches.
//
// A full run resolves every key. An incremental run whose keys come from
// a source's members (from_source) resolves only the keys of members
// loaded since the last complete run started, minus the lookback: the
// committed cursor is that start time. A file or a query key source has no
// change signal, so every run resolves every key; so does the first run.
type identitiesStream struct {
	c        *Client
	source   string
	spec     *config.KeySource
	keys     connectors.KeyLister
	batch    int
	lookback time.Duration
	now      func() time.Time
}

var _ connectors.Stream = (*identitiesStream)(nil)

// IdentitiesCursor is the identities stream's position in a run.
type IdentitiesCursor struct {
	// Keys is the KeyLister cursor of the next batch.
	Keys string `json:"keys,omitempty"`
	// Started is when the run listed its first keys.
	Started *time.Time `json:"started,omitempty"`
	// Since, when set, limits the run to members loaded at or after it.
	Since *time.Time `json:"since,omitempty"`
}

// IdentitiesCommit is the identities stream's committed cursor: when the
// last complete run started.
type IdentitiesCommit struct {
	Started time.Time `json:"started"`
}

// identitiesStream builds the stream, or says what the source lacks.
func (k *Connector) identitiesStream() (connectors.Stream, error) {
	switch {
	case k.src.IdentityKeys == nil:
		return nil, fmt.Errorf("%s: the identities stream needs identity_keys", k.src.Name)
	case strings.TrimSpace(k.src.IdentityKeys.Type) == "":
		return nil, fmt.Errorf("%s: identity_keys needs a type (e.g. wechat or mobile)", k.src.Name)
	}
	keys := k.keyLister()
	if keys == nil {
		return nil, fmt.Errorf("%s: the identities stream needs a key lister (Connector.WithKeys)", k.src.Name)
	}
	batch := IdentityBatch
	if ps := k.src.PageSize; ps > 0 && ps < batch {
		batch = ps
	}
	return &identitiesStream{c: k.c, source: k.src.Name, spec: k.src.IdentityKeys, keys: keys, batch: batch,
		lookback: k.src.Lookback, now: k.clock()}, nil
}

// identityKey is one element of the request body.
type identityKey struct {
	Type  string `json:"type"`
	Value string `json:"value"`
}

// Fetch implements connectors.Stream.
func (s *identitiesStream) Fetch(ctx context.Context, req connectors.Request) (connectors.Batch, error) {
	const op = "POST " + identitiesPath
	var cur IdentitiesCursor
	if err := connectors.ReadCursor(s.source, op, "identities cursor", req.Cursor, &cur, nil); err != nil {
		return connectors.Batch{}, err
	}
	if cur.Started == nil { // the run's first batch: fix its scope
		started := s.now().UTC()
		cur.Started = &started
		cur.Since = s.changedSince(req)
	}
	typ := strings.TrimSpace(s.spec.Type)
	var b connectors.Batch
	seen := map[[3]string]bool{}
	for n := 0; n < max(req.Pages, 1) && !b.Done; n++ {
		var keys []string
		var next string
		var err error
		if changed, ok := s.keys.(connectors.ChangedKeyLister); ok && cur.Since != nil {
			keys, next, err = changed.ListChangedKeys(ctx, s.spec, *cur.Since, cur.Keys, s.batch)
		} else {
			keys, next, err = s.keys.ListKeys(ctx, s.spec, cur.Keys, s.batch)
		}
		if err != nil {
			return connectors.Batch{}, fmt.Errorf("%s: identities: list keys: %w", s.source, err)
		}
		cur.Keys, b.Done = next, next == ""
		body := make([]identityKey, 0, len(keys))
		for _, key := range keys {
			if v := strings.TrimSpace(key); v != "" {
				body = append(body, identityKey{Type: typ, Value: v})
			}
		}
		b.Items += int64(len(keys))
		if len(body) == 0 {
			continue
		}
		payload, err := json.Marshal(body)
		if err != nil {
			return connectors.Batch{}, err
		}
		resp, err := s.c.Post(ctx, identitiesPath, payload)
		b.Requests++
		if err != nil {
			return connectors.Batch{}, err
		}
		b.Pages++
		rows, rejected, err := decodeIdentities(s.source, resp)
		if err != nil {
			return connectors.Batch{}, &connectors.Error{Class: connectors.Permanent, Source: s.source, Op: op,
				Message: "unexpected response", Err: err}
		}
		for _, r := range rejected {
			b.Rows = append(b.Rows, r)
		}
		b.Rejected += len(rejected)
		for _, r := range rows {
			k := [3]string{r.MemberID, r.Type, r.Value}
			if !seen[k] {
				seen[k] = true
				b.Rows = append(b.Rows, r)
			}
		}
	}
	b.Next, _ = json.Marshal(cur)
	if b.Done {
		b.Commit, _ = json.Marshal(IdentitiesCommit{Started: *cur.Started})
	}
	return b, nil
}

// changedSince returns the lower bound of an incremental run (the last
// complete run's start minus the lookback), or nil to resolve every key:
// a full run, a first run, or keys without a change signal.
func (s *identitiesStream) changedSince(req connectors.Request) *time.Time {
	if req.Mode != connectors.Incremental || s.spec.FromSource == "" {
		return nil
	}
	if _, ok := s.keys.(connectors.ChangedKeyLister); !ok {
		return nil
	}
	var last IdentitiesCommit
	if c := bytes.TrimSpace(req.Since); len(c) == 0 || json.Unmarshal(c, &last) != nil || last.Started.IsZero() {
		return nil
	}
	since := last.Started.Add(-s.lookback).UTC()
	return &since
}

// decodeIdentities reads a listMembershipByIdentities answer,
// {"rows":[{"identities":[{type,value,name}],"membership":{…}}]}, into one
// member_identities row per identity (member_id = membership.id, raw = the
// identity object). A row whose membership is null holds no member and is
// skipped; a membership without an id, or an identity without a type or
// value, is an error.
func decodeIdentities(source string, body []byte) ([]warehouse.Identity, []warehouse.RejectedRecord, error) {
	var page struct {
		Rows []struct {
			Identities []json.RawMessage `json:"identities"`
			Membership json.RawMessage   `json:"membership"`
		} `json:"rows"`
	}
	if err := json.Unmarshal(body, &page); err != nil {
		return nil, nil, fmt.Errorf("not a {\"rows\":[…]} list: %w", err)
	}
	var out []warehouse.Identity
	var rejected []warehouse.RejectedRecord
	reject := func(raw []byte, err error) {
		rejected = append(rejected, connectors.Reject(source, "identities", raw, err, "id", "value"))
	}
	for i, r := range page.Rows {
		if lenient.Absent(r.Membership) {
			continue
		}
		var id lenient.String
		if _, err := decodeObject("membership", r.Membership, field{"id", &id}); err != nil {
			reject(r.Membership, fmt.Errorf("row %d: %w", i, err))
			continue
		}
		member := strings.TrimSpace(id.V)
		if member == "" {
			reject(r.Membership, fmt.Errorf("row %d: membership without an id", i))
			continue
		}
		for j, raw := range r.Identities {
			var typ, value, name lenient.String
			compact, err := decodeObject("identity", raw, field{"type", &typ}, field{"value", &value}, field{"name", &name})
			if err != nil {
				reject(raw, fmt.Errorf("row %d identity %d: %w", i, j, err))
				continue
			}
			if strings.TrimSpace(typ.V) == "" || value.V == "" {
				reject(raw, fmt.Errorf("row %d identity %d: no type or value: %s", i, j, lenient.Clip(compact)))
				continue
			}
			out = append(out, warehouse.Identity{Common: warehouse.Common{Source: source}, MemberID: member,
				Type: strings.TrimSpace(typ.V), Value: value.V, Name: name.V, Raw: compact})
		}
	}
	return out, rejected, nil
}

// WithKeys gives the connector the engine's key lister
// (connectors.Deps.Keys), which the identities stream reads identity_keys
// with, and returns the connector.
func (k *Connector) WithKeys(l connectors.KeyLister) *Connector {
	k.keys = l
	return k
}

// keyLister returns the lister set by WithKeys, nil when none.
func (k *Connector) keyLister() connectors.KeyLister { return k.keys }
