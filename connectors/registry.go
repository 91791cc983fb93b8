package connectors

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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

// Registry maps a source kind to its factory. Build one in main and
// register every kind explicitly.
type Registry struct {
	factories map[config.Kind]Factory
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry { return &Registry{factories: map[config.Kind]Factory{}} }

// Register adds the factory of a kind; registering a kind twice is an
// error.
func (r *Registry) Register(kind config.Kind, f Factory) error {
	if _, dup := r.factories[kind]; dup {
		return fmt.Errorf("connectors: kind %q registered twice", kind)
	}
	r.factories[kind] = f
	return nil
}

// Connector builds the connector of src.
func (r *Registry) Connector(src *config.Source, deps Deps) (Connector, error) {
	f, ok := r.factories[src.Kind]
	if !ok {
		return nil, fmt.Errorf("connectors: no connector for kind %q (source %s)", src.Kind, src.Name)
	}
	return f(src, deps)
}
