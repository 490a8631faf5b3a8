package helpscouttest_test

import (
	"fmt"
	"testing"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

// BenchmarkRoutedCreate measures a conversation's arrival and close in an
// inbox without routing, with Balanced routing (which counts every agent's
// active conversations at each arrival, a scan of the account), and with
// backlog draining too (scans after every change).
func BenchmarkRoutedCreate(b *testing.B) {
	for _, existing := range []int{1000, 10000} {
		for _, mode := range []string{"off", "balanced", "balanced+drains"} {
			b.Run(fmt.Sprintf("existing=%d/routing=%s", existing, mode), func(b *testing.B) {
				drains := mode == "balanced+drains"
				srv := helpscouttest.New(helpscouttest.Options{RoutingDrainsBacklog: drains})
				b.Cleanup(func() { srv.Close() })
				mb, err := srv.AddMailbox(helpscouttest.Mailbox{})
				if err != nil {
					b.Fatal(err)
				}
				var team []int64
				for range 10 {
					u, err := srv.AddUser(helpscouttest.User{})
					if err != nil {
						b.Fatal(err)
					}
					team = append(team, u.ID)
				}
				cu, err := srv.AddCustomer(helpscouttest.Customer{})
				if err != nil {
					b.Fatal(err)
				}
				for i := range existing {
					// Mostly closed history, a working set of active ones.
					st := helpscouttest.StatusClosed
					if i%10 == 0 {
						st = helpscouttest.StatusActive
					}
					if _, err := srv.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cu.ID,
						AssigneeID: team[i%len(team)], Status: st}); err != nil {
						b.Fatal(err)
					}
				}
				if mode != "off" {
					if err := srv.SetRouting(mb.ID, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
						AssignmentLimit: helpscouttest.MaxAssignmentLimit, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: team}); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for b.Loop() {
					nc := helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cu.ID}
					if mode == "off" {
						nc.AssigneeID = team[0]
					}
					c, err := srv.CreateConversation(nc)
					if err != nil {
						b.Fatal(err)
					}
					if c.AssigneeID == 0 {
						b.Fatal("not routed")
					}
					// Keep the active set steady so that nobody reaches the limit.
					if err := srv.SetStatus(c.ID, c.AssigneeID, helpscouttest.StatusClosed, c.CreatedAt); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
