// Package builtin lists the connector kinds this binary ships: one line
// per kind, its declaration and its factory. main builds its registry
// here, and tests that load real configs take the declarations from it.
package builtin

import (
	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors"
	"github.com/loyaltybridge/loyaltybridge/connectors/dmhub"
	"github.com/loyaltybridge/loyaltybridge/connectors/houcaller"
	"github.com/loyaltybridge/loyaltybridge/connectors/zvcms"
)

type kind struct {
	spec    config.KindSpec
	factory connectors.Factory
}

// shipped are the kinds of this binary, in the order help texts list them.
func shipped() []kind {
	return []kind{
		{dmhub.Spec, dmhub.Factory},
		{houcaller.Spec, houcaller.Factory},
		{zvcms.Spec, zvcms.Factory},
	}
}

// Registry returns a registry of every shipped kind.
func Registry() (*connectors.Registry, error) {
	reg := connectors.NewRegistry()
	for _, k := range shipped() {
		if err := reg.Register(k.spec, k.factory); err != nil {
			return nil, err
		}
	}
	return reg, nil
}

// Kinds returns the declarations of every shipped kind, for config.Load.
func Kinds() config.Kinds {
	var out config.Kinds
	for _, k := range shipped() {
		out = append(out, k.spec)
	}
	return out
}
