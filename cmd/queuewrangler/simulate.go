package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/sim"
)

// runSimulate is `queuewrangler simulate`: an offline comparison of routing
// policies on one scenario (design.md section 10).
func runSimulate(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("simulate", stderr)
	scenario := fs.String("scenario", "small-team-week",
		"scenario file, or a built-in scenario: "+strings.Join(sim.BuiltinNames(), ", "))
	policies := fs.String("policies", strings.Join(sim.Policies(), ","), "comma-separated policies to compare")
	seed := fs.Int64("seed", 0, "seed of the arrivals and the work (default: the scenario's)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	handover := fs.String("off-shift-handover", config.HandoverNew,
		"the queuewrangler policy's QW_OFF_SHIFT_HANDOVER: new or all (follow the sun)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pols, err := sim.ParsePolicies(*policies)
	if err != nil {
		return usagef("simulate: --policies: %v", err)
	}
	if *handover != config.HandoverNew && *handover != config.HandoverAll {
		return usagef("simulate: --off-shift-handover: %q is not new or all", *handover)
	}
	sc, err := sim.LoadScenario(*scenario)
	if err != nil {
		var se *sim.ScenarioError
		switch {
		case errors.As(err, &se):
			return usagef("simulate: %v", err)
		case errors.Is(err, os.ErrNotExist):
			return usagef("simulate: scenario %q: no such file and no such built-in scenario (built-in: %s)",
				*scenario, strings.Join(sim.BuiltinNames(), ", "))
		}
		return fmt.Errorf("simulate: %w", err)
	}
	fs.Visit(func(f *flag.Flag) {
		if f.Name == "seed" {
			sc.Seed = *seed
		}
	})
	rep, err := sim.Compare(sc, pols, func(p *balancer.Policy) {
		p.HandOverOngoing = *handover == config.HandoverAll
	})
	if err != nil {
		return usagef("simulate: %v", err)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.WriteTable(stdout, sc)
}
