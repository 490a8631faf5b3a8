package team

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// NextStep is what happens next to a stuck ticket: what the queue page's
// stuck list and the JSON API's "next" say.
type NextStep struct {
	// Say is the sentence the page's row and the API's "next" show:
	// "waits for Eli, back Wed 09:00 CET".
	Say string
	// NeedsSomeone is true when nothing is due to happen to the ticket: no
	// proposal waits for a decision or is being made, the balancer will
	// not act on it (or only flags it for the head of support to decide),
	// and no return of an absent owner is known, so the customer waits
	// until a person steps in; or a never-move rule holds the ticket, until
	// it ends, with an owner who cannot answer and whose return is not
	// known. The page lists those first, apart from the tickets that wait
	// for a known return, a proposal, the balancer or a hold's end.
	NeedsSomeone bool
	// Proposal is the ticket's pending proposal, 0 for none: the page
	// links the row to its card, which only pending proposals have.
	Proposal int64
}

// OpenProposalStatuses are the statuses of a proposal that is still to
// change its ticket: waiting for approval, approved, or being made. They
// are the proposals NewNextSteps wants.
func OpenProposalStatuses() []store.ProposalStatus {
	return []store.ProposalStatus{store.ProposalPending, store.ProposalApproved, store.ProposalApplying}
}

// modeOff is QW_MODE=off (rebalance.ModeOff, which team sits below): no
// balancer runs, so nothing moves but what an SST approves.
const modeOff = "off"

// NextSteps knows what Of needs for every stuck ticket of one page view or
// API answer: the team, the open proposals and the refusals that may still
// hold a ticket, QW_MODE, the time the answer is for, and the zone in which
// to say the times.
type NextSteps struct {
	agents map[int64]Agent
	// seniors: someone in the team is an sst, whom the stuck rule can
	// escalate an st's ticket to.
	seniors bool
	// hos: the team has a head of support, for whom the balancer flags
	// the stuck tickets it does not move. Without one (no roster, or none
	// named hos) nobody is asked to decide them.
	hos bool
	// escalations are the heads of support who take escalations: the
	// stuck rule's second tier for an st's ticket, after the seniors.
	escalations []Agent
	proposals   map[int64]store.Proposal // conversation -> its open proposal
	// refusals are when an SST rejected a move of each conversation (by
	// id), for the hold a refusal puts on its ticket (holdOf).
	refusals map[int64][]time.Time
	mode     string
	loc      *time.Location
	now      time.Time // of the holds: whether one is still on
}

// NewNextSteps reads the team (Reader.Agents), the proposals (those of
// OpenProposalStatuses, and the rejected ones RefusalsFilter selects;
// others are ignored), QW_MODE as configured, the zone of the times it
// says (nil is UTC), and now, the time the page or the API answer is for,
// at which a never-move hold is on or over.
func NewNextSteps(agents []Agent, proposals []store.Proposal, mode string, loc *time.Location, now time.Time) NextSteps {
	n := NextSteps{
		agents:    make(map[int64]Agent, len(agents)),
		proposals: make(map[int64]store.Proposal, len(proposals)),
		refusals:  map[int64][]time.Time{},
		mode:      mode,
		loc:       cmp.Or(loc, time.UTC),
		now:       now,
	}
	for _, a := range agents {
		n.agents[a.ID] = a
		if cmp.Or(a.RulesRole, a.Role) == string(roster.RoleSST) && a.Status != StatusRemoved {
			n.seniors = true
		}
		if a.Role == string(roster.RoleHoS) && a.Status != StatusRemoved {
			n.hos = true
			if a.Escalations {
				n.escalations = append(n.escalations, a)
			}
		}
	}
	for _, p := range proposals {
		if p.Status == store.ProposalRejected {
			n.refusals[p.ConversationID] = append(n.refusals[p.ConversationID], p.DecidedAt)
			continue
		}
		// The rebalancer proposes nothing for a ticket that has an open
		// proposal, so there is one at most; should there be more, the
		// one furthest along says what happens first.
		if progress(p.Status) > progress(n.proposals[p.ConversationID].Status) {
			n.proposals[p.ConversationID] = p
		}
	}
	return n
}

