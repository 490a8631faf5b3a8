package sim

import (
	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// Report is the comparison simulate prints (design.md section 10).
type Report struct {
	Scenario string   `json:"scenario"`
	Seed     int64    `json:"seed"`
	Results  []Result `json:"results"`
}

// Compare runs the scenario once per policy, every run on the same seeded
// arrivals, work and availability, and scores each. The queuewrangler
// policy runs the balancer's default policy, changed by tweaks in order, as
// the daemon changes it from its configuration.
func Compare(sc Scenario, policies []string, tweaks ...func(*balancer.Policy)) (Report, error) {
	if err := sc.Validate(); err != nil {
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
		rep.Results = append(rep.Results, runPolicy(pl, ros, flat, p, tweaks...).Result)
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
	reasons map[balancer.Reason]int // moves by rule (queuewrangler only)
}

func runPolicy(pl *plan, ros, flat *roster.Roster, policy string, tweaks ...func(*balancer.Policy)) run {
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
		d := newDaemon(pl.sc, ros, tweaks...)
		r, wr, reasons = fewestActive{}, d, d.reasons
	}
	w := newWorld(pl, r, wr, f)
	w.run()
	res := score(policy, w, f)
	if reasons != nil {
		res.Churn.ByReason = map[string]int{}
		for r, n := range reasons {
			res.Churn.ByReason[string(r)] = n
		}
	}
	return run{Result: res, world: w, reasons: reasons}
}
