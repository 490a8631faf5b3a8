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
	"text/tabwriter"
	"time"

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
	printComparison(stdout, sc, rep)
	return nil
}

func printComparison(w io.Writer, sc sim.Scenario, rep sim.Report) {
	fmt.Fprintf(w, "scenario %s, seed %d: %v simulated, %d people, stuck after %v\n\n",
		rep.Scenario, rep.Seed, sc.Duration, len(sc.Team), sc.StuckAfter)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tconversations\tfirst response p50\tp90\tresolution p50\tp90\twaiting > stuck\timbalance\tJain\tmoves/100\t")
	for _, r := range rep.Results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.1f%%\t%.2f\t%.2f\t%.1f\t\n", r.Policy, r.Conversations,
			human(r.FirstResponseP50Seconds), human(r.FirstResponseP90Seconds),
			human(r.ResolutionP50Seconds), human(r.ResolutionP90Seconds),
			100*r.WaitingOverStuckShare, r.ImbalanceRatioMean, r.JainMean, r.MovesPer100)
	}
	tw.Flush()
	fmt.Fprintln(w, "\nimbalance: max ÷ mean utilisation over available agents (1 is perfect); Jain: 1 is perfect.")
	printChurn(w, rep)
}

// printChurn says where the moves come from. A hand-out of a ticket that
// arrived while nobody was on shift and a ticket taken from its owner both
// count in moves/100, but only the second is churn; and every policy
// assigns the folder's tickets somehow, the others by people taking them.
func printChurn(w io.Writer, rep sim.Report) {
	if len(rep.Results) == 0 {
		return
	}
	per100 := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) * 100 / float64(of)
	}
	first := rep.Results[0]
	fmt.Fprintf(w, "\nUnassigned folder: %d of %d conversations (%.1f per 100) arrived while no st or sst was available.\n",
		first.Churn.ArrivedUnassigned, first.Conversations, per100(first.Churn.ArrivedUnassigned, first.Conversations))
	fmt.Fprintln(w, "moves/100 = hand-outs of folder tickets + reassignments (a ticket taken from one person for another):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, r := range rep.Results {
		c := r.Churn
		fmt.Fprintf(tw, "  %s\t%.1f + %.1f\t%d folder tickets taken by people", r.Policy,
			per100(c.Handouts, r.Conversations), per100(c.Reassignments, r.Conversations), c.SelfAssigned)
		if len(c.ByReason) > 0 {
			var parts []string
			for _, reason := range []string{"unassigned", "away", "stuck", "overload"} {
				parts = append(parts, fmt.Sprintf("%s %d", reason, c.ByReason[reason]))
			}
			fmt.Fprintf(tw, "; moves by rule: %s", strings.Join(parts, ", "))
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}

// human prints seconds as hours and minutes.
func human(s int64) string {
	d := time.Duration(s) * time.Second
	if d < time.Hour {
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
