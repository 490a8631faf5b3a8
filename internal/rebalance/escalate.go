package rebalance

import (
	"slices"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// Notifier hears what a run leaves for people to act on (the Slack
// notifier). It is called on the balancer's path, so its methods must
// return at once: a slow or dead receiver must never hold up a run.
type Notifier interface {
	// ProposalsWaiting receives the proposals a run stored in propose
	// mode, which wait for an SST's approval.
	ProposalsWaiting(ps []store.Proposal)
	// Escalations receives the stuck tickets that need a person: an SST's,
	// flagged for the head of support, and an ST's that no senior can take
	// (no SST, nor a head of support who takes escalations, is available
	// and can open its mailbox), which therefore stays where it is.
	Escalations(flagged, noSenior []balancer.Flag)
}

// notify tells opts.Notify what the run left for people.
func (r *Rebalancer) notify(stored []store.Proposal, s balancer.Snapshot, res balancer.Result, open []store.Proposal) {
	n := r.opts.Notify
	if n == nil {
		return
	}
	if r.opts.Mode == ModePropose && len(stored) > 0 {
		n.ProposalsWaiting(slices.Clone(stored))
	}
	noSenior := stuckWithoutSenior(s, res, open, r.opts.Policy)
	if len(res.Flags) > 0 || len(noSenior) > 0 {
		n.Escalations(slices.Clone(res.Flags), noSenior)
	}
}

// stuckWithoutSenior lists the stuck tickets of STs that the plan left
// with their owner because no senior can take them: nobody it could be
// escalated to is available and can open its mailbox. A ticket that a
// senior could take but the plan did not move (the move would not get the
// customer answered sooner), a pinned one and one with an open proposal
// are left out: each has someone, or something, already deciding.
func stuckWithoutSenior(s balancer.Snapshot, res balancer.Result, open []store.Proposal, p balancer.Policy) []balancer.Flag {
	handled := map[int64]bool{}
	for _, m := range res.Moves {
		handled[m.ConversationID] = true
	}
	for _, f := range res.Flags {
		handled[f.ConversationID] = true
	}
	for _, o := range open {
		handled[o.ConversationID] = true
	}
	agents := make(map[int64]balancer.Agent, len(s.Agents))
	var seniors []balancer.Agent
	for _, a := range s.Agents {
		agents[a.ID] = a
		if a.Available && (a.Role == balancer.RoleSST || (a.Role == balancer.RoleHoS && a.Escalations)) {
			seniors = append(seniors, a)
		}
	}
	canTake := func(mailbox int64) bool {
		return slices.ContainsFunc(seniors, func(a balancer.Agent) bool {
			return a.Mailboxes == nil || slices.Contains(a.Mailboxes, mailbox)
		})
	}
	var out []balancer.Flag
	for _, c := range s.Conversations {
		if handled[c.ID] || c.Pinned || !balancer.IsStuck(c, p, s.Now) {
			continue
		}
		owner, ok := agents[c.AssigneeID]
		if !ok || owner.Role != balancer.RoleST || canTake(c.MailboxID) {
			continue
		}
		waiting := s.Now.Sub(c.CustomerWaitingSince)
		out = append(out, balancer.Flag{ConversationID: c.ID, Number: c.Number, AgentID: owner.ID,
			Reason: balancer.ReasonStuck, WaitingFor: waiting,
			Explanation: "customer waiting " + balancer.FormatDuration(waiting) + ", past the " +
				balancer.FormatDuration(p.StuckAfter) + " stuck threshold, with " + owner.Name +
				"; no senior on shift can take it: for the head of support to look at"})
	}
	return out
}
