package config

import (
	"fmt"
	"slices"
	"strings"
)

// This file is the shape of what a connector kind declares about itself:
// its streams, its credentials and its own checks. Each connector package
// exports one KindSpec (e.g. dmhub.Spec); the connectors.Registry built in
// main collects them, and Parse validates every source against the spec of
// its kind. Nothing here names a vendor or a stream: config, jobs' policy,
// `sync --help` and the README's stream table all read the declarations.

// KindSpec is the declaration of one connector kind.
type KindSpec struct {
	// Kind is the value of a source's `kind`.
	Kind Kind
	// Title is the vendor's name for people (help texts).
	Title string
	// Streams are the kind's streams, in the order `status` and the
	// README list them.
	Streams []StreamSpec
	// Credentials is a zero value of the kind's credentials type, the
	// struct a source's `credentials` block is decoded into (a key it does
	// not declare is an error); nil: the kind takes no credentials. Its
	// fields are strings, Secret for a secret, each with a yaml key and
	// its rules in a `cred` tag (config/credentials.go). Connectors read
	// the decoded value with CredentialsAs.
	Credentials any
	// Fields are the kind-specific keys of a source this kind takes (e.g.
	// an options block); a source of a kind that does not declare a key
	// another kind declares must leave it unset.
	Fields []string
	// Defaults fills the kind's own defaults of a source (its options
	// block); nil: none. It runs after the common defaults.
	Defaults func(s *Source)
	// Check validates what the declarations above cannot say (fields that
	// depend on each other). It returns a *FieldError (see FieldErr), whose
	// field is relative to the source; nil: none.
	Check func(s *Source) error
}

// StreamSpec is the declaration of one stream of a kind.
type StreamSpec struct {
	// Name is the stream's `--stream` name.
	Name string
	// Tables are the warehouse tables the stream fills.
	Tables []string
	// Calls names the vendor calls the stream makes, for people (the
	// README's stream table).
	Calls string
	// Reads says what a run iterates over (ReadsList by default).
	Reads Reads
	// Members marks the stream that lists the source's members: runs of
	// the same sync that read its members (ReadsSyncedMembers) wait for
	// its run, it starts first, and member_keys.from_source needs it.
	Members bool
	// Off leaves the stream out of a source's default stream list; it runs
	// only when listed under `streams`.
	Off bool
	// FullSweep upgrades an incremental run to a full one when the last
	// full run of the stream is older than the source's full_sweep_every:
	// for streams read by changed members only, whose records change
	// without touching the member.
	FullSweep bool
	// Proves are the tables a complete full run reads whole: a row of the
	// source in one of them that the run did not see is gone at the
	// vendor and is marked deleted.
	Proves []string
}

// Reads is what a run of a stream iterates over.
type Reads int

// The stream shapes.
const (
	// ReadsList is a source-wide list, read page by page.
	ReadsList Reads = iota
	// ReadsSyncedMembers reads member by member over the members this
	// source's Members stream synced into the warehouse; a run waits for
	// the members run of the same sync.
	ReadsSyncedMembers
	// ReadsMemberKeys reads member by member over the source's
	// member_keys, which the kind then requires.
	ReadsMemberKeys
	// ReadsIdentityKeys resolves the source's identity_keys: the stream is
	// on by default only when identity_keys is set, and a run waits for
	// the members run of the same sync when the keys come from the
	// source's own members.
	ReadsIdentityKeys
)

// PerMember reports whether a run of the stream reads member by member.
func (st StreamSpec) PerMember() bool {
	return st.Reads == ReadsSyncedMembers || st.Reads == ReadsMemberKeys
}

// Kinds are the declarations of every registered kind.
type Kinds []KindSpec

// Spec returns the declaration of kind k.
func (ks Kinds) Spec(k Kind) (*KindSpec, bool) {
	for i := range ks {
		if ks[i].Kind == k {
			return &ks[i], true
		}
	}
	return nil, false
}

func (ks Kinds) names() string {
	var names []string
	for _, k := range ks {
		names = append(names, string(k.Kind))
	}
	switch len(names) {
	case 0:
		return "none registered"
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// Stream returns the declaration of the stream called name.
func (k *KindSpec) Stream(name string) (StreamSpec, bool) {
	for _, st := range k.Streams {
		if st.Name == name {
			return st, true
		}
	}
	return StreamSpec{}, false
}

// StreamNames returns the names of the kind's streams, in order.
func (k *KindSpec) StreamNames() []string {
	out := make([]string, len(k.Streams))
	for i, st := range k.Streams {
		out[i] = st.Name
	}
	return out
}

// MembersStream returns the name of the kind's Members stream ("" when it
// has none).
func (k *KindSpec) MembersStream() string {
	for _, st := range k.Streams {
		if st.Members {
			return st.Name
		}
	}
	return ""
}

// reads reports whether any stream of the kind has shape r.
func (k *KindSpec) reads(r Reads) bool {
	return slices.ContainsFunc(k.Streams, func(st StreamSpec) bool { return st.Reads == r })
}

// FieldError is a validation error of one field of a source, returned by a
// KindSpec's Check; Parse prefixes the source's path and adds the line.
type FieldError struct {
	Field string // relative to the source, e.g. "credentials.key"
	Msg   string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErr returns a *FieldError for field (relative to the source).
func FieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Spec returns the declaration of the source's kind, as resolved by Parse;
// nil for a Source built in code.
func (s *Source) Spec() *KindSpec { return s.spec }

// StreamSpec returns the declaration of the source's stream called name.
func (s *Source) StreamSpec(name string) (StreamSpec, bool) {
	if s.spec == nil {
		return StreamSpec{}, false
	}
	return s.spec.Stream(name)
}

// MembersStream returns the name of the source's Members stream ("" when
// its kind has none).
func (s *Source) MembersStream() string {
	if s.spec == nil {
		return ""
	}
	return s.spec.MembersStream()
}

// EnabledStreams returns the streams the source syncs: its configured list,
// or every stream of its kind that is not Off (without a ReadsIdentityKeys
// stream when no identity_keys are configured, since it has nothing to
// resolve then).
func (s *Source) EnabledStreams() []string {
	if len(s.Streams) > 0 || s.spec == nil {
		return s.Streams
	}
	var out []string
	for _, st := range s.spec.Streams {
		if st.Off || (st.Reads == ReadsIdentityKeys && s.IdentityKeys == nil) {
			continue
		}
		out = append(out, st.Name)
	}
	return out
}
