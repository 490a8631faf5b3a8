package team

import (
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestOffShiftNextStepSaysWhatThePlanDoes: for a stuck ticket whose owner
// is off shift with a known return, the page said "waits for Olga, back
// Tue 09:00 UTC" while the balancer's away rule handed the customer on as
// soon as someone on shift would answer clearly sooner (in the demo 23
// minutes later, where the customer would have waited 2d 2h). The next
// step now says the ticket is handed on in the cases the plan moves it,
// and that it waits for its owner alone where the rule leaves it to them:
// an ongoing conversation, unless QW_OFF_SHIFT_HANDOVER=all.
func TestOffShiftNextStepSaysWhatThePlanDoes(t *testing.T) {
	now := time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC) // a Monday, after Olga's shift
	r, err := roster.Parse([]byte(`{"agents": [{"id": 5, "hours": "Mon-Fri 09:00-17:00", "timezone": "UTC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	const (
		back    = "waits for Olga Off, back Tue 09:00 UTC"
		handsOn = back + ", unless someone on shift would answer clearly sooner: queuewrangler then hands it on"
		ongoing = back + ": an ongoing conversation stays with the agent who knows it"
	)
	for _, tc := range []struct {
		name         string
		agentReplied bool
		handOverAll  bool
		wantMoved    bool
		wantSay      string
	}{
		{"a new customer", false, false, true, handsOn},
		{"an ongoing conversation", true, false, false, ongoing},
		{"an ongoing conversation, QW_OFF_SHIFT_HANDOVER=all", true, true, true, handsOn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := balancer.DefaultPolicy()
			p.HandOverOngoing = tc.handOverAll
			stuck := store.OpenConversation{ID: 10, Number: 10, MailboxID: 1, Status: store.StatusActive, AssigneeID: 5,
				LastMessageBy: store.ByCustomer, AgentReplied: tc.agentReplied,
				CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-p.StuckAfter - time.Hour)}
			v := Build(store.Snapshot{TakenAt: now,
				Users: []store.User{
					{ID: 5, First: "Olga", Last: "Off", Timezone: "UTC"},
					{ID: 6, First: "Ben", Last: "On", Timezone: "UTC"}, // no hours: always on shift
				},
				Conversations: []store.OpenConversation{stuck},
			}, r, now)
			moved := false
			for _, m := range balancer.Plan(v.Snapshot, p).Moves {
				if m.ConversationID == stuck.ID {
					moved = true
					if m.Reason != balancer.ReasonAway || m.To != 6 {
						t.Errorf("move %+v, want Olga's customer to Ben as away", m)
					}
				}
			}
			if moved != tc.wantMoved {
				t.Fatalf("the plan moved the ticket: %v, want %v", moved, tc.wantMoved)
			}
			agents, _ := v.Measure(p)
			got := NewNextSteps(agents, nil, "propose", nil).Of(stuck)
			if got.Say != tc.wantSay || got.NeedsSomeone {
				t.Errorf("next step %q (needs someone %v), want %q", got.Say, got.NeedsSomeone, tc.wantSay)
			}
			if handedOn := strings.Contains(got.Say, "hands it on"); handedOn != moved {
				t.Errorf("next step %q says it is handed on: %v; the plan moves it: %v", got.Say, handedOn, moved)
			}
		})
	}
}
