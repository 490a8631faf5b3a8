package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestParseSeeds(t *testing.T) {
	for _, tt := range []struct {
		text string
		want []int64
		bad  string
	}{
		{"1-5", []int64{1, 2, 3, 4, 5}, ""},
		{"7", []int64{7}, ""},
		{"1,3, 8-9", []int64{1, 3, 8, 9}, ""},
		{"5-1", nil, "not a range"},
		{"one", nil, "not a number"},
		{"1-3,2", nil, "2 is listed twice"},
		{"", nil, "none given"},
		{"1-5000", nil, "more than 1000"},
		{"1,,2", nil, "empty entry"},
		{"1-3,", nil, "empty entry"},
		{" ", nil, "none given"},
	} {
		got, err := ParseSeeds(tt.text)
		if tt.bad != "" {
			if err == nil || !strings.Contains(err.Error(), tt.bad) {
				t.Errorf("ParseSeeds(%q) error %v, want one saying %q", tt.text, err, tt.bad)
			}
			continue
		}
		if err != nil || !cmp.Equal(got, tt.want) {
			t.Errorf("ParseSeeds(%q) = %v, %v; want %v", tt.text, got, err, tt.want)
		}
	}
}

func TestSpread(t *testing.T) {
	if got := spread([]float64{1.2, 0.8, 1.0}); got != (Spread{Median: 1.0, Worst: 1.2}) {
		t.Errorf("odd: %+v", got)
	}
	if got := spread([]float64{0.9, 1.1, 1.3, 0.7}); got != (Spread{Median: 1.0, Worst: 1.3}) {
		t.Errorf("even: %+v", got)
	}
}

func TestRunSuite(t *testing.T) {
	sc := builtin(t, "small-team-week")
	sc.Duration = 48 * time.Hour
	other := sc
	other.Name = "two-days"
	if _, err := RunSuite([]Scenario{sc}, []int64{1}, []string{PolicyQueuewrangler}, Options{}); err == nil {
		t.Error("a suite without balanced ran")
	}
	s, err := RunSuite([]Scenario{sc, other}, []int64{1, 2}, []string{PolicyBalanced, PolicyQueuewrangler}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Runs) != 4 || s.Runs[0].Seed != 1 || s.Runs[1].Seed != 2 || s.Runs[2].Scenario != "two-days" {
		t.Errorf("runs: %d, want every scenario under every seed in order", len(s.Runs))
	}
	var lines []string
	for _, l := range s.Summary {
		lines = append(lines, l.Scenario+"/"+l.Policy)
		if l.Runs == 0 || l.FirstResponseP50.Median <= 0 || l.FirstResponseP50.Worst < l.FirstResponseP50.Median {
			t.Errorf("%s/%s: %+v", l.Scenario, l.Policy, l)
		}
	}
	want := []string{"small-team-week/queuewrangler", "two-days/queuewrangler", "all/queuewrangler"}
	if !cmp.Equal(lines, want) {
		t.Errorf("summary lines %v, want %v", lines, want)
	}
	// The ratios are to balanced on the same scenario and seed.
	r := s.Runs[0].Results
	want0 := ratio(r[1].FirstResponseP90Seconds, r[0].FirstResponseP90Seconds)
	one, err := RunSuite([]Scenario{sc}, []int64{1}, []string{PolicyBalanced, PolicyQueuewrangler}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := one.Summary[0].FirstResponseP90; got.Median != want0 || got.Worst != want0 {
		t.Errorf("one run: p90 ratio %+v, want %v", got, want0)
	}
}

// The suite's table ends with the share of the slowest tenth who arrived
// while nobody was on shift, per policy over every run.
func TestSuiteWriteTail(t *testing.T) {
	s := Suite{Runs: []Report{
		{Scenario: "a", Seed: 1, Results: []Result{
			{Policy: PolicyBalanced, Tail: Tail{Slowest: 10, OffShift: 7}},
			{Policy: PolicyQueuewrangler, Tail: Tail{Slowest: 10, OffShift: 9}}}},
		{Scenario: "a", Seed: 2, Results: []Result{
			{Policy: PolicyBalanced, Tail: Tail{Slowest: 30, OffShift: 29}},
			{Policy: PolicyQueuewrangler, Tail: Tail{Slowest: 30, OffShift: 30}}}},
	}}
	var b strings.Builder
	if err := s.writeTail(&b); err != nil {
		t.Fatal(err)
	}
	want := "\nThe slowest tenth of customers by first response, share who arrived while no st or sst was available (every run): balanced 90%, queuewrangler 98%.\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// suiteCommand is the command as Prepare leaves it for --seeds 1-n over a
// one-day small-team-week, so that a run is short even under -race.
func suiteCommand(t *testing.T, n int, json bool) *Command {
	t.Helper()
	sc := builtin(t, "small-team-week")
	sc.Duration = 24 * time.Hour
	c := &Command{seeds: fmt.Sprintf("1-%d", n), json: json, policyList: []string{PolicyBalanced, PolicyQueuewrangler},
		scenarios: []Scenario{sc}, progressEvery: time.Nanosecond}
	for s := range n {
		c.seedList = append(c.seedList, int64(s+1))
	}
	return c
}

// writerFunc is an io.Writer that calls f with every write.
type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }

// TestCommandInterruptedMidSuite: a suite whose context ends while it runs
// stops within the runs under way, returns ErrInterrupted and writes
// nothing to stdout; before, simulate had no context and ran every seed.
func TestCommandInterruptedMidSuite(t *testing.T) {
	c := suiteCommand(t, 40, false)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out strings.Builder
	var mu sync.Mutex
	var lines []string
	progress := writerFunc(func(p []byte) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, string(p))
		cancel() // the signal comes after the first run
	})
	err := c.Run(ctx, &out, progress)
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run = %v, want ErrInterrupted", err)
	}
	if out.Len() != 0 {
		t.Errorf("an interrupted suite wrote a result:\n%s", out.String())
	}
	mu.Lock()
	defer mu.Unlock()
	if len(lines) == 0 || lines[0] != "simulate: 1 of 40 runs\n" {
		t.Errorf("progress lines %q, want the first to be \"simulate: 1 of 40 runs\"", lines)
	}
	// The runs under way when the signal came may finish one policy each;
	// none starts after it.
	if most := 1 + runtime.GOMAXPROCS(0); len(lines) > most {
		t.Errorf("%d runs finished after the signal, want at most %d: %q", len(lines), most, lines)
	}
}

// TestCommandProgressOnStderr: a suite's progress goes to the progress
// writer (stderr), never into --json's stdout, which stays one document.
func TestCommandProgressOnStderr(t *testing.T) {
	c := suiteCommand(t, 3, true)
	var out, progress strings.Builder
	if err := c.Run(context.Background(), &out, &progress); err != nil {
		t.Fatal(err)
	}
	var s Suite
	if err := json.Unmarshal([]byte(out.String()), &s); err != nil || len(s.Runs) != 3 {
		t.Fatalf("stdout is not the suite's JSON (%v, %d runs):\n%s", err, len(s.Runs), out.String())
	}
	// One line per run but the last, whose table follows at once.
	if want := "simulate: 1 of 3 runs\nsimulate: 2 of 3 runs\n"; progress.String() != want {
		t.Errorf("progress %q, want %q", progress.String(), want)
	}
}
