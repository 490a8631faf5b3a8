package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// requireTool finds an outside binary. Without it the test skips naming the
// Debian package; under QW_E2E=1 (CI installs the packages) it fails.
func requireTool(t *testing.T, name, debianPackage string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("QW_E2E") == "1" {
		t.Fatalf("%s not found and QW_E2E=1: install the Debian package %q", name, debianPackage)
	}
	t.Skipf("%s not found: install the Debian package %q (or set QW_E2E=1 to make this a failure)", name, debianPackage)
	return ""
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s does not parse: %v", path, err)
	}
}

type composeFile struct {
	Services map[string]struct {
		Build *struct {
			Context    string `yaml:"context"`
			Dockerfile string `yaml:"dockerfile"`
		} `yaml:"build"`
		Image   string   `yaml:"image"`
		Volumes []string `yaml:"volumes"`
	} `yaml:"services"`
}

// TestDeployFilesParseAndPointAtRealPaths checks the compose example and the
// provisioning files: they parse, every host path they mount exists, and the
// paths inside the containers agree with each other.
func TestDeployFilesParseAndPointAtRealPaths(t *testing.T) {
	const dir = "deploy"
	var compose composeFile
	readYAML(t, filepath.Join(dir, "docker-compose.yml"), &compose)
	for _, name := range []string{"queuewrangler", "prometheus", "grafana"} {
		if _, ok := compose.Services[name]; !ok {
			t.Errorf("compose lacks service %q", name)
		}
	}
	mounts := map[string]string{} // container path -> host path
	for name, svc := range compose.Services {
		if svc.Build != nil {
			ctx := filepath.Join(dir, svc.Build.Context)
			if _, err := os.Stat(filepath.Join(ctx, svc.Build.Dockerfile)); err != nil {
				t.Errorf("service %s builds from a missing Dockerfile: %v", name, err)
			}
		}
		for _, v := range svc.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) < 2 || !strings.HasPrefix(parts[0], ".") {
				continue // a named volume
			}
			host := filepath.Join(dir, parts[0])
			if _, err := os.Stat(host); err != nil {
				t.Errorf("service %s mounts missing %s: %v", name, parts[0], err)
			}
			mounts[parts[1]] = host
		}
	}

	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			MetricsPath   string `yaml:"metrics_path"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, filepath.Join(dir, "prometheus.yml"), &prom)
	for _, rf := range prom.RuleFiles {
		host, ok := mounts[rf]
		if !ok {
			t.Errorf("prometheus loads %s but compose mounts nothing there", rf)
			continue
		}
		if filepath.Clean(host) != "alerts.yml" {
			t.Errorf("%s is mounted from %s, want the shipped alerts.yml", rf, host)
		}
	}
	if len(prom.ScrapeConfigs) != 1 || prom.ScrapeConfigs[0].MetricsPath != "/metrics" ||
		len(prom.ScrapeConfigs[0].StaticConfigs) != 1 || prom.ScrapeConfigs[0].StaticConfigs[0].Targets[0] != "queuewrangler:8080" {
		t.Errorf("scrape config does not target queuewrangler:8080/metrics: %+v", prom.ScrapeConfigs)
	}

	var ds struct {
		Datasources []struct {
			Type, URL, UID string
		} `yaml:"datasources"`
	}
	readYAML(t, filepath.Join(dir, "grafana/provisioning/datasources/prometheus.yml"), &ds)
	if len(ds.Datasources) != 1 || ds.Datasources[0].Type != "prometheus" || ds.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("datasource = %+v", ds.Datasources)
	}
	var prov struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(t, filepath.Join(dir, "grafana/provisioning/dashboards/queuewrangler.yml"), &prov)
	if len(prov.Providers) != 1 {
		t.Fatalf("dashboard providers = %+v", prov.Providers)
	}
	host, ok := mounts[prov.Providers[0].Options.Path]
	if !ok {
		t.Fatalf("grafana reads dashboards from %s but compose mounts nothing there (mounts %v)", prov.Providers[0].Options.Path, mounts)
	}
	if _, err := os.Stat(filepath.Join(host, "queuewrangler.json")); err != nil {
		t.Errorf("the dashboard is not in the mounted folder: %v", err)
	}
}

func TestDashboardIsProvisioningReady(t *testing.T) {
	var d struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct{ Name string } `json:"list"`
		} `json:"templating"`
		Panels []struct {
			Type    string
			Title   string
			Targets []struct{ Expr string } `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(Dashboard, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	if d.UID == "" {
		t.Error("dashboard has no uid; provisioning would duplicate it on every restart")
	}
	var vars []string
	for _, v := range d.Templating.List {
		vars = append(vars, v.Name)
	}
	if !strings.Contains(strings.Join(vars, ","), "mailbox") {
		t.Errorf("dashboard variables %v lack mailbox", vars)
	}
	for _, p := range d.Panels {
		if p.Type == "row" { // a heading: its panels follow it
			if p.Title == "" {
				t.Error("a row has no title")
			}
			continue
		}
		if len(p.Targets) == 0 || p.Targets[0].Expr == "" {
			t.Errorf("panel %q has no query", p.Title)
		}
	}
}

// TestAlertRulesUnderTest runs alerts_test.yml with promtool test rules,
// after checking that it covers every rule in alerts.yml both ways: series
// that make the rule fire, and series that keep it silent.
func TestAlertRulesUnderTest(t *testing.T) {
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "alerts.yml", &rules)
	var tests struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				AlertName string `yaml:"alertname"`
				ExpAlerts []any  `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		} `yaml:"tests"`
	}
	readYAML(t, "alerts_test.yml", &tests)
	if !slices.Equal(tests.RuleFiles, []string{"alerts.yml"}) {
		t.Errorf("alerts_test.yml tests %v, want the shipped alerts.yml", tests.RuleFiles)
	}
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.AlertName] = true
			} else {
				silent[a.AlertName] = true
			}
		}
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			if !fires[r.Alert] {
				t.Errorf("alerts_test.yml never makes %s fire", r.Alert)
			}
			if !silent[r.Alert] {
				t.Errorf("alerts_test.yml never checks that %s stays silent", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("alerts.yml has no rules")
	}

	promtool := requireTool(t, "promtool", "prometheus")
	out, err := exec.Command(promtool, "test", "rules", "alerts_test.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s", err, out)
	}
}

func TestAlertRulesPassPromtool(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	out, err := exec.Command(promtool, "check", "rules", "alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

// TestDashboardTitlesSayWhatIsCounted keeps a panel's title to what its
// metric counts: helpscout_agent_open_conversations is active tickets only
// (design.md section 9), while the queue page's Open column adds pending
// ones, so a panel called "open work" disagreed with the page.
func TestDashboardTitlesSayWhatIsCounted(t *testing.T) {
	panels := dashboardPanels(t)
	titleWord := map[string]string{"helpscout_agent_open_conversations": "active"}
	for metric, word := range titleWord {
		found := false
		for _, p := range panels {
			for _, tg := range p.Targets {
				if !strings.Contains(tg.Expr, metric) {
					continue
				}
				found = true
				if !strings.Contains(strings.ToLower(p.Title), word) {
					t.Errorf("panel %q shows %s but its title does not say %q", p.Title, metric, word)
				}
			}
		}
		if !found {
			t.Errorf("no panel shows %s", metric)
		}
	}
}
