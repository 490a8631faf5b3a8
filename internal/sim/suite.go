package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
)

// Suite is what `simulate --seeds` prints (design.md section 10): every
// scenario under every seed, and per scenario and policy the median and
// the worst ratio to balanced routing on the same scenario and seed. It is
// the yardstick of a balancer change: one seed is one week, and one week
// can be lucky.
type Suite struct {
	Runs    []Report    `json:"runs"`
	Summary []SuiteLine `json:"summary"`
}

// Spread is one score over a suite's runs.
type Spread struct {
	Median float64 `json:"median"`
	Worst  float64 `json:"worst"` // the highest: every score here is better lower
}

// SuiteLine sums up one policy on one scenario (Scenario AllScenarios:
// every run of the suite). The ratios are to balanced on the same
// scenario and seed, so below 1 is better; moves are per 100
// conversations, as balanced makes none.
type SuiteLine struct {
	Scenario            string `json:"scenario"`
	Policy              string `json:"policy"`
	Runs                int    `json:"runs"`
	FirstResponseP50    Spread `json:"first_response_p50_ratio"`
	FirstResponseP90    Spread `json:"first_response_p90_ratio"`
	FirstResponseMean   Spread `json:"first_response_mean_ratio"`
	ResolutionP50       Spread `json:"resolution_p50_ratio"`
	ResolutionP90       Spread `json:"resolution_p90_ratio"`
	Imbalance           Spread `json:"imbalance_ratio"`
	ReassignmentsPer100 Spread `json:"reassignments_per_100"`
	HandoutsPer100      Spread `json:"handouts_per_100"`
}

// AllScenarios names the summary lines over every scenario of a suite,
// and, in ScenarioList, every built-in scenario.
const AllScenarios = "all"

// ScenarioList reads a comma-separated list of scenario files or built-in
// names; AllScenarios stands for every built-in scenario.
func ScenarioList(text string) []string {
	var out []string
	for _, name := range strings.Split(text, ",") {
		switch name = strings.TrimSpace(name); name {
		case "":
		case AllScenarios:
			out = append(out, BuiltinNames()...)
		default:
			out = append(out, name)
		}
	}
	return out
}

// ParseSeeds reads a seed list: numbers and ranges, comma-separated
// ("1-5", "1,3,8-10"). Repeats are refused, so that no run counts twice,
// and so is an empty entry ("1,,2"), which is more likely a seed lost in
// editing than nothing meant.
func ParseSeeds(text string) ([]int64, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("seeds: none given (for example 1-5)")
	}
	var out []int64
	for _, part := range strings.Split(text, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			return nil, fmt.Errorf("seeds: %q has an empty entry between commas", text)
		}
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(strings.TrimSpace(lo), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seeds: %q is not a number or a range like 1-5", part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(strings.TrimSpace(hi), 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("seeds: %q is not a range like 1-5", part)
			}
		}
		if b-a >= 1000 || len(out)+int(b-a) >= 1000 {
			return nil, errors.New("seeds: more than 1000 seeds")
		}
		for s := a; s <= b; s++ {
			if slices.Contains(out, s) {
				return nil, fmt.Errorf("seeds: %d is listed twice", s)
			}
			out = append(out, s)
		}
	}
	return out, nil
}

// RunSuite plays every scenario under every seed with every policy, each
// run on its own, and sums the runs up against balanced routing, which
// policies must therefore include. Runs go in parallel; the result does
// not depend on it.
func RunSuite(scenarios []Scenario, seeds []int64, policies []string, opts Options) (Suite, error) {
	return RunSuiteContext(context.Background(), scenarios, seeds, policies, opts, nil)
}

// RunSuiteContext is RunSuite that stops when ctx is done, between runs
// and inside one between its policies, and returns ctx's error and no
// suite: a part of the runs is no result. progress, if not nil, is called
// after each run (one scenario and seed) with the runs done and the total,
// one call at a time.
func RunSuiteContext(ctx context.Context, scenarios []Scenario, seeds []int64, policies []string, opts Options,
	progress func(done, total int)) (Suite, error) {
	if !slices.Contains(policies, PolicyBalanced) {
		return Suite{}, fmt.Errorf("the suite compares with %s, which the policies must include", PolicyBalanced)
	}
	if err := opts.Validate(); err != nil {
		return Suite{}, err
	}
	type job struct {
		sc  Scenario
		out *Report
		err *error
	}
	reports := make([]Report, len(scenarios)*len(seeds))
	errs := make([]error, len(reports))
	jobs := make(chan job)
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex // serialises progress
		done int
	)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				*j.out, *j.err = CompareContext(ctx, j.sc, policies, opts)
				if progress != nil && *j.err == nil {
					mu.Lock()
					done++
					progress(done, len(reports))
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for i, sc := range scenarios {
		for k, seed := range seeds {
			sc.Seed = seed
			n := i*len(seeds) + k
			select {
			case jobs <- job{sc, &reports[n], &errs[n]}:
			case <-ctx.Done():
				break feed // the runs under way stop at their next policy
			}
		}
	}
	close(jobs)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Suite{}, err
	}
	if err := errors.Join(errs...); err != nil {
		return Suite{}, err
	}
	s := Suite{Runs: reports}
	var names []string
	for _, sc := range scenarios {
		names = append(names, sc.Name)
	}
	if len(names) > 1 {
		names = append(names, AllScenarios)
	}
	for _, name := range names {
		for _, p := range policies {
			if p == PolicyBalanced {
				continue
			}
			s.Summary = append(s.Summary, summarise(reports, name, p))
		}
	}
	return s, nil
}

