package sim

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
)

// Command is the `simulate` command: the flags AddFlags declares, checked
// and resolved by Prepare, run by Run. It lives here, beside the suite it
// drives, so that the command line stays a thin layer of wiring.
type Command struct {
	scenario, policies, seeds  string
	handover, routing, backlog string
	seed                       int64
	json, drainsBacklog, list  bool
	warmup                     time.Duration
	fs                         *flag.FlagSet
	// progressEvery is how often a suite says on stderr how far it is;
	// zero is ProgressEvery (tests set it shorter).
	progressEvery time.Duration

	// Resolved by Prepare.
	policyList []string
	opts       Options
	seedList   []int64
	scenarios  []Scenario
}

// MaxRuns bounds a suite's runs, scenarios × seeds: each is about a
// second of CPU per policy, so 1000 runs of four policies is over an hour
// on two cores. --seeds alone allows 1000, which --scenario all (six
// scenarios) would multiply past a working day.
const MaxRuns = 1000

// ProgressEvery is how often a suite prints its progress line on stderr,
// so that a long one is seen to move; a suite done sooner prints none.
const ProgressEvery = 10 * time.Second

// UsageError is a problem with the command line or a scenario file: the
// user's to fix (the command exits 2), never a failure of the run.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// AddFlags declares simulate's flags on fs.
func (c *Command) AddFlags(fs *flag.FlagSet) {
	c.fs = fs
	fs.StringVar(&c.scenario, "scenario", "small-team-week",
		"scenario file, or a built-in scenario: "+strings.Join(BuiltinNames(), ", ")+
			"; with --seeds, a comma-separated list or all (every built-in)")
	fs.StringVar(&c.policies, "policies", strings.Join(Policies(), ","), "comma-separated policies to compare")
	fs.Int64Var(&c.seed, "seed", 0, "seed of the arrivals and the work (default: the scenario's)")
	fs.StringVar(&c.seeds, "seeds", "", "run every seed of a list like 1-5 and print the median and worst ratio to balanced")
	fs.BoolVar(&c.json, "json", false, "print JSON instead of a table")
	fs.StringVar(&c.handover, "off-shift-handover", balancer.HandoverNew,
		"the queuewrangler policies' QW_OFF_SHIFT_HANDOVER: new or all (follow the sun)")
	fs.StringVar(&c.routing, "routing", string(RecommendedMode), "the queuewrangler policy's QW_ROUTING: helpscout or steer")
	fs.StringVar(&c.backlog, "backlog", balancer.FormatBacklog(balancer.DefaultPolicy().Backlog),
		"the queuewrangler policies' QW_BACKLOG: idle, oldest, or a duration between (30m)")
	fs.BoolVar(&c.drainsBacklog, "drains-backlog", false, "override the scenario: Help Scout's routing assigns the Unassigned folder when someone becomes eligible")
	fs.DurationVar(&c.warmup, "warmup", 0, "run the same world this long before the scored run (history for the daemon, last week's queues); only the scored run counts")
	fs.BoolVar(&c.list, "list", false, "list the built-in scenarios and exit")
}

