package rebalance

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

func TestTicketFromHelpScout(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name string
		json string
		want ticketNow
	}{
		{"unassigned, no threads embedded",
			`{"id": 7, "mailboxId": 3, "status": "active"}`,
			ticketNow{id: 7, mailboxID: 3, status: "active"}},
		{"a team is no assignee; tags by name",
			`{"id": 7, "mailboxId": 3, "status": "active", "assignee": {"id": 90, "type": "team"},
			  "tags": [{"id": 1, "tag": "qw-pin"}]}`,
			ticketNow{id: 7, mailboxID: 3, status: "active", tags: []string{"qw-pin"}}},
		{"the newest customer message and agent work; drafts and line items do not count",
			`{"id": 7, "mailboxId": 3, "status": "pending", "assignee": {"id": 5, "type": "user"}, "_embedded": {"threads": [
			  {"id": 1, "type": "customer", "state": "published", "createdBy": {"id": 2, "type": "customer"}, "createdAt": "2026-12-01T09:00:00Z"},
			  {"id": 2, "type": "customer", "state": "published", "createdBy": {"id": 2, "type": "customer"}, "createdAt": "2026-12-01T10:00:00Z"},
			  {"id": 3, "type": "note", "state": "published", "createdBy": {"id": 5, "type": "user"}, "createdAt": "2026-12-01T10:30:00Z"},
			  {"id": 4, "type": "message", "state": "draft", "createdBy": {"id": 5, "type": "user"}, "createdAt": "2026-12-01T11:00:00Z"},
			  {"id": 5, "type": "lineitem", "createdBy": {"id": 5, "type": "user"}, "createdAt": "2026-12-01T11:30:00Z"}]}}`,
			ticketNow{id: 7, mailboxID: 3, assigneeID: 5, status: "pending",
				lastCustomerAt: at("2026-12-01T10:00:00Z"), lastAgentWorkAt: at("2026-12-01T10:30:00Z")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c helpscout.Conversation
			if err := json.Unmarshal([]byte(tt.json), &c); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, ticketFromHelpScout(c), cmp.AllowUnexported(ticketNow{})); diff != "" {
				t.Errorf("ticketFromHelpScout (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTicketFromMirror(t *testing.T) {
	customer, agent := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC), time.Date(2026, 12, 1, 10, 30, 0, 0, time.UTC)
	c := store.Conversation{ID: 7, Number: 70, MailboxID: 3, Status: "active", AssigneeID: 5, Tags: []string{"qw-pin"},
		LastCustomerAt: customer, LastAgentActivityAt: agent, CustomerWaitingSince: customer}
	want := ticketNow{id: 7, mailboxID: 3, assigneeID: 5, status: "active", tags: []string{"qw-pin"},
		lastCustomerAt: customer, lastAgentWorkAt: agent}
	if diff := cmp.Diff(want, ticketFromMirror(c), cmp.AllowUnexported(ticketNow{})); diff != "" {
		t.Errorf("ticketFromMirror (-want +got):\n%s", diff)
	}
}
