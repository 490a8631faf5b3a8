package store

import (
	"cmp"
	"slices"
)

// factsInput is what deriveFacts needs from the conversation itself.
type factsInput struct {
	assigneeID      int64
	status          string
	closedAt        int64 // ms
	latestReplyFrom string
	// changedFrom is the assignee this write replaces (0 if unchanged or
	// unassigned before): a directly observed reassignment.
	changedFrom int64
	// changedFromSince is when changedFrom got the ticket, as the row
	// says (ms; 0 when unknown): threads whose run of the current
	// assignee began no later are older than that owner's turn
	// (threadsLag).
	changedFromSince int64
	// storedPrevious is the previous assignee already on the row.
	storedPrevious int64
	// storedAssignedAt is the assignment time already on the row (ms), for
	// an assignee no thread shows yet.
	storedAssignedAt int64
	// storedReassignedAt is the reassignment time already on the row (ms),
	// for a reassignment the threads cannot tell (reassignedAt).
	storedReassignedAt int64
	// assigneeChanged is true when this write changes the stored assignee
	// (from anyone, including nobody); now is the write's time (ms).
	assigneeChanged bool
	now             int64
}

// facts are the columns derived from a conversation's threads. Times are
// milliseconds, 0 for none.
type facts struct {
	latestThreadAt      int64
	lastMessageBy       string
	lastCustomerAt      int64
	lastAgentActivityAt int64
	firstReplyAt        int64
	firstReplyBy        int64
	firstAnswerAt       int64
	assignedAt          int64
	reassignedAt        int64
	resolvedAt          int64
	previousAssigneeID  int64
}

// customerVisible reports whether a thread is part of the conversation with
// the customer. Notes and line items are internal, drafts and held replies
// (review) were not sent, forwards go to third parties.
func customerVisible(t Thread) bool {
	switch t.State {
	case StateDraft, "review", "underreview":
		return false
	}
	switch t.Type {
	case ThreadCustomer, ThreadMessage, ThreadChat, ThreadPhone, "beaconchat":
		return true
	}
	return false
}

// agentActivity reports whether a thread shows an agent working the ticket:
// a reply or a note by a user (the README's "What it moves, and how", "never move a ticket an
// agent replied to or noted").
func agentActivity(t Thread) bool {
	if t.CreatedByType != ByUser || t.State == StateDraft {
		return false
	}
	switch t.Type {
	case ThreadMessage, ThreadNote, ThreadChat, ThreadPhone, "beaconchat", "forwardparent":
		return true
	}
	return false
}

// agentReply is the reply the first-response and resolution metrics count,
// as the README's Metrics section defines it after Help Scout's email reports: a
// published message thread created by a user. Notes, line items, drafts
// and held replies never count, and neither do chat and phone threads,
// which Help Scout reports on separately (their response times are
// seconds, and would drown the email figures).
func agentReply(t Thread) bool {
	return t.Type == ThreadMessage && t.CreatedByType == ByUser && t.State == StatePublished
}

// agentAnswer is any published answer to the customer, on any channel: a
// message, chat or phone thread created by a user, the same rule as
// helpscout.Thread.Kind. It is what the balancer means by "an agent has
// replied": a chat-only conversation an agent has answered is an ongoing
// conversation, not a new customer nobody has spoken to, whatever the
// metrics count.
func agentAnswer(t Thread) bool {
	switch t.Type {
	case ThreadMessage, ThreadChat, ThreadPhone:
		return t.CreatedByType == ByUser && t.State == StatePublished
	}
	return false
}

// assignedAt is when the current assignee got the ticket (ms), 0 when
// unknown or unassigned. A Help Scout thread that carries assignedTo
// records the assignee after it, so the assignment is the first thread of the last run of
// threads assigned to the current assignee: the assignment's line item, or
// the customer's first message when routing assigned it on arrival. When
// no thread shows the current assignee yet (the line item is still to be
// listed), an assignment this write observes is dated now, and otherwise
// the row keeps the time it had. ts is sorted.
func assignedAt(in factsInput, ts []Thread) int64 {
	if in.assigneeID == 0 {
		return 0
	}
	if n := len(ts); n > 0 && ts[n-1].AssignedToID == in.assigneeID {
		i := n - 1
		for i > 0 && ts[i-1].AssignedToID == in.assigneeID {
			i--
		}
		if start := msInt(ts[i].CreatedAt); !threadsLag(in, start) {
			return start
		}
	}
	if in.assigneeChanged {
		return in.now
	}
	return in.storedAssignedAt
}

