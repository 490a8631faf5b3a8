package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// promFake is a seeded fake Help Scout whose generated history spans the
// last 12 hours, so that the daemon's first sync already finds recent
// replies and closes.
func promFake(t *testing.T) (*helpscouttest.Server, helpscouttest.Account, string) {
	t.Helper()
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{RateLimitPerMinute: 10_000})
	acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 5, Conversations: 120, Span: 12 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return fake, acct, ts.URL
}

// promAnswerAndClose adds, while Prometheus watches, a conversation that
// is answered and closed at once: the next poll observes a first response
// and a resolution, so the quantile panels show numbers, not NaN.
func promAnswerAndClose(t *testing.T, fake *helpscouttest.Server, acct helpscouttest.Account) {
	t.Helper()
	now := time.Now().UTC()
	agent := acct.Agents[len(acct.Agents)-1]
	c, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: acct.Mailboxes[0], CustomerID: acct.Customers[0],
		AssigneeID: agent, Subject: "while scraping", At: now.Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: agent, At: now.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := fake.SetStatus(c.ID, agent, helpscouttest.StatusClosed, now); err != nil {
		t.Fatal(err)
	}
}

// startDaemon runs run() as `serve` would, on 127.0.0.1:0 against the
// Help Scout at apiURL, with webhooks off, a temporary database and short
// periods; overrides replaces any of those QW_ variables. It waits for
// /readyz and returns the listen address; the test's cleanup stops it.
func startDaemon(t testing.TB, apiURL string, logs io.Writer, overrides map[string]string) string {
	t.Helper()
	addr := startDaemonNoWait(t, apiURL, logs, overrides)
	testkit.WaitFor(t, time.Minute, "the daemon's /readyz", func() (bool, string) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false, err.Error()
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, fmt.Sprintf("%d %s", resp.StatusCode, body)
	})
	return addr
}

// scrapeMetrics returns the exposition text the daemon at addr serves.
func scrapeMetrics(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(body)
}

// startDaemonNoWait is startDaemon without waiting for readiness.
func startDaemonNoWait(t testing.TB, apiURL string, logs io.Writer, overrides map[string]string) string {
	t.Helper()
	env := map[string]string{
		"QW_HELPSCOUT_CLIENT_ID": "demo", "QW_HELPSCOUT_CLIENT_SECRET": "demo-secret",
		"QW_HELPSCOUT_API_URL": apiURL, "QW_HELPSCOUT_WEBHOOK_SECRET": "", "QW_MAILBOXES": "",
		"QW_DB_PATH": filepath.Join(t.TempDir(), "qw.db"), "QW_LISTEN_ADDR": "127.0.0.1:0",
		"QW_POLL_INTERVAL": "2s", "QW_BALANCE_INTERVAL": "2s", "QW_MODE": "propose", "QW_ROSTER_FILE": "",
		"QW_ADMIN_TOKEN": "", "QW_LOG_FORMAT": "text", "QW_LOG_LEVEL": "warn",
	}
	maps.Copy(env, overrides)
	for k, v := range env {
		t.Setenv(k, v)
	}
	// As serve loads it: the roster too, when QW_ROSTER_FILE names one.
	cfg, err := loadConfig(t.Context(), config.NeedsHelpScout, true)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn})), time.Now)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return ln.Addr().String()
}

// promStart runs a real Prometheus scraping target every second with
// the embedded alert rules loaded, and returns its API base URL.
func promStart(t *testing.T, bin, target string, logs io.Writer) string {
	t.Helper()
	return promStartOn(t, bin, target, filepath.Join(t.TempDir(), "data"), logs)
}

