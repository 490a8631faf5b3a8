package metrics

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// dashboardPanel is what the tests read of a dashboard panel.
type dashboardPanel struct {
	Title   string
	Targets []struct{ Expr string } `json:"targets"`
}

// dashboardPanels returns the shipped dashboard's top-level panels.
func dashboardPanels(t *testing.T) []dashboardPanel {
	t.Helper()
	var d struct {
		Panels []dashboardPanel `json:"panels"`
	}
	if err := json.Unmarshal(Dashboard, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	return d.Panels
}

// dashboardExprs maps each panel's title to its queries, in target order,
// with the Grafana variables replaced as Grafana would for the default 24 h
// range and every mailbox: $__rate_interval is then a couple of minutes.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	grafana := strings.NewReplacer("${mailbox}", ".*", "$mailbox", ".*", "${__rate_interval}", "2m", "$__rate_interval", "2m")
	out := map[string][]string{}
	for _, p := range dashboardPanels(t) {
		for _, tg := range p.Targets {
			out[p.Title] = append(out[p.Title], grafana.Replace(tg.Expr))
		}
	}
	return out
}

// The shapes of a promtool rule test file (promql_expr_test only).
type (
	promSeries struct {
		Series string `yaml:"series"`
		Values string `yaml:"values"`
	}
	promSample struct {
		Labels string  `yaml:"labels"`
		Value  float64 `yaml:"value"`
	}
	promExprTest struct {
		Expr       string       `yaml:"expr"`
		EvalTime   string       `yaml:"eval_time"`
		ExpSamples []promSample `yaml:"exp_samples"`
	}
	promTestGroup struct {
		Interval       string         `yaml:"interval"`
		InputSeries    []promSeries   `yaml:"input_series"`
		PromQLExprTest []promExprTest `yaml:"promql_expr_test"`
	}
)

// panelWant is what one query of a panel must answer.
type panelWant struct {
	panel  string
	target int // index in the panel's targets
	want   []promSample
}

// oneReplyEveryHalfHour is a small team's day: every half hour one
// customer gets a first reply (and one conversation is resolved) between
// 30 and 60 minutes after writing, for 24 hours; the per-agent panels join
// Ana's name. p50 is then 2700 s and p90 3420 s in every window.
func oneReplyEveryHalfHour() []promSeries {
	var s []promSeries
	for _, m := range []string{"helpscout_first_response_seconds", "helpscout_first_response_office_seconds"} {
		s = append(s,
			promSeries{m + `_bucket{mailbox_id="1",agent_id="7",le="1800"}`, "0x48"},
			promSeries{m + `_bucket{mailbox_id="1",agent_id="7",le="3600"}`, "0+1x48"},
			promSeries{m + `_bucket{mailbox_id="1",agent_id="7",le="+Inf"}`, "0+1x48"})
	}
	for _, m := range []string{"helpscout_resolution_seconds", "helpscout_resolution_office_seconds"} {
		s = append(s,
			promSeries{m + `_bucket{mailbox_id="1",le="1800"}`, "0x48"},
			promSeries{m + `_bucket{mailbox_id="1",le="3600"}`, "0+1x48"},
			promSeries{m + `_bucket{mailbox_id="1",le="+Inf"}`, "0+1x48"})
	}
	return append(s,
		promSeries{`helpscout_agent_info{agent_id="7",name="Ana",role="st",level="2",status="active"}`, "1x48"},
		promSeries{`queuewrangler_office_first_response_target_seconds`, "14400x48"},
		// One stuck ticket moved and two overload moves proposed every
		// half hour.
		promSeries{`queuewrangler_reassignments_total{reason="stuck",outcome="applied",kind="reassignment"}`, "0+1x48"},
		promSeries{`queuewrangler_reassignments_total{reason="overload",outcome="proposed",kind="reassignment"}`, "0+2x48"},
	)
}

