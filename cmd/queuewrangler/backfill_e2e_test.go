package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// fakeFirstResponses computes, from the fake's own conversations and not
// from the mirror, each first response time (seconds) by the UTC day of
// the reply: customer-started, not spam, still served, creation to the
// first published agent message (README, Metrics).
func fakeFirstResponses(fake *helpscouttest.Server) map[time.Time][]float64 {
	out := map[time.Time][]float64{}
	for _, c := range fake.Conversations() {
		if c.Deleted || c.MergedInto != 0 || c.Status == helpscouttest.StatusSpam || c.CreatedByType != "customer" {
			continue
		}
		for _, th := range c.Threads {
			if th.Type == helpscouttest.ThreadMessage && th.CreatedByType == "user" && th.State == "published" {
				day := th.CreatedAt.UTC().Truncate(24 * time.Hour)
				out[day] = append(out[day], th.CreatedAt.Sub(c.CreatedAt).Seconds())
				break
			}
		}
	}
	return out
}

// bucketHolding returns the bounds of the histogram bucket that holds v:
// histogram_quantile's answer for a quantile whose true value is v lies
// between them (the first bucket starts at 0; past the last bound it
// answers the last bound).
func bucketHolding(v float64) (lower, upper float64) {
	bounds := metrics.SupportTimeBuckets
	for i, b := range bounds {
		if v <= b {
			if i > 0 {
				lower = bounds[i-1]
			}
			return lower, b
		}
	}
	last := bounds[len(bounds)-1]
	return last, last
}

// nearestRank is the true q-quantile of vs: the value at rank ceil(q*n),
// the rank histogram_quantile looks for.
func nearestRank(vs []float64, q float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	return s[max(int(math.Ceil(q*float64(len(s))))-1, 0)]
}