// RefusalsFilter selects the rejected proposals NewNextSteps needs for the
// holds that refusals put on their tickets: those decided within the
// cooldown of the policy the agents were measured under (Agent.Cooldown),
// as a balancer run reads them (rebalance's readTeam). An earlier refusal
// can no longer hold anything.
func RefusalsFilter(agents []Agent, now time.Time) store.ProposalFilter {
	var cooldown time.Duration
	for _, a := range agents {
		cooldown = max(cooldown, a.Cooldown) // the same on every measured agent
	}
	return store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalRejected}, DecidedSince: now.Add(-cooldown)}
}

// progress orders the open statuses by how far the move has got; 0 for
// any other.
func progress(s store.ProposalStatus) int {
	switch s {
	case store.ProposalPending:
		return 1
	case store.ProposalApproved:
		return 2
	case store.ProposalApplying:
		return 3
	}
	return 0
}

// Of says what queuewrangler will do about a stuck ticket, from what the
// page knows of it: a ticket is stuck by the customer's wait alone
// (design.md section 8, as the metric and the API count it), but the
// balancer acts only once the customer has waited that long while the
// owner was on shift and had it, and some owners it never moves from. The
// rules are the balancer's (balancer/plan.go: the HoS and the excluded
// keep their tickets, pinned ones stay, and so, until a hold ends, does a
// ticket moved or refused a move within the cooldown or worked on by an
// agent lately (holdOf), the away rule decides for someone away or off
// shift, and for an assignee Help Scout no longer lists, whom Build makes
// an ST away for ever; the stuck rule hands an ST's to a senior, else to
// a head of support who takes escalations, else to another front-line
// agent (stuckST), and flags an SST's; both hand on only within the
// backlog setting, QW_BACKLOG, which under the default idle keeps a
// ticket from everyone while all who could take it have customers
// waiting: Agent.Kept, from balancer.BacklogKeeps, the very check the
// plan makes); an open proposal comes first, since it
// decides before any rule runs again. A flag asks the head of support:
// in a team without one (no roster, or none named hos) nobody is asked.
//
// Each answer also says whether the ticket needs someone: the cases where
// the ticket stays put with no known end are the ones an SST must look at.
// A hold has a known end, so a held ticket waits, unless its owner is the
// one who cannot answer it, with no known return.
func (n NextSteps) Of(c store.OpenConversation) NextStep {
	a, known := n.agents[c.AssigneeID]
	name := n.name(c.AssigneeID)
	role := cmp.Or(a.RulesRole, a.Role)
	p := n.proposals[c.ID]
	var pending int64
	if p.Status == store.ProposalPending {
		pending = p.ID
	}
	needs := func(say string) NextStep { return NextStep{Say: say, NeedsSomeone: true, Proposal: pending} }
	waits := func(say string) NextStep { return NextStep{Say: say, Proposal: pending} }
	h := n.holdOf(c, a)
	switch {
	case p.Status == store.ProposalApplying:
		return waits("being moved to " + n.name(p.ToAgent))
	case p.Status == store.ProposalApproved && n.mode == modeOff:
		// Only a balancer run makes an approved move that its approval
		// did not make at once, and none runs.
		return needs("move to " + n.name(p.ToAgent) + " approved, but the balancer is off (QW_MODE=off): stays with " + name)
	case p.Status == store.ProposalApproved:
		return waits("move to " + n.name(p.ToAgent) + " approved: made by the balancer's next run")
	case p.Status == store.ProposalPending:
		// The decision is the pending proposal's card, above the list.
		return waits("proposal waiting for approval")
	case c.Pinned:
		return needs("pinned (qw-pin): stays with " + name)
	case n.mode == modeOff:
		return needs("the balancer is off (QW_MODE=off): stays with " + name)
	case !known:
		// Build lists every assignee of the mirror's open tickets, one Help
		// Scout no longer lists too: an owner missing from the team was
		// assigned the ticket after the team was read, or the team could not
		// be read, so nothing is known of what a run will do with it.
		return needs(name + " was not in the team when it was read: what queuewrangler does with it is not known")
	case role == string(roster.RoleHoS):
		return needs("with the head of support, who keeps their tickets")
	case role == string(roster.RoleExclude):
		return needs(name + " is excluded from balancing: stays with them")
	case (a.Status == roster.StatusAway || a.Status == roster.StatusOffShift || a.Status == StatusRemoved) && !n.othersOpen(c):
		// Nobody the away rule could hand it to may open its mailbox, on
		// shift or not: no run will move it, whatever the wait.
		gone := "away"
		switch a.Status {
		case roster.StatusOffShift:
			gone = "off shift"
		case StatusRemoved:
			gone = removedSay
		}
		return needs(fmt.Sprintf("%s is %s, and nobody else in the team can open mailbox %d: nobody will take it", name, gone, c.MailboxID))
	case h.on && n.holdDecides(c, a, role):
		// After the cases in which no rule moves the ticket whatever the
		// hold (the one above included), before those of the rules the
		// hold stops: the balancer skips a held ticket in both.
		return n.held(h, a, name)
	case a.Status == StatusRemoved && a.Kept[c.ID]:
		return needs(name + " is " + removedSay + ": " + nobodyFree(a))
	case a.Status == StatusRemoved:
		// Build makes an assignee Help Scout no longer lists a front-line
		// agent away since before anyone remembers: past the grace period,
		// with no return, so the away rule hands on every waiting customer.
		return waits(name + " is " + removedSay + ": the balancer hands it on to someone on shift, a few tickets per run")
	case a.Status == roster.StatusOffShift && !a.BackAt.IsZero():
		return waits(n.untilBack(c, a, name))
	case a.Status == roster.StatusOffShift && a.Kept[c.ID]:
		return needs("waits for " + name + ", off shift: " + nobodyFree(a))
	case a.Status == roster.StatusOffShift:
		return needs("waits for " + name + ", off shift")
	case a.Status == roster.StatusAway && a.Kept[c.ID]:
		// The away rule hands on only within the backlog setting: past
		// the grace period as before it, the ticket stays with nobody to
		// answer it until someone's queue empties or a person steps in.
		return needs(name + " is away: " + nobodyFree(a))
	case a.Status == roster.StatusAway && a.PastGrace:
		// Away since yesterday is long past the grace period: say what
		// the next runs do, not that the period has yet to pass.
		return waits(name + " is away: the balancer hands it on to someone on shift, a few tickets per run")
	case a.Status == roster.StatusAway:
		return waits(name + " is away: handed on once the grace period has passed")
	case !a.Available:
		return needs("waits for " + name + ", not available now")
	case role == string(roster.RoleSST) && !n.hos:
		// The balancer flags it for a head of support the team does not
		// have (`plan` says as much): nobody is asked to decide.
		return needs("stays with " + name + ": flagged once stuck while " + name + " is on shift, but the team has no head of support to decide, so it waits until someone takes it up")
	case role == string(roster.RoleSST):
		// A flag asks the head of support to decide: nobody else will.
		return needs("flagged for the head of support once stuck while " + name + " is on shift")
	case a.Kept[c.ID]:
		// The stuck rule hands on within the backlog setting too: it
		// leaves the ticket, and reports nothing, while nobody is free.
		return needs("stays with " + name + ": " + nobodyFree(a))
	}
	return n.stuckST(c, name)
}

