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
	// flagged for the head of support (balancer.Result.Flags), and an ST's
	// that no senior can take (balancer.Result.NoSenior: no SST, nor a head
	// of support who takes escalations, is available, can open its mailbox,
	// is below their cap of open tickets and is not about to leave), which
	// therefore stays where it is.
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
	noSenior := undecided(res.NoSenior, s, open)
	if len(res.Flags) > 0 || len(noSenior) > 0 {
		n.Escalations(slices.Clone(res.Flags), noSenior)
	}
}

// undecided leaves out of the plan's stuck tickets that no senior can take
// (balancer.Result.NoSenior) those that someone, or something, is already
// deciding: a pinned ticket (a person keeps it where it is) and one with
// an open proposal (waiting for approval or being applied).
func undecided(noSenior []balancer.Flag, s balancer.Snapshot, open []store.Proposal) []balancer.Flag {
	if len(noSenior) == 0 {
		return nil
	}
	decided := map[int64]bool{}
	for _, o := range open {
		decided[o.ConversationID] = true
	}
	for _, c := range s.Conversations {
		if c.Pinned {
			decided[c.ID] = true
		}
	}
	var out []balancer.Flag
	for _, f := range noSenior {
		if !decided[f.ConversationID] {
			out = append(out, f)
		}
	}
	return out
}