// TestDashboardPanelsShowASmallTeamsDay evaluates the dashboard's queries
// with promtool over series a real team makes. A support team answers a few
// customers an hour, so response-time panels over $__rate_interval (two
// minutes on the default range) were empty nearly all day, and the moves
// panel counted per couple of minutes, a figure that changed with the zoom.
// Each panel's title names its window, and its queries answer over it.
func TestDashboardPanelsShowASmallTeamsDay(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	exprs := dashboardExprs(t)
	const p50, p90 = 2700, 3420
	team := []promSample{{Labels: "{}", Value: p50}}
	team90 := []promSample{{Labels: "{}", Value: p90}}
	ana := func(v float64) []promSample { return []promSample{{Labels: `{agent_id="7", name="Ana"}`, Value: v}} }
	day := []panelWant{
		{"First response time, team (rolling 24 h)", 0, team},
		{"First response time, team (rolling 24 h)", 1, team90},
		{"Resolution time, team (rolling 24 h)", 0, team},
		{"Resolution time, team (rolling 24 h)", 1, team90},
		{"First response p90 per agent (rolling 24 h)", 0, ana(p90)},
		{"First response p50 per agent (rolling 24 h)", 0, ana(p50)},
		{"First response time in office hours, team (rolling hour)", 0, team},
		{"First response time in office hours, team (rolling hour)", 1, team90},
		{"First response time in office hours, team (rolling hour)", 2, []promSample{{Labels: "{}", Value: 14400}}},
		{"Resolution time in office hours, team (rolling 24 h)", 0, team},
		{"Resolution time in office hours, team (rolling 24 h)", 1, team90},
		// Per hour: two half hours' moves.
		{"Hand-outs and reassignments per hour, by reason", 0, []promSample{{Labels: `{kind="reassignment", reason="stuck"}`, Value: 2}}},
		{"Hand-outs and reassignments per hour, by reason", 1, []promSample{{Labels: `{kind="reassignment", outcome="proposed", reason="overload"}`, Value: 4}}},
	}
	group := promTestGroup{Interval: "30m", InputSeries: oneReplyEveryHalfHour()}
	for _, w := range day {
		group.PromQLExprTest = append(group.PromQLExprTest, promExprTest{Expr: panelExpr(t, exprs, w), EvalTime: "24h", ExpSamples: w.want})
	}
	runPromtoolExprTests(t, promtool, group)
}

// TestDashboardSyncFreshnessBeforeTheFirstSync: the last-success gauge is 0
// until the first sync has finished, and time() - 0 drew a line at 56
// years on a new install. Before the first sync the panel is empty; after
// it, it shows the seconds since.
func TestDashboardSyncFreshnessBeforeTheFirstSync(t *testing.T) {
	promtool := requireTool(t, "promtool", "prometheus")
	exprs := dashboardExprs(t)
	fresh := panelWant{"Sync freshness", 0, nil}
	expr := panelExpr(t, exprs, fresh)
	runPromtoolExprTests(t, promtool,
		promTestGroup{Interval: "1m",
			InputSeries:    []promSeries{{"queuewrangler_sync_last_success_timestamp_seconds", "0x30"}},
			PromQLExprTest: []promExprTest{{Expr: expr, EvalTime: "20m", ExpSamples: nil}}},
		promTestGroup{Interval: "1m",
			InputSeries:    []promSeries{{"queuewrangler_sync_last_success_timestamp_seconds", "60x30"}},
			PromQLExprTest: []promExprTest{{Expr: expr, EvalTime: "20m", ExpSamples: []promSample{{Labels: "{}", Value: 1140}}}}},
	)
}

func panelExpr(t *testing.T, exprs map[string][]string, w panelWant) string {
	t.Helper()
	qs, ok := exprs[w.panel]
	if !ok || w.target >= len(qs) {
		t.Fatalf("the dashboard has no panel %q with a query %d", w.panel, w.target)
	}
	return qs[w.target]
}

