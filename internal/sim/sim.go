package sim

import (
	"context"
	"fmt"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// Report is the comparison simulate prints (design.md section 10).
type Report struct {
	Scenario string   `json:"scenario"`
	Seed     int64    `json:"seed"`
	Results  []Result `json:"results"`
}

// Options configure the queuewrangler policies as the daemon's
// configuration would.
type Options struct {
	// Tweaks change the balancer's default policy, in order, as the
	// daemon's QW_ variables do.
	Tweaks []func(*balancer.Policy)
	// Mode is the queuewrangler policy's QW_ROUTING: balancer.RoutingHelpScout or
	// balancer.RoutingSteer; empty means RecommendedMode. The queuewrangler-own
	// policy always runs balancer.RoutingOwn.
	Mode balancer.RoutingMode
}

// Validate reports a mode the queuewrangler policy cannot run.
func (o Options) Validate() error {
	switch o.Mode {
	case "", balancer.RoutingHelpScout, balancer.RoutingSteer:
		return nil
	}
	return fmt.Errorf("routing mode %q is not %s or %s (%s is the %s policy)", o.Mode, balancer.RoutingHelpScout, balancer.RoutingSteer, balancer.RoutingOwn, PolicyQueuewranglerOwn)
}

// Compare runs the scenario once per policy, every run on the same seeded
// arrivals, work and availability, and scores each. The queuewrangler
// policies run the balancer's default policy, changed by tweaks in order,
// as the daemon changes it from its configuration.
func Compare(sc Scenario, policies []string, tweaks ...func(*balancer.Policy)) (Report, error) {
	return CompareWith(sc, policies, Options{Tweaks: tweaks})
}

// CompareWith is Compare with every option.
func CompareWith(sc Scenario, policies []string, opts Options) (Report, error) {
	return CompareContext(context.Background(), sc, policies, opts)
}

// CompareContext is CompareWith that stops when ctx is done, before each
// policy's run (a run of a built-in week is about a second of CPU, so a
// signal is heard within one), with ctx's error.
func CompareContext(ctx context.Context, sc Scenario, policies []string, opts Options) (Report, error) {
	if err := sc.Validate(); err != nil {
		return Report{}, err
	}
	if err := opts.Validate(); err != nil {
		return Report{}, err
	}
	for _, p := range policies {
		if _, err := ParsePolicies(p); err != nil {
			return Report{}, err
		}
	}
	ros, err := rosterFor(&sc, false)
	if err != nil {
		return Report{}, err
	}
	flat, err := rosterFor(&sc, true)
	if err != nil {
		return Report{}, err
	}
	pl := newPlan(&sc)
	rep := Report{Scenario: sc.Name, Seed: sc.Seed, Results: make([]Result, 0, len(policies))}
	for _, p := range policies {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		rep.Results = append(rep.Results, runPolicy(pl, ros, flat, p, opts).Result)
	}
	return rep, nil
}

// Run runs one policy on the scenario.
func Run(sc Scenario, policy string) (Result, error) {
	rep, err := Compare(sc, []string{policy})
	if err != nil {
		return Result{}, err
	}
	return rep.Results[0], nil
}

// run is one policy's run: its scores and what the tests look into.
type run struct {
	Result
	world   *world
	reasons map[balancer.Reason]int // moves by rule (queuewrangler policies only)
}

func runPolicy(pl *plan, ros, flat *roster.Roster, policy string, opts Options) run {
	measure := balancer.DefaultPolicy()
	measure.StuckAfter = pl.sc.StuckAfter
	f := &fairness{roster: flat, policy: measure}
	var (
		r       router
		wr      wrangler
		reasons map[balancer.Reason]int
	)
	switch policy {
	case PolicyNone:
		r = &roundRobin{last: -1}
	case PolicyBalanced:
		r = fewestActive{}
	case PolicyQueuewrangler:
		mode := opts.Mode
		if mode == "" {
			mode = RecommendedMode
		}
		d := newDaemon(pl.sc, ros, mode, opts.Tweaks...)
		r, wr, reasons = fewestActive{}, d, d.reasons
	case PolicyQueuewranglerOwn:
		d := newDaemon(pl.sc, ros, balancer.RoutingOwn, opts.Tweaks...)
		r, wr, reasons = routingOff{}, d, d.reasons
	}
	w := newWorld(pl, r, wr, f)
	before := playWarmup(w, f, reasons, pl.scoredFrom)
	w.run()
	res := score(policy, w, f, pl.scoredFrom, before)
	if reasons != nil {
		res.Churn.ByReason = map[string]int{}
		for r, n := range reasons {
			if n -= before.reasons[r]; n > 0 {
				res.Churn.ByReason[string(r)] = n
			}
		}
	}
	return run{Result: res, world: w, reasons: reasons}
}