// stuckST says what the stuck rule does with c, stuck with name, an st on
// shift. Its tiers (balancer/plan.go's stuck) are a senior, then a head of
// support who takes escalations, then any other front-line agent: the
// first who would answer clearly sooner, and whom the backlog setting lets
// take it, gets it. The tiers said are those the team has: a senior when
// it has one (whichever mailboxes they open, as before), a head of
// support who takes escalations and may open c's mailbox, and "another
// agent" when an st other than the owner may open it (an sst there was
// asked first, as a senior). When no tier moves it, it stays, and the
// plan reports it as stuck with no senior to take it (Result.NoSenior,
// for the head of support: `plan`, Slack) only when nobody it could be
// escalated to (an sst, or a head of support who takes escalations) can
// take it now: otherwise the rule tries again at the next run. Only when
// nobody but its owner may open its mailbox does no run move it: it needs
// someone.
func (n NextSteps) stuckST(c store.OpenConversation, name string) NextStep {
	hos, others := n.escalationOpens(c), n.othersOpen(c, roster.RoleST)
	var tiers []string
	if n.seniors {
		tiers = append(tiers, "a senior")
	}
	if hos {
		tiers = append(tiers, "the head of support (who takes escalations)")
	}
	if others {
		tiers = append(tiers, "another agent")
	}
	if len(tiers) == 0 {
		say := "stays with " + name + ": the team has no senior (sst) to take it, and nobody else in the team can open mailbox " +
			strconv.FormatInt(c.MailboxID, 10)
		if n.hos {
			return NextStep{Say: say + ": flagged for the head of support", NeedsSomeone: true}
		}
		return NextStep{Say: say + ", nor a head of support to decide, so it waits until someone takes it up", NeedsSomeone: true}
	}
	to := strings.Join(tiers, ", else ")
	if len(tiers) > 1 {
		to += ","
	}
	say := "to " + to + " once stuck while " + name + " is on shift, if one would answer clearly sooner; else "
	switch {
	case n.seniors && hos:
		say += "it stays with " + name + ", flagged for the head of support when neither a senior nor the head of support can take it"
	case n.seniors && n.hos:
		say += "it stays with " + name + ", flagged for the head of support when no senior can take it"
	case n.seniors:
		// Reported when no senior can take it, as `plan` says, to nobody
		// who decides.
		say += "it stays with " + name
	case hos:
		say += "it stays with " + name + ", flagged for the head of support when they cannot take it themselves"
	case n.hos:
		say += "flagged for the head of support: the team has no senior (sst) to take it"
	default:
		say += "it stays with " + name + " until someone takes it up: the team has no senior (sst) to take it, nor a head of support to decide"
	}
	return NextStep{Say: say}
}

