package main

import (
	"os"
	"testing"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
)

// The shipped example and the demo's built-in config must stay valid.
func TestShippedConfigsLoad(t *testing.T) {
	t.Parallel()
	env := func(name string) (string, bool) {
		switch name {
		case "LB_DEMO_REDIS", "LB_DEMO_CLICKHOUSE":
			return "127.0.0.1:1", true
		case "LB_DEMO_DATABASE":
			return "loyalty_demo", true
		case "LB_DEMO_SIM":
			return "http://127.0.0.1:1", true
		}
		return "12345678", true // any secret; 8 bytes fits the DES key
	}
	data, err := os.ReadFile("../../loyaltybridge.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"loyaltybridge.example.yaml": data, "demo.yaml": demoConfig} {
		if _, err := config.Parse(name, b, env, builtin.Kinds()); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