// reassignedAt is when the current assignee got the ticket from another
// person (ms): a reassignment, which someone decided, unlike a first
// assignment out of the Unassigned folder (routing, a hand-out, someone
// taking it). 0 when unassigned, or when the current assignee took it from
// nobody, or when nothing says.
//
// The threads tell it first: each records the assignee after it
// (assignedTo), so a thread assigned to someone other than the last one
// the threads showed is where the ticket changed hands. A thread without
// assignedTo is no evidence (Help Scout leaves it off threads such as a
// customer's message, and a missing field is not an unassignment), except
// on a line item: a line item records the state after its event, so one
// without an assignee says the ticket was unassigned, and the next owner
// took it from the folder. Only the change into the current assignee's
// run of threads counts, and only when the last assignee the threads show
// is the current one: threads still behind a newer assignment would date
// an older owner's. When the threads cannot tell (they lag, or nothing
// before the current run names an owner), a change from one person to
// another that this very write observes is the evidence, dated as
// assignedAt dates it (the line item when listed, else the write); a first
// assignment this write observes is none; otherwise the row keeps what it
// had, which was derived for the same assignee: every change of assignee
// rewrites it.
//
// A change an automatic workflow made (its thread's Workflow) is no
// reassignment either, whoever had the ticket before: a rule of the
// team's moved it, as routing gives a ticket out, and nobody decided
// where it stays, so the balancer holds nothing. A workflow a person ran
// by hand is that person's choice of the ticket's owner, made knowing
// what the workflow does, as a reassignment by hand is: it counts as one,
// and the balancer holds it for the cooldown rather than undo it. ts is
// sorted.
func reassignedAt(in factsInput, ts []Thread, assigned int64) int64 {
	if in.assigneeID == 0 {
		return 0
	}
	const (
		unknown = iota // no thread has named an owner yet
		nobody         // a line item showed the ticket unassigned
		someone        // holder has it
	)
	state, holder := unknown, int64(0)
	told, at := false, int64(0) // whether the current run's start is known, and the reassignment it was
	start := int64(0)           // when the current run began
	for _, t := range ts {
		switch {
		case t.AssignedToID != 0 && (state != someone || t.AssignedToID != holder):
			told, at, start = state != unknown, 0, msInt(t.CreatedAt)
			switch {
			case t.Workflow == WorkflowAutomatic:
				told = true // a rule's move: what came before does not matter
			case state == someone:
				at = msInt(t.CreatedAt)
			}
			state, holder = someone, t.AssignedToID
		case t.AssignedToID == 0 && t.Type == ThreadLineItem:
			state, holder = nobody, 0
		}
	}
	if state == someone && holder == in.assigneeID && told && !threadsLag(in, start) {
		return at
	}
	switch {
	case in.changedFrom != 0 && in.changedFrom != in.assigneeID:
		return assigned
	case in.assigneeChanged:
		return 0
	}
	return in.storedReassignedAt
}

// threadsLag reports whether the threads' run of the current assignee,
// begun at start (ms), is an older turn of theirs than the one this write
// observes: the write replaces an owner (changedFrom) who got the ticket
// at or after start, so the ticket went A -> B -> A and the threads do
// not list B's turn, or A's return, yet (a poll or a webhook saw the
// changes before their line items). The threads then tell nothing of
// this change: read as they are, an automatic workflow's old line item
// excused the person's move back, and without one an old line item dated
// it hours too early. The write's evidence dates it instead
// (assignedAt, reassignedAt).
func threadsLag(in factsInput, start int64) bool {
	return in.changedFrom != 0 && in.changedFromSince != 0 && start <= in.changedFromSince
}

// deriveFacts computes the derived columns from all stored threads of a
// conversation. It is pure so that the rules are table-tested apart from
// SQL.
func deriveFacts(in factsInput, threads []Thread) facts {
	ts := slices.Clone(threads)
	slices.SortFunc(ts, func(a, b Thread) int {
		if c := cmp.Compare(msInt(a.CreatedAt), msInt(b.CreatedAt)); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var f facts
	replied, answered := false, false
	lastVisible := -1
	for i, t := range ts {
		at := msInt(t.CreatedAt)
		f.latestThreadAt = max(f.latestThreadAt, at)
		if customerVisible(t) {
			lastVisible = i
			if t.CreatedByType == ByCustomer {
				f.lastCustomerAt = max(f.lastCustomerAt, at)
			}
		}
		if agentActivity(t) {
			f.lastAgentActivityAt = max(f.lastAgentActivityAt, at)
		}
		if !replied && agentReply(t) {
			replied = true
			f.firstReplyAt, f.firstReplyBy = at, t.CreatedByID
		}
		if !answered && agentAnswer(t) {
			answered = true
			f.firstAnswerAt = at
		}
	}
	if lastVisible >= 0 {
		f.lastMessageBy = ts[lastVisible].CreatedByType
	} else {
		f.lastMessageBy = in.latestReplyFrom
	}

	// Resolved: the first close at or after the first reply ("send and
	// close" puts both on one thread). A reopen and a second close do not
	// move it. Without a status thread, the conversation's own close counts
	// if it follows the reply.
	if replied {
		for _, t := range ts {
			if t.Status == StatusClosed && msInt(t.CreatedAt) >= f.firstReplyAt {
				f.resolvedAt = msInt(t.CreatedAt)
				break
			}
		}
		if f.resolvedAt == 0 && in.status == StatusClosed && in.closedAt >= f.firstReplyAt {
			f.resolvedAt = in.closedAt
		}
	}

	f.assignedAt = assignedAt(in, ts)
	f.reassignedAt = reassignedAt(in, ts, f.assignedAt)

	// Previous assignee: a reassignment seen in this very write is the best
	// evidence; then the newest thread assigned to someone else; then what
	// the row already knew.
	switch {
	case in.changedFrom != 0:
		f.previousAssigneeID = in.changedFrom
	default:
		for i := len(ts) - 1; i >= 0; i-- {
			if a := ts[i].AssignedToID; a != 0 && a != in.assigneeID {
				f.previousAssigneeID = a
				break
			}
		}
		if f.previousAssigneeID == 0 && in.storedPrevious != in.assigneeID {
			f.previousAssigneeID = in.storedPrevious
		}
	}
	return f
}