// escalationOpens reports whether a head of support who takes escalations
// may open c's mailbox: the stuck rule's second tier for an st's ticket.
func (n NextSteps) escalationOpens(c store.OpenConversation) bool {
	return slices.ContainsFunc(n.escalations, func(h Agent) bool {
		return h.ID != c.AssigneeID && (h.Mailboxes == nil || slices.Contains(h.Mailboxes, c.MailboxID))
	})
}

// holdWhy is which never-move rule holds a ticket.
type holdWhy int

const (
	holdMoved     holdWhy = iota + 1 // moved within the cooldown
	holdRefused                      // an SST rejected a move of it within the cooldown
	holdActivity                     // an agent replied or noted within RecentActivity
	holdHandMoved                    // a person moved it to its owner by hand within the cooldown
)

// hold is a never-move rule that keeps a ticket where it is until it ends.
type hold struct {
	on    bool
	why   holdWhy
	since time.Time // the move, the refusal or the agent's reply or note
	until time.Time // since plus the rule's window: the balancer may move it from then
}

// holdOf says which never-move rule, if any, holds c, whose owner is a, at
// n.now: balancer/plan.go's protected (pinned aside, which Of says
// first), on the snapshot a balancer run plans from, in which a refusal
// or a hand move counts as a move made when the SST refused it or the
// person moved it (rebalance's heldByDecisions: DecisionHolds). A time in the future holds, as in the
// balancer. When both windows hold the ticket, the one that ends last is
// said: the ticket may move only then.
func (n NextSteps) holdOf(c store.OpenConversation, a Agent) hold {
	moved := hold{why: holdMoved, since: c.LastMovedAt}
	for _, at := range n.refusals[c.ID] {
		if DecisionHolds(at, moved.since, a.Available, a.Unavailable) {
			moved = hold{why: holdRefused, since: at}
		}
	}
	// A move by hand in Help Scout is a decision as a refusal is
	// (rebalance's handMoves), counted after the refusals as the run
	// counts it: the later of the two holds.
	if at := c.HandMovedAt(); !at.IsZero() && DecisionHolds(at, moved.since, a.Available, a.Unavailable) {
		moved = hold{why: holdHandMoved, since: at}
	}
	var h hold
	if !moved.since.IsZero() && n.now.Sub(moved.since) < a.Cooldown {
		h = moved
		h.on, h.until = true, moved.since.Add(a.Cooldown)
	}
	if t := c.LastAgentActivityAt; !t.IsZero() && n.now.Sub(t) < a.RecentActivity && !(h.on && h.until.After(t.Add(a.RecentActivity))) {
		h = hold{on: true, why: holdActivity, since: t, until: t.Add(a.RecentActivity)}
	}
	return h
}