// summarise is one line of the summary: policy p on scenario name.
func summarise(reports []Report, name, p string) SuiteLine {
	l := SuiteLine{Scenario: name, Policy: p}
	var fr50, fr90, frMean, res50, res90, imb, re, ho []float64
	for _, rep := range reports {
		if name != AllScenarios && rep.Scenario != name {
			continue
		}
		var base, r Result
		for _, x := range rep.Results {
			switch x.Policy {
			case PolicyBalanced:
				base = x
			case p:
				r = x
			}
		}
		l.Runs++
		fr50 = append(fr50, ratio(r.FirstResponseP50Seconds, base.FirstResponseP50Seconds))
		fr90 = append(fr90, ratio(r.FirstResponseP90Seconds, base.FirstResponseP90Seconds))
		frMean = append(frMean, ratio(r.FirstResponseMeanSeconds, base.FirstResponseMeanSeconds))
		res50 = append(res50, ratio(r.ResolutionP50Seconds, base.ResolutionP50Seconds))
		res90 = append(res90, ratio(r.ResolutionP90Seconds, base.ResolutionP90Seconds))
		imb = append(imb, round3(r.ImbalanceRatioMean/max(base.ImbalanceRatioMean, 1)))
		re = append(re, r.ReassignmentsPer100)
		ho = append(ho, r.HandoutsPer100)
	}
	l.FirstResponseP50, l.FirstResponseP90, l.FirstResponseMean = spread(fr50), spread(fr90), spread(frMean)
	l.ResolutionP50, l.ResolutionP90, l.Imbalance = spread(res50), spread(res90), spread(imb)
	l.ReassignmentsPer100, l.HandoutsPer100 = spread(re), spread(ho)
	return l
}

// ratio of two times in seconds; a baseline under a second counts as one.
func ratio(x, base int64) float64 {
	return round3(float64(x) / float64(max(base, 1)))
}

func spread(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Spread{Median: round3(med), Worst: s[len(s)-1]}
}

// WriteJSON prints the suite as `simulate --seeds --json` does: every run
// (one object per scenario and seed, as simulate --json prints one) and
// the summary.
func (s Suite) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteTable prints the summary for a person: per scenario and policy,
// each score's median over the seeds and, in brackets, the worst. seeds is
// the seed list as given.
func (s Suite) WriteTable(w io.Writer, seeds string) error {
	scenarios := map[string]bool{}
	for _, r := range s.Runs {
		scenarios[r.Scenario] = true
	}
	fmt.Fprintf(w, "suite: %d scenarios × seeds %s; scores as ratios to balanced on the same seed, median (worst); below 1 is better\n\n",
		len(scenarios), seeds)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "scenario\tpolicy\truns\tfirst response p50\tp90\tmean\tresolution p50\tp90\timbalance\treassignments/100\thand-outs/100\t")
	for _, l := range s.Summary {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", l.Scenario, l.Policy, l.Runs,
			ratioCell(l.FirstResponseP50), ratioCell(l.FirstResponseP90), ratioCell(l.FirstResponseMean),
			ratioCell(l.ResolutionP50), ratioCell(l.ResolutionP90), ratioCell(l.Imbalance),
			countCell(l.ReassignmentsPer100), countCell(l.HandoutsPer100))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return s.writeTail(w)
}

// writeTail says, per policy over every run, what share of the slowest
// tenth of customers arrived while no st or sst was available: when it is
// most of them, first response p90 is set by who covers nights and
// weekends and by the backlog order, which balancing cannot change.
func (s Suite) writeTail(w io.Writer) error {
	var policies []string
	slowest, offShift := map[string]int{}, map[string]int{}
	for _, r := range s.Runs {
		for _, res := range r.Results {
			if !slices.Contains(policies, res.Policy) {
				policies = append(policies, res.Policy)
			}
			slowest[res.Policy] += res.Tail.Slowest
			offShift[res.Policy] += res.Tail.OffShift
		}
	}
	var parts []string
	for _, p := range policies {
		if slowest[p] > 0 {
			parts = append(parts, fmt.Sprintf("%s %.0f%%", p, float64(offShift[p])*100/float64(slowest[p])))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	_, err := fmt.Fprintf(w, "\nThe slowest tenth of customers by first response, share who arrived while no st or sst was available (every run): %s.\n",
		strings.Join(parts, ", "))
	return err
}

func ratioCell(s Spread) string { return fmt.Sprintf("%.2f (%.2f)", s.Median, s.Worst) }

func countCell(s Spread) string {
	return fmt.Sprintf("%.1f (%.1f)", math.Round(s.Median*10)/10, math.Round(s.Worst*10)/10)
}