// runPromtoolExprTests writes the groups as a promtool rule test file and
// runs it.
func runPromtoolExprTests(t *testing.T, promtool string, groups ...promTestGroup) {
	t.Helper()
	file := struct {
		RuleFiles          []string        `yaml:"rule_files"`
		EvaluationInterval string          `yaml:"evaluation_interval"`
		Tests              []promTestGroup `yaml:"tests"`
	}{RuleFiles: []string{}, EvaluationInterval: "1m", Tests: groups}
	data, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard_test.yml")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(promtool, "test", "rules", path).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool test rules: %v\n%s\nthe test file:\n%s", err, out, data)
	}
}

// TestDashboardStatsShowNow: the four figures at the top of the dashboard
// are what a head of support reads at a glance, and they said neither
// "now" nor anything with their colour. Their queries ran over the
// dashboard's range and Grafana showed the last value in it, so a series
// the daemon stops exporting (imbalance while nobody available has a fair
// share, every night; every gauge before a restart's first sync) went on
// showing a value up to a day old, against the imbalance panel's own
// description. And with no thresholds Grafana's default applies, red from
// 80: the oldest customer wait, in seconds, was red after 80 s, all day,
// while 79 stuck tickets or an imbalance of 3 stayed green. Each stat now
// asks for the current value (an instant query), and its colour turns
// where the shipped alert rules draw their lines; the unassigned count,
// which has no such line, is not coloured.
func TestDashboardStatsShowNow(t *testing.T) {
	type step struct {
		Color string
		Value *float64
	}
	var d struct {
		Panels []struct {
			Type, Title string
			Targets     []struct {
				Instant bool
				Range   *bool
			}
			FieldConfig struct {
				Defaults struct {
					Thresholds *struct{ Steps []step }
				}
			} `json:"fieldConfig"`
			Options struct {
				ColorMode string `json:"colorMode"`
			}
		}
	}
	if err := json.Unmarshal(Dashboard, &d); err != nil {
		t.Fatalf("dashboard JSON: %v", err)
	}
	at := func(v float64) *float64 { return &v }
	// Where each stat turns colour: the lines of the alert rules
	// (alerts.yml) and QW_STUCK_AFTER's default; nil = not coloured.
	want := map[string][]step{
		"Unassigned":                nil,
		"Stuck":                     {{"green", nil}, {"orange", at(1)}},                               // HelpScoutStuckTickets: > 0
		"Oldest customer wait":      {{"green", nil}, {"orange", at(4 * 3600)}, {"red", at(8 * 3600)}}, // HelpScoutCustomerWaitingTooLong: > 8 h
		"Load imbalance (max/mean)": {{"green", nil}, {"orange", at(1.5)}},                             // QueuewranglerLoadImbalance: > 1.5
	}
	seen := 0
	for _, p := range d.Panels {
		if p.Type != "stat" {
			continue
		}
		seen++
		steps, known := want[p.Title]
		if !known {
			t.Errorf("stat %q: no colours decided for it in this test", p.Title)
			continue
		}
		for i, tg := range p.Targets {
			if !tg.Instant || tg.Range == nil || *tg.Range {
				t.Errorf("stat %q target %d: not an instant query, so it shows the last value of the range, not now", p.Title, i)
			}
		}
		switch th := p.FieldConfig.Defaults.Thresholds; {
		case steps == nil:
			if p.Options.ColorMode != "none" {
				t.Errorf("stat %q: colour mode %q, want none: Grafana's default thresholds would colour it red from 80", p.Title, p.Options.ColorMode)
			}
		case th == nil:
			t.Errorf("stat %q: no thresholds, so Grafana's default (red from 80) colours it", p.Title)
		default:
			if diff := cmp.Diff(steps, th.Steps); diff != "" {
				t.Errorf("stat %q thresholds (-want +got):\n%s", p.Title, diff)
			}
		}
	}
	if seen != len(want) {
		t.Errorf("%d stat panels, want %d", seen, len(want))
	}
}
