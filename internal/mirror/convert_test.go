package mirror

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

func hsTime(s string) helpscout.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return helpscout.Time{Time: t}
}

func TestToStoreConversation(t *testing.T) {
	created := hsTime("2026-03-02T09:00:00Z")
	waiting := hsTime("2026-03-02T11:30:00Z")
	tests := []struct {
		name string
		in   helpscout.Conversation
		want store.Conversation
	}{
		{
			name: "every field carried over, tags sorted by name",
			in: helpscout.Conversation{
				ID: 2147483653, Number: 1042, MailboxID: 7, ThreadCount: 3,
				Type: "email", Status: helpscout.StatusActive, State: "published", Subject: "Refund",
				Assignee:             helpscout.Person{ID: 501, Type: helpscout.PersonUser},
				CreatedBy:            helpscout.Person{ID: 9001, Type: helpscout.PersonCustomer},
				CreatedAt:            created,
				ClosedBy:             0,
				UserUpdatedAt:        hsTime("2026-03-02T10:00:00Z"),
				CustomerWaitingSince: helpscout.CustomerWaitingSince{Time: waiting, LatestReplyFrom: "customer"},
				PrimaryCustomer:      helpscout.Person{ID: 9001, First: "Kim", Last: "Lee", Email: "kim@example.com"},
				Tags:                 []helpscout.Tag{{ID: 2, Name: "vip"}, {ID: 1, Name: "billing"}},
			},
			want: store.Conversation{
				ID: 2147483653, Number: 1042, MailboxID: 7, ThreadCount: 3,
				Type: "email", Status: "active", State: "published", Subject: "Refund",
				AssigneeID: 501, CreatedByType: "customer", CreatedByID: 9001,
				CustomerID: 9001, CustomerFirst: "Kim", CustomerLast: "Lee", CustomerEmail: "kim@example.com",
				CreatedAt: created.Time, UserUpdatedAt: hsTime("2026-03-02T10:00:00Z").Time,
				CustomerWaitingSince: waiting.Time, LatestReplyFrom: "customer",
				Tags: []string{"billing", "vip"},
			},
		},
		{
			name: "a team assignee is unassigned: the ticket waits for a person",
			in: helpscout.Conversation{
				ID: 1, Status: helpscout.StatusActive, CreatedAt: created,
				Assignee: helpscout.Person{ID: 77, Type: helpscout.PersonTeam},
			},
			want: store.Conversation{ID: 1, Status: "active", CreatedAt: created.Time},
		},
		{
			name: "absent fields stay zero; closedBy is kept",
			in: helpscout.Conversation{
				ID: 2, Status: helpscout.StatusClosed, CreatedAt: created,
				ClosedAt: hsTime("2026-03-03T08:00:00Z"), ClosedBy: 501,
			},
			want: store.Conversation{ID: 2, Status: "closed", CreatedAt: created.Time,
				ClosedAt: hsTime("2026-03-03T08:00:00Z").Time, ClosedBy: 501},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toStoreConversation(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("toStoreConversation mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestToUpdate(t *testing.T) {
	at := hsTime("2026-03-02T09:05:00Z")
	c := helpscout.Conversation{ID: 5, Status: helpscout.StatusPending, CreatedAt: hsTime("2026-03-02T09:00:00Z")}
	threads := []helpscout.Thread{
		{ID: 11, Type: "customer", State: "published", Status: "active",
			CreatedBy: helpscout.Person{ID: 9001, Type: helpscout.PersonCustomer}, CreatedAt: hsTime("2026-03-02T09:00:00Z")},
		{ID: 12, Type: "message", State: "published", Status: "pending",
			CreatedBy:  helpscout.Person{ID: 501, Type: helpscout.PersonUser},
			AssignedTo: helpscout.Person{ID: 501, Type: helpscout.PersonUser}, CreatedAt: at},
	}
	tests := []struct {
		name     string
		threads  []helpscout.Thread
		complete bool
		want     store.ConversationUpdate
	}{
		{
			name: "complete thread list", threads: threads, complete: true,
			want: store.ConversationUpdate{
				Conversation: store.Conversation{ID: 5, Status: "pending", CreatedAt: c.CreatedAt.Time},
				Threads: []store.Thread{
					{ID: 11, Type: "customer", State: "published", Status: "active", CreatedByType: "customer",
						CreatedByID: 9001, CreatedAt: threads[0].CreatedAt.Time},
					{ID: 12, Type: "message", State: "published", Status: "pending", CreatedByType: "user",
						CreatedByID: 501, AssignedToID: 501, CreatedAt: at.Time},
				},
				ThreadsComplete: true,
			},
		},
		{
			name: "no threads fetched: an empty list that merges nothing away", threads: nil, complete: false,
			want: store.ConversationUpdate{
				Conversation: store.Conversation{ID: 5, Status: "pending", CreatedAt: c.CreatedAt.Time},
				Threads:      []store.Thread{},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := toUpdate(c, tt.threads, tt.complete)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("toUpdate mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestModifiedAt(t *testing.T) {
	created := hsTime("2026-03-02T09:00:00Z")
	tests := []struct {
		name string
		in   helpscout.Conversation
		want string
	}{
		{"creation only", helpscout.Conversation{CreatedAt: created}, "2026-03-02T09:00:00Z"},
		{"the latest of the conversation's own times", helpscout.Conversation{
			CreatedAt: created, UserUpdatedAt: hsTime("2026-03-02T10:00:00Z"),
			CustomerWaitingSince: helpscout.CustomerWaitingSince{Time: hsTime("2026-03-02T12:00:00Z")},
			ClosedAt:             hsTime("2026-03-02T11:00:00Z"),
		}, "2026-03-02T12:00:00Z"},
		{"a thread newer than every conversation time", helpscout.Conversation{
			CreatedAt: created, UserUpdatedAt: hsTime("2026-03-02T10:00:00Z"),
			Embedded: helpscout.ConversationEmbedded{Threads: []helpscout.Thread{
				{ID: 1, CreatedAt: hsTime("2026-03-02T09:30:00Z")},
				{ID: 2, CreatedAt: hsTime("2026-03-02T13:15:00Z")},
			}},
		}, "2026-03-02T13:15:00Z"},
		{"read in UTC whatever the zone", helpscout.Conversation{
			CreatedAt: helpscout.Time{Time: created.In(time.FixedZone("EST", -5*3600))},
		}, "2026-03-02T09:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := modifiedAt(tt.in)
			if got.Location() != time.UTC || got.Format(time.RFC3339) != tt.want {
				t.Errorf("modifiedAt = %v, want %s in UTC", got, tt.want)
			}
		})
	}
}

func TestToStoreDirectory(t *testing.T) {
	updated := hsTime("2026-01-05T08:00:00Z")
	t.Run("user", func(t *testing.T) {
		got := toStoreUser(helpscout.User{ID: 501, FirstName: "Ana", LastName: "Diaz", Email: "ana@example.com",
			Role: "user", Timezone: "Europe/Berlin", Type: "user", UpdatedAt: updated})
		want := store.User{ID: 501, First: "Ana", Last: "Diaz", Email: "ana@example.com", Role: "user",
			Timezone: "Europe/Berlin", Type: "user", UpdatedAt: updated.Time}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("toStoreUser mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("mailbox", func(t *testing.T) {
		got := toStoreMailbox(helpscout.Mailbox{ID: 7, Name: "Support", Email: "help@example.com", Slug: "abc"})
		want := store.Mailbox{ID: 7, Name: "Support", Email: "help@example.com", Slug: "abc"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("toStoreMailbox mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("team with members", func(t *testing.T) {
		got := toStoreTeam(helpscout.Team{ID: 9, Name: "Tier 2", Timezone: "UTC", UpdatedAt: updated}, []int64{501, 502})
		want := store.Team{ID: 9, Name: "Tier 2", Timezone: "UTC", UpdatedAt: updated.Time, Members: []int64{501, 502}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("toStoreTeam mismatch (-want +got):\n%s", diff)
		}
	})
	t.Run("status reads the email channel", func(t *testing.T) {
		var s helpscout.UserStatus
		s.UserID = 501
		s.Email.Status, s.Email.Source, s.Email.UpdatedAt = "away", "user", updated
		got := toStoreStatus(s)
		want := store.UserStatus{UserID: 501, Status: "away", UpdatedAt: updated.Time, Source: "user"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("toStoreStatus mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestTeamAssignedThreadIsNoHandMove: Help Scout's threads record a team
// assignee too (assignedTo type "team", as its list-threads sample shows).
// Stored as the team's id, a person taking the ticket from the team read
// as a reassignment from another person: a hand move, held from the
// balancer for the cooldown and said so on the page, where a team's
// ticket waits for a person like one in the Unassigned folder (a
// conversation's team assignee is stored as nobody) and taking it is a
// hand-out.
func TestTeamAssignedThreadIsNoHandMove(t *testing.T) {
	db := testkit.OpenStore(t)
	ctx := context.Background()
	team := helpscout.Person{ID: 1234, Type: helpscout.PersonTeam}
	ana := helpscout.Person{ID: 8, Type: helpscout.PersonUser}
	customer := helpscout.Person{ID: 9001, Type: helpscout.PersonCustomer}
	c := helpscout.Conversation{ID: 1, Number: 1, MailboxID: 1, Status: helpscout.StatusActive, State: "published",
		Type: "email", CreatedAt: hsTime("2026-03-02T09:00:00Z"), Assignee: ana, CreatedBy: customer,
		UserUpdatedAt: hsTime("2026-03-02T09:10:00Z"), ThreadCount: 2}
	threads := []helpscout.Thread{
		{ID: 1, Type: "customer", State: "published", Status: "active", CreatedBy: customer, AssignedTo: team,
			CreatedAt: hsTime("2026-03-02T09:00:00Z")},
		{ID: 2, Type: "lineitem", State: "published", Status: "nochange", CreatedBy: ana, AssignedTo: ana,
			CreatedAt: hsTime("2026-03-02T09:10:00Z")},
	}
	if _, err := db.ApplyConversation(ctx, toUpdate(c, threads, true)); err != nil {
		t.Fatal(err)
	}
	open, err := db.OpenConversations(ctx, store.OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 {
		t.Fatalf("%d open conversations; want 1", len(open))
	}
	if got := open[0]; !got.HandMovedAt().IsZero() || got.PreviousAssigneeID != 0 {
		t.Errorf("taken from team %d: hand move at %v, previous assignee %d; want none (a hand-out)",
			team.ID, got.HandMovedAt(), got.PreviousAssigneeID)
	}
}

// TestWorkflowReassignmentIsNoHandMove: a Help Scout workflow that
// reassigns a ticket from one agent to another records it on its line
// item, whose action names the workflow (helpscout-api.md section 6:
// action.type "manual-workflow" is seen, other values are not
// enumerated; associatedEntities may hold the workflow's id). One that ran
// on its own is a rule's move, as routing's first assignment is: nobody
// decided where the ticket stays, and the balancer may move it. One a
// person ran by hand ("manual-workflow") is that person's decision, as a
// reassignment by hand is, and holds the ticket. A line item naming no
// workflow, or whose action is absent or null, is a person's move.
func TestWorkflowReassignmentIsNoHandMove(t *testing.T) {
	ana := helpscout.Person{ID: 8, Type: helpscout.PersonUser}
	ben := helpscout.Person{ID: 7, Type: helpscout.PersonUser}
	customer := helpscout.Person{ID: 9001, Type: helpscout.PersonCustomer}
	tests := []struct {
		name   string
		action string // the line item's action, as Help Scout sends it; "" = none
		hand   bool
	}{
		{"an automatic workflow, told by its action type", `{"type":"automatic-workflow","text":"Workflow Billing ran"}`, false},
		{"a workflow told by its associated entity alone", `{"type":"default","associatedEntities":{"workflow":4411}}`, false},
		{"a workflow id as a string", `{"type":"assigned","associatedEntities":{"workflow":"4411"}}`, false},
		{"a workflow entity that is no id names none", `{"type":"assigned","associatedEntities":{"workflow":"wf-4411"}}`, true},
		{"the action type in another case", `{"type":"Workflow"}`, false},
		{"a workflow a person ran by hand", `{"type":"manual-workflow","text":"Cal ran the Escalate workflow","associatedEntities":{"workflow":4412}}`, true},
		{"a person's reassignment", `{"type":"assigned","text":"Cal assigned to Ana","associatedEntities":{"user":3}}`, true},
		{"a null workflow entity names none", `{"type":"assigned","associatedEntities":{"workflow":null}}`, true},
		{"an empty workflow entity names none", `{"type":"assigned","associatedEntities":{"workflow":""}}`, true},
		{"no action", ``, true},
		{"a null action", `null`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			db := testkit.OpenStore(t)
			ctx := context.Background()
			item := `{"id":2,"type":"lineitem","state":"published","status":"nochange","createdBy":{"id":3,"type":"user"},` +
				`"assignedTo":{"id":8,"type":"user"},"createdAt":"2026-03-02T09:10:00Z"`
			if tc.action != "" {
				item += `,"action":` + tc.action
			}
			var line helpscout.Thread
			if err := json.Unmarshal([]byte(item+"}"), &line); err != nil {
				t.Fatal(err)
			}
			c := helpscout.Conversation{ID: 1, Number: 1, MailboxID: 1, Status: helpscout.StatusActive, State: "published",
				Type: "email", CreatedAt: hsTime("2026-03-02T09:00:00Z"), Assignee: ana, CreatedBy: customer,
				UserUpdatedAt: hsTime("2026-03-02T09:10:00Z"), ThreadCount: 2}
			threads := []helpscout.Thread{
				{ID: 1, Type: "customer", State: "published", Status: "active", CreatedBy: customer, AssignedTo: ben,
					CreatedAt: hsTime("2026-03-02T09:00:00Z")},
				line,
			}
			if _, err := db.ApplyConversation(ctx, toUpdate(c, threads, true)); err != nil {
				t.Fatal(err)
			}
			open, err := db.OpenConversations(ctx, store.OpenFilter{})
			if err != nil {
				t.Fatal(err)
			}
			if len(open) != 1 {
				t.Fatalf("%d open conversations; want 1", len(open))
			}
			got := open[0]
			if hand := !got.HandMovedAt().IsZero(); hand != tc.hand {
				t.Errorf("hand move at %v; want a hand move: %v", got.HandMovedAt(), tc.hand)
			}
			if got.PreviousAssigneeID != ben.ID {
				t.Errorf("previous assignee %d; want %d, whoever moved it", got.PreviousAssigneeID, ben.ID)
			}
		})
	}
}

// TestThreadWorkflowNeedsAnID: a person's "assigned" line item whose
// associatedEntities carries the workflow key with a value that is no
// workflow's id (0, "0", false, {}, [], -1) names no workflow. Each was
// taken for an automatic workflow's, which excused the person's move as
// no hand move, so that a balancer run could undo it. A type that says
// workflow, or a positive id, still names one.
func TestThreadWorkflowNeedsAnID(t *testing.T) {
	for _, v := range []string{`0`, `"0"`, `false`, `{}`, `[]`, `-1`} {
		var a helpscout.Action
		in := `{"type":"assigned","text":"Cal assigned to Ana","associatedEntities":{"user":3,"workflow":` + v + `}}`
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if got := threadWorkflow(a); got != "" {
			t.Errorf("workflow entity %s on a person's line item: threadWorkflow = %q, want none", v, got)
		}
	}
	for in, want := range map[string]string{
		`{"type":"assigned","associatedEntities":{"workflow":4411}}`:        store.WorkflowAutomatic,
		`{"type":"assigned","associatedEntities":{"Workflow":"4411"}}`:      store.WorkflowAutomatic,
		`{"type":"automatic-workflow","associatedEntities":{"workflow":0}}`: store.WorkflowAutomatic,
		`{"type":"manual-workflow","associatedEntities":{"workflow":4412}}`: store.WorkflowManual,
		`{"type":"Manual-Workflow"}`:                                        store.WorkflowManual,
		`{"type":"assigned","associatedEntities":{"user":3,"mailbox":4}}`:   "",
	} {
		var a helpscout.Action
		if err := json.Unmarshal([]byte(in), &a); err != nil {
			t.Fatal(err)
		}
		if got := threadWorkflow(a); got != want {
			t.Errorf("%s: threadWorkflow = %q, want %q", in, got, want)
		}
	}
}