// DecisionHolds reports whether a person's decision about a ticket, made
// at decided, such as an SST's refusal of its move, holds the ticket
// where it is as if it had been moved then, for the cooldown: when it is
// later than the ticket's last move (lastMoved, or the later decision
// already counted), unless the owner it is with is unavailable now
// (ownerAvailable false) and has been so since after the decision
// (ownerGoneSince): "leave it with Ana" said while Ana was there is no
// answer for when she has gone. A decision made while she was gone
// already, or with no known time for her going (ownerGoneSince zero),
// holds. A ticket with no owner, or one the team does not know, counts
// as available: its decision holds. rebalance's heldByDecisions asks it
// too (team is imported by rebalance), so that the balancer's input and
// the stuck rows' words share one rule.
func DecisionHolds(decided, lastMoved time.Time, ownerAvailable bool, ownerGoneSince time.Time) bool {
	return decided.After(lastMoved) && (ownerAvailable || !ownerGoneSince.After(decided))
}

// holdDecides reports whether a hold on c is what keeps the balancer from
// the rule it would otherwise apply, a being its owner and role the role
// it is treated by. Not so for a ticket stuck with an SST on shift: the
// stuck rule gathers the stuck tickets before it checks the holds, and
// flags an SST's for the head of support without checking them, so Of's
// words for the flag stay true. Nor for an ST on shift in a team with no
// senior whose mailbox nobody else may open: no tier can take the ticket,
// held or not, and it is reported to a person as stuck with nobody to take
// it (stuckST). Nor for a customer of someone off shift that the away
// rule leaves to them until they are back (untilBack), whatever holds it.
func (n NextSteps) holdDecides(c store.OpenConversation, a Agent, role string) bool {
	if a.Available {
		return role == string(roster.RoleST) && (n.seniors || n.othersOpen(c) || n.escalationOpens(c))
	}
	return a.Status != roster.StatusOffShift || a.BackAt.IsZero() || !leftToOwner(c, a)
}

// held says what the hold h means for c, with a, named name, its owner:
// when it ends, and, for an owner who cannot answer now, why nobody does
// meanwhile. It waits when the owner is there or back at a known time,
// and needs someone otherwise: the customer waits, until the hold ends,
// for someone who cannot answer with no known return.
func (n NextSteps) held(h hold, a Agent, name string) NextStep {
	var say string
	switch h.why {
	case holdMoved:
		// LastMovedAt is queuewrangler's last move (applied, or recorded
		// failed but made in Help Scout: the store's contract; a hand move
		// is dated apart), not necessarily to the
		// owner it is with now: the words do not name them.
		say = "moved by queuewrangler at " + n.at(h.since) + ": not moved again before " + n.at(h.until) + " (cooldown)"
	case holdRefused, holdHandMoved:
		// A person's decision: it holds until the cooldown ends, or the
		// owner leaves (DecisionHolds).
		say = "a move was rejected at "
		if h.why == holdHandMoved {
			say = "moved to " + name + " by hand at "
		}
		say += n.at(h.since) + ": left with " + name + " until " + n.at(h.until)
		if a.Available {
			say += ", or until " + name + " is away or off shift"
		}
	case holdActivity:
		say = "an agent replied or added a note at " + n.at(h.since) + ": not moved before " + n.at(h.until)
	}
	switch {
	case a.Available:
	case a.Status == roster.StatusAway:
		say += "; " + name + " is away"
	case a.Status == StatusRemoved:
		say += "; " + name + " is " + removedSay
	case a.Status == roster.StatusOffShift && !a.BackAt.IsZero():
		say += "; " + name + " is off shift, back " + n.at(a.BackAt)
	case a.Status == roster.StatusOffShift:
		say += "; " + name + " is off shift"
	default:
		say += "; " + name + " is not available now"
	}
	return NextStep{Say: say, NeedsSomeone: !a.Available && a.BackAt.IsZero()}
}

