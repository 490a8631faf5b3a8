package rebalance

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// WritePlanTable prints a dry run's plan for a person, as `queuewrangler
// plan` does: the figures, one line per move, then the flags and the
// stuck tickets no senior can take, naming the agents; an unassigned
// ticket's owner is "(unassigned)".
func WritePlanTable(w io.Writer, res balancer.Result, agents []team.Agent) error {
	name := agentNamer(agents)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	counts := count(len(res.Moves), "move", "moves") + ", " + count(len(res.Flags), "flag", "flags")
	// Counted apart from the flags, as they are listed apart: a header of
	// "0 flags" above a list of stuck tickets reads as a contradiction.
	if len(res.NoSenior) > 0 {
		counts += ", " + count(len(res.NoSenior), "stuck with no senior to take it", "stuck with no senior to take them")
	}
	fmt.Fprintf(tw, "imbalance %.2f -> %.2f, Jain %.2f -> %.2f, %s (nothing is changed in Help Scout)\n\n",
		res.Before.Imbalance, res.After.Imbalance, res.Before.Jain, res.After.Jain, counts)
	if len(res.Moves) > 0 {
		fmt.Fprintln(tw, "TICKET\tREASON\tFROM\tTO\tWAITING\tWHY")
		for _, m := range res.Moves {
			// The explanations' format ("4d 7h"), so one line does not mix
			// two; "-" when the customer is not waiting.
			waiting := "-"
			if m.WaitingFor > 0 {
				waiting = balancer.FormatDuration(m.WaitingFor)
			}
			fmt.Fprintf(tw, "#%d\t%s\t%s\t%s\t%s\t%s\n", m.Number, m.Reason, name(m.From), name(m.To), waiting, m.Explanation)
		}
	}
	for _, f := range res.Flags {
		fmt.Fprintf(tw, "flag #%d (%s, held by %s): %s\n", f.Number, f.Reason, name(f.AgentID), strings.TrimSpace(f.Explanation))
	}
	for _, f := range res.NoSenior {
		fmt.Fprintf(tw, "no senior #%d (%s, held by %s): %s\n", f.Number, f.Reason, name(f.AgentID), strings.TrimSpace(f.Explanation))
	}
	// The balancer's sentences leave these "for the head of support", who
	// may not exist: without a roster everyone is an ST.
	if len(res.Flags)+len(res.NoSenior) > 0 && !slices.ContainsFunc(agents, func(a team.Agent) bool { return a.Role == string(roster.RoleHoS) }) {
		fmt.Fprintln(tw, "nobody in the team is head of support (role hos in QW_ROSTER_FILE; without a roster everyone is an ST at level 2):"+
			" the tickets flagged above stay with their owners until someone takes them up")
	}
	return tw.Flush()
}

// WritePlanJSON prints a dry run's plan as `queuewrangler plan --json`
// does: the moves with the agents' names, the flags and the stuck tickets
// no senior can take (no_senior) with the name of the agent holding each,
// and the figures before and after. Every list is in the same style
// (snake_case keys, waits in whole seconds, [] when empty), so that a
// script reads them alike.
func WritePlanJSON(w io.Writer, res balancer.Result, agents []team.Agent) error {
	name := agentNamer(agents)
	type move struct {
		ConversationID int64  `json:"conversation_id"`
		Number         int64  `json:"number"`
		From           int64  `json:"from"`
		To             int64  `json:"to"`
		FromName       string `json:"from_name"`
		ToName         string `json:"to_name"`
		Reason         string `json:"reason"`
		WaitingSeconds int64  `json:"waiting_seconds"`
		Explanation    string `json:"explanation"`
	}
	type flag struct {
		ConversationID int64  `json:"conversation_id"`
		Number         int64  `json:"number"`
		AgentID        int64  `json:"agent_id"`
		AgentName      string `json:"agent_name"`
		Reason         string `json:"reason"`
		WaitingSeconds int64  `json:"waiting_seconds"`
		Explanation    string `json:"explanation"`
	}
	flags := func(fs []balancer.Flag) []flag {
		out := make([]flag, 0, len(fs))
		for _, f := range fs {
			out = append(out, flag{f.ConversationID, f.Number, f.AgentID, name(f.AgentID), string(f.Reason),
				int64(f.WaitingFor.Seconds()), f.Explanation})
		}
		return out
	}
	out := struct {
		Moves           []move  `json:"moves"`
		Flags           []flag  `json:"flags"`
		NoSenior        []flag  `json:"no_senior"`
		ImbalanceBefore float64 `json:"imbalance_before"`
		ImbalanceAfter  float64 `json:"imbalance_after"`
		JainBefore      float64 `json:"jain_before"`
		JainAfter       float64 `json:"jain_after"`
		CVBefore        float64 `json:"cv_before"`
		CVAfter         float64 `json:"cv_after"`
	}{Moves: []move{}, Flags: flags(res.Flags), NoSenior: flags(res.NoSenior), ImbalanceBefore: res.Before.Imbalance, ImbalanceAfter: res.After.Imbalance,
		JainBefore: res.Before.Jain, JainAfter: res.After.Jain, CVBefore: res.Before.CV, CVAfter: res.After.CV}
	for _, m := range res.Moves {
		out.Moves = append(out.Moves, move{m.ConversationID, m.Number, m.From, m.To, name(m.From), name(m.To),
			string(m.Reason), int64(m.WaitingFor.Seconds()), m.Explanation})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func agentNamer(agents []team.Agent) func(id int64) string {
	names := make(map[int64]string, len(agents))
	for _, a := range agents {
		names[a.ID] = a.Name
	}
	return func(id int64) string {
		if id == 0 {
			return "(unassigned)"
		}
		return names[id]
	}
}

// count says n of a thing in words: "1 move", "3 moves".
func count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
