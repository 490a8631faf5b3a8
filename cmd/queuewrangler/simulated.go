package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/httpapi"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// runDemo is `queuewrangler demo` (the command reference (`queuewrangler -h`)): sim runs the
// simulated account, and the real daemon runs against it in apply mode.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o sim.DemoOptions
	fs := newFlagSet("demo", stderr)
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "listen address of the daemon (page, API, metrics)")
	fs.Float64Var(&o.Speed, "speed", 60, "simulated seconds per real second")
	fs.Int64Var(&o.Seed, "seed", 0, "seed of the simulated team's customers (default: the scenario's)")
	fs.StringVar(&o.DB, "db", "", "SQLite file (default: a temporary file removed at exit)")
	fs.StringVar(&o.Mode, "mode", string(rebalance.ModeApply), "apply (the daemon moves tickets) or propose (it proposes; approve them on the page)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if mode, err := rebalance.ParseMode(o.Mode); err != nil || mode == rebalance.ModeOff {
		return usagef("demo: --mode must be apply or propose, got %q", o.Mode)
	}
	if o.Speed <= 0 || o.Speed > sim.MaxSpeed {
		return usagef("demo: --speed must be above 0 and at most %d, got %g", sim.MaxSpeed, o.Speed)
	}
	o.Serve = httpapi.Serve
	return sim.RunDemo(ctx, o, stdout, stderr, func(ctx context.Context, d sim.DemoDaemon) error {
		cfg := &config.Config{
			HelpScoutClientID:     d.ClientID,
			HelpScoutClientSecret: config.Secret(d.ClientSecret),
			HelpScoutAPIURL:       d.APIURL,
			WebhookSecret:         config.Secret(d.WebhookSecret),
			DBPath:                d.DBPath,
			// Real-time periods: short, so that the demo moves within seconds.
			PollInterval:       config.Duration{Duration: 10 * time.Second},
			BalanceInterval:    config.Duration{Duration: 10 * time.Second},
			Mode:               o.Mode,
			StuckAfter:         config.Duration{Duration: d.StuckAfter},
			MaxMovesPerRun:     config.Int{N: 5},
			AdminToken:         config.Secret(d.AdminToken),
			RateLimitPerMinute: config.Int{N: 600},
			Routing:            string(balancer.RoutingHelpScout),
			Backlog:            balancer.FormatBacklog(balancer.BacklogIdle),
		}
		s, problems := parse(cfg, d.Roster)
		if len(problems) > 0 {
			return &config.ValidationError{Problems: problems}
		}
		return run(ctx, s, d.Listener, d.Logger, d.Now)
	})
}

// runFakeHelpScout is `queuewrangler fake-helpscout` (the command reference (`queuewrangler -h`)):
// a seeded static account, or with --speed a simulated team working live.
func runFakeHelpScout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var o sim.FakeOptions
	fs := newFlagSet("fake-helpscout", stderr)
	o.AddFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := o.Validate(); err != nil {
		return usagef("fake-helpscout: %v", err)
	}
	if o.Speed > 0 {
		o.ScenarioName = cmp.Or(o.ScenarioName, sim.DemoScenario)
		sc, err := sim.LoadScenario(o.ScenarioName)
		if err != nil {
			return usagef("fake-helpscout: %v", err)
		}
		o.Scenario = &sc
	}
	o.Serve = httpapi.Serve
	return sim.ServeFake(ctx, o, stdout, stderr)
}

// runSimulate is `queuewrangler simulate`: an offline comparison of routing
// policies on one scenario, or with --seeds the suite over several
// scenarios and seeds (the README's Simulation section).
func runSimulate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", stderr)
	scenario := fs.String("scenario", "small-team-week",
		"scenario file, or a built-in scenario: "+strings.Join(sim.BuiltinNames(), ", ")+
			"; with --seeds, a comma-separated list or all (every built-in)")
	policies := fs.String("policies", strings.Join(sim.Policies(), ","), "comma-separated policies to compare")
	seed := fs.Int64("seed", 0, "seed of the arrivals and the work (default: the scenario's)")
	seeds := fs.String("seeds", "", "run every seed of a list like 1-5 and print the median and worst ratio to balanced")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	handover := fs.String("off-shift-handover", config.HandoverNew,
		"the queuewrangler policies' QW_OFF_SHIFT_HANDOVER: new or all (follow the sun)")
	mode := fs.String("routing", string(sim.RecommendedMode), "the queuewrangler policy's QW_ROUTING: helpscout or steer")
	backlog := fs.String("backlog", balancer.FormatBacklog(balancer.DefaultPolicy().Backlog),
		"the queuewrangler policies' QW_BACKLOG: idle, oldest, or a duration between (30m)")
	drains := fs.Bool("drains-backlog", false, "override the scenario: Help Scout's routing assigns the Unassigned folder when someone becomes eligible")
	list := fs.Bool("list", false, "list the built-in scenarios and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *list {
		return sim.WriteBuiltinList(stdout)
	}
	pols, err := sim.ParsePolicies(*policies)
	if err != nil {
		return usagef("simulate: --policies: %v", err)
	}
	ongoing, err := config.HandsOverOngoing(*handover)
	if err != nil {
		return usagef("simulate: --off-shift-handover: %v", err)
	}
	order, err := balancer.ParseBacklog(*backlog)
	if err != nil {
		return usagef("simulate: --backlog: %v", err)
	}
	opts := sim.Options{Mode: balancer.RoutingMode(*mode), Tweaks: []func(*balancer.Policy){func(p *balancer.Policy) {
		p.HandOverOngoing, p.Backlog = ongoing, order
	}}}
	if err := opts.Validate(); err != nil {
		return usagef("simulate: --routing: %v", err)
	}
	names := []string{*scenario}
	if *seeds != "" {
		names = sim.ScenarioList(*scenario)
	}
	var scenarios []sim.Scenario
	for _, name := range names {
		sc, err := loadScenario(name)
		if err != nil {
			return err
		}
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case "seed":
				sc.Seed = *seed
			case "drains-backlog":
				sc.Routing.DrainsBacklog = *drains
			}
		})
		scenarios = append(scenarios, sc)
	}
	if *seeds != "" {
		seedList, err := sim.ParseSeeds(*seeds)
		if err != nil {
			return usagef("simulate: --%v", err)
		}
		suite, err := sim.RunSuite(scenarios, seedList, pols, opts)
		if err != nil {
			return usagef("simulate: %v", err)
		}
		if *asJSON {
			return suite.WriteJSON(stdout)
		}
		return suite.WriteTable(stdout, *seeds)
	}
	rep, err := sim.CompareWith(scenarios[0], pols, opts)
	if err != nil {
		return usagef("simulate: %v", err)
	}
	if *asJSON {
		return rep.WriteJSON(stdout)
	}
	return rep.WriteTable(stdout, scenarios[0])
}

// loadScenario reads a scenario file or a built-in one; a bad file or
// name is a usage error.
func loadScenario(name string) (sim.Scenario, error) {
	sc, err := sim.LoadScenario(name)
	if err != nil {
		var se *sim.ScenarioError
		switch {
		case errors.As(err, &se):
			return sim.Scenario{}, usagef("simulate: %v", err)
		case errors.Is(err, os.ErrNotExist):
			return sim.Scenario{}, usagef("simulate: scenario %q: no such file and no such built-in scenario (built-in: %s)",
				name, strings.Join(sim.BuiltinNames(), ", "))
		}
		return sim.Scenario{}, fmt.Errorf("simulate: %w", err)
	}
	return sc, nil
}
