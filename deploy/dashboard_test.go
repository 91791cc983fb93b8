package deploy_test

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/loyaltybridge/loyaltybridge/jobs/ops"
)

var (
	metricRef = regexp.MustCompile(`loyaltybridge_[a-z0-9_]+`)
	fqName    = regexp.MustCompile(`fqName: "([^"]+)"`)
)

// Every metric the Grafana dashboard queries is one loyaltybridge exports.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("grafana/loyaltybridge.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	exported := map[string]bool{}
	ch := make(chan *prometheus.Desc, 100)
	go func() {
		ops.NewMetrics().Registry.Describe(ch)
		(&ops.StateCollector{}).Describe(ch)
		close(ch)
	}()
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			exported[m[1]] = true
		}
	}
	used := 0
	for _, p := range dash.Panels {
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			for _, name := range metricRef.FindAllString(tg.Expr, -1) {
				base := name
				for _, suf := range []string{"_bucket", "_count", "_sum"} {
					if b, ok := strings.CutSuffix(name, suf); ok && exported[b] {
						base = b
					}
				}
				if !exported[base] {
					t.Errorf("panel %q queries %s, which loyaltybridge does not export", p.Title, name)
				}
				used++
			}
		}
	}
	var names []string
	for n := range exported {
		if strings.HasPrefix(n, "loyaltybridge_") && !strings.Contains(string(b), n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	if len(names) > 0 {
		t.Errorf("metrics not on the dashboard: %v", names)
	}
	if used == 0 {
		t.Fatal("the dashboard queries no loyaltybridge metric")
	}
}