// at says t in the page's zone, as every time of the stuck list.
func (n NextSteps) at(t time.Time) string {
	return t.In(n.loc).Format("Mon 15:04 MST")
}

// othersOpen reports whether an agent of one of roles (the front-line
// ones, st and sst, when none is given) other than c's owner, still a
// Help Scout user, may open c's mailbox: someone the away rule could hand
// c to once on shift and free.
func (n NextSteps) othersOpen(c store.OpenConversation, roles ...roster.Role) bool {
	if len(roles) == 0 {
		roles = []roster.Role{roster.RoleST, roster.RoleSST}
	}
	for _, o := range n.agents {
		role := roster.Role(cmp.Or(o.RulesRole, o.Role))
		if o.ID == c.AssigneeID || o.Status == StatusRemoved || !slices.Contains(roles, role) {
			continue
		}
		if o.Mailboxes == nil || slices.Contains(o.Mailboxes, c.MailboxID) {
			return true
		}
	}
	return false
}

// nobodyFree says why the balancer leaves a's ticket where it is when the
// backlog setting keeps it from everyone who could take it (Agent.Kept).
func nobodyFree(a Agent) string {
	setting := " (QW_BACKLOG=" + balancer.FormatBacklog(a.Backlog) + ")"
	if a.Backlog == balancer.BacklogIdle {
		return "nobody is free to take it: everyone on shift who could has customers waiting" + setting
	}
	return "nobody is free to take it: everyone on shift who could has more than " +
		balancer.FormatDuration(a.Backlog) + " of customers waiting" + setting
}

// untilBack says what happens to the stuck ticket c of a, who is off shift
// and back at a.BackAt. The balancer's away rule does not wait for them
// when the customer would by then have waited longer than StuckAfter
// (always so for a ticket stuck now, which has waited that long already):
// it hands the customer to someone on shift who would answer clearly
// sooner, if anyone would, which only a plan can tell. An ongoing
// conversation waits for the agent who knows it, unless the policy hands
// those on too (QW_OFF_SHIFT_HANDOVER=all). "waits for Eli, back Wed
// 09:00" alone is said only when the rule leaves the ticket to them, and
// why, when the backlog setting is what leaves it (Agent.Kept).
func (n NextSteps) untilBack(c store.OpenConversation, a Agent, name string) string {
	back := "waits for " + name + ", back " + n.at(a.BackAt)
	switch {
	case leftToOwner(c, a) && c.AgentReplied && !a.HandOverOngoing:
		return back + ": an ongoing conversation stays with the agent who knows it"
	case leftToOwner(c, a):
		return back
	case a.Kept[c.ID]:
		// The rule would hand it on, but the backlog setting keeps it
		// from everyone on shift: it waits for the return alone.
		return back + "; " + nobodyFree(a)
	}
	return back + ", unless someone on shift would answer clearly sooner: queuewrangler then hands it on"
}

// leftToOwner reports whether the away rule leaves c to a, off shift and
// back at a.BackAt, until they are back (untilBack says why). Not for an
// agent not measured under a policy (HandOverBefore zero): the rule may
// act.
func leftToOwner(c store.OpenConversation, a Agent) bool {
	if a.HandOverBefore.IsZero() {
		return false
	}
	if c.AgentReplied && !a.HandOverOngoing {
		return true
	}
	since := c.CustomerWaitStart()
	return !since.IsZero() && !since.Before(a.HandOverBefore)
}

// removedSay is what an assignee Help Scout no longer lists is, in the
// words Unfit uses for a receiver.
const removedSay = "no longer a Help Scout user"

// name is the agent's name, or "user N" for someone the team does not
// know, and, as Receiver names them, for one Help Scout no longer lists
// whom Build could not name: "a removed user is no longer a Help Scout
// user" would tell an SST nothing.
func (n NextSteps) name(id int64) string {
	a := n.agents[id]
	if a.Status == StatusRemoved && a.Name == removedName {
		a.Name = ""
	}
	return cmp.Or(a.Name, "user "+strconv.FormatInt(id, 10))
}
