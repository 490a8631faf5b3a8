package main

import (
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// Issue 19, part 3, through the daemon: QW_SLACK_WEBHOOK_URL and
// QW_PUBLIC_URL reach the notifier, the balancer's proposals reach Slack
// with links to the page, and the webhook's credential stays out of the
// log and /metrics.
func TestDaemonTellsSlackOfProposals(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the daemon against the fake Help Scout")
	}
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{RateLimitPerMinute: 10_000})
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddUser(helpscouttest.User{FirstName: "Ana", Email: "ana@example.com", Role: "user", Timezone: "UTC", Status: "active"}); err != nil {
		t.Fatal(err)
	}
	cust, err := fake.AddCustomer(helpscouttest.Customer{First: "Chris", Email: "chris@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust.ID,
		Subject: "help", Body: "please", At: time.Now().Add(-40 * time.Minute)}); err != nil {
		t.Fatal(err)
	}

	slack := testkit.NewRecorder(t)
	const credential = "/services/T0E2E/B0E2E/e2eSlackCredential"

	var logs testkit.LogBuffer
	addr := startDaemon(t, ts.URL, &logs, map[string]string{"QW_SLACK_WEBHOOK_URL": slack.URL + credential,
		"QW_PUBLIC_URL": "https://queue.example.com", "QW_BALANCE_INTERVAL": "1s"})
	testkit.WaitFor(t, time.Minute, "a proposals message in Slack", func() (bool, string) {
		bodies := slack.Bodies()
		for _, b := range bodies {
			if strings.Contains(b, "1 move waits for approval") && strings.Contains(b, "https://queue.example.com/#proposal-") {
				return true, ""
			}
		}
		return false, strings.Join(bodies, "\n")
	})
	testkit.WaitFor(t, 10*time.Second, "the message counted sent", func() (bool, string) {
		m := scrapeMetrics(t, addr)
		return strings.Contains(m, `queuewrangler_notifications_total{channel="proposals",result="sent"} 1`), m
	})
	if strings.Contains(scrapeMetrics(t, addr), "e2eSlackCredential") || strings.Contains(logs.String(), "e2eSlackCredential") {
		t.Errorf("the webhook's credential leaked into /metrics or the log:\n%s", logs.String())
	}
}
