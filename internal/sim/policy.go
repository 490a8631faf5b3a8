package sim

import (
	"fmt"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// The policies simulate compares (design.md section 10).
const (
	PolicyNone          = "none"          // Help Scout round robin at arrival, nobody wrangles
	PolicyBalanced      = "balanced"      // Help Scout "Balanced" routing: fewest active at arrival
	PolicyQueuewrangler = "queuewrangler" // balanced arrival plus the daemon's balancer every interval
)

// Policies lists every policy in the order of the comparison table.
func Policies() []string {
	return []string{PolicyNone, PolicyBalanced, PolicyQueuewrangler}
}

// ParsePolicies reads a comma-separated policy list, rejecting unknown and
// repeated names.
func ParsePolicies(list string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, p := range strings.Split(list, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		switch p {
		case PolicyNone, PolicyBalanced, PolicyQueuewrangler:
		default:
			return nil, fmt.Errorf("policy %q is not one of %s", p, strings.Join(Policies(), ", "))
		}
		if seen[p] {
			return nil, fmt.Errorf("policy %q is listed twice", p)
		}
		seen[p] = true
		out = append(out, p)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no policy given (choose from %s)", strings.Join(Policies(), ", "))
	}
	return out, nil
}

// roundRobin is Help Scout's Round Robin routing: the next person in
// alphabetical order who can take a ticket.
type roundRobin struct {
	last int // rotation position of the last assignment, -1 before the first
}

func (r *roundRobin) route(w *world, _ *ticket) int {
	n := len(w.agents)
	byOrder := make([]int, n)
	for _, a := range w.agents {
		byOrder[a.order] = a.idx
	}
	for step := 1; step <= n; step++ {
		pos := (r.last + step) % n
		if a := w.agents[byOrder[pos]]; a.front && a.available {
			r.last = pos
			return a.idx
		}
	}
	return -1
}

// fewestActive is Help Scout's Balanced routing: the person with the fewest
// active assignments; ties go to whoever was assigned least recently, then
// alphabetically.
type fewestActive struct{}

func (fewestActive) route(w *world, _ *ticket) int {
	best, bestN := -1, 0
	for _, a := range w.agents {
		if !a.front || !a.available {
			continue
		}
		n := w.activeCount(a.idx)
		if best < 0 {
			best, bestN = a.idx, n
			continue
		}
		b := w.agents[best]
		if n < bestN || n == bestN && (a.lastRoute < b.lastRoute || a.lastRoute == b.lastRoute && a.order < b.order) {
			best, bestN = a.idx, n
		}
	}
	return best
}

// daemon is the queuewrangler policy's wrangler: every balance interval it
// does what the daemon does in apply mode. It converts the account with the
// daemon's own conversion (team.SnapshotFrom), runs balancer.Plan with
// the default policy, and applies the moves.
type daemon struct {
	every  time.Duration
	roster *roster.Roster
	policy balancer.Policy
	// reasons counts the moves by rule, for the report and the tests.
	reasons map[balancer.Reason]int
}

func newDaemon(sc *Scenario, r *roster.Roster, tweaks ...func(*balancer.Policy)) *daemon {
	p := balancer.DefaultPolicy()
	p.StuckAfter = sc.StuckAfter
	for _, tweak := range tweaks {
		tweak(&p)
	}
	return &daemon{every: sc.BalanceInterval, roster: r, policy: p, reasons: map[balancer.Reason]int{}}
}

func (d *daemon) interval() time.Duration { return d.every }

func (d *daemon) wrangle(w *world) []reassignment {
	snap := team.SnapshotFrom(w.observe(d.policy.AssignmentWindow, false), d.roster, w.at(w.now))
	res := balancer.Plan(snap, d.policy)
	out := make([]reassignment, 0, len(res.Moves))
	for _, m := range res.Moves {
		ti, ai := int(m.ConversationID-ticketID(0)), int(m.To-agentID(0))
		if ti < 0 || ti >= len(w.tickets) || ai < 0 || ai >= len(w.agents) {
			continue // cannot happen: the snapshot holds only the world's ids
		}
		d.reasons[m.Reason]++
		out = append(out, reassignment{ticket: ti, to: ai})
	}
	return out
}