// Prepare checks the parsed flags and loads the scenarios. Every problem
// is the user's to fix, and all are reported at once, in one *UsageError.
func (c *Command) Prepare() error {
	if c.list {
		return nil
	}
	var problems []error
	problem := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	var err error
	if c.policyList, err = ParsePolicies(c.policies); err != nil {
		problem("--policies: %v", err)
	}
	ongoing, err := balancer.ParseHandover(c.handover)
	if err != nil {
		problem("--off-shift-handover: %v", err)
	}
	order, err := balancer.ParseBacklog(c.backlog)
	if err != nil {
		problem("--backlog: %v", err)
	}
	c.opts = Options{Mode: balancer.RoutingMode(c.routing), Tweaks: []func(*balancer.Policy){func(p *balancer.Policy) {
		p.HandOverOngoing, p.Backlog = ongoing, order
	}}}
	if err := c.opts.Validate(); err != nil {
		problem("--routing: %v", err)
	}
	names := []string{c.scenario}
	if c.seeds != "" {
		if c.seedList, err = ParseSeeds(c.seeds); err != nil {
			problem("--%v", err)
		}
		if c.policyList != nil && !slices.Contains(c.policyList, PolicyBalanced) {
			problem("--policies: the suite compares with %s, which the policies must include", PolicyBalanced)
		}
		if names = ScenarioList(c.scenario); len(names) == 0 {
			problem("--scenario: %q names no scenario", c.scenario)
		}
		if runs := len(names) * len(c.seedList); runs > MaxRuns {
			problem("--seeds: %d scenarios × %d seeds is %d runs, more than %d; give fewer seeds or scenarios",
				len(names), len(c.seedList), runs, MaxRuns)
		}
	}
	// Only the flags given override the scenario: an unset --seed keeps
	// the scenario's own.
	given := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	c.scenarios = c.scenarios[:0]
	for _, name := range names {
		sc, err := loadForCommand(name)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		if given["seed"] {
			sc.Seed = c.seed
		}
		if given["drains-backlog"] {
			sc.Routing.DrainsBacklog = c.drainsBacklog
		}
		if given["warmup"] {
			sc.Warmup = c.warmup
			if err := sc.Validate(); err != nil {
				problem("--warmup: %v", err)
				continue
			}
		}
		c.scenarios = append(c.scenarios, sc)
	}
	if len(problems) > 0 {
		return &UsageError{errors.Join(problems...)}
	}
	return nil
}

// loadForCommand reads a scenario file or a built-in one; a bad file, one
// that cannot be read (a directory, no permission) or an unknown name is
// the user's to fix.
func loadForCommand(name string) (Scenario, error) {
	sc, err := LoadScenario(name)
	if errors.Is(err, os.ErrNotExist) {
		return Scenario{}, fmt.Errorf("scenario %q: no such file and no such built-in scenario (built-in: %s)",
			name, strings.Join(BuiltinNames(), ", "))
	}
	return sc, err
}

// ErrInterrupted is Run's error when its context ends first (a signal):
// the command exits 1, as sync does, and prints no partial table, which
// would read as a result.
var ErrInterrupted = errors.New("interrupted")

// Run runs what Prepare resolved and writes the table or JSON to w: the
// list of built-ins, the suite over seeds, or one comparison. It stops
// when ctx is done, with ErrInterrupted and nothing written to w; a suite
// says how far it is on progress (stderr) every ProgressEvery.
func (c *Command) Run(ctx context.Context, w, progress io.Writer) error {
	switch {
	case c.list:
		return WriteBuiltinList(w)
	case c.seeds != "":
		every := cmp.Or(c.progressEvery, ProgressEvery)
		last := time.Now()
		suite, err := RunSuiteContext(ctx, c.scenarios, c.seedList, c.policyList, c.opts, func(done, total int) {
			if now := time.Now(); now.Sub(last) >= every && done < total {
				last = now
				fmt.Fprintf(progress, "simulate: %d of %d runs\n", done, total)
			}
		})
		if ctx.Err() != nil {
			return interrupted(ctx)
		}
		if err != nil {
			return &UsageError{err}
		}
		if c.json {
			return suite.WriteJSON(w)
		}
		return suite.WriteTable(w, c.seeds)
	}
	rep, err := CompareContext(ctx, c.scenarios[0], c.policyList, c.opts)
	if ctx.Err() != nil {
		return interrupted(ctx)
	}
	if err != nil {
		return &UsageError{err}
	}
	if c.json {
		return rep.WriteJSON(w)
	}
	return rep.WriteTable(w, c.scenarios[0])
}

// interrupted is ErrInterrupted, with ctx's cause when it is not the bare
// cancel of a signal.
func interrupted(ctx context.Context) error {
	if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
		return fmt.Errorf("%w: %v (no result printed)", ErrInterrupted, cause)
	}
	return fmt.Errorf("%w (no result printed)", ErrInterrupted)
}
