package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit/browser"
)

// TestQueuePageApprovesThroughHelpScout is issue 7's browser run against
// the real daemon and the fake Help Scout: load the page, find the agents,
// log in, plan, approve the proposal, see it applied in the recent moves,
// and see the fake record the assignment and the note. Screenshots at
// desktop and phone width go to the test's artifact directory.
func TestQueuePageApprovesThroughHelpScout(t *testing.T) {
	b := browser.Start(t, 90*time.Second)
	ctx, shot, text := b.Ctx, b.Shot, b.Text
	const token = "browser-admin-token"

	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{})
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	agents := []string{"Ana", "Ben"}
	for _, n := range agents {
		if _, err := fake.AddUser(helpscouttest.User{FirstName: n, LastName: "Agent", Email: strings.ToLower(n) + "@example.com", Timezone: "UTC", Status: "active"}); err != nil {
			t.Fatal(err)
		}
	}
	cust, _ := fake.AddCustomer(helpscouttest.Customer{First: "Sam", Last: "Lee", Email: "sam@example.com"})
	conv, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust.ID,
		Subject: "Invoice shows wrong VAT", Body: "please help", At: time.Now().Add(-2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}

	base := "http://" + startDaemon(t, ts.URL, io.Discard, map[string]string{
		"QW_POLL_INTERVAL": "1h", "QW_BALANCE_INTERVAL": "1h", "QW_ADMIN_TOKEN": token,
	})

	submit := func(button string) {
		t.Helper()
		if err := b.Submit(button); err != nil {
			t.Fatalf("submit %s: %v", button, err)
		}
	}

	// Load the page and find the agents.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900), chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#team tbody`))); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	team := text(`#team tbody`)
	for _, n := range agents {
		if !strings.Contains(team, n) {
			t.Errorf("agent %s is not on the page:\n%s", n, team)
		}
	}
	if !strings.Contains(text(`#unassigned`), "Invoice shows wrong VAT") {
		t.Error("the unassigned ticket is not on the page")
	}

	// Log in, plan, approve.
	// The login form folds behind its button (a <details>) until clicked.
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#login > summary`)), chromedp.WaitVisible(chromedp.ID(`login-token`)),
		chromedp.SendKeys(chromedp.ID(`login-token`), token), chromedp.SendKeys(chromedp.ID(`login-who`), "Browser SST")); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	submit(`form[action="/login"] button`)
	submit(`form[action="/plan"] button`)
	ids, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll('li.proposal')).map(e => e.id)`))
	if err != nil || len(ids) != 1 {
		t.Fatalf("pending proposals after Plan now: %v (%v)", ids, err)
	}
	id := strings.TrimPrefix(ids[0], "proposal-")
	submit(fmt.Sprintf(`#proposal-%s button.approve`, id))
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID("move-"+id)), shot("desktop-1280.png")); err != nil {
		t.Fatalf("after approve: %v", err)
	}
	if outcome := text(fmt.Sprintf(`#move-%s .outcome`, id)); outcome != "applied" {
		t.Errorf("the move's outcome reads %q, want applied", outcome)
	}

	// The page shows the move at once: the ticket left the unassigned queue.
	if strings.Contains(text(`#unassigned`), "Invoice shows wrong VAT") {
		t.Error("the moved ticket is still listed as unassigned")
	}

	// Help Scout saw the assignment and the note.
	var assigned bool
	for _, p := range fake.Patches() {
		assigned = assigned || (p.ConversationID == conv.ID && p.Path == "/assignTo" && p.StatusCode == http.StatusNoContent)
	}
	if !assigned {
		t.Errorf("the fake saw no assignment of %d: %+v", conv.ID, fake.Patches())
	}
	notes := fake.NotesReceived()
	if len(notes) != 1 || notes[0].ConversationID != conv.ID || !strings.Contains(notes[0].Text, "Assigned by queuewrangler") {
		t.Errorf("the fake saw notes %+v", notes)
	}

	// The phone layout, without sideways scrolling.
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(375, 812, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#team tbody`)), shot("phone-375.png"),
	); err != nil {
		t.Fatalf("phone layout: %v", err)
	}
	if sw, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.documentElement.scrollWidth`)); err != nil || sw > 375 {
		t.Errorf("page width on a 375 px phone: %v (%v)", sw, err)
	}
}
