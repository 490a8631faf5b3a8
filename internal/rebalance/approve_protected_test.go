package rebalance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestApproveSkipsTicketWorkedSincePlan: a proposal waits for approval, and
// meanwhile its owner answers, notes or pins the ticket. The never-move
// rules are checked again on the fresh read, so approving it takes the
// ticket from nobody: it is recorded stale, with the reason.
func TestApproveSkipsTicketWorkedSincePlan(t *testing.T) {
	for _, tc := range []struct {
		name   string
		why    string
		change func(w *world, id int64)
	}{
		{"owner replied, status left active", "an agent replied or added a note", func(w *world, id int64) {
			_, err := w.fake.AddAgentReply(id, helpscouttest.ThreadInput{UserID: w.ana, Body: "on it", At: w.now.Add(time.Second)})
			must(t, err)
		}},
		{"owner noted", "an agent replied or added a note", func(w *world, id int64) {
			_, err := w.fake.AddNote(id, helpscouttest.ThreadInput{UserID: w.ana, Body: "calling them", At: w.now.Add(time.Second)})
			must(t, err)
		}},
		{"qw-pin tag added", "pinned", func(w *world, id int64) {
			must(t, w.fake.SetTags(id, []string{store.PinTag}, w.now.Add(time.Second)))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 0)
			for i := range 10 {
				_, err := w.fake.CreateConversation(helpscouttest.NewConversation{
					MailboxID: w.mailbox, CustomerID: w.customer, Subject: "help", Body: "please",
					AssigneeID: w.ana, At: w.now.Add(-time.Duration(30+i) * time.Minute)})
				must(t, err)
			}
			w.sync(t)
			r := w.rebalancer(ModePropose, 5)
			plan, err := r.RunOnce(context.Background())
			must(t, err)
			if len(plan.Proposals) == 0 {
				t.Fatal("no overload proposal")
			}
			p := plan.Proposals[0]
			if p.FromAgent != w.ana {
				t.Fatalf("proposal %+v, want a move off Ana", p)
			}
			tc.change(w, p.ConversationID)
			got, err := r.Approve(context.Background(), p.ID, "sst")
			must(t, err)
			if got.Status != store.ProposalStale || !strings.Contains(got.Error, tc.why) {
				t.Errorf("approved after %s: status %s (%q), want stale saying %q", tc.name, got.Status, got.Error, tc.why)
			}
		})
	}
}
