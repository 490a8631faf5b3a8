package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

// TestQueuePageApprovesThroughHelpScout is issue 7's browser run against
// the real daemon and the fake Help Scout: load the page, find the agents,
// log in, plan, approve the proposal, see it applied in the recent moves,
// and see the fake record the assignment and the note. Screenshots at
// desktop and phone width go to the test's artifact directory.
func TestQueuePageApprovesThroughHelpScout(t *testing.T) {
	browser := promRequireTool(t, "chromium", "chromium")
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

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(browser),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox, // the tests run as root in a container
		chromedp.DisableGPU,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-quic", true),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	defer cancelCtx()
	ctx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()

	dir := t.ArtifactDir()
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			png, err := chromedp.FullScreenshot(100)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dir, name), png, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return strings.TrimSpace(s)
	}
	submit := func(button string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.WaitEvent(cdppage.LoadEventFired, nil, chromedp.Click(chromedp.CSS(button)))); err != nil {
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
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.ID(`login-token`), token), chromedp.SendKeys(chromedp.ID(`login-who`), "Browser SST")); err != nil {
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
	if len(notes) != 1 || notes[0].ConversationID != conv.ID || !strings.Contains(notes[0].Text, "Reassigned by queuewrangler") {
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
	t.Logf("screenshots in %s", dir)
}
