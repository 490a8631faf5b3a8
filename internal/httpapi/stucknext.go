package httpapi

import (
	"cmp"
	"strconv"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// stuckOutlook is what happens next to a stuck ticket.
type stuckOutlook struct {
	// Say is the sentence the page's row and the API's "next" show:
	// "waits for Eli, back Wed 09:00 CET".
	Say string
	// NeedsSomeone is true when nothing is due to happen to the ticket: no
	// proposal waits for a decision, the balancer will not act on it (or
	// only flags it for the head of support to decide), and no return of an
	// absent owner is known, so the customer waits until a person steps in. The page lists those first, apart from the
	// tickets that wait for a known return, a proposal or the balancer.
	NeedsSomeone bool
	// Proposal is the ticket's pending proposal, 0 for none: the page
	// links the row to its card.
	Proposal int64
}

// stuckNexts knows what stuckNext needs for every stuck ticket of one
// page view or API answer: the team, the pending proposals, QW_MODE, and
// the zone of an off-shift owner's return.
type stuckNexts struct {
	agents   map[int64]team.Agent
	proposal map[int64]int64 // conversation -> its pending proposal
	mode     string
	loc      *time.Location
}

func newStuckNexts(agents []team.Agent, pending []store.Proposal, mode string, loc *time.Location) stuckNexts {
	n := stuckNexts{
		agents:   make(map[int64]team.Agent, len(agents)),
		proposal: make(map[int64]int64, len(pending)),
		mode:     mode, loc: loc,
	}
	for _, a := range agents {
		n.agents[a.ID] = a
	}
	for _, p := range pending {
		n.proposal[p.ConversationID] = p.ID
	}
	return n
}

// stuckNext says what queuewrangler will do about a stuck ticket, from
// what the page knows of it: a ticket is stuck by the customer's wait
// alone (design.md section 8, as the metric and the API count it), but the
// balancer acts only once the customer has waited that long while the
// owner was on shift and had it, and some owners it never moves from. The
// rules are the balancer's (balancer/plan.go: the HoS and the excluded
// keep their tickets, pinned ones stay, the away rule decides for someone
// away or off shift, the stuck rule escalates an ST's and flags an SST's).
//
// Each answer also says whether the ticket needs someone: the cases where
// the ticket stays put with no known end are the ones an SST must look at.
func (n stuckNexts) stuckNext(c store.OpenConversation) stuckOutlook {
	a, known := n.agents[c.AssigneeID]
	name := cmp.Or(a.Name, "user "+strconv.FormatInt(c.AssigneeID, 10))
	proposal := n.proposal[c.ID]
	needs := func(say string) stuckOutlook { return stuckOutlook{Say: say, NeedsSomeone: true, Proposal: proposal} }
	waits := func(say string) stuckOutlook { return stuckOutlook{Say: say, Proposal: proposal} }
	switch {
	case proposal != 0:
		// The decision is the pending proposal's card, above the list.
		return waits("proposal waiting for approval")
	case c.Pinned:
		return needs("pinned (qw-pin): stays with " + name)
	case n.mode == "off":
		return needs("the balancer is off (QW_MODE=off): stays with " + name)
	case !known || a.Status == "removed":
		return needs(name + " is not in the team: queuewrangler leaves it alone")
	case a.Role == "hos":
		return needs("with the head of support, who keeps their tickets")
	case a.Role == "exclude":
		return needs(name + " is excluded from balancing: stays with them")
	case a.Status == "off-shift" && !a.BackAt.IsZero():
		return waits("waits for " + name + ", back " + a.BackAt.In(n.loc).Format("Mon 15:04 MST"))
	case a.Status == "off-shift":
		return needs("waits for " + name + ", off shift")
	case a.Status == "away":
		return waits(name + " is away: handed on once the grace period has passed")
	case !a.Available:
		return needs("waits for " + name + ", not available now")
	case a.Role == "sst":
		// A flag asks the head of support to decide: nobody else will.
		return needs("flagged for the head of support once stuck while " + name + " is on shift")
	}
	return waits("to a senior once stuck while " + name + " is on shift, if one would answer clearly sooner; else flagged for the head of support")
}
