package httpapi

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit/browser"
)

// TestPageInBrowser drives the page in Debian's headless Chromium: load,
// check that the decisions come first and the load colours, find the
// agents, log in, approve a proposal, see it applied in the
// recent moves, and check hostile Help Scout text in the live DOM, all with
// JavaScript turned off in the page. It saves
// a desktop and a phone screenshot to the test's artifact directory (kept
// with `go test -artifacts -outputdir DIR`).
//
// It runs only with QW_E2E=1, as it needs a browser and a few seconds
// (browser.Start).
func TestPageInBrowser(t *testing.T) {
	clock := newPageClock()
	w := withDecisions(newWorld(clock.Now))
	const hostile = `<script>alert(1)</script>`
	w.convs = append(w.convs, store.OpenConversation{ID: 2001, Number: 601, Status: store.StatusActive, Subject: hostile, CustomerID: 9100,
		CreatedAt: pageNow.Add(-time.Hour), CustomerWaitingSince: pageNow.Add(-time.Hour), LastMessageBy: store.ByCustomer})
	w.customers[2001] = `Mallory "><img src=x onerror=alert(1)>`
	// A pinned stuck ticket, which nothing is due to move on.
	w.convs = append(w.convs, store.OpenConversation{ID: 2002, Number: 602, Status: store.StatusActive, Subject: "Pinned and stuck", AssigneeID: 11, Pinned: true,
		CreatedAt: pageNow.Add(-9 * time.Hour), CustomerWaitingSince: pageNow.Add(-5 * time.Hour), LastMessageBy: store.ByCustomer})
	ts := httptest.NewServer(newPageServer(t, w, pageToken, clock))
	defer ts.Close()

	b := browser.Start(t, 60*time.Second)
	ctx, shot, text, eval, submitAndLoad := b.Ctx, b.Shot, b.Text, b.Eval, b.Submit

	// The page must work with JavaScript off: the whole run has it off.
	if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatalf("turn JavaScript off: %v", err)
	}

	// 1-2. Load the page and find the agents.
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#team tbody`)),
	); err != nil {
		t.Fatalf("load the page: %v", err)
	}
	team := text(`#team tbody`)
	for _, a := range w.agents {
		if !strings.Contains(team, a.Name) {
			t.Errorf("agent %q is not on the page", a.Name)
		}
	}

	// What needs a decision comes first: the pending proposals right after
	// the summary bar, the customer who has waited longest on top.
	if first := eval(`document.querySelector('#summary').nextElementSibling.id`); first != "proposals" {
		t.Errorf("the first section after the summary is %q, want proposals", first)
	}
	order := eval(`Array.from(document.querySelectorAll('#proposals li.proposal')).map(e => e.id).join(' ')`)
	if order != "proposal-9 proposal-7 proposal-8" {
		t.Errorf("pending proposals in the order %q, want the longest customer wait first: proposal-9 proposal-7 proposal-8", order)
	}
	// The stuck tickets that need someone are painted above those that
	// wait for their owner.
	if above := eval(`document.querySelector('#stuck-needs').getBoundingClientRect().bottom <= document.querySelector('#stuck-waits').getBoundingClientRect().top`); above != true {
		t.Error("Needs someone is not painted above Waits for its owner")
	}
	groups := eval(`['#stuck-needs', '#stuck-waits'].map(g => Array.from(document.querySelectorAll(g + ' td.next')).map(td => td.textContent).join(' | ')).join(' / ')`)
	// withDecisions adds Rita Red's #494, stuck for 26 hours with a move
	// waiting for approval: a second customer who waits for their owner.
	if want := "pinned (qw-pin): stays with Ana Front / proposal waiting for approval | proposal waiting for approval"; groups != want {
		t.Errorf("the stuck groups say %q, want %q", groups, want)
	}
	// The load colours as the browser paints them.
	for agent, want := range map[string]string{
		"agent-16": "rgb(217, 119, 6)",  // 136%: amber
		"agent-17": "rgb(200, 30, 30)",  // 160%: red
		"agent-12": "rgb(59, 111, 182)", // 39%: the plain bar
	} {
		if got := eval(`getComputedStyle(document.querySelector('#` + agent + ` .bar .fill')).backgroundColor`); got != want {
			t.Errorf("%s's load bar is %v, want %s", agent, got, want)
		}
	}

	// Hostile Help Scout text is text in the live DOM, not markup.
	if n := eval(`document.querySelectorAll('script, img, iframe').length`); n != float64(0) {
		t.Errorf("%v script/img/iframe elements in the DOM, want 0", n)
	}
	subject := eval(`Array.from(document.querySelectorAll('#unassigned td.subject')).map(e => e.textContent).find(s => s.includes('alert')) || ''`)
	if subject != hostile {
		t.Errorf("the hostile subject reads %q in the DOM, want the literal %q", subject, hostile)
	}
	customer := eval(`Array.from(document.querySelectorAll('#unassigned td')).map(e => e.textContent).find(s => s.includes('Mallory')) || ''`)
	if customer != w.customers[2001] {
		t.Errorf("the hostile customer reads %q in the DOM, want the literal %q", customer, w.customers[2001])
	}

	// 3. Log in through the form, folded behind its button until clicked.
	if visible := eval(`document.getElementById('login-token').checkVisibility()`); visible != false {
		t.Error("the login form is open before its button is clicked")
	}
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#login > summary`)),
		chromedp.WaitVisible(chromedp.ID(`login-token`)),
		chromedp.SendKeys(chromedp.ID(`login-token`), pageToken),
		chromedp.SendKeys(chromedp.ID(`login-who`), "E2E Wrangler"),
	); err != nil {
		t.Fatalf("fill the login form: %v", err)
	}
	if err := submitAndLoad(`form[action="/login"] button`); err != nil {
		t.Fatalf("log in: %v", err)
	}
	if flash := text(`#flash`); !strings.Contains(flash, "Logged in") {
		t.Errorf("after login the page says %q", flash)
	}

	// 4-5. Approve proposal 7 and see it applied in the recent moves.
	if err := submitAndLoad(`#proposal-7 button.approve`); err != nil {
		t.Fatalf("approve: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(`move-7`)), shot("desktop-1280.png")); err != nil {
		t.Fatalf("after approve: %v", err)
	}
	if outcome := text(`#move-7 .outcome`); outcome != "applied" {
		t.Errorf("proposal 7's outcome reads %q, want applied", outcome)
	}
	if flash := text(`#flash`); !strings.Contains(flash, "approved; now applied") {
		t.Errorf("flash after approve: %q", flash)
	}
	if url, err := chromedp.Run(ctx, chromedp.Location()); err != nil || strings.Contains(url, pageToken) {
		t.Errorf("location %q (%v): want one without the token", url, err)
	}
	want := []pageDecision{{ID: 7, Approve: true, By: "page: E2E Wrangler"}}
	if diff := cmp.Diff(want, w.Decisions()); diff != "" {
		t.Errorf("decisions (-want +got):\n%s", diff)
	}
	if n := eval(`document.querySelectorAll('#proposal-7').length`); n != float64(0) {
		t.Error("proposal 7 is still listed as pending")
	}

	// Plan now runs the balancer. The page before the click has a flash
	// too, so wait for the page the form's redirect loads.
	if err := submitAndLoad(`form[action="/plan"] button`); err != nil {
		t.Fatalf("plan now: %v", err)
	}
	if flash := text(`#flash`); flash != "Planned: nothing to move right now." {
		t.Errorf("flash after Plan now: %q", flash)
	}
	w.mu.Lock()
	plans := w.plans
	w.mu.Unlock()
	if plans != 1 {
		t.Errorf("the balancer ran %d times, want 1", plans)
	}

	// The phone layout: no sideways scrolling at 360 px, and each agent
	// in two lines.
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(360, 780, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(ts.URL+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#team tbody`)),
		shot("phone-360.png"),
	); err != nil {
		t.Fatalf("phone layout: %v", err)
	}
	if sw := eval(`document.documentElement.scrollWidth`); sw.(float64) > 360 {
		t.Errorf("the page is %v px wide on a 360 px phone; want no horizontal scrolling", sw)
	}
	// Two lines: no agent row is taller than about two and a half lines
	// of the body's line height.
	rows := eval(`(() => { const lh = parseFloat(getComputedStyle(document.body).lineHeight);
		return Array.from(document.querySelectorAll('#team tr.agent')).filter(r => r.getBoundingClientRect().height > 2.6 * lh).map(r => r.id + ":" + r.getBoundingClientRect().height + "/" + lh).join(' '); })()`)
	if rows != "" {
		t.Errorf("agents taller than two lines on a phone: %v", rows)
	}
}
