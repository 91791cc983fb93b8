package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/loyaltybridge/loyaltybridge/config"
)

// ErrUnknownStream is wrapped by a connector asked for a stream it does not
// have.
var ErrUnknownStream = errors.New("unknown stream")

// Connector serves the streams of one configured source.
type Connector interface {
	Stream(name string) (Stream, error)
}

// Deps are what a connector factory may use.
type Deps struct {
	Redis     redis.UniversalClient
	Namespace string       // Redis key prefix of the deployment
	HTTP      *http.Client // shared transport
	Now       func() time.Time
	// Keys streams member keys for connectors that look members up one by
	// one (member_keys); nil when unavailable.
	Keys KeyLister
	// Observer is told about every vendor HTTP attempt (metrics); nil:
	// none.
	Observer Observer
}

// Clock returns deps.Now, or time.Now when it is nil.
func (d Deps) Clock() func() time.Time {
	if d.Now != nil {
		return d.Now
	}
	return time.Now
}

// KeyLister lists member keys of a key source, in batches.
type KeyLister interface {
	// ListKeys returns up to limit keys of spec from the position cursor
	// ("" = the start) and the cursor of the next call; next is "" when the
	// list is exhausted. Keys are streamed: a call reads about limit keys.
	ListKeys(ctx context.Context, spec *config.KeySource, cursor string, limit int) (keys []string, next string, err error)
}

// ChangedKeyLister is a KeyLister that can list only the keys of members
// loaded (new or changed) at or after a time. Only a from_source key
// source has such a signal; for a file or a query it lists every key.
type ChangedKeyLister interface {
	KeyLister
	ListChangedKeys(ctx context.Context, spec *config.KeySource, since time.Time, cursor string, limit int) (keys []string, next string, err error)
}

// Factory builds the connector of one source.
type Factory func(src *config.Source, deps Deps) (Connector, error)

// Registry maps a source kind to its declaration and factory. Build one
// in main and register every kind explicitly.
type Registry struct {
	kinds     config.Kinds
	factories map[config.Kind]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[config.Kind]Factory{}} }

// Register adds a kind: its declaration (the package's Spec) and its
// factory. Registering a kind twice, or a declaration that contradicts
// itself, is an error.
func (r *Registry) Register(spec config.KindSpec, f Factory) error {
	if _, dup := r.factories[spec.Kind]; dup {
		return fmt.Errorf("connectors: kind %q registered twice", spec.Kind)
	}
	if err := checkSpec(spec); err != nil {
		return err
	}
	r.kinds = append(r.kinds, spec)
	r.factories[spec.Kind] = f
	return nil
}

// Kinds returns the declarations of the registered kinds, in registration
// order: what config.Load validates sources against.
func (r *Registry) Kinds() config.Kinds { return slices.Clone(r.kinds) }

// Connector builds the connector of src.
func (r *Registry) Connector(src *config.Source, deps Deps) (Connector, error) {
	f, ok := r.factories[src.Kind]
	if !ok {
		return nil, fmt.Errorf("connectors: no connector for kind %q (source %s)", src.Kind, src.Name)
	}
	return f(src, deps)
}

// checkSpec rejects a declaration the rest of the program cannot follow:
// no kind, a stream without a name or table, a name used twice, more than
// one Members stream (or none while a stream reads the synced members), a
// proved table the stream does not fill, a credentials type config cannot
// decode.
func checkSpec(k config.KindSpec) error {
	if k.Kind == "" {
		return errors.New("connectors: a kind declaration without a kind")
	}
	if _, err := k.CredentialKeys(); err != nil {
		return fmt.Errorf("connectors: %w", err)
	}
	seen := map[string]bool{}
	members, synced := 0, false
	for _, st := range k.Streams {
		switch {
		case st.Name == "":
			return fmt.Errorf("connectors: kind %s declares a stream without a name", k.Kind)
		case seen[st.Name]:
			return fmt.Errorf("connectors: kind %s declares stream %q twice", k.Kind, st.Name)
		case len(st.Tables) == 0:
			return fmt.Errorf("connectors: kind %s: stream %s fills no table", k.Kind, st.Name)
		}
		seen[st.Name] = true
		if st.Members {
			members++
		}
		if st.Reads == config.ReadsSyncedMembers {
			synced = true
		}
		for _, t := range st.Proves {
			if !slices.Contains(st.Tables, t) {
				return fmt.Errorf("connectors: kind %s: stream %s proves table %s it does not fill", k.Kind, st.Name, t)
			}
		}
	}
	if members > 1 {
		return fmt.Errorf("connectors: kind %s declares %d members streams", k.Kind, members)
	}
	if synced && members == 0 {
		return fmt.Errorf("connectors: kind %s reads synced members but declares no members stream", k.Kind)
	}
	return nil
}
