package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// shortScenario is a one-day scenario file, so that the command's tests
// stay fast (and fast under -race).
const shortScenario = `{
  "name": "one-day", "seed": 3, "duration": "24h",
  "team": [
    {"name": "Ana", "role": "st", "level": 1, "speed": 0.6, "hours": "Mon-Fri 06:00-14:00", "timezone": "UTC"},
    {"name": "Ben", "role": "sst", "level": 3, "speed": 1.3, "hours": "Mon-Fri 08:00-16:00", "timezone": "Europe/Berlin"},
    {"name": "Cy", "role": "hos", "level": 4}
  ],
  "arrivals": {"per_hour": 2, "weekend_factor": 0.3},
  "work": {"replies_to_resolve_mean": 2, "handle_minutes_mean": 10, "customer_reply_minutes_mean": 90,
           "hard_fraction": 0.1, "hard_factor": 4}
}`

func writeScenario(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSimulateCommand(t *testing.T) {
	good := writeScenario(t, "good.json", shortScenario)
	unknownField := writeScenario(t, "unknown.json", strings.Replace(shortScenario, `"seed": 3`, `"seed": 3, "sede": 4`, 1))
	negativeRate := writeScenario(t, "negative.json", strings.Replace(shortScenario, `"per_hour": 2`, `"per_hour": -2`, 1))
	unknownRole := writeScenario(t, "role.json", strings.Replace(shortScenario, `"role": "sst"`, `"role": "boss"`, 1))
	missing := filepath.Join(t.TempDir(), "missing.json")

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout []string
		wantStderr []string
	}{
		{"table", []string{"--scenario", good}, exitOK,
			[]string{"scenario one-day, seed 3", "none", "balanced", "queuewrangler", "moves/100",
				"arrived while no st or sst was available", "hand-outs of folder tickets + reassignments", "moves by rule: unassigned "}, nil},
		{"built-in by name", []string{"--scenario", "stuck-junior", "--policies", "balanced", "--json"}, exitOK,
			[]string{`"scenario": "stuck-junior"`, `"seed": 31`}, nil},
		{"one policy", []string{"--scenario", good, "--policies", "balanced", "--json"}, exitOK,
			[]string{`"policy": "balanced"`}, nil},
		{"seed override", []string{"--scenario", good, "--seed", "99", "--json"}, exitOK,
			[]string{`"seed": 99`}, nil},
		{"unknown field", []string{"--scenario", unknownField}, exitUsage,
			nil, []string{`unknown field "sede"`}},
		{"negative rate", []string{"--scenario", negativeRate}, exitUsage,
			nil, []string{"arrivals.per_hour: -2 is negative"}},
		{"unknown role", []string{"--scenario", unknownRole}, exitUsage,
			nil, []string{`team[1] (Ben): role: "boss"`}},
		{"missing file", []string{"--scenario", missing}, exitUsage,
			nil, []string{"missing.json", "no such file and no such built-in scenario", "small-team-week"}},
		{"unknown policy", []string{"--scenario", good, "--policies", "none,fifo"}, exitUsage,
			nil, []string{`--policies: policy "fifo"`}},
		{"follow the sun", []string{"--scenario", good, "--off-shift-handover", "all", "--json"}, exitOK,
			[]string{`"policy": "queuewrangler"`}, nil},
		{"unknown handover", []string{"--scenario", good, "--off-shift-handover", "some"}, exitUsage,
			nil, []string{`--off-shift-handover: "some" is not new or all`}},
		{"seeds", []string{"--scenario", good + "," + good, "--seeds", "1-2", "--policies", "balanced,queuewrangler"}, exitOK,
			[]string{"suite: 1 scenarios × seeds 1-2", "one-day", "queuewrangler", "first response p50", "reassignments/100"}, nil},
		{"seeds of every built-in", []string{"--scenario", "all", "--seeds", "1", "--policies", "balanced,queuewrangler-own", "--json"}, exitOK,
			[]string{`"runs"`, `"summary"`, `"scenario": "heavy-load"`, `"scenario": "all"`, `"first_response_p90_ratio"`}, nil},
		{"bad seeds", []string{"--scenario", good, "--seeds", "5-1"}, exitUsage, nil, []string{`--seeds: "5-1" is not a range like 1-5`}},
		{"an empty seed", []string{"--scenario", good, "--seeds", "1,,2"}, exitUsage, nil, []string{`--seeds: "1,,2" has an empty entry`}},
		{"too many runs", []string{"--scenario", "all", "--seeds", "1-200"}, exitUsage,
			nil, []string{"--seeds: 6 scenarios × 200 seeds is 1200 runs, more than 1000"}},
		{"seeds without balanced", []string{"--scenario", good, "--seeds", "1", "--policies", "queuewrangler"}, exitUsage,
			nil, []string{"compares with balanced"}},
		{"backlog", []string{"--scenario", good, "--backlog", "oldest", "--json"}, exitOK, []string{`"policy": "queuewrangler"`}, nil},
		{"bad backlog", []string{"--scenario", good, "--backlog", "soon"}, exitUsage, nil, []string{`--backlog: "soon" is not idle, oldest`}},
		{"routing helpscout", []string{"--scenario", good, "--routing", "helpscout", "--json"}, exitOK, []string{`"policy": "queuewrangler"`}, nil},
		{"bad routing", []string{"--scenario", good, "--routing", "own"}, exitUsage, nil, []string{`--routing: routing mode "own" is not helpscout or steer`}},
		{"drains backlog", []string{"--scenario", good, "--drains-backlog", "--json"}, exitOK, []string{`"policy": "balanced"`}, nil},
		{"bad flag", []string{"--sceanrio", good}, exitUsage, nil, []string{"sceanrio"}},
		{"stray argument", []string{"--scenario", good, "extra"}, exitUsage, nil, []string{"unexpected arguments"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errOut := runMain(t, append([]string{"simulate"}, tt.args...)...)
			if code != tt.wantCode {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tt.wantCode, errOut)
			}
			for _, w := range tt.wantStdout {
				if !strings.Contains(out, w) {
					t.Errorf("stdout lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
		})
	}
}

// TestSimulateJSONShape checks the object of the README's Simulation section: exactly
// these keys, in this order of policies, nothing else.
func TestSimulateJSONShape(t *testing.T) {
	path := writeScenario(t, "good.json", shortScenario)
	code, out, errOut := runMain(t, "simulate", "--scenario", path, "--json")
	if code != exitOK {
		t.Fatalf("exit code %d; stderr:\n%s", code, errOut)
	}
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if got, want := keys(doc), []string{"results", "scenario", "seed"}; !cmp.Equal(got, want) {
		t.Errorf("top-level keys %v, want %v", got, want)
	}
	var results []map[string]json.RawMessage
	if err := json.Unmarshal(doc["results"], &results); err != nil {
		t.Fatal(err)
	}
	wantKeys := []string{"conversations", "first_response_mean_seconds", "first_response_p50_seconds", "first_response_p90_seconds",
		"handouts_per_100", "imbalance_ratio_mean", "jain_mean", "moves_per_100", "policy", "reassignments_per_100",
		"resolution_p50_seconds", "resolution_p90_seconds", "waiting_over_stuck_share"}
	var policies []string
	for _, r := range results {
		if diff := cmp.Diff(wantKeys, keys(r)); diff != "" {
			t.Errorf("result keys (-want +got):\n%s", diff)
		}
		var p string
		if err := json.Unmarshal(r["policy"], &p); err != nil {
			t.Fatal(err)
		}
		policies = append(policies, p)
		var secs int64
		if err := json.Unmarshal(r["first_response_p90_seconds"], &secs); err != nil {
			t.Errorf("first_response_p90_seconds is not a whole number of seconds: %s", r["first_response_p90_seconds"])
		}
	}
	if want := []string{"none", "balanced", "queuewrangler", "queuewrangler-own"}; !cmp.Equal(policies, want) {
		t.Errorf("policies %v, want %v", policies, want)
	}
	if string(doc["scenario"]) != `"one-day"` || string(doc["seed"]) != "3" {
		t.Errorf("scenario %s seed %s", doc["scenario"], doc["seed"])
	}
}

func keys(m map[string]json.RawMessage) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestSimulateList(t *testing.T) {
	code, out, stderr := runMain(t, "simulate", "--list")
	if code != exitOK {
		t.Fatalf("exit %d, stderr %s", code, stderr)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if names := sim.BuiltinNames(); len(lines) != len(names) {
		t.Fatalf("%d lines for %d scenarios:\n%s", len(lines), len(names), out)
	}
	for i, name := range sim.BuiltinNames() {
		sc, _ := sim.Builtin(name)
		want := fmt.Sprintf("%-26s %2d people, ", name, len(sc.Team))
		if !strings.HasPrefix(lines[i], want) || !strings.Contains(lines[i], " simulated, stuck after ") {
			t.Errorf("line %q, want it to start %q", lines[i], want)
		}
	}
}

// TestSimulateDrainsBacklog: the override reaches the simulated routing,
// which then assigns the overnight folder when the first person comes on
// shift instead of leaving it to people taking it.
func TestSimulateDrainsBacklog(t *testing.T) {
	path := writeScenario(t, "good.json", shortScenario)
	results := func(args ...string) map[string]float64 {
		t.Helper()
		code, out, errOut := runMain(t, append([]string{"simulate", "--scenario", path, "--policies", "balanced", "--json"}, args...)...)
		if code != exitOK {
			t.Fatalf("exit code %d; stderr:\n%s", code, errOut)
		}
		var doc struct {
			Results []map[string]any `json:"results"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatal(err)
		}
		out2 := map[string]float64{}
		for k, v := range doc.Results[0] {
			if f, ok := v.(float64); ok {
				out2[k] = f
			}
		}
		return out2
	}
	if keep, drain := results(), results("--drains-backlog"); cmp.Equal(keep, drain) {
		t.Errorf("the same scores with and without --drains-backlog: %v", keep)
	}
}

// TestSimulatedCommandsReportBadUsage: the demo's, the fake's and
// simulate's problems, checked in sim, still exit 2 and name the command;
// several are reported at once, each on its own line.
func TestSimulatedCommandsReportBadUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{[]string{"demo", "--speed", "0"}, []string{"demo: --speed must be above 0"}},
		{[]string{"demo", "--mode", "off"}, []string{"demo: --mode must be apply or propose"}},
		{[]string{"demo", "--mode", "off", "--speed", "0", "--db", "/"}, []string{"demo:\n", "\n  - --mode must be apply or propose",
			"\n  - --speed must be above 0", "\n  - --db: / is not a regular file"}},
		{[]string{"fake-helpscout", "--speed", "60", "--scenario", "no-such-scenario"}, []string{"fake-helpscout: read scenario"}},
		{[]string{"fake-helpscout", "--conversations", "-1"}, []string{"fake-helpscout: --conversations must not be negative"}},
		{[]string{"simulate", "--policies", "random"}, []string{"simulate: --policies"}},
		{[]string{"simulate", "--policies", "random", "--backlog", "soon", "--seeds", "x", "--scenario", "vacation,no-such-scenario"},
			[]string{"simulate:\n", "\n  - --policies: ", "\n  - --backlog: ", "\n  - --seeds: ", "\n  - scenario \"no-such-scenario\": no such file"}},
	} {
		code, _, stderr := runMain(t, tc.args...)
		for _, want := range tc.want {
			if code != exitUsage || !strings.Contains(stderr, want) {
				t.Errorf("%v: exit %d, stderr %q; want exit %d naming %q", tc.args, code, stderr, exitUsage, want)
			}
		}
	}
}

// TestSimulateInterrupted: a signal (main's context ends) stops simulate
// with exit code 1 and "interrupted", as it stops sync, and no table or
// JSON on stdout, where a part of the runs would read as the result. It
// used to run every seed to the end (hours for --scenario all --seeds
// 1-1000) and exit 0.
func TestSimulateInterrupted(t *testing.T) {
	good := writeScenario(t, "good.json", shortScenario)
	for _, args := range [][]string{
		{"--scenario", good, "--seeds", "1-40", "--policies", "balanced,queuewrangler"},
		{"--scenario", good, "--seeds", "1-40", "--json"},
		{"--scenario", good},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // the signal came before the first run
		var out, errOut strings.Builder
		code := Main(ctx, append([]string{"simulate"}, args...), &out, &errOut)
		if code != exitFailure || !strings.Contains(errOut.String(), "simulate: interrupted") || out.Len() != 0 {
			t.Errorf("%v: exit code %d, stderr %q, stdout %d bytes; want 1, interrupted, none", args, code, errOut.String(), out.Len())
		}
	}
}
