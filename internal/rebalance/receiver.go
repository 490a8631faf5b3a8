package rebalance

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// receiverReason says why p's receiver cannot take the ticket, in mailbox
// mailboxID, at now, or "": they are away or off shift, no longer a Help
// Scout user, can no longer open the ticket's mailbox, are no longer
// someone the plan may give it to under the roster (left out, or the head
// of support, who takes only stuck escalations and only with
// escalations), or hold their roster's max_open. The plan chose them when none of that was so, but a
// proposal may wait hours for its approval (or, approved under
// QW_MODE=off, for the mode): a move proposed to Ana at 14:00 and approved
// at 18:30, after her shift ended, would hand the customer to someone who
// is not there; and a proposal outlives a restart, which may bring a
// roster edit. Like workedRecently it is a rule about the moment of the
// move, so it is checked where the move is about to be made, never on a
// move still waiting (staleInMirror): Ana may be back when it is approved.
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
	i := slices.IndexFunc(v.Agents, func(a team.Agent) bool { return a.ID == p.ToAgent })
	if i < 0 {
		return "user " + strconv.FormatInt(p.ToAgent, 10) + ", who was to take it, is no longer a Help Scout user", nil
	}
	a, ag := v.Agents[i], v.Snapshot.Agents[i]
	switch {
	case a.Status == roster.StatusOffShift && !a.BackAt.IsZero():
		return fmt.Sprintf("%s, who was to take it, is off shift now (back %s UTC)", a.Name, a.BackAt.UTC().Format("Mon 15:04")), nil
	case a.Status == roster.StatusOffShift:
		return a.Name + ", who was to take it, is off shift now", nil
	case a.Status == roster.StatusAway:
		return a.Name + ", who was to take it, is away now", nil
	case !a.Available:
		return a.Name + ", who was to take it, is not available now", nil
	case ag.Mailboxes != nil && mailboxID != 0 && !slices.Contains(ag.Mailboxes, mailboxID):
		return fmt.Sprintf("%s, who was to take it, can no longer open mailbox %d", a.Name, mailboxID), nil
	case ag.Role == balancer.RoleExclude:
		return a.Name + ", who was to take it, is someone the roster leaves out now", nil
	case ag.Role == balancer.RoleHoS && (!ag.Escalations || p.Reason != string(balancer.ReasonStuck)):
		return a.Name + ", who was to take it, is the head of support now, who takes only stuck escalations" +
			" (and only with escalations in the roster)", nil
	case ag.MaxOpen > 0:
		open, err := r.openTickets(ctx, p.ToAgent)
		if err != nil {
			return "", err
		}
		if open >= ag.MaxOpen {
			return fmt.Sprintf("%s, who was to take it, holds %d open tickets, their roster's max_open", a.Name, open), nil
		}
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
