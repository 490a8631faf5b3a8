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

// staleWhileOff marks stale the approved moves whose ticket the mirror
// shows changed since the plan, by the same check (changedReason) as the
// re-read before a move. Under QW_MODE=off an approval is recorded and its
// move waits for the mode to change; without this, a move whose ticket
// was meanwhile reassigned, closed or moved to another inbox would sit
// approved on the page, and count as the stuck ticket's next step, until
// then. It reads only the mirror: off mode sends nothing to Help Scout.
// Where the mirror shows no change, the re-read at the first run after
// the mode changes still decides. That re-read alone checks an agent's
// recent reply or note (workedRecently): it is a rule about the moment
// the move is made, which off mode does not know, and a note minutes old
// at an off-mode tick would end for good a move still right hours later.
//
// A move said stale is logged once, by stale; a move that stays approved
// is not logged at all, so an off-mode tick says nothing while nothing
// changes. A conversation the mirror cannot read is passed over, and the
// first such error is returned after the rest are checked.
func (r *Rebalancer) staleWhileOff(ctx context.Context) error {
	approved, err := r.db.ListProposals(ctx, store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalApproved}})
	if err != nil {
		return err
	}
	var unread error
	for _, p := range approved {
		var why string
		c, _, err := r.db.Conversation(ctx, p.ConversationID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			// The mirror removes a conversation Help Scout deleted or
			// merged, or one moved out of the mirrored inboxes.
			why = "the conversation is no longer in the mirror (deleted, merged, or moved out of the mirrored inboxes)"
		case err != nil:
			if unread == nil {
				unread = err
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
		// A proposal that moved on meanwhile (ErrConflict) is left as it is.
		if _, err := r.stale(ctx, p, why+offModeSeen); err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return unread
}
