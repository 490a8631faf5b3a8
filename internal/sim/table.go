package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
)

// WriteJSON prints the report as `queuewrangler simulate --json` does: the
// object design.md section 10 fixes, indented.
func (r Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteTable prints the report for a person, as `queuewrangler simulate`
// does without --json: one row of scores per policy, then where the moves
// came from (Result.Churn, which the JSON leaves out). sc is the scenario
// the report was run on.
func (r Report) WriteTable(w io.Writer, sc Scenario) error {
	fmt.Fprintf(w, "scenario %s, seed %d: %v simulated, %d people, stuck after %v\n\n",
		r.Scenario, r.Seed, sc.Duration, len(sc.Team), sc.StuckAfter)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tconversations\tfirst response p50\tp90\tresolution p50\tp90\twaiting > stuck\timbalance\tJain\tmoves/100\t")
	for _, res := range r.Results {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%.1f%%\t%.2f\t%.2f\t%.1f\t\n", res.Policy, res.Conversations,
			human(res.FirstResponseP50Seconds), human(res.FirstResponseP90Seconds),
			human(res.ResolutionP50Seconds), human(res.ResolutionP90Seconds),
			100*res.WaitingOverStuckShare, res.ImbalanceRatioMean, res.JainMean, res.MovesPer100)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nimbalance: max ÷ mean utilisation over available agents (1 is perfect); Jain: 1 is perfect.")
	return r.writeChurn(w)
}

// writeChurn says where the moves come from. A hand-out of a ticket that
// arrived while nobody was on shift and a ticket taken from its owner both
// count in moves/100, but only the second is churn; and every policy
// assigns the folder's tickets somehow, the others by people taking them.
func (r Report) writeChurn(w io.Writer) error {
	if len(r.Results) == 0 {
		return nil
	}
	per100 := func(n, of int) float64 {
		if of == 0 {
			return 0
		}
		return float64(n) * 100 / float64(of)
	}
	// Routing is off under queuewrangler-own: every conversation lands in
	// the folder there, which says nothing about who was on shift.
	first := r.Results[0]
	for _, res := range r.Results {
		if res.Policy != PolicyQueuewranglerOwn {
			first = res
			break
		}
	}
	fmt.Fprintf(w, "\nUnassigned folder: %d of %d conversations (%.1f per 100) arrived while no st or sst was available.\n",
		first.Churn.ArrivedUnassigned, first.Conversations, per100(first.Churn.ArrivedUnassigned, first.Conversations))
	var tails []string
	for _, res := range r.Results {
		tails = append(tails, fmt.Sprintf("%s %d of %d", res.Policy, res.Tail.OffShift, res.Tail.Slowest))
	}
	fmt.Fprintf(w, "Of the slowest tenth by first response, arrived while no st or sst was available: %s.\n", strings.Join(tails, ", "))
	fmt.Fprintln(w, "moves/100 = hand-outs of folder tickets + reassignments (a ticket taken from one person for another):")
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, res := range r.Results {
		c := res.Churn
		fmt.Fprintf(tw, "  %s\t%.1f + %.1f\t%d folder tickets taken by people", res.Policy,
			per100(c.Handouts, res.Conversations), per100(c.Reassignments, res.Conversations), c.SelfAssigned)
		if len(c.ByReason) > 0 {
			var parts []string
			for _, reason := range balancer.Reasons() {
				parts = append(parts, fmt.Sprintf("%s %d", reason, c.ByReason[string(reason)]))
			}
			fmt.Fprintf(tw, "; moves by rule: %s", strings.Join(parts, ", "))
		}
		if c.RotationWrites > 0 {
			fmt.Fprintf(tw, "; routing rotation written %d times", c.RotationWrites)
		}
		if c.LostReplies > 0 {
			fmt.Fprintf(tw, "; replies lost to moves: %d", c.LostReplies)
		}
		fmt.Fprintln(tw)
	}
	return tw.Flush()
}

// human prints seconds as hours and minutes.
func human(s int64) string {
	d := time.Duration(s) * time.Second
	if d < time.Hour {
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}