// promScalarAt evaluates expr at at and returns the single result's value,
// or NaN and false when there is none.
func promScalarAt(t *testing.T, base, expr string, at time.Time) (float64, bool) {
	t.Helper()
	q := url.Values{"query": {expr}, "time": {strconv.FormatInt(at.Unix(), 10)}}
	resp, err := http.Get(base + "/api/v1/query?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || r.Status != "success" {
		t.Fatalf("query %s: %v %s", expr, err, r.Error)
	}
	if len(r.Data.Result) != 1 {
		return math.NaN(), false
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	v, err := strconv.ParseFloat(s, 64)
	return v, err == nil && !math.IsNaN(v)
}

// TestBackfillThroughPromtoolAndPrometheus: `sync` from the fake,
// `backfill`, promtool's import, and Prometheus on that data directory.
// For three past days the p50 and p90 of first response agree with the
// fake's own conversations, within the bucket that holds the true value.
// Then the daemon starts on the same file: it observes only the reply made
// after, and Prometheus sees the backfilled counts end at the seam and the
// live ones carry on, together exactly the fake's.
func TestBackfillThroughPromtoolAndPrometheus(t *testing.T) {
	promtool := testkit.RequireTool(t, "promtool", "prometheus")
	prom := testkit.RequireTool(t, "prometheus", "prometheus")
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{RateLimitPerMinute: 100_000})
	acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 19, Conversations: 600, Mailboxes: 2, Agents: 5, Span: 4 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	env := map[string]string{
		"QW_HELPSCOUT_CLIENT_ID": "demo", "QW_HELPSCOUT_CLIENT_SECRET": "demo-secret", "QW_HELPSCOUT_API_URL": ts.URL,
		"QW_HELPSCOUT_WEBHOOK_SECRET": "", "QW_MAILBOXES": "", "QW_DB_PATH": filepath.Join(dir, "qw.db"),
		"QW_ROSTER_FILE": "", "QW_OFFICE_HOURS": "", "QW_LOG_FORMAT": "text", "QW_LOG_LEVEL": "warn",
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	if code, _, stderr := runMain(t, "sync"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	// Five-minute steps: the coarser step the README offers for long
	// periods; promtool reads the file once per two-hour block.
	code, history, stderr := runMain(t, "backfill", "--since", "5d", "--step", "5m")
	if code != 0 || !strings.HasSuffix(history, "# EOF\n") {
		t.Fatalf("backfill: exit %d: %s", code, stderr)
	}
	t.Logf("%s", stderr)
	file := filepath.Join(dir, "history.om")
	if err := os.WriteFile(file, []byte(history), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "prometheus")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", "--quiet", file, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}

	// A reply after the backfill: the daemon's to observe live.
	now := time.Now().UTC()
	agent := acct.Agents[len(acct.Agents)-1]
	c, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: acct.Mailboxes[0], CustomerID: acct.Customers[0],
		AssigneeID: agent, Subject: "after the backfill", At: now.Add(-time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: agent, At: now}); err != nil {
		t.Fatal(err)
	}
	var logs testkit.LogBuffer
	daemon := startDaemon(t, ts.URL, &logs, map[string]string{"QW_DB_PATH": env["QW_DB_PATH"]})
	base := promStartOn(t, prom, daemon, data, &logs)

	truth := fakeFirstResponses(fake)
	today := now.Truncate(24 * time.Hour)
	for d := 3; d >= 1; d-- {
		day := today.AddDate(0, 0, -d)
		end := day.Add(24 * time.Hour)
		values := truth[day]
		if len(values) < 10 {
			t.Fatalf("the fake has %d first responses on %s; the test needs a day's worth", len(values), day.Format(time.DateOnly))
		}
		for _, q := range []float64{0.5, 0.9} {
			expr := fmt.Sprintf("histogram_quantile(%v, sum by (le) (increase(%s_bucket[1d])))", q, metrics.FirstResponseName)
			got, ok := promScalarAt(t, base, expr, end)
			want := nearestRank(values, q)
			lower, upper := bucketHolding(want)
			if !ok || got < lower || got > upper {
				t.Errorf("%s p%v: Prometheus says %v, the fake's %d replies %v (bucket %v-%v)",
					day.Format(time.DateOnly), q*100, got, len(values), want, lower, upper)
			}
		}
		count, _ := promScalarAt(t, base, fmt.Sprintf("sum(increase(%s_count[1d]))", metrics.FirstResponseName), end)
		if count != float64(len(values)) {
			t.Errorf("%s: Prometheus counts %v first responses, the fake %d", day.Format(time.DateOnly), count, len(values))
		}
	}

	// The seam: the backfilled series (no job label; promtool adds none)
	// end where the daemon began; the scraped ones hold only the reply
	// made after, and together they are the fake's count.
	total := 0
	for _, vs := range truth {
		total += len(vs)
	}
	live := fmt.Sprintf(`sum(%s_count{job="queuewrangler"})`, metrics.FirstResponseName)
	// Everything live is read at the instant the scraped count was seen:
	// a later scrape that times out on a busy machine marks the daemon's
	// series stale, and a query at a later now would find them gone.
	var liveCount float64
	var seen time.Time
	testkit.WaitFor(t, time.Minute, "Prometheus to scrape the daemon's first response", func() (bool, string) {
		at := time.Now()
		v, ok := promScalarAt(t, base, live, at)
		if ok && v > 0 {
			liveCount, seen = v, at
		}
		return ok && v > 0, fmt.Sprint(v)
	})
	backfilled, _ := promScalarAt(t, base, fmt.Sprintf(`sum(max_over_time(%s_count{job=""}[6d]))`, metrics.FirstResponseName), seen)
	if liveCount != 1 || backfilled+liveCount != float64(total) {
		t.Errorf("backfilled %v + live %v first responses; want the fake's %d, of which 1 live", backfilled, liveCount, total)
	}
	// The dashboard's team panel reads both ranges with one expression.
	panel := fmt.Sprintf(`histogram_quantile(0.9, sum by (le) (rate(%s_bucket{mailbox_id=~".*"}[1h])))`, metrics.FirstResponseName)
	if _, ok := promScalarAt(t, base, panel, seen); !ok {
		t.Errorf("the dashboard's p90 has no value over the live range")
	}
	busiest := today.AddDate(0, 0, -2).Add(15 * time.Hour)
	if _, ok := promScalarAt(t, base, strings.Replace(panel, "[1h]", "[1d]", 1), busiest); !ok {
		t.Errorf("the dashboard's p90 has no value over the backfilled range")
	}
	// The per-agent panels too: before the daemon ran there are no names
	// to join, and the shipped expression falls back to the agent ids.
	for _, e := range promDashboardExprs(t, metrics.Dashboard) {
		if !strings.Contains(e.panel, "per agent") || !strings.Contains(e.expr, metrics.FirstResponseName) {
			continue
		}
		q := strings.ReplaceAll(promGrafanaVars.Replace(e.expr), "[1m]", "[1d]")
		if n, ok := promScalarAt(t, base, "count("+q+")", busiest); !ok || n < 1 {
			t.Errorf("the dashboard's %q has no agent over the backfilled range: %s", e.panel, q)
		}
	}
	if t.Failed() {
		t.Logf("logs:\n%s", tail(logs.String(), 4000))
	}
}
