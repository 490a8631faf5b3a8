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
	PolicyQueuewrangler = "queuewrangler" // Balanced routing plus the daemon in its recommended mode
	// PolicyQueuewranglerOwn is Help Scout's routing off and the daemon in
	// QW_ROUTING=own.
	PolicyQueuewranglerOwn = "queuewrangler-own"
)

// RecommendedMode is the queuewrangler policy's mode for an account with
// Balanced routing: the one the suite favours (README, "Simulation").
const RecommendedMode = balancer.RoutingSteer

// Policies lists every policy in the order of the comparison table.
func Policies() []string {
	return []string{PolicyNone, PolicyBalanced, PolicyQueuewrangler, PolicyQueuewranglerOwn}
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
		case PolicyNone, PolicyBalanced, PolicyQueuewrangler, PolicyQueuewranglerOwn:
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

// daemon is the queuewrangler policies' wrangler: it does what the daemon
// does in apply mode. Every balance interval it converts the account with
// the daemon's own conversion (team.SnapshotFrom), runs balancer.Plan
// and applies the moves. In steer mode it also rewrites the routing
// rotation (balancer.Rotation) at every run and at every new
// conversation's webhook, the moments the real daemon can act on; in own
// mode it assigns each new conversation at its webhook (balancer.Route).
type daemon struct {
	every  time.Duration
	roster *roster.Roster
	policy balancer.Policy
	mode   balancer.RoutingMode
	// ceiling is the admin's rotation, read at the first run: steer mode
	// never adds anyone outside it (nobody else edits it in the model).
	ceiling []int64
	// reasons counts the moves by rule, for the report and the tests.
	reasons map[balancer.Reason]int
}

func newDaemon(sc *Scenario, r *roster.Roster, mode balancer.RoutingMode, tweaks ...func(*balancer.Policy)) *daemon {
	p := balancer.DefaultPolicy()
	p.StuckAfter = sc.StuckAfter
	for _, tweak := range tweaks {
		tweak(&p)
	}
	return &daemon{every: sc.BalanceInterval, roster: r, policy: p, mode: mode, reasons: map[balancer.Reason]int{}}
}

func (d *daemon) interval() time.Duration { return d.every }

func (d *daemon) snapshot(w *world) balancer.Snapshot {
	return team.SnapshotFrom(w.observe(d.policy.AssignmentWindow, false), d.roster, w.at(w.now))
}

func (d *daemon) wrangle(w *world) []reassignment {
	snap := d.snapshot(w)
	res := balancer.Plan(snap, d.policy)
	if d.mode == balancer.RoutingSteer {
		// The rotation is worked out on the state the moves leave.
		d.steer(w, balancer.Apply(snap, res.Moves))
	}
	return d.apply(w, res.Moves)
}

func (d *daemon) conversationCreated(w *world, t *ticket) []reassignment {
	switch d.mode {
	case balancer.RoutingOwn:
		if t.assignee >= 0 || t.status == stClosed {
			return nil // someone took it from the folder meanwhile
		}
		return d.apply(w, balancer.Route(d.snapshot(w), d.policy, t.id))
	case balancer.RoutingSteer:
		d.steer(w, d.snapshot(w))
	}
	return nil
}

// steer writes the rotation the balancer wants, if it differs.
func (d *daemon) steer(w *world, snap balancer.Snapshot) {
	if d.ceiling == nil {
		for i, on := range w.inbox.rotation {
			if on {
				d.ceiling = append(d.ceiling, w.agents[i].id)
			}
		}
	}
	ids := balancer.Rotation(snap, d.policy, simMailbox, d.ceiling)
	if ids == nil {
		return // nobody available: the rotation stays as it is
	}
	want := make([]bool, len(w.agents))
	for _, id := range ids {
		if i := int(id - agentID(0)); i >= 0 && i < len(want) {
			want[i] = true
		}
	}
	w.setRotation(want)
}

func (d *daemon) apply(w *world, moves []balancer.Move) []reassignment {
	out := make([]reassignment, 0, len(moves))
	for _, m := range moves {
		ti, ai := int(m.ConversationID-ticketID(0)), int(m.To-agentID(0))
		if ti < 0 || ti >= len(w.tickets) || ai < 0 || ai >= len(w.agents) {
			continue // cannot happen: the snapshot holds only the world's ids
		}
		d.reasons[m.Reason]++
		out = append(out, reassignment{ticket: ti, to: ai})
	}
	return out
}
