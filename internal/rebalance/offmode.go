package rebalance

import (
	"context"
	"errors"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// offModeSeen ends the reason of a move found stale while QW_MODE=off, so
// that the page and the API say where the change was seen: the mirror, not
// a re-read of Help Scout.
const offModeSeen = " (seen in the mirror while QW_MODE=off)"

// pendingSeen ends the reason of a pending move found stale by a run in
// propose or apply mode: the change was seen in the mirror while the move
// waited for approval.
const pendingSeen = " (seen in the mirror while it waited for approval)"

// staleInMirror marks stale the open moves whose ticket the mirror shows
// changed since the plan, by the same check (changedReason) as the
// re-read before a move. Every run does it for the pending moves: a move
// whose ticket was meanwhile closed or taken by someone would otherwise
// stay listed for approval, on the page and in /api/v1/proposals, until
// it expired two hours later, and an SST approving it would only see it
// go stale at the re-read. Under QW_MODE=off it does it for the approved
// moves too: there an approval is recorded and its move waits for the
// mode to change, and without this a move whose ticket was reassigned,
// closed or moved to another inbox would sit approved on the page, and
// count as the stuck ticket's next step, until then (in the other modes
// an approved move is made, after the re-read, by the same run's
// recovery). It reads only the mirror: off mode sends nothing to Help
// Scout, and a pending move's ticket is re-read when it is approved.
// Where the mirror shows no change, that re-read decides. It alone checks
// an agent's recent reply or note (workedRecently) and the receiver
// (receiverReason): rules about the moment the move is made, which a move
// waiting for an approval or a mode does not know, and a note minutes old,
// or a receiver off shift at the time of a tick, would end for good a move
// still right hours later.
//
// A move said stale is logged once, by stale; a move that stays open is
// not logged at all, so a tick says nothing while nothing changes. A
// conversation the mirror cannot read is passed over and logged, once per
// ticket and error however many runs fail on it, and the run goes on: in
// propose and apply modes one unreadable ticket would otherwise stop the
// plan and the recovery of every run, and under QW_MODE=off fail every
// tick, logged at ERROR each time; its move is re-read in Help Scout
// before it is made. A damaged database file (store.ErrCorrupt) is not one
// ticket's failure, and is never logged here: the run's failure says the
// damage once, with the remedy (sayRunFailure). Under QW_MODE=off, where
// nothing else in the run reads the file, it is returned after the rest
// are checked; in the other modes it ends the run at the first ticket
// that meets it, since the plan's read of the team would only meet it
// again, and saying it per pending ticket first put one warning per
// ticket before the one line that says what is wrong.
func (r *Rebalancer) staleInMirror(ctx context.Context) error {
	statuses, seen := []store.ProposalStatus{store.ProposalPending}, pendingSeen
	if r.opts.Mode == ModeOff {
		statuses, seen = []store.ProposalStatus{store.ProposalPending, store.ProposalApproved}, offModeSeen
	}
	open, err := r.db.ListProposals(ctx, store.ProposalFilter{Statuses: statuses})
	if err != nil {
		return err
	}
	var damaged error
	said := map[int64]string{}
	for _, p := range open {
		var why string
		c, _, err := r.conversation(ctx, p.ConversationID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The mirror removes a conversation Help Scout deleted or
			// merged, or one moved out of the mirrored inboxes.
			why = "the conversation is no longer in the mirror (deleted, merged, or moved out of the mirrored inboxes)"
		case errors.Is(err, store.ErrCorrupt):
			if r.opts.Mode != ModeOff {
				return err // the plan could only meet it again
			}
			if damaged == nil {
				damaged = err
			}
			continue
		case err != nil:
			said[p.ConversationID] = err.Error()
			if r.unreadSaid[p.ConversationID] != err.Error() {
				r.opts.Logger.Warn(unreadableSay(p.Status), "proposal", p.ID, "conversation", p.ConversationID, "error", err)
			}
			continue
		case c.State == store.StateDeleted:
			why = "the conversation no longer exists"
		default:
			why = r.changedReason(ctx, p, ticketFromMirror(c))
		}
		if why == "" {
			continue
		}
		// A proposal that moved on since it was listed (ErrConflict) is
		// left as it is, and nothing is logged or counted: an SST may
		// approve or reject a pending one at any moment, and an approved
		// one may be being made, after a re-read of its own. stale marks
		// it only in the status it was listed in.
		if _, err := r.stale(ctx, p, why+seen); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	r.unreadSaid = said
	return damaged
}

// unreadableSay is the log line of an open move, in status s, whose ticket
// the mirror cannot read: when its ticket is read again.
func unreadableSay(s store.ProposalStatus) string {
	if s == store.ProposalApproved { // under QW_MODE=off, waiting for the mode
		return "approved move's ticket unreadable in the mirror; it is re-read before the move is made"
	}
	return "pending move's ticket unreadable in the mirror; it is re-read if approved"
}
