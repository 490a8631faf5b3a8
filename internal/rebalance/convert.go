package rebalance

import (
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// ticketNow is what the stale check (staleReason) reads of a conversation
// as it is now. It comes from Help Scout's re-read before a move, or from
// the mirror while QW_MODE=off keeps the daemon from calling Help Scout:
// one check, whichever source, so that a move goes stale for the same
// reasons either way.
type ticketNow struct {
	id         int64 // a merged conversation reads as the one it went into
	mailboxID  int64
	assigneeID int64 // 0 = unassigned, or a team (neither is an agent)
	status     string
	tags       []string
	// lastCustomerAt is the customer's newest message; lastAgentWorkAt the
	// newest reply or note by a user (helpscout.Thread.IsAgentWork).
	lastCustomerAt  time.Time
	lastAgentWorkAt time.Time
}

// ticketFromHelpScout reads a conversation as Help Scout returned it, with
// its threads.
func ticketFromHelpScout(c helpscout.Conversation) ticketNow {
	t := ticketNow{id: c.ID, mailboxID: c.MailboxID, assigneeID: c.Assignee.ID, status: c.Status}
	if c.Assignee.Type == helpscout.PersonTeam {
		t.assigneeID = 0
	}
	for _, tag := range c.Tags {
		t.tags = append(t.tags, tag.Name)
	}
	for _, th := range c.Threads() {
		if th.Kind() == helpscout.ThreadCustomerMessage {
			t.lastCustomerAt = latest(t.lastCustomerAt, th.CreatedAt.Time)
		}
		if th.IsAgentWork() {
			t.lastAgentWorkAt = latest(t.lastAgentWorkAt, th.CreatedAt.Time)
		}
	}
	return t
}

// ticketFromMirror reads a conversation as the mirror holds it. The mirror
// derives the same two times from the same threads when it stores them,
// and stores a team assignee as none.
func ticketFromMirror(c store.Conversation) ticketNow {
	return ticketNow{
		id: c.ID, mailboxID: c.MailboxID, assigneeID: c.AssigneeID, status: c.Status, tags: c.Tags,
		lastCustomerAt: c.LastCustomerAt, lastAgentWorkAt: c.LastAgentActivityAt,
	}
}
