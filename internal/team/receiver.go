package team

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// Receiver is the agent to among agents, to ask Unfit about: a stand-in
// who is no longer a Help Scout user when agents has nobody of that id
// (Build lists a removed user only while they hold an open ticket). A
// removed user Build could not name is named by their id, as "a removed
// user is no longer a Help Scout user" would tell an SST nothing.
func Receiver(agents []Agent, to int64) Agent {
	byID := "user " + strconv.FormatInt(to, 10)
	if i := slices.IndexFunc(agents, func(a Agent) bool { return a.ID == to }); i >= 0 {
		a := agents[i]
		if a.Status == StatusRemoved && (a.Name == removedName || a.Name == "") {
			a.Name = byID
		}
		return a
	}
	return Agent{ID: to, Name: byID, Role: string(roster.RoleST), Status: StatusRemoved}
}

// Unfit says why a, whom a plan chose to take a ticket of mailbox
// mailboxID (0: unknown) for a move of reason (a balancer.Reason), cannot
// take it at now, and "" when they can. why follows a's name: "is off
// shift now (back Wed 09:00 CET)", "can no longer open mailbox 5". absent
// says they are not there (away, off shift, no longer a user), rather than
// someone the plan may no longer choose: unable to open the mailbox, left
// out by the roster or made the head of support (who takes only stuck
// escalations, and only with escalations), holding their roster's
// max_open, or ending their shift within a.ShiftEndMargin of now (zero:
// not asked; nor when their shift end is unknown). loc is the zone of the
// times said (nil is UTC). a.Open must be their open tickets (active and
// pending) when a.MaxOpen is set: View.Measure's, or the mirror's count.
//
// The shift end is the simple test, the end within the margin: the plan's
// own (balancer's leaving) also counts the queue they would have to work
// through first, which may have changed since. Own mode's routes are
// within the margin by design when nobody stays on shift (balancer.Route's
// lastOnShift): their caller leaves a.ShiftEndMargin zero.
//
// The plan chose them when none of that was so, but a proposal may wait
// hours for its approval, and outlives a restart, which may bring a roster
// edit. This is the one statement of what the plan's choice needed that
// may have changed since: rebalance checks it at the moment of the move
// and skips the move as stale, and the queue page warns with it on the
// pending move, so that an SST knows before approving.
func (a Agent) Unfit(mailboxID int64, reason string, now time.Time, loc *time.Location) (why string, absent bool) {
	loc = cmp.Or(loc, time.UTC)
	switch {
	case a.Status == StatusRemoved:
		return "is no longer a Help Scout user", true
	case a.Status == roster.StatusOffShift && !a.BackAt.IsZero():
		return "is off shift now (back " + a.BackAt.In(loc).Format("Mon 15:04 MST") + ")", true
	case a.Status == roster.StatusOffShift:
		return "is off shift now", true
	case a.Status == roster.StatusAway:
		return "is away now", true
	case !a.Available:
		return "is not available now", true
	case a.Mailboxes != nil && mailboxID != 0 && !slices.Contains(a.Mailboxes, mailboxID):
		return fmt.Sprintf("can no longer open mailbox %d", mailboxID), false
	}
	switch role := roster.Role(cmp.Or(a.RulesRole, a.Role)); {
	case role == roster.RoleExclude:
		return "is someone the roster leaves out now", false
	case role == roster.RoleHoS && (!a.Escalations || reason != string(balancer.ReasonStuck)):
		return "is the head of support now, who takes only stuck escalations (and only with escalations in the roster)", false
	case a.MaxOpen > 0 && a.Open >= a.MaxOpen:
		return fmt.Sprintf("holds %d open tickets, their roster's max_open", a.Open), false
	case a.ShiftEndMargin > 0 && !a.AvailableUntil.IsZero() && !now.Before(a.AvailableUntil):
		// The team was read while they were on shift, and the shift has
		// ended since: they are gone, not about to go.
		return "ended the shift at " + a.AvailableUntil.In(loc).Format("15:04 MST"), true
	case a.ShiftEndMargin > 0 && !a.AvailableUntil.IsZero() && a.AvailableUntil.Sub(now) < a.ShiftEndMargin:
		// The steer page's words for the same rule (RotationLeaving), with
		// the margin, which an SST may not know.
		return "ends the shift at " + a.AvailableUntil.In(loc).Format("15:04 MST") + ", within " +
			balancer.FormatDuration(a.ShiftEndMargin) + ", too soon to start a new customer", false
	}
	return "", false
}
