package deploy_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/loyaltybridge/loyaltybridge/config"
	"github.com/loyaltybridge/loyaltybridge/connectors/builtin"
)

// manifest is the part of a Kubernetes object the checks read.
type manifest struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Metadata   struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data map[string]string `yaml:"data"`
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Template struct {
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				Containers                    []struct {
					Args  []string `yaml:"args"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe  *probe `yaml:"livenessProbe"`
					ReadinessProbe *probe `yaml:"readinessProbe"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type probe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

func readManifests(t *testing.T) map[string]manifest {
	t.Helper()
	files, err := filepath.Glob("k8s/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	out := map[string]manifest{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(false)
		for {
			var m manifest
			if err := dec.Decode(&m); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if m.Kind == "" || (m.APIVersion == "" && m.Kind != "Kustomization") {
				t.Errorf("%s: a document without apiVersion/kind", f)
			}
			out[m.Kind+"/"+m.Metadata.Name] = m
		}
	}
	return out
}

// Every role has a Deployment whose probes hit /healthz and /readyz on a
// declared port, and the ConfigMap holds a config loyaltybridge accepts.
func TestKubernetesManifests(t *testing.T) {
	t.Parallel()
	ms := readManifests(t)
	for _, role := range []string{"worker", "scheduler", "serve"} {
		d, ok := ms["Deployment/loyaltybridge-"+role]
		if !ok {
			t.Errorf("no Deployment for %s", role)
			continue
		}
		cs := d.Spec.Template.Spec.Containers
		if len(cs) != 1 || len(cs[0].Args) == 0 || cs[0].Args[0] != role {
			t.Errorf("%s: container args = %+v, want the %s command", role, cs, role)
			continue
		}
		c := cs[0]
		ports := map[string]bool{}
		for _, p := range c.Ports {
			ports[p.Name] = p.ContainerPort > 0
		}
		if c.LivenessProbe == nil || c.LivenessProbe.HTTPGet.Path != "/healthz" || !ports[c.LivenessProbe.HTTPGet.Port] {
			t.Errorf("%s: liveness probe %+v, want /healthz on a declared port", role, c.LivenessProbe)
		}
		if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet.Path != "/readyz" || !ports[c.ReadinessProbe.HTTPGet.Port] {
			t.Errorf("%s: readiness probe %+v, want /readyz on a declared port", role, c.ReadinessProbe)
		}
	}
	if _, ok := ms["Secret/loyaltybridge-secrets"]; !ok {
		t.Error("no Secret loyaltybridge-secrets")
	}
	cm, ok := ms["ConfigMap/loyaltybridge-config"]
	if !ok {
		t.Fatal("no ConfigMap loyaltybridge-config")
	}
	cfg := parseConfig(t, "k8s/configmap.yaml", []byte(cm.Data["loyaltybridge.yaml"]))
	if d := ms["Deployment/loyaltybridge-worker"]; cfg.Worker.ShutdownTimeout.Seconds() >= float64(d.Spec.Template.Spec.TerminationGracePeriodSeconds) {
		t.Errorf("worker terminationGracePeriodSeconds %d must exceed worker.shutdown_timeout %s",
			d.Spec.Template.Spec.TerminationGracePeriodSeconds, cfg.Worker.ShutdownTimeout)
	}
	if cfg.Worker.MetricsAddr != ":9101" || cfg.Scheduler.MetricsAddr != ":9102" {
		t.Errorf("metrics addresses %q %q do not match the container ports", cfg.Worker.MetricsAddr, cfg.Scheduler.MetricsAddr)
	}
}

func TestComposeConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("compose/loyaltybridge.yaml")
	if err != nil {
		t.Fatal(err)
	}
	parseConfig(t, "compose/loyaltybridge.yaml", b)
}

// parseConfig loads a deployment config with every ${NAME} set. The
// serve block is dropped while the config has no serve key (it comes
// with the serve command's branch).
func parseConfig(t *testing.T, name string, data []byte) *config.Config {
	t.Helper()
	if !hasYAMLField(reflect.TypeOf(config.Config{}), "serve") {
		var doc map[string]yaml.Node
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		delete(doc, "serve")
		var err error
		if data, err = yaml.Marshal(doc); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := config.Parse(name, data, func(string) (string, bool) { return "x-secret-value-of-32-characters!", true }, builtin.Kinds())
	if err != nil {
		t.Fatalf("the deployment config is not valid: %v", err)
	}
	return cfg
}

func hasYAMLField(t reflect.Type, key string) bool {
	for i := 0; i < t.NumField(); i++ {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); name == key {
			return true
		}
	}
	return false
}
