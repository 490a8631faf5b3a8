package mirror

import (
	"slices"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// The conversions between Help Scout's wire types and the store's rows live
// here, table-tested, because the two change for different reasons.

func toStoreConversation(c helpscout.Conversation) store.Conversation {
	var tags []string
	for _, t := range c.Tags {
		tags = append(tags, t.Name)
	}
	slices.Sort(tags)
	customer := c.PrimaryCustomer
	return store.Conversation{
		ID:                   c.ID,
		Number:               c.Number,
		MailboxID:            c.MailboxID,
		Status:               c.Status,
		State:                c.State,
		Type:                 c.Type,
		Subject:              c.Subject,
		AssigneeID:           assigneeID(c.Assignee),
		CreatedByType:        c.CreatedBy.Type,
		CreatedByID:          c.CreatedBy.ID,
		CustomerID:           customer.ID,
		CustomerFirst:        customer.First,
		CustomerLast:         customer.Last,
		CustomerEmail:        customer.Email,
		CreatedAt:            c.CreatedAt.Time,
		ClosedAt:             c.ClosedAt.Time,
		ClosedBy:             c.ClosedBy,
		CustomerWaitingSince: c.CustomerWaitingSince.Time.Time,
		UserUpdatedAt:        c.UserUpdatedAt.Time,
		ThreadCount:          c.ThreadCount,
		Tags:                 tags,
		LatestReplyFrom:      c.CustomerWaitingSince.LatestReplyFrom,
	}
}

// assigneeID treats a team assignee as unassigned for balancing purposes:
// a ticket sitting with a team waits for a person.
func assigneeID(p helpscout.Person) int64 {
	if p.Type == helpscout.PersonTeam {
		return 0
	}
	return p.ID
}

func toStoreThread(t helpscout.Thread) store.Thread {
	return store.Thread{
		ID:            t.ID,
		Type:          t.Type,
		State:         t.State,
		Status:        t.Status,
		CreatedByType: t.CreatedBy.Type,
		CreatedByID:   t.CreatedBy.ID,
		AssignedToID:  assigneeID(t.AssignedTo), // a team's is nobody's, as the conversation's: taking it is a hand-out
		CreatedAt:     t.CreatedAt.Time,
		Workflow:      threadWorkflow(t.Action),
	}
}

// threadWorkflow says whether a Help Scout workflow made a thread, from
// its action: store.WorkflowManual when a person ran it by hand,
// store.WorkflowAutomatic when it ran on its own, "" when no workflow
// did. Help Scout does not enumerate action.type for v2
// (helpscout-api.md section 6): "manual-workflow" is seen ("You ran the
// Assign to Spam workflow"), and the workflows' own listing says each is
// "manual" or "automatic". So a type that mentions a workflow, in any
// case, is a workflow's, and a person's run when it says manual; else an
// associatedEntities whose workflow entity holds an id (a positive
// number, or a string of one) names a workflow that ran on its own.
// Anything else names none: 0, -1, "0", false, {} or [] under a workflow
// key is no id, and the two ways to misread differ. Taken for no
// workflow, a workflow's move reads as a hand move, which only holds the
// ticket from the balancer a while; taken for an automatic workflow, a
// person's move is excused, and a run may undo it. An absent or null
// action names none. The store decides what each means (facts.go).
func threadWorkflow(a helpscout.Action) string {
	typ := strings.ToLower(a.Type)
	if strings.Contains(typ, "workflow") {
		if strings.Contains(typ, "manual") {
			return store.WorkflowManual
		}
		return store.WorkflowAutomatic
	}
	for k, id := range a.AssociatedEntities {
		if id > 0 && strings.Contains(strings.ToLower(k), "workflow") {
			return store.WorkflowAutomatic
		}
	}
	return ""
}

func toStoreThreads(ts []helpscout.Thread) []store.Thread {
	out := make([]store.Thread, 0, len(ts))
	for _, t := range ts {
		out = append(out, toStoreThread(t))
	}
	return out
}

// toUpdate converts a conversation and whatever threads came with it.
// complete says the threads are all of them.
func toUpdate(c helpscout.Conversation, threads []helpscout.Thread, complete bool) store.ConversationUpdate {
	return store.ConversationUpdate{
		Conversation:    toStoreConversation(c),
		Threads:         toStoreThreads(threads),
		ThreadsComplete: complete,
	}
}

// modifiedAt estimates Help Scout's hidden modifiedAt, the key that
// sortField=modifiedAt orders by: the latest of the times the object shows.
// The estimate is never later than the real value, so a cursor built from
// it only ever re-reads more, never skips, except for a time ahead of Help
// Scout's clock (an imported thread dated in the future), which the walk
// caps at the response's Date.
func modifiedAt(c helpscout.Conversation) time.Time {
	m := c.CreatedAt.Time
	for _, t := range []time.Time{c.UserUpdatedAt.Time, c.CustomerWaitingSince.Time.Time, c.ClosedAt.Time} {
		if t.After(m) {
			m = t
		}
	}
	for _, th := range c.Threads() {
		if th.CreatedAt.After(m) {
			m = th.CreatedAt.Time
		}
	}
	return m.UTC()
}

func toStoreUser(u helpscout.User) store.User {
	return store.User{
		ID:        u.ID,
		First:     u.FirstName,
		Last:      u.LastName,
		Email:     u.Email,
		Role:      u.Role,
		Timezone:  u.Timezone,
		Type:      u.Type,
		UpdatedAt: u.UpdatedAt.Time,
	}
}

func toStoreMailbox(m helpscout.Mailbox) store.Mailbox {
	return store.Mailbox{ID: m.ID, Name: m.Name, Email: m.Email, Slug: m.Slug}
}

func toStoreTeam(t helpscout.Team, members []int64) store.Team {
	return store.Team{ID: t.ID, Name: t.Name, Timezone: t.Timezone, UpdatedAt: t.UpdatedAt.Time, Members: members}
}

func toStoreStatus(s helpscout.UserStatus) store.UserStatus {
	return store.UserStatus{
		UserID:    s.UserID,
		Status:    s.Email.Status,
		UpdatedAt: s.Email.UpdatedAt.Time,
		Source:    s.Email.Source,
	}
}
