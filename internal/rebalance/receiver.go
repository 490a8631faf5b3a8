package rebalance

import (
	"context"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// receiverReason says why p's receiver cannot take the ticket, in mailbox
// mailboxID, at now, or "": team.Agent.Unfit's reasons (away or off
// shift, no longer a Help Scout user, unable to open the ticket's mailbox,
// no longer someone the plan may give it to under the roster, holding
// their roster's max_open, or, for a move a person approved or one of
// apply mode's made late (shiftEndAsked), ending their shift within the
// policy's ShiftEndMargin), which the queue page warns
// with on the pending move. The plan chose them when none of that was so,
// but a proposal may wait hours for its approval (or, approved under
// QW_MODE=off, for the mode): a move proposed to Ana at 14:00 and approved
// at 18:30, after her shift ended, would hand the customer to someone who
// is not there, and one approved at 16:55, as she leaves at 17:00, to
// someone who will not start it before tomorrow; and a proposal outlives
// a restart, which may bring a roster edit. Like
// workedRecently it is a rule about the moment of the move, so it is
// checked where the move is about to be made, never on a move still
// waiting (staleInMirror): Ana may be back when it is approved.
//
// It reads the people from the mirror, as a plan does (team.Build, under
// the same roster and clock), but not the conversations: only the
// receiver's open count, and only when their roster caps it.
func (r *Rebalancer) receiverReason(ctx context.Context, p store.Proposal, mailboxID int64, now time.Time) (string, error) {
	users, err := r.db.Users(ctx)
	if err != nil {
		return "", err
	}
	statuses, err := r.db.UserStatuses(ctx)
	if err != nil {
		return "", err
	}
	v := team.Build(store.Snapshot{TakenAt: now, Users: users, Statuses: statuses}, r.opts.Roster, now)
	a := team.Receiver(v.Agents, p.ToAgent)
	if a.MaxOpen > 0 {
		if a.Open, err = r.openTickets(ctx, p.ToAgent); err != nil {
			return "", err
		}
	}
	if shiftEndAsked(p, now) {
		a.ShiftEndMargin = r.opts.Policy.ShiftEndMargin
	}
	if why, _ := a.Unfit(mailboxID, p.Reason, now, time.UTC); why != "" {
		return a.Name + ", who was to take it, " + why, nil
	}
	return "", nil
}

// openTickets is how many open tickets (active and pending) the mirror
// holds assigned to agent: what the balancer holds against MaxOpen.
func (r *Rebalancer) openTickets(ctx context.Context, agent int64) (int, error) {
	loads, err := r.db.AgentLoads(ctx)
	if err != nil {
		return 0, err
	}
	for _, l := range loads {
		if l.AgentID == agent {
			return l.Active + l.Pending, nil
		}
	}
	return 0, nil
}

// shiftEndAsked reports whether p's move, made at now, is refused for a
// receiver about to leave (the shift-end margin): a move a person
// approved (on the page or through the API), and one the daemon decided
// itself in apply mode but makes later than its own run would (left
// approved by a daemon stopped mid-batch, and made by the recovery after
// a restart, maybe hours on). Own mode's routes go to the last people on
// shift within the margin by design (balancer.Route's lastOnShift), and
// are made within moments of their plan: one the recovery finds later is
// routed afresh rather than made (lateRoute); and
// an apply-mode move made moments after a plan that already kept new work
// from anyone about to leave, counting their queue too, is spared it, as
// the plain test of the shift end could only refuse, at the margin's
// edge, what the plan chose a moment before. "Moments" is
// interruptedAfter, longer than any apply of a live run takes; the
// receiver then still has at least the margin less that before the end.
func shiftEndAsked(p store.Proposal, now time.Time) bool {
	switch {
	case routed(p):
		return false
	case p.DecidedBy == decidedBy(ModeApply):
		return now.Sub(p.DecidedAt) >= interruptedAfter
	}
	return true
}