// promStartOn is promStart on the data directory data, which may hold
// blocks already (a backfill).
func promStartOn(t *testing.T, bin, target, data string, logs io.Writer) string {
	t.Helper()
	dir := t.TempDir()
	rules := filepath.Join(dir, "alerts.yml")
	if err := os.WriteFile(rules, metrics.AlertRules, 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - %q
scrape_configs:
  - job_name: queuewrangler
    static_configs:
      - targets: [%q]
`, rules, target)
	confPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	// Prometheus binds its port itself, so the port cannot be held for
	// it: it comes from outside the ephemeral range, and should another
	// process bind it first, Prometheus exits and is started again on
	// another.
	for try := 1; ; try++ {
		base, lostPort := promRun(t, bin, confPath, data, logs)
		if !lostPort {
			return base
		}
		if try == 3 {
			t.Fatalf("Prometheus found its port taken %d times", try)
		}
	}
}

// promRun starts Prometheus on a free port and waits until it is ready,
// stopping it at the end of the test. lostPort says it exited because
// another process had bound the port; any other exit fails the test.
func promRun(t *testing.T, bin, confPath, data string, logs io.Writer) (base string, lostPort bool) {
	t.Helper()
	addr := freePortOutsideEphemeralRange(t)
	own := &testkit.LogBuffer{}
	cmd := exec.Command(bin, "--config.file="+confPath, "--storage.tsdb.path="+data,
		"--web.listen-address="+addr, "--log.level=warn")
	out := io.MultiWriter(logs, own)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	var exitErr error
	go func() { exitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	base = "http://" + addr
	testkit.WaitFor(t, time.Minute, "Prometheus to be ready", func() (bool, string) {
		select {
		case <-exited:
			return true, ""
		default:
		}
		resp, err := http.Get(base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	select {
	case <-exited:
		if strings.Contains(own.String(), "address already in use") {
			return "", true
		}
		t.Fatalf("Prometheus exited before it was ready (%v):\n%s", exitErr, own.String())
	default:
	}
	return base, false
}

// promResult is the part of an /api/v1/query answer the test reads.
type promResult struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string            `json:"resultType"`
		Result     []json.RawMessage `json:"result"`
	} `json:"data"`
}

func promQuery(t *testing.T, base, expr string) promResult {
	t.Helper()
	return promQueryAt(t, base, expr, "")
}

// promQueryAt evaluates expr at the instant at, in Prometheus's seconds
// ("1765097115.554"), or now when at is empty.
func promQueryAt(t *testing.T, base, expr, at string) promResult {
	t.Helper()
	q := url.Values{"query": {expr}}
	if at != "" {
		q.Set("time", at)
	}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r promResult
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("query %s: decode: %v", expr, err)
	}
	return r
}

// promLastGoodScrape waits until Prometheus's latest scrape of the daemon
// has succeeded and returns that scrape's instant, as promQueryAt takes it.
func promLastGoodScrape(t *testing.T, base string) (at string) {
	t.Helper()
	testkit.WaitFor(t, time.Minute, "a successful scrape of the daemon", func() (bool, string) {
		r := promQuery(t, base, `timestamp(up{job="queuewrangler"} == 1)`)
		if r.Status != "success" || len(r.Data.Result) != 1 {
			return false, fmt.Sprintf("%s %s, %d results", r.Status, r.Error, len(r.Data.Result))
		}
		var s struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(r.Data.Result[0], &s); err != nil {
			return false, err.Error()
		}
		at, _ = s.Value[1].(string)
		return at != "", string(r.Data.Result[0])
	})
	return at
}

// promHasNumber reports whether some sample of an instant vector or a
// scalar is a number rather than NaN (a quantile over no increase).
func promHasNumber(r promResult) bool {
	for _, raw := range r.Data.Result {
		var s struct {
			Value [2]any `json:"value"`
		}
		if err := json.Unmarshal(raw, &s); err == nil {
			if v, ok := s.Value[1].(string); ok && v != "NaN" {
				return true
			}
		}
	}
	return false
}

// promDashboardExpr is one PromQL expression of the dashboard and its panel.
type promDashboardExpr struct {
	panel, expr string
}

// promDashboardExprs walks the dashboard JSON and returns every "expr",
// wherever it is nested (rows, panels, targets).
func promDashboardExprs(t *testing.T, raw []byte) []promDashboardExpr {
	t.Helper()
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	var out []promDashboardExpr
	var walk func(v any, panel string)
	walk = func(v any, panel string) {
		switch v := v.(type) {
		case map[string]any:
			if title, ok := v["title"].(string); ok {
				panel = title
			}
			if e, ok := v["expr"].(string); ok {
				out = append(out, promDashboardExpr{panel: panel, expr: e})
			}
			for _, x := range v {
				walk(x, panel)
			}
		case []any:
			for _, x := range v {
				walk(x, panel)
			}
		}
	}
	walk(doc, "")
	return out
}

// promGrafanaVars are what Grafana substitutes before a query reaches
// Prometheus, set to what the "All" choice and a short range give.
var promGrafanaVars = strings.NewReplacer(
	"${mailbox}", ".*", "$mailbox", ".*",
	"${__rate_interval}", "1m", "$__rate_interval", "1m",
	"${__interval}", "15s", "$__interval", "15s",
	"${__range}", "1h", "$__range", "1h",
)

// promFedByFake lists the metrics whose panels must show data once the daemon
// has synced the seeded fake: everything but webhooks (off in this test)
// and reassignments (whether the balancer proposes a move depends on the
// generated queues). The daemon runs with office hours set.
var promFedByFake = []string{
	"helpscout_conversations", "helpscout_unassigned_conversations", "helpscout_stuck_conversations",
	"helpscout_customer_waiting_oldest_seconds", "helpscout_agent_open_conversations", "helpscout_agent_load_ratio",
	"queuewrangler_load_imbalance_ratio", "queuewrangler_fairness_jain", "queuewrangler_helpscout_requests_total",
	"queuewrangler_helpscout_rate_limit_remaining", "queuewrangler_sync_last_success_timestamp_seconds",
	"queuewrangler_syncs_total", "queuewrangler_sync_failures_total",
	"helpscout_first_response_seconds", "helpscout_resolution_seconds",
	"helpscout_first_response_office_seconds", "helpscout_resolution_office_seconds",
	"queuewrangler_office_first_response_target_seconds",
}

// TestPrometheusEvaluatesDashboardAndRules runs the daemon against the fake
// Help Scout, scrapes it with a real Prometheus that loads the alert rules,
// checks the rules with promtool, and evaluates every dashboard query.
func TestPrometheusEvaluatesDashboardAndRules(t *testing.T) {
	promBin := testkit.RequireTool(t, "prometheus", "prometheus")
	promtool := testkit.RequireTool(t, "promtool", "prometheus")
	logs := &testkit.LogBuffer{}
	defer func() {
		if t.Failed() {
			t.Logf("daemon and Prometheus logs:\n%s", logs.String())
		}
	}()

	t.Run("promtool check rules", func(t *testing.T) {
		out, err := exec.Command(promtool, "check", "rules", filepath.Join("..", "..", "metrics", "alerts.yml")).CombinedOutput()
		if err != nil {
			t.Errorf("promtool check rules: %v\n%s", err, out)
		}
	})

	fake, acct, apiURL := promFake(t)
	// Office hours around the clock: the office-hours panels and rule see
	// the same replies as the live ones.
	target := startDaemon(t, apiURL, logs, map[string]string{"QW_OFFICE_HOURS": "Mon-Sun 00:00-24:00 UTC"})
	prom := promStart(t, promBin, target, logs)

	// A few scrapes first, so that the answer below is an increase that
	// rate() sees, then ten more so that every rate() has samples.
	testkit.WaitFor(t, time.Minute, "three scrapes", func() (bool, string) {
		r := promQuery(t, prom, `count_over_time(helpscout_first_response_seconds_count[1m]) >= 3`)
		return r.Status == "success" && len(r.Data.Result) > 0, fmt.Sprintf("%s %s", r.Status, r.Error)
	})
	promAnswerAndClose(t, fake, acct)
	testkit.WaitFor(t, time.Minute, "a new first response and resolution in Prometheus", func() (bool, string) {
		r := promQuery(t, prom, `sum(increase(helpscout_first_response_seconds_count[1m])) > 0 and sum(increase(helpscout_resolution_seconds_count[1m])) > 0`)
		return r.Status == "success" && len(r.Data.Result) > 0, fmt.Sprintf("%s %s", r.Status, r.Error)
	})
	testkit.WaitFor(t, time.Minute, "ten scrapes", func() (bool, string) {
		r := promQuery(t, prom, `count_over_time(up{job="queuewrangler"}[1m]) >= 10`)
		return r.Status == "success" && len(r.Data.Result) > 0, fmt.Sprintf("%s %s", r.Status, r.Error)
	})

	// The panels are evaluated at the instant of a successful scrape, not
	// now: with the 1 s scrape interval the timeout is 1 s too, which a
	// scrape of the daemon under -race on a busy machine can exceed, and a
	// failed scrape marks every series of the target stale, so a query at
	// now finds the gauges gone. Later scrapes do not change what a query
	// at that instant sees.
	at := promLastGoodScrape(t, prom)

	t.Run("rules loaded and healthy", func(t *testing.T) {
		resp, err := http.Get(prom + "/api/v1/rules")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rr struct {
			Data struct {
				Groups []struct {
					Rules []struct {
						Name, Health, LastError string
					} `json:"rules"`
				} `json:"groups"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&rr); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, g := range rr.Data.Groups {
			for _, r := range g.Rules {
				n++
				if r.Health != "ok" {
					t.Errorf("rule %s: health %q %s", r.Name, r.Health, r.LastError)
				}
			}
		}
		if n == 0 {
			t.Error("Prometheus loaded no rules")
		}
	})

	t.Run("mailbox variable", func(t *testing.T) {
		resp, err := http.Get(prom + "/api/v1/label/mailbox_id/values?match[]=helpscout_conversations")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var r struct {
			Data []string `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
		if len(r.Data) == 0 {
			t.Error("label_values(helpscout_conversations, mailbox_id) is empty")
		}
	})

	exprs := promDashboardExprs(t, metrics.Dashboard)
	if len(exprs) == 0 {
		t.Fatal("the dashboard has no expressions")
	}
	for i, e := range exprs {
		t.Run(fmt.Sprintf("%02d %s", i, e.panel), func(t *testing.T) {
			q := promGrafanaVars.Replace(e.expr)
			if strings.Contains(q, "$") {
				t.Fatalf("unknown Grafana variable left in %q", q)
			}
			r := promQueryAt(t, prom, q, at)
			if r.Status != "success" {
				t.Fatalf("%s: %s %s", q, r.ErrorType, r.Error)
			}
			fed := false
			for _, name := range promFedByFake {
				if strings.Contains(q, name) {
					fed = true
				}
			}
			switch {
			case fed && len(r.Data.Result) == 0:
				t.Errorf("%s: empty, but the fake feeds this panel", q)
			case len(r.Data.Result) == 0:
				t.Logf("%s: empty (not fed by this test)", q)
			case fed && !promHasNumber(r):
				t.Errorf("%s: only NaN, but the fake feeds this panel: %s", q, r.Data.Result)
			}
		})
	}
}

// TestMetricsEndpointServesState checks the wiring in run without any
// outside binary: after the first sync, /metrics carries the collector's
// current state and the event instruments the sync fed, with their types.
func TestMetricsEndpointServesState(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon against a seeded fake")
	}
	logs := &testkit.LogBuffer{}
	_, _, apiURL := promFake(t)
	addr := startDaemon(t, apiURL, logs, nil)
	text := scrapeMetrics(t, addr)
	for name, typ := range map[string]string{
		"helpscout_conversations":                                "gauge",
		"helpscout_unassigned_conversations":                     "gauge",
		"helpscout_stuck_conversations":                          "gauge",
		"helpscout_customer_waiting_oldest_seconds":              "gauge",
		"helpscout_agent_open_conversations":                     "gauge",
		"helpscout_agent_load_ratio":                             "gauge",
		"helpscout_agent_info":                                   "gauge",
		"helpscout_first_response_seconds":                       "histogram",
		"helpscout_resolution_seconds":                           "histogram",
		"queuewrangler_load_imbalance_ratio":                     "gauge",
		"queuewrangler_fairness_jain":                            "gauge",
		"queuewrangler_helpscout_requests_total":                 "counter",
		"queuewrangler_syncs_total":                              "counter",
		"queuewrangler_sync_last_success_timestamp_seconds":      "gauge",
		"queuewrangler_collector_scrape_errors_total":            "counter",
		"queuewrangler_collector_scrape_duration_seconds":        "gauge",
		"queuewrangler_collector_last_success_timestamp_seconds": "gauge",
		"go_goroutines":                                          "gauge",
		"process_cpu_seconds_total":                              "counter",
	} {
		if !strings.Contains(text, "# TYPE "+name+" "+typ+"\n") {
			t.Errorf("/metrics lacks %s of type %s", name, typ)
		}
	}
	if !strings.Contains(text, "queuewrangler_collector_scrape_errors_total 0\n") {
		t.Errorf("the collector failed to read the state:\n%s", logs.String())
	}
	if t.Failed() {
		t.Logf("/metrics:\n%s", text)
	}
	// The shipped dashboard and rules are served as embedded.
	for path, want := range map[string][]byte{"/dashboards/queuewrangler.json": metrics.Dashboard, "/alerts.yml": metrics.AlertRules} {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.Equal(got, want) {
			t.Errorf("GET %s: %d, %d bytes; want 200 with the embedded %d bytes", path, resp.StatusCode, len(got), len(want))
		}
	}
}
