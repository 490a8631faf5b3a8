package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// The store is what the daemon wires into the page.
var (
	_ PageQueue      = (*store.DB)(nil)
	_ CustomerNames  = (*store.DB)(nil)
	_ FirstResponses = (*store.DB)(nil)
)

func TestPageShowsTheQueue(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
	rec := pageGet(t, s, "/")
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", rec.Code, rec.Body)
	}
	body := rec.Body.String()
	tests := []struct {
		name string
		want []string
	}{
		{"agents with role, level and status", []string{
			">Ana Front<", "ST · L2", `<span class="status active">Active</span>`,
			">Walt Away<", `<span class="status away">Away</span>`,
			">Olga Night<", `<span class="status off-shift">Off shift</span> <span class="muted">back Wed 09:00 UTC</span>`,
			">Sam Senior<", "SST · L4",
		}},
		{"load against fair share as a bar", []string{
			// Ana: 11.5 of a scale of 11.5 (the team maximum), fair share 6.
			`<span class="fill w100"></span><span class="mark m52"></span>`,
			"11.5 / 6 (192%)", `class="agent over"`,
			"(no fair share)",
		}},
		{"pace, or that it is not known yet", []string{
			`<td data-label="Pace" class="num pace">1.8/h</td>`,
			`<td data-label="Pace" class="num pace"><span class="muted">not known</span></td>`,
		}},
		{"oldest wait, relative and absolute", []string{
			`<time datetime="2026-11-24T08:50:00Z" title="since 08:50 UTC">6h 10m</time>`,
		}},
		{"stuck ticket linked to Help Scout", []string{
			`<a href="https://secure.helpscout.net/conversation/1001/501"`, "Refund for order 77", "Carla Customer",
		}},
		{"unassigned queue, longest wait first", []string{
			`<a href="https://secure.helpscout.net/conversation/1003/503"`, "Erin Early",
			`<a href="https://secure.helpscout.net/conversation/1004/504"`, "finn@example.com",
		}},
		{"pending proposals with the explanation", []string{
			`id="proposal-7"`, "customer waiting 6h 10m", `<span class="badge reason">stuck</span>`,
			`id="proposal-8"`, `<span class="from">Unassigned</span>`,
		}},
		{"hand-outs and reassignments told apart", []string{
			`<span class="kind">reassignment</span> <span class="from">`,
			`<span class="kind">hand-out</span> <span class="from">Unassigned</span>`,
			"A hand-out gives a ticket nobody owned to someone; a reassignment takes a ticket from one person and gives it to another.",
			`<td data-label="Move"><span class="kind">reassignment</span> `,
		}},
		{"recent moves with outcomes", []string{
			`<span class="outcome applied">applied</span>`, `<span class="outcome stale">stale</span>`,
			`<span class="outcome failed">failed</span>`, `<span class="outcome rejected">rejected</span>`,
			"the assignee changed", "by page: Sam",
		}},
		{"team figures", []string{
			"<dt>Imbalance</dt><dd>1.40", "<dt>Jain's index</dt><dd>0.81", "<dt>Coefficient of variation</dt><dd>0.37",
			"p50 20m · p90 2h", "(5 first replies since 00:00 UTC)",
			"<dd>2 of 4 <span class=\"muted\">(STs and SSTs)</span></dd>", "<dd>22 / 12</dd>", "<dd>1 / 2</dd>",
		}},
		{"a login form with real labels and no token in any URL", []string{
			`<form method="post" action="/login"`, `<label for="login-token">Admin token</label>`,
			`<input id="login-token" name="token" type="password"`,
		}},
		{"the auto-refresh switch, off", []string{`<a href="/?refresh=on" id="refresh-toggle">`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	t.Run("no approve buttons before login", func(t *testing.T) {
		if strings.Contains(body, "/approve") || strings.Contains(body, `name="csrf"`) {
			t.Error("the page offers approve forms to a visitor who is not logged in")
		}
	})
	t.Run("pending unassigned tickets are not in the queue", func(t *testing.T) {
		if strings.Contains(body, "conversation/1005/505") {
			t.Error("a pending ticket is listed in the unassigned queue")
		}
	})
	t.Run("unassigned order", func(t *testing.T) {
		if strings.Index(body, "conversation/1003/503") > strings.Index(body, "conversation/1004/504") {
			t.Error("the longer wait (#503) is not listed first")
		}
	})
	t.Run("headers", func(t *testing.T) {
		h := rec.Result().Header
		for k, want := range map[string]string{
			"Content-Type":  "text/html; charset=utf-8",
			"Cache-Control": "no-store",
		} {
			if got := h.Get(k); got != want {
				t.Errorf("%s = %q, want %q", k, got, want)
			}
		}
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("Content-Security-Policy = %q, want a strict policy", csp)
		}
	})
}

func TestPageAutoRefresh(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
	tests := []struct {
		path      string
		wantMeta  bool
		wantLink  string
		wantLogin string
	}{
		{"/", false, `<a href="/?refresh=on" id="refresh-toggle">`, ""},
		{"/?refresh=on", true, `<a href="/" id="refresh-toggle">`, `<input type="hidden" name="refresh" value="on">`},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			body := pageGet(t, s, tt.path).Body.String()
			if got := strings.Contains(body, `<meta http-equiv="refresh" content="30">`); got != tt.wantMeta {
				t.Errorf("meta refresh present = %v, want %v", got, tt.wantMeta)
			}
			if !strings.Contains(body, tt.wantLink) {
				t.Errorf("page lacks the toggle %q", tt.wantLink)
			}
			if tt.wantLogin != "" && !strings.Contains(body, tt.wantLogin) {
				t.Errorf("the login form does not keep auto-refresh")
			}
		})
	}
}

func TestPageLogin(t *testing.T) {
	t.Parallel()
	t.Run("right token sets a strict session cookie", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
		rec := pagePost(t, s, "/login", url.Values{"token": {pageToken}, "who": {"Sam"}, "refresh": {"on"}})
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("status %d, want 303", rec.Code)
		}
		if got, want := rec.Header().Get("Location"), "/?refresh=on"; got != want {
			t.Errorf("Location = %q, want %q", got, want)
		}
		cookies := rec.Result().Cookies()
		if len(cookies) != 1 {
			t.Fatalf("got %d cookies, want 1", len(cookies))
		}
		c := cookies[0]
		if c.Name != sessionCookie || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
			t.Errorf("cookie %+v: want %s, HttpOnly, SameSite=Strict, Path=/, not Secure over plain HTTP", c, sessionCookie)
		}
		if strings.Contains(c.Value, pageToken) || len(c.Value) < 20 {
			t.Errorf("cookie value %q: want a random session id, never the token", c.Value)
		}
		if strings.Contains(rec.Header().Get("Location"), pageToken) {
			t.Error("the token is in the redirect URL")
		}
		body := pageGet(t, s, "/", &http.Cookie{Name: c.Name, Value: c.Value}).Body.String()
		for _, want := range []string{"Logged in as <strong>Sam</strong>", `action="/proposals/7/approve"`, `action="/proposals/8/reject"`, `action="/plan"`, "Logged in. You can approve"} {
			if !strings.Contains(body, want) {
				t.Errorf("page after login lacks %q", want)
			}
		}
	})
	for _, tt := range []struct {
		name       string
		tls        bool
		forwarded  string // X-Forwarded-Proto
		wantSecure bool
	}{
		{"over TLS the cookie is Secure", true, "", true},
		{"behind a TLS-terminating proxy the cookie is Secure", false, "https", true},
		{"over plain HTTP the cookie is not Secure", false, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
			req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {pageToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			if tt.forwarded != "" {
				req.Header.Set("X-Forwarded-Proto", tt.forwarded)
			}
			cookies := pageDo(t, s, req).Result().Cookies()
			if len(cookies) != 1 || cookies[0].Secure != tt.wantSecure {
				t.Errorf("cookies %+v: want one with Secure %v", cookies, tt.wantSecure)
			}
		})
	}
	t.Run("wrong token: 401 and no session", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
		for _, token := range []string{"", "wrong", pageToken + "x", strings.ToUpper(pageToken)} {
			rec := pagePost(t, s, "/login", url.Values{"token": {token}})
			if rec.Code != http.StatusUnauthorized {
				t.Errorf("token %q: status %d, want 401", token, rec.Code)
			}
			if c := rec.Result().Cookies(); len(c) != 0 {
				t.Errorf("token %q: cookies %v, want none", token, c)
			}
			if !strings.Contains(rec.Body.String(), "That is not the admin token.") {
				t.Errorf("token %q: the page does not say why", token)
			}
		}
	})
	t.Run("a made-up session id is no session", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
		body := pageGet(t, s, "/", &http.Cookie{Name: sessionCookie, Value: "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}).Body.String()
		if strings.Contains(body, `name="csrf"`) {
			t.Error("an unknown session id got forms")
		}
	})
	t.Run("sessions expire", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
		cookie, csrf := pageLogin(t, s)
		clock.Advance(12*time.Hour + time.Second)
		rec := pagePost(t, s, "/proposals/7/approve", url.Values{"csrf": {csrf}}, cookie)
		if rec.Code != http.StatusForbidden {
			t.Errorf("status %d, want 403 after expiry", rec.Code)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		w := newWorld(clock.Now)
		s := newPageServer(t, w, pageToken, clock)
		cookie, csrf := pageLogin(t, s)
		rec := pagePost(t, s, "/logout", url.Values{"csrf": {csrf}}, cookie)
		if rec.Code != http.StatusSeeOther {
			t.Fatalf("logout: status %d, want 303", rec.Code)
		}
		if c := rec.Result().Cookies(); len(c) != 1 || c[0].MaxAge >= 0 {
			t.Errorf("logout cookies %+v, want the session cookie cleared", c)
		}
		rec = pagePost(t, s, "/proposals/7/approve", url.Values{"csrf": {csrf}}, cookie)
		if rec.Code != http.StatusForbidden {
			t.Errorf("approve after logout: status %d, want 403", rec.Code)
		}
		if d := w.Decisions(); len(d) != 0 {
			t.Errorf("decisions after logout: %v", d)
		}
	})
}

func TestPageForgedRequests(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	s := newPageServer(t, w, pageToken, clock)
	mine, _ := pageLogin(t, s)
	_, theirs := pageLogin(t, s)
	tests := []struct {
		name    string
		path    string
		form    url.Values
		cookies []*http.Cookie
		header  map[string]string
	}{
		{"approve without a session", "/proposals/7/approve", url.Values{}, nil, nil},
		{"approve without the token", "/proposals/7/approve", url.Values{}, []*http.Cookie{mine}, nil},
		{"approve with an empty token", "/proposals/7/approve", url.Values{"csrf": {""}}, []*http.Cookie{mine}, nil},
		{"approve with another session's token", "/proposals/7/approve", url.Values{"csrf": {theirs}}, []*http.Cookie{mine}, nil},
		{"reject with another session's token", "/proposals/7/reject", url.Values{"csrf": {theirs}}, []*http.Cookie{mine}, nil},
		{"plan with another session's token", "/plan", url.Values{"csrf": {theirs}}, []*http.Cookie{mine}, nil},
		{"logout without the token", "/logout", url.Values{}, []*http.Cookie{mine}, nil},
		{"token in the query string only", "/proposals/7/approve?csrf=" + theirs, url.Values{}, []*http.Cookie{mine}, nil},
		{"cross-site browser post", "/proposals/7/approve", url.Values{"csrf": {theirs}}, []*http.Cookie{mine},
			map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, tt.path, strings.NewReader(tt.form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			for _, c := range tt.cookies {
				req.AddCookie(c)
			}
			rec := pageDo(t, s, req)
			if rec.Code != http.StatusForbidden {
				t.Errorf("status %d, want 403", rec.Code)
			}
		})
	}
	if d := w.Decisions(); len(d) != 0 {
		t.Errorf("the decider was called: %v", d)
	}
	if w.plans != 0 {
		t.Errorf("the balancer ran %d times", w.plans)
	}
	// The session survived every forged logout.
	if body := pageGet(t, s, "/", mine).Body.String(); !strings.Contains(body, "Logged in as") {
		t.Error("a forged logout ended the session")
	}
}

func TestPageDecisions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name         string
		path         string
		wantDecision []pageDecision
		wantPlans    int
		wantLocation string
		wantFlash    string
		wantStatus   string // in recent moves afterwards
	}{
		{"approve", "/proposals/7/approve", []pageDecision{{ID: 7, Approve: true, By: "page: Sam"}}, 0, "/#moves",
			"Proposal 7 (ticket #501) approved; now applied.", `<tr class="move-row" id="move-7">`},
		{"reject", "/proposals/8/reject", []pageDecision{{ID: 8, Approve: false, By: "page: Sam"}}, 0, "/#moves",
			"Proposal 8 (ticket #503) rejected.", `<span class="outcome rejected">rejected</span> <span class="muted">by page: Sam</span>`},
		{"no longer pending", "/proposals/1/approve", []pageDecision{{ID: 1, Approve: true, By: "page: Sam"}}, 0, "/#moves",
			"Proposal 1 is no longer pending: someone or something decided it first.", ""},
		// A stale one says why (the rebalancer's "expired: nobody approved it in time" too).
		{"stale", "/proposals/2/approve", []pageDecision{{ID: 2, Approve: true, By: "page: Sam"}}, 0, "/#moves",
			"Proposal 2 is no longer pending: the assignee changed.", ""},
		{"no such proposal", "/proposals/999/reject", []pageDecision{{ID: 999, Approve: false, By: "page: Sam"}}, 0, "/#moves",
			"Proposal 999 does not exist.", ""},
		{"plan now", "/plan", nil, 1, "/#proposals", "Planned: nothing to move right now.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			s := newPageServer(t, w, pageToken, clock)
			cookie, csrf := pageLogin(t, s)
			rec := pagePost(t, s, tt.path, url.Values{"csrf": {csrf}}, cookie)
			if rec.Code != http.StatusSeeOther {
				t.Fatalf("status %d, want 303; body %s", rec.Code, rec.Body)
			}
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if diff := cmp.Diff(tt.wantDecision, w.Decisions()); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if w.plans != tt.wantPlans {
				t.Errorf("plans = %d, want %d", w.plans, tt.wantPlans)
			}
			body := pageGet(t, s, "/", cookie).Body.String()
			if !strings.Contains(body, tt.wantFlash) {
				t.Errorf("page lacks the flash %q", tt.wantFlash)
			}
			if tt.wantStatus != "" && !strings.Contains(body, tt.wantStatus) {
				t.Errorf("recent moves lack %q", tt.wantStatus)
			}
			// The flash is shown once.
			if again := pageGet(t, s, "/", cookie).Body.String(); strings.Contains(again, tt.wantFlash) {
				t.Error("the flash message is shown twice")
			}
		})
	}
}

// TestPageApprovalWhileOff: under QW_MODE=off approving a pending
// proposal records the decision and the move waits; the flash says so in
// the words of the move's row, so the SST is not left expecting a move.
func TestPageApprovalWhileOff(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	w.off = true
	s := New(Options{Now: clock.Now})
	s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour, Mode: "off"})
	cookie, csrf := pageLogin(t, s)
	if rec := pagePost(t, s, "/proposals/7/approve", url.Values{"csrf": {csrf}}, cookie); rec.Code != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body %s", rec.Code, rec.Body)
	}
	body := pageGet(t, s, "/", cookie).Body.String()
	if want := "Proposal 7 (ticket #501) approved. " + approvedWaitWhileOff + "."; !strings.Contains(body, want) {
		t.Errorf("page lacks the flash %q", want)
	}
	if want := `<span class="outcome approved">approved</span> <span class="muted">by page: Sam</span><br><span class="muted waits">` + approvedWaitWhileOff; !strings.Contains(body, want) {
		t.Errorf("the approved move's row lacks %q", want)
	}
}

func TestPageReadOnly(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	s := newPageServer(t, w, "", clock)
	rec := pageGet(t, s, "/")
	body := rec.Body.String()
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d, want 200", rec.Code)
	}
	if !strings.Contains(body, "<strong>Read-only.</strong> No admin token is configured") {
		t.Error("the page does not say it is read-only")
	}
	if strings.Contains(body, "<form") || strings.Contains(body, "<button") || strings.Contains(body, "<input") {
		t.Error("a read-only page has forms")
	}
	if !strings.Contains(body, `id="proposal-7"`) {
		t.Error("a read-only page still lists the proposals")
	}
	for _, path := range []string{"/login", "/proposals/7/approve", "/proposals/7/reject", "/plan", "/logout"} {
		t.Run(path, func(t *testing.T) {
			rec := pagePost(t, s, path, url.Values{"token": {""}, "csrf": {""}})
			if rec.Code != http.StatusForbidden {
				t.Errorf("POST %s: status %d, want 403", path, rec.Code)
			}
			if len(rec.Result().Cookies()) != 0 {
				t.Errorf("POST %s set a cookie", path)
			}
		})
	}
	if d := w.Decisions(); len(d) != 0 {
		t.Errorf("decisions in read-only mode: %v", d)
	}
	if got := pageGet(t, s, "/login"); got.Code != http.StatusSeeOther {
		t.Errorf("GET /login: status %d, want 303 to the page", got.Code)
	}
}

// Issue 17, row 7: the page answers wrong tokens 429 past the limit, but
// the right token always logs in, also from the guesser's address (behind
// a reverse proxy every browser has the proxy's).
func TestPageLoginNeverLocksOutTheRightToken(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	s := newPageServer(t, newWorld(clock.Now), pageToken, clock)
	try := func(addr, forwardedFor, token string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {token}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", forwardedFor)
		req.RemoteAddr = addr
		return pageDo(t, s, req)
	}
	const proxy = "10.0.0.2:5555"
	for i := range 5 {
		if rec := try(proxy, "203.0.113.9", "guess"); rec.Code != http.StatusUnauthorized {
			t.Fatalf("failure %d: status %d, want 401", i+1, rec.Code)
		}
	}
	rec := try(proxy, "203.0.113.9", "guess")
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("sixth wrong token: status %d, want 429", rec.Code)
	}
	if ra := rec.Header().Get("Retry-After"); ra != "60" {
		t.Errorf("Retry-After = %q, want 60", ra)
	}
	if len(rec.Result().Cookies()) != 0 {
		t.Error("a refused login set a cookie")
	}
	rec = try(proxy, "198.51.100.7", pageToken)
	if rec.Code != http.StatusSeeOther || len(rec.Result().Cookies()) == 0 {
		t.Errorf("the SST behind the same proxy with the right token: status %d, want 303 and a session", rec.Code)
	}
	// Failures age out of the one-minute window.
	clock.Advance(61 * time.Second)
	if rec := try(proxy, "203.0.113.9", "guess"); rec.Code != http.StatusUnauthorized {
		t.Errorf("a wrong token after a minute: status %d, want 401", rec.Code)
	}
}

func TestPageReadErrors(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	w.failReads = true
	s := newPageServer(t, w, pageToken, clock)
	rec := pageGet(t, s, "/")
	if rec.Code != http.StatusInternalServerError {
		t.Errorf("status %d, want 500", rec.Code)
	}
	body := rec.Body.String()
	if !strings.Contains(body, "Could not read the team; the daemon log has the detail.") {
		t.Error("the page does not say what failed")
	}
	if strings.Contains(body, "disk on fire") {
		t.Error("the page leaks the internal error")
	}
	if !strings.Contains(body, "conversation/1001/501") {
		t.Error("the sections that could be read are missing")
	}
}

// TestPageEscapesHelpScoutText feeds hostile text into every field that
// comes from Help Scout and checks the raw HTML: the payloads appear only
// escaped, and the document has no element but the page's own.
func TestPageEscapesHelpScoutText(t *testing.T) {
	t.Parallel()
	const (
		subject  = `<script>alert(1)</script>`
		customer = `Mallory "><img src=x onerror=alert(1)>`
		agent    = `Eve <b onmouseover=alert(2)>Agent</b>`
		note     = `moved </p><iframe src=javascript:alert(3)></iframe>`
	)
	clock := newPageClock()
	w := newWorld(clock.Now)
	w.convs = append(w.convs, store.OpenConversation{ID: 2001, Number: 601, Status: store.StatusActive, Subject: subject, CustomerID: 9100,
		CreatedAt: pageNow.Add(-time.Hour), CustomerWaitingSince: pageNow.Add(-time.Hour), LastMessageBy: store.ByCustomer})
	w.customers[2001] = customer
	w.agents = append(w.agents, team.Agent{ID: 15, Name: agent, Role: "st", Level: 1, Status: `away"><script>x</script>`, Available: true, Load: 1, FairShare: 1})
	w.proposals = append(w.proposals, store.Proposal{ID: 20, ConversationID: 2001, ConversationNumber: 601, ToAgent: 15,
		Reason: `<svg onload=alert(4)>`, Explanation: note, Status: store.ProposalPending, CreatedAt: pageNow},
		store.Proposal{ID: 21, ConversationID: 2001, ConversationNumber: 601, FromAgent: 15, ToAgent: 11,
			Reason: "overload", Explanation: note, Status: store.ProposalFailed, Error: customer, DecidedBy: "page: " + agent, UpdatedAt: pageNow})
	s := newPageServer(t, w, pageToken, clock)
	cookie, _ := pageLogin(t, s)
	for _, tc := range []struct {
		name    string
		cookies []*http.Cookie
	}{{"visitor", nil}, {"logged in", []*http.Cookie{cookie}}} {
		t.Run(tc.name, func(t *testing.T) {
			body := pageGet(t, s, "/", tc.cookies...).Body.String()
			for _, want := range []string{
				`&lt;script&gt;alert(1)&lt;/script&gt;`,
				`Mallory &#34;&gt;&lt;img src=x onerror=alert(1)&gt;`,
				`Eve &lt;b onmouseover=alert(2)&gt;Agent&lt;/b&gt;`,
				`moved &lt;/p&gt;&lt;iframe src=javascript:alert(3)&gt;&lt;/iframe&gt;`,
				`&lt;svg onload=alert(4)&gt;`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks the escaped text %q", want)
				}
			}
			if got := tagNames(body); !isSubset(got, pageTags) {
				t.Errorf("elements outside the page's own: %v", difference(got, pageTags))
			}
			for _, bad := range []string{"<script", "<img", "<iframe", "<svg", "<b "} {
				if strings.Contains(strings.ToLower(body), bad) {
					t.Errorf("raw %q in the page", bad)
				}
			}
			// Attribute values: no payload broke out of a quoted attribute.
			if m := regexp.MustCompile(`\son[a-z]+=`).FindString(stripText(body)); m != "" {
				t.Errorf("an event handler attribute %q in the markup", m)
			}
		})
	}
}

// pageTags are the elements page.html itself writes.
var pageTags = []string{
	"a", "body", "br", "button", "code", "dd", "details", "div", "dl", "dt", "footer", "form", "h1", "h2", "head", "header", "html",
	"h3", "input", "label", "li", "link", "main", "meta", "nav", "p", "section", "span", "strong", "summary", "table", "tbody", "td", "th",
	"thead", "time", "title", "tr", "ul",
}

var tagRE = regexp.MustCompile(`<([a-zA-Z][a-zA-Z0-9-]*)`)

// tagNames lists the distinct element names opened in raw HTML. Escaped
// text (&lt;) never matches, so a payload that survived unescaped shows up
// as an unexpected name.
func tagNames(html string) []string {
	var names []string
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		n := strings.ToLower(m[1])
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

// stripText keeps only the markup of html: the text between tags and the
// quoted attribute values are dropped, so that what is left are tag and
// attribute names. (html/template quotes every attribute value it writes.)
func stripText(html string) string {
	var b strings.Builder
	inTag, inQuote := false, false
	for _, r := range html {
		switch {
		case inQuote:
			if r == '"' {
				inQuote = false
				b.WriteRune(r)
			}
		case inTag && r == '"':
			inQuote = true
			b.WriteRune(r)
		case r == '<':
			inTag = true
			b.WriteRune(r)
		case r == '>':
			inTag = false
			b.WriteRune(r)
		case inTag:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func isSubset(got, allowed []string) bool { return len(difference(got, allowed)) == 0 }

func difference(got, allowed []string) []string {
	var out []string
	for _, g := range got {
		if !slices.Contains(allowed, g) {
			out = append(out, g)
		}
	}
	return out
}

func TestRelDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   time.Duration
		want string
	}{
		{-time.Second, "0s"},
		{0, "0s"},
		{59 * time.Second, "59s"},
		{time.Minute, "1m"},
		{59*time.Minute + 59*time.Second, "59m"},
		{time.Hour, "1h"},
		{6*time.Hour + 10*time.Minute, "6h 10m"},
		{24 * time.Hour, "1d"},
		{50 * time.Hour, "2d 2h"},
	}
	for _, tt := range tests {
		t.Run(tt.in.String(), func(t *testing.T) {
			if got := relDuration(tt.in); got != tt.want {
				t.Errorf("relDuration(%v) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestAbsTime(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	tests := []struct {
		name string
		t    time.Time
		loc  *time.Location
		want timeView
	}{
		{"zero", time.Time{}, time.UTC, timeView{}},
		{"just now", pageNow.Add(-10 * time.Second), time.UTC, timeView{Set: true, ISO: "2026-11-24T14:59:50Z", Rel: "under a minute", Abs: "14:59 UTC"}},
		{"today", pageNow.Add(-90 * time.Minute), time.UTC, timeView{Set: true, ISO: "2026-11-24T13:30:00Z", Rel: "1h 30m", Abs: "13:30 UTC"}},
		{"yesterday", pageNow.Add(-20 * time.Hour), time.UTC, timeView{Set: true, ISO: "2026-11-23T19:00:00Z", Rel: "20h", Abs: "Nov 23 19:00 UTC"}},
		{"last year", time.Date(2025, 12, 31, 23, 0, 0, 0, time.UTC), time.UTC, timeView{Set: true, ISO: "2025-12-31T23:00:00Z", Rel: "327d 16h", Abs: "Dec 31 2025 23:00 UTC"}},
		{"in the page's zone", pageNow.Add(-time.Hour), berlin, timeView{Set: true, ISO: "2026-11-24T14:00:00Z", Rel: "1h", Abs: "15:00 CET"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, absTime(tt.t, pageNow, tt.loc)); diff != "" {
				t.Errorf("absTime (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPageTimesInTheTeamsZone: "first response today" starts at the
// team's midnight and the absolute times are the team's clock; without a
// zone they are UTC's, and the page says why.
func TestPageTimesInTheTeamsZone(t *testing.T) {
	t.Parallel()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skipf("no tz database: %v", err)
	}
	now := time.Date(2026, 11, 24, 23, 30, 0, 0, time.UTC) // already the 25th in Berlin
	tests := []struct {
		name      string
		loc       *time.Location
		wantSince time.Time
		want      []string
	}{
		{"the team's zone", berlin, time.Date(2026, 11, 25, 0, 0, 0, 0, berlin), []string{"Times in Europe/Berlin", "00:30 CET"}},
		{"no zone", nil, time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC), []string{"Times in UTC (<code>QW_OFFICE_HOURS</code> sets the team's zone)", "23:30 UTC"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := testkit.NewClock(now)
			w := newWorld(clock.Now)
			s := New(Options{Now: clock.Now})
			s.EnablePage(PageOptions{Team: w, Queue: w, FirstResponses: w, Location: tt.loc})
			body := pageGet(t, s, "/").Body.String()
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			w.mu.Lock()
			since := w.frtSince
			w.mu.Unlock()
			if !since.Equal(tt.wantSince) {
				t.Errorf("first responses asked since %v, want %v", since, tt.wantSince)
			}
		})
	}
}

func TestPageListsAreCapped(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	for i := range 250 {
		id := int64(5000 + i)
		w.convs = append(w.convs, store.OpenConversation{ID: id, Number: id, Status: store.StatusActive, Subject: "bulk",
			CreatedAt: pageNow.Add(-time.Duration(i) * time.Minute), CustomerWaitingSince: pageNow.Add(-time.Duration(i) * time.Minute),
			LastMessageBy: store.ByCustomer})
	}
	s := newPageServer(t, w, pageToken, clock)
	body := pageGet(t, s, "/").Body.String()
	want := `Showing the 200 longest waits of 252. The full list: <a href="/api/v1/conversations?state=unassigned">`
	if !strings.Contains(body, want) {
		t.Errorf("page lacks %q", want)
	}
	// The longest wait is shown; the shortest is cut.
	if !strings.Contains(body, "conversation/5249/5249") || strings.Contains(body, "conversation/5000/5000\"") {
		t.Error("the cap kept the wrong tickets")
	}
}

// TestPageBesideAPI serves the page and the JSON API from one server, as
// the daemon does: their routes must not collide.
func TestPageBesideAPI(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	s := New(Options{Now: clock.Now})
	s.EnableAPI(APIOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})
	s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour})
	tests := []struct {
		method, path string
		want         int
		wantType     string
	}{
		{http.MethodGet, "/", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodGet, "/static/page.css", http.StatusOK, "text/css; charset=utf-8"},
		{http.MethodGet, "/login", http.StatusOK, "text/html; charset=utf-8"},
		{http.MethodGet, "/api/v1/agents", http.StatusOK, "application/json"},
		{http.MethodPost, "/api/v1/proposals/7/approve", http.StatusUnauthorized, "application/json"},
		{http.MethodGet, "/nope", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := pageDo(t, s, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.want {
				t.Errorf("status %d, want %d", rec.Code, tt.want)
			}
			if got := rec.Header().Get("Content-Type"); tt.wantType != "" && got != tt.wantType {
				t.Errorf("Content-Type %q, want %q", got, tt.wantType)
			}
		})
	}
	t.Run("without customer names or first responses", func(t *testing.T) {
		body := pageGet(t, s, "/").Body.String()
		for _, want := range []string{"customer 9003", "<dd><span class=\"muted\">not available</span></dd>"} {
			if !strings.Contains(body, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})
	t.Run("a CSS class for every bar width", func(t *testing.T) {
		css := pageGet(t, s, "/static/page.css").Body.String()
		for _, want := range []string{".w0{width:0%}", ".w100{width:100%}", ".m52{left:52%}"} {
			if !strings.Contains(css, want) {
				t.Errorf("stylesheet lacks %q", want)
			}
		}
	})
}

func TestEnablePageNeedsItsParts(t *testing.T) {
	t.Parallel()
	w := newWorld(newPageClock().Now)
	tests := []struct {
		name string
		o    PageOptions
	}{
		{"no team", PageOptions{Queue: w}},
		{"no queue", PageOptions{Team: w}},
		{"a token but no decider", PageOptions{Team: w, Queue: w, AdminToken: "x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("EnablePage did not panic")
				}
			}()
			New(Options{}).EnablePage(tt.o)
		})
	}
	// Read-only needs no decider.
	New(Options{}).EnablePage(PageOptions{Team: w, Queue: w})
}

// Issue 17, row 13: the page never shows a wait longer than the
// conversation's age, whatever wait start the mirror holds.
func TestPageWaitIsNeverLongerThanTheConversation(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	for i := range w.convs {
		if w.convs[i].ID == 1003 { // unassigned, created 3 h ago
			w.convs[i].CustomerWaitingSince = time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)
		}
	}
	s := newPageServer(t, w, pageToken, clock)
	body := pageGet(t, s, "/").Body.String()
	created := pageNow.Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	if strings.Contains(body, "0001-01-01") || strings.Contains(body, "106751d") {
		t.Errorf("the page shows the year-1 wait start")
	}
	// In the unassigned queue: the pending proposal for #503 shows the
	// wait its snapshot recorded, which is also 3 h.
	queue := body[strings.Index(body, `<section id="unassigned"`):strings.Index(body, `<section id="team"`)]
	if n := strings.Count(queue, created); n != 1 {
		t.Errorf("%s appears %d times in the unassigned queue, want once: #503 waiting since its creation", created, n)
	}
}

// withDecisions adds what the day-one page must put in order: a third
// pending proposal whose customer waits longest but which was proposed
// last, and two agents just above the amber and the red line.
func withDecisions(w *fakeWorld) *fakeWorld {
	w.agents = append(w.agents,
		team.Agent{ID: 16, Name: "Abe Amber", Role: "st", Level: 2, Status: "active", Available: true, Open: 9, Waiting: 6, Load: 6.8, Capacity: 1, FairShare: 5, LoadRatio: 1.36},
		team.Agent{ID: 17, Name: "Rita Red", Role: "st", Level: 2, Status: "active", Available: true, Open: 10, Waiting: 8, Load: 8, Capacity: 1, FairShare: 5, LoadRatio: 1.6},
	)
	w.proposals = append(w.proposals, store.Proposal{ID: 9, CreatedAt: pageNow.Add(-time.Minute), ConversationID: 994, ConversationNumber: 494,
		FromAgent: 17, ToAgent: 12, Reason: "overload", Explanation: "Reassigned by queuewrangler from Rita Red to Sam Senior: customer waiting 1d 2h",
		Status: store.ProposalPending, Snapshot: store.ProposalSnapshot{AssigneeID: 17, Status: store.StatusActive, CustomerWaitingSince: pageNow.Add(-26 * time.Hour)}})
	// The page reads the customer's wait now from the ticket itself.
	w.convs = append(w.convs, store.OpenConversation{ID: 994, Number: 494, Status: store.StatusActive, Subject: "Export stuck at 99%", AssigneeID: 17, CustomerID: 9006,
		CreatedAt: pageNow.Add(-30 * time.Hour), CustomerWaitingSince: pageNow.Add(-26 * time.Hour), LastMessageBy: store.ByCustomer})
	return w
}

func TestPagePutsDecisionsFirst(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	s := newPageServer(t, withDecisions(newWorld(clock.Now)), pageToken, clock)
	body := pageGet(t, s, "/").Body.String()

	t.Run("sections in the order of what needs a decision", func(t *testing.T) {
		var got []string
		for _, m := range regexp.MustCompile(`<(?:nav|section) id="([a-z]+)"`).FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		want := []string{"summary", "proposals", "stuck", "unassigned", "team", "moves"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sections (-want +got):\n%s", diff)
		}
	})
	t.Run("pending proposals, the longest customer wait first", func(t *testing.T) {
		var got []string
		for _, m := range regexp.MustCompile(`<li class="proposal" id="(proposal-\d+)"`).FindAllStringSubmatch(body, -1) {
			got = append(got, m[1])
		}
		want := []string{"proposal-9", "proposal-7", "proposal-8"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("pending order (-want +got):\n%s", diff)
		}
	})
	for _, tt := range []struct {
		name string
		want []string
	}{
		{"a summary bar with jump links and counts", []string{
			`<a href="#proposals" class="act">Pending proposals <span class="count">3</span></a>`,
			// Both stuck tickets have a proposal waiting: nothing for
			// the bar to call for.
			`<a href="#stuck">Stuck <span class="count">2</span></a>`,
			`<a href="#unassigned">Unassigned <span class="count">2</span></a>`,
			`<a href="#team">Team <span class="count">4/6</span>`,
		}},
		{"each proposal says how long its customer has waited", []string{
			`Customer waiting now <time class="wait" datetime="2026-11-23T13:00:00Z" title="since Nov 23 13:00 UTC">1d 2h</time>`,
		}},
		{"load coloured by fair share", []string{
			`<tr class="agent high" id="agent-16">`, "6.8 / 5 (136%) <strong class=\"overtext\">high</strong>",
			`<tr class="agent over" id="agent-17">`, "8 / 5 (160%) <strong class=\"overtext\">over</strong>",
			`<tr class="agent" id="agent-12">`,
		}},
		{"a legend for load", []string{
			"Load counts open tickets: 1 when the customer waits on us, 0.25 when pending or we replied last.",
		}},
		{"recent moves say why", []string{
			`<td data-label="Why" class="why"><span class="badge reason">away</span> stale one</td>`,
		}},
		{"the login form folds into a button", []string{
			`<details class="login" id="login">`, `<summary>Log in to approve moves</summary>`,
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, w := range tt.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
		})
	}
	t.Run("the unassigned queue has no owner column", func(t *testing.T) {
		i, j := strings.Index(body, `<section id="unassigned"`), strings.Index(body, `<section id="team"`)
		if i < 0 || j < i {
			t.Fatal("no unassigned section before the team")
		}
		if sec := body[i:j]; strings.Contains(sec, "Owner") {
			t.Errorf("the unassigned queue still has an Owner column:\n%s", sec)
		}
		if sec := body[strings.Index(body, `<section id="stuck"`):i]; !strings.Contains(sec, `<td data-label="Owner">Ana Front</td>`) {
			t.Error("the stuck list lost its owner")
		}
	})
}

func TestLoadLevel(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		ratio float64
		want  string
	}{{0.86, ""}, {1.1, ""}, {1.11, "high"}, {1.36, "high"}, {1.5, "high"}, {1.51, "over"}, {1.6, "over"}} {
		if got := loadLevel(tt.ratio); got != tt.want {
			t.Errorf("loadLevel(%v) = %q, want %q", tt.ratio, got, tt.want)
		}
	}
}

type noticesFunc func() []string

func (f noticesFunc) Notices(context.Context) ([]string, error) { return f(), nil }

func TestPageShowsSetupNotices(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	s := New(Options{Now: clock.Now})
	s.EnablePage(PageOptions{Team: w, Queue: w, Notices: noticesFunc(func() []string {
		return []string{"The roster's agents[0] (sam@acme.exmaple) matches no Help Scout user, so nobody gets its role and level: check its id or email (QW_ROSTER_FILE)."}
	})})
	body := pageGet(t, s, "/").Body.String()
	want := `<p class="banner notice" role="status">The roster&#39;s agents[0] (sam@acme.exmaple) matches no Help Scout user`
	if !strings.Contains(body, want) {
		t.Errorf("page lacks the notice %q", want)
	}
	if i, j := strings.Index(body, want), strings.Index(body, `<nav id="summary"`); i > j {
		t.Error("the notice is below the summary bar, not at the top")
	}
}

type failingNotices struct{}

func (failingNotices) Notices(context.Context) ([]string, error) {
	return nil, errors.New("store closed")
}

// JoinNotices lists every source's notices in order, skips nil ones, and
// keeps the others' notices when one source fails.
func TestJoinNotices(t *testing.T) {
	t.Parallel()
	one := noticesFunc(func() []string { return []string{"roster: a"} })
	two := noticesFunc(func() []string { return []string{"routing: b", "routing: c"} })
	got, err := JoinNotices(one, nil, failingNotices{}, two).Notices(context.Background())
	if want := []string{"roster: a", "routing: b", "routing: c"}; !slices.Equal(got, want) {
		t.Errorf("notices = %q, want %q", got, want)
	}
	if err == nil || !strings.Contains(err.Error(), "store closed") {
		t.Errorf("error = %v, want the failing source's", err)
	}
}

// TestPagePlanNowSaysWhatItDoes: in apply mode "Plan now" makes moves, so
// the button and the answer must say so rather than speak of proposals
// (review finding 1); in off mode there is nothing to run.
func TestPagePlanNowSaysWhatItDoes(t *testing.T) {
	t.Parallel()
	moved := func(status store.ProposalStatus, ids ...int64) []store.Proposal {
		var ps []store.Proposal
		for _, id := range ids {
			ps = append(ps, store.Proposal{ID: id, ConversationID: 2000 + id, ConversationNumber: 600 + id, ToAgent: 12, Reason: "unassigned", Status: status})
		}
		return ps
	}
	tests := []struct {
		name         string
		mode         string
		planned      []store.Proposal
		wantButton   string // "" when no Plan now form is offered
		wantFlash    string
		wantLocation string
	}{
		{"apply mode applies", "apply", moved(store.ProposalApplied, 20, 21),
			"Runs the balancer and <strong>makes its moves at once</strong> (apply mode)", "Planned: 2 moves applied.", "/#moves"},
		{"apply mode, mixed outcomes", "apply", append(moved(store.ProposalApplied, 20), append(moved(store.ProposalStale, 21), moved(store.ProposalFailed, 22, 23)...)...),
			"makes its moves at once", "Planned: 1 move applied, 1 move skipped as stale, 2 moves failed.", "/#moves"},
		{"propose mode lists", "propose", moved(store.ProposalPending, 20, 21),
			"Runs the balancer and lists what it would move, for approval here.", "Planned: 2 proposals waiting for approval.", "/#proposals"},
		{"empty mode is propose", "", moved(store.ProposalPending, 20),
			"lists what it would move", "Planned: 1 proposal waiting for approval.", "/#proposals"},
		{"nothing to move", "apply", nil, "makes its moves at once", "Planned: nothing to move right now.", "/#proposals"},
		{"off mode offers no plan", "off", nil, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			w.planned = tt.planned
			s := New(Options{Now: clock.Now})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour, Mode: tt.mode})
			cookie, csrf := pageLogin(t, s)
			body := pageGet(t, s, "/", cookie).Body.String()
			if tt.wantButton == "" {
				if strings.Contains(body, `action="/plan"`) {
					t.Fatal("off mode offers Plan now")
				}
				if !strings.Contains(body, "The balancer is off (<code>QW_MODE=off</code>)") {
					t.Error("off mode does not say why there is no Plan now")
				}
				return
			}
			if !strings.Contains(body, tt.wantButton) {
				t.Errorf("Plan now is not explained as %q", tt.wantButton)
			}
			rec := pagePost(t, s, "/plan", url.Values{"csrf": {csrf}}, cookie)
			if got := rec.Header().Get("Location"); got != tt.wantLocation {
				t.Errorf("Location = %q, want %q", got, tt.wantLocation)
			}
			if body := pageGet(t, s, "/", cookie).Body.String(); !strings.Contains(body, tt.wantFlash) {
				t.Errorf("page lacks the flash %q", tt.wantFlash)
			}
		})
	}
}

// TestPageSaysWhatHappensToStuckTickets: a ticket is stuck by the
// customer's wait alone, but queuewrangler leaves many of them where they
// are; each row says what happens next, so that an SST can tell whether
// to act (review finding 3), and the list puts first, as "Needs someone",
// the tickets nothing is due to move on, apart from those that wait for a
// known return, a proposal or the balancer.
func TestPageSaysWhatHappensToStuckTickets(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	t0 := clock.Now()
	w := newWorld(clock.Now)
	w.agents = append(w.agents,
		team.Agent{ID: 15, Name: "Hana Head", Role: "hos", Level: 5, Status: "active", Available: true},
		team.Agent{ID: 16, Name: "Xavi Other", Role: "exclude", Level: 2, Status: "active", Available: true},
		team.Agent{ID: 17, Name: "Omar Late", Role: "st", Level: 2, Status: "off-shift"},
		team.Agent{ID: 18, Name: "Uma Busy", Role: "st", Level: 2, Status: "busy"})
	stuckFor := func(id, owner int64, pinned bool) store.OpenConversation {
		return store.OpenConversation{ID: id, Number: id - 500, Status: store.StatusActive, Subject: "stuck", AssigneeID: owner, Pinned: pinned,
			CreatedAt: t0.Add(-10 * time.Hour), CustomerWaitingSince: t0.Add(-5 * time.Hour), LastMessageBy: store.ByCustomer}
	}
	w.convs = append(w.convs, stuckFor(2001, 14, false), stuckFor(2002, 13, false), stuckFor(2003, 12, false),
		stuckFor(2004, 11, false), stuckFor(2005, 15, false), stuckFor(2006, 16, false), stuckFor(2007, 11, true), stuckFor(2008, 99, false),
		stuckFor(2009, 17, false), stuckFor(2010, 18, false))
	// The group of each row (the h3 above it) and what it says.
	type stuckRow struct{ Group, Next string }
	rows := func(t *testing.T, body string) map[int64]stuckRow {
		t.Helper()
		i, j := strings.Index(body, `<section id="stuck"`), strings.Index(body, `<section id="unassigned"`)
		if i < 0 || j < i {
			t.Fatal("no stuck section before the unassigned queue")
		}
		got := map[int64]stuckRow{}
		group := ""
		for _, line := range strings.Split(body[i:j], "\n") {
			if m := regexp.MustCompile(`<div id="(stuck-(?:needs|waits))"`).FindStringSubmatch(line); m != nil {
				group = m[1]
			}
			m := regexp.MustCompile(`conversation/(\d+)/`).FindStringSubmatch(line)
			if m == nil || !strings.Contains(line, "<td") {
				continue
			}
			id, _ := strconv.ParseInt(m[1], 10, 64)
			row := body[i:j][strings.Index(body[i:j], m[0]):]
			row = row[:strings.Index(row, "</tr>")]
			cell := row[strings.Index(row, `<td data-label="Next" class="next">`):]
			got[id] = stuckRow{group, html.UnescapeString(strings.TrimSpace(regexp.MustCompile(`<[^>]*>`).ReplaceAllString(cell, "")))}
		}
		return got
	}
	// order is the stuck section's groups and ticket ids as the page has
	// them, top to bottom.
	order := func(body string) string {
		sec := body[strings.Index(body, `<section id="stuck"`):strings.Index(body, `<section id="unassigned"`)]
		return strings.Join(regexp.MustCompile(`id="stuck-(?:needs|waits)"|conversation/\d+`).FindAllString(sec, -1), " ")
	}
	const needs, waits = "stuck-needs", "stuck-waits"

	s := newPageServer(t, w, pageToken, clock)
	body := pageGet(t, s, "/").Body.String()
	want := map[int64]stuckRow{
		1001: {waits, "proposal waiting for approval"},
		2001: {waits, "waits for Olga Night, back Wed 09:00 UTC, unless someone on shift would answer clearly sooner: queuewrangler then hands it on"},
		2002: {waits, "Walt Away is away: handed on once the grace period has passed"},
		2003: {needs, "flagged for the head of support once stuck while Sam Senior is on shift"},
		2004: {waits, "to a senior, else another agent, once stuck while Ana Front is on shift, if one would answer clearly sooner; else it stays with Ana Front, flagged for the head of support when no senior can take it"},
		2005: {needs, "with the head of support, who keeps their tickets"},
		2006: {needs, "Xavi Other is excluded from balancing: stays with them"},
		2007: {needs, "pinned (qw-pin): stays with Ana Front"},
		2008: {needs, "user 99 was not in the team when it was read: what queuewrangler does with it is not known"},
		2009: {needs, "waits for Omar Late, off shift"},
		2010: {needs, "waits for Uma Busy, not available now"},
	}
	if diff := cmp.Diff(want, rows(t, body)); diff != "" {
		t.Errorf("stuck rows (-want +got):\n%s", diff)
	}
	// Needs someone first; in each group the longest wait first.
	wantOrder := `id="stuck-needs" conversation/2003 conversation/2005 conversation/2006 conversation/2007 conversation/2008 conversation/2009 conversation/2010 ` +
		`id="stuck-waits" conversation/1001 conversation/2001 conversation/2002 conversation/2004`
	if got := order(body); got != wantOrder {
		t.Errorf("stuck section in the order\n%s\nwant\n%s", got, wantOrder)
	}
	// Each group says its count; the total is every stuck ticket, as the
	// metric and the API count them.
	for _, c := range []string{
		`Needs someone <span class="count">7</span>`, `Waits for its owner <span class="count">4</span>`,
		`<h2 id="stuck-h">Stuck tickets <span class="count">11</span></h2>`,
		`<a href="#stuck" class="act">Stuck <span class="count">11</span> <span class="muted">7 need someone</span></a>`,
		`<dt>Stuck / unassigned</dt><dd>11 / 2</dd>`,
	} {
		if !strings.Contains(body, c) {
			t.Errorf("page lacks %q", c)
		}
	}
	if !strings.Contains(body, `<a href="#proposal-7">proposal waiting for approval</a>`) {
		t.Error("a stuck ticket with a pending proposal does not link to its card")
	}
	if !strings.Contains(body, "while the owner was on shift and had the ticket") {
		t.Error("the stuck list does not say when queuewrangler acts on a stuck ticket")
	}

	t.Run("off mode", func(t *testing.T) {
		off := New(Options{Now: clock.Now})
		off.EnablePage(PageOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour, Mode: "off"})
		body := pageGet(t, off, "/").Body.String()
		got := rows(t, body)
		if want := (stuckRow{needs, "the balancer is off (QW_MODE=off): stays with Ana Front"}); got[2004] != want {
			t.Errorf("in off mode, ticket 2004 is %+v, want %+v", got[2004], want)
		}
		// Nothing moves but what an SST approves: only the ticket with a
		// proposal has its next step.
		for _, c := range []string{`Needs someone <span class="count">10</span>`, `Waits for its owner <span class="count">1</span>`} {
			if !strings.Contains(body, c) {
				t.Errorf("page lacks %q", c)
			}
		}
	})

	// The groups share the list's rows, so the page is no longer for the
	// split: what needs someone takes them first.
	t.Run("the groups share the rows", func(t *testing.T) {
		w.mu.Lock()
		w.customers[2001] = "Gina Second"
		w.mu.Unlock()
		for _, tt := range []struct {
			maxRows   int
			wantOrder string
			want      []string
		}{
			{9, `id="stuck-needs" conversation/2003 conversation/2005 conversation/2006 conversation/2007 conversation/2008 conversation/2009 conversation/2010 ` +
				`id="stuck-waits" conversation/1001 conversation/2001`,
				[]string{"Showing the 2 longest waits of 4.", "Gina Second"}},
			{2, `id="stuck-needs" conversation/2003 conversation/2005 id="stuck-waits"`,
				[]string{"Showing the 2 longest waits of 7.", "4 not shown: the rows above fill the page."}},
		} {
			few := New(Options{Now: clock.Now})
			few.EnablePage(PageOptions{Team: w, Queue: w, Customers: w, StuckAfter: 4 * time.Hour, maxRows: tt.maxRows})
			body := pageGet(t, few, "/").Body.String()
			if got := order(body); got != tt.wantOrder {
				t.Errorf("MaxRows %d: stuck section in the order\n%s\nwant\n%s", tt.maxRows, got, tt.wantOrder)
			}
			for _, c := range tt.want {
				if !strings.Contains(body, c) {
					t.Errorf("MaxRows %d: page lacks %q", tt.maxRows, c)
				}
			}
		}
	})

	// A move approved or being made is the ticket's next step as much as
	// a pending one: the tickets that needed someone no longer do. (This
	// subtest and the next add proposals to w, so they come last.)
	t.Run("a move under way", func(t *testing.T) {
		w.mu.Lock()
		w.proposals = append(w.proposals,
			store.Proposal{ID: 20, ConversationID: 2003, ConversationNumber: 1503, FromAgent: 12, ToAgent: 11, Reason: "overload", Status: store.ProposalApproved},
			store.Proposal{ID: 21, ConversationID: 2010, ConversationNumber: 1510, FromAgent: 18, ToAgent: 11, Reason: "away", Status: store.ProposalApplying})
		w.mu.Unlock()
		got := rows(t, pageGet(t, s, "/").Body.String())
		for id, want := range map[int64]stuckRow{
			2003: {waits, "move to Ana Front approved: made by the balancer's next run"},
			2010: {waits, "being moved to Ana Front"},
		} {
			if got[id] != want {
				t.Errorf("ticket %d is %+v, want %+v", id, got[id], want)
			}
		}
	})

	// Under QW_MODE=off no run makes an approved move (a batch stopped
	// mid-way leaves some): its row says why it waits, and only there.
	t.Run("off mode: an approved move says why it waits", func(t *testing.T) {
		moveRow := func(body string, id int64) string {
			t.Helper()
			i := strings.Index(body, fmt.Sprintf(`id="move-%d"`, id))
			if i < 0 {
				t.Fatalf("no row for move %d", id)
			}
			return body[i : i+strings.Index(body[i:], "</tr>")]
		}
		const why = "QW_MODE=off: approved moves wait until the mode is propose or apply"
		off := New(Options{Now: clock.Now})
		off.EnablePage(PageOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour, Mode: "off"})
		body := pageGet(t, off, "/").Body.String()
		if row := moveRow(body, 20); !strings.Contains(row, `<span class="outcome approved">approved</span>`) || !strings.Contains(row, why) {
			t.Errorf("in off mode the approved move's row does not say why it waits:\n%s", row)
		}
		if row := moveRow(body, 21); strings.Contains(row, why) {
			t.Errorf("the move being made says it waits:\n%s", row)
		}
		if got := rows(t, body)[2003]; got != (stuckRow{needs, "move to Ana Front approved, but the balancer is off (QW_MODE=off): stays with Sam Senior"}) {
			t.Errorf("in off mode, ticket 2003 is %+v", got)
		}
		if row := moveRow(pageGet(t, s, "/").Body.String(), 20); strings.Contains(row, why) {
			t.Errorf("in propose mode the approved move's row says it waits for the mode:\n%s", row)
		}
	})
}

// TestPageTeamCountsTheFrontLine: the head of support never works the
// queue, so "Team n/m available" leaves them out and their row shows no
// pace; the proposal card tells its frozen sentence from the live wait.
func TestPageTeamCountsTheFrontLine(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	w.agents = append(w.agents,
		team.Agent{ID: 15, Name: "Hana Head", Role: "hos", Level: 5, Status: "active", Available: true, Pace: 3.2},
		team.Agent{ID: 16, Name: "Xavi Other", Role: "exclude", Level: 2, Status: "active", Available: true, Pace: 2})
	body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
	for _, want := range []string{
		`<a href="#team">Team <span class="count">2/4</span> <span class="muted">front line available</span></a>`,
		`<dt>Front line available</dt><dd>2 of 4 <span class="muted">(STs and SSTs)</span></dd>`,
		`<p class="why"><span class="muted">When proposed:</span> Reassigned by queuewrangler from Ana Front to Sam Senior: customer waiting 6h 10m</p>`,
		`<p class="meta">Customer waiting now <time class="wait"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, id := range []string{"agent-15", "agent-16"} {
		row := body[strings.Index(body, `id="`+id+`"`):]
		row = row[:strings.Index(row, "</tr>")]
		if !strings.Contains(row, `<td data-label="Pace" class="num pace"><span class="muted">not on the queue</span></td>`) {
			t.Errorf("%s, who never works the queue, is shown a pace:\n%s", id, row)
		}
	}
}

// TestPageSaysTheModeToEveryone: whether a move waits for approval or is
// made at once is what an SST opening the page needs first, logged in or
// not. Only the Plan now button spoke of the mode, after a login; a
// logged-out visitor of an apply-mode daemon read "Log in to approve or
// reject. Nothing is waiting for approval." and waited for proposals that
// never come.
func TestPageSaysTheModeToEveryone(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, mode, want string }{
		{"apply", "apply", `<p class="note" id="mode">The balancer makes its moves itself (<code>QW_MODE=apply</code>), within the caps and without approval: they appear under <a href="#moves">Recent moves</a>.`},
		{"propose", "propose", `<p class="note" id="mode">Each move the balancer finds waits here until someone approves or rejects it (<code>QW_MODE=propose</code>).`},
		{"empty is propose", "", `<p class="note" id="mode">Each move the balancer finds waits here until someone approves or rejects it (<code>QW_MODE=propose</code>).`},
		{"off", "off", `<p class="note" id="mode">The balancer is off (<code>QW_MODE=off</code>): nothing is planned or moved.`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			for _, token := range []string{pageToken, ""} { // logged out, and read-only
				s := New(Options{Now: clock.Now})
				s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: token, StuckAfter: 4 * time.Hour, Mode: tt.mode})
				if body := pageGet(t, s, "/").Body.String(); !strings.Contains(body, tt.want) {
					t.Errorf("token %q: the page does not say the mode as %q", token, tt.want)
				}
			}
			// Logged in, off mode offers no Plan now and no login link.
			if tt.mode == "off" {
				s := New(Options{Now: clock.Now})
				s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour, Mode: tt.mode})
				cookie, _ := pageLogin(t, s)
				body := pageGet(t, s, "/", cookie).Body.String()
				if strings.Contains(body, `action="/plan"`) || strings.Contains(body, `<a href="#login">Log in</a>`) {
					t.Error("logged in under off mode, the page offers Plan now or a login")
				}
			}
		})
	}
}

// TestPageNoFairnessWithNobodyToShare: with nobody available in the split
// (the whole front line off shift), the balancer's imbalance and Jain's
// index are a placeholder 1.00, which read as an even team while every
// waiting customer sits with someone who is not there. The page says there
// is nothing to compare instead.
func TestPageNoFairnessWithNobodyToShare(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	for i := range w.agents {
		w.agents[i].FairShare, w.agents[i].LoadRatio, w.agents[i].Available = 0, 0, false
	}
	w.figures.Imbalance, w.figures.Jain, w.figures.CV = 1, 1, 0
	s := newPageServer(t, w, pageToken, clock)
	body := pageGet(t, s, "/").Body.String()
	if want := `<dt>Imbalance</dt><dd><span class="muted">none: nobody available has a fair share</span></dd>`; !strings.Contains(body, want) {
		t.Errorf("page lacks %q", want)
	}
	for _, never := range []string{"<dt>Imbalance</dt><dd>1.00", "<dt>Jain's index</dt>", "<dt>Coefficient of variation</dt>"} {
		if strings.Contains(body, never) {
			t.Errorf("with nobody to share, the page shows %q", never)
		}
	}
}

// TestPageSaysWhenTheUnassignedAreHandedOut: with the default
// QW_BACKLOG=idle the unassigned queue is handed out only to people with
// no customer waiting, so on a busy day its tickets sit there; the page
// listed them with no word of why or when they move. It now says, by
// QW_MODE and QW_BACKLOG.
func TestPageSaysWhenTheUnassignedAreHandedOut(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		mode    string
		backlog time.Duration
		want    string
	}{
		{"idle, propose", "propose", 0, "queuewrangler hands each, longest wait first, only to someone with no customer waiting (QW_BACKLOG=idle): while everyone on shift has a customer waiting, these wait too. Each hand-out waits under Pending proposals until someone approves it."},
		{"oldest, apply", "apply", math.MaxInt64, "queuewrangler hands them out at once, longest wait first, to whoever would answer soonest (QW_BACKLOG=oldest).</p>"},
		{"30m, apply", "apply", 30 * time.Minute, "to someone with whom a new customer would wait at most 30m (QW_BACKLOG).</p>"},
		{"off", "off", 0, "The balancer is off (QW_MODE=off): queuewrangler hands none of these out."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			s := New(Options{Now: clock.Now})
			s.EnablePage(PageOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour, Mode: tt.mode, Backlog: tt.backlog})
			body := pageGet(t, s, "/").Body.String()
			_, note, found := strings.Cut(body, `<p class="note" id="unassigned-note">`)
			note, _, _ = strings.Cut(note, "\n")
			if !found || !strings.Contains(note, tt.want) {
				t.Errorf("the unassigned queue's note is %q, want it to say %q", note, tt.want)
			}
		})
	}
}

// TestPendingProposalSaysTheCustomerWaitNow: a proposal waits hours for
// approval, and the page said "Customer waiting now" with the wait it was
// proposed with: a customer answered since, or a ticket closed since, was
// still shown waiting, for days in the demo, and first in the list. The
// wait is now the ticket's as the mirror holds it, and a ticket no longer
// where the move would take it from says so instead.
func TestPendingProposalSaysTheCustomerWaitNow(t *testing.T) {
	t.Parallel()
	const waitingNow = `Customer waiting now <time class="wait"`
	for _, tt := range []struct {
		name   string
		change func(c *store.OpenConversation) (keep bool)
		want   string
	}{
		{"answered since", func(c *store.OpenConversation) bool {
			c.Status, c.LastMessageBy = store.StatusPending, store.ByUser
			return true
		}, `Customer waiting now <span class="wait">no</span>`},
		{"the customer wrote again", func(c *store.OpenConversation) bool {
			c.CustomerWaitingSince = pageNow.Add(-20 * time.Minute)
			return true
		}, waitingNow + ` datetime="2026-11-24T14:40:00Z" title="since 14:40 UTC">20m</time>`},
		{"closed since", func(*store.OpenConversation) bool { return false },
			`Now <span class="gone">no longer open with Ana Front (closed, or moved by someone, since the proposal)</span>`},
		{"taken by someone", func(c *store.OpenConversation) bool {
			c.AssigneeID = 12
			return true
		}, `Now <span class="gone">no longer open with Ana Front (closed, or moved by someone, since the proposal)</span>`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			// Proposal 7 moves #501 from Ana, proposed with the customer
			// waiting 6h 10m.
			var kept []store.OpenConversation
			for _, c := range w.convs {
				if c.ID != 1001 || tt.change(&c) {
					kept = append(kept, c)
				}
			}
			w.convs = kept
			body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
			row := proposalItem(t, body, 7)
			if !strings.Contains(row, tt.want) {
				t.Errorf("proposal 7 lacks %q:\n%s", tt.want, row)
			}
			if strings.Contains(row, "6h 10m</time>") {
				t.Errorf("proposal 7 still shows the wait it was proposed with:\n%s", row)
			}
		})
	}
	t.Run("a hand-out's ticket assigned since", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		w := newWorld(clock.Now)
		for i := range w.convs {
			if w.convs[i].ID == 1003 { // proposal 8 hands #503 out
				w.convs[i].AssigneeID = 11
			}
		}
		body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
		want := `Now <span class="gone">no longer in the unassigned queue (assigned, set pending or closed since the proposal)</span>`
		if row := proposalItem(t, body, 8); !strings.Contains(row, want) {
			t.Errorf("proposal 8 lacks %q:\n%s", want, row)
		}
	})
	t.Run("the longest wait now first", func(t *testing.T) {
		t.Parallel()
		clock := newPageClock()
		w := newWorld(clock.Now)
		for i := range w.convs {
			if w.convs[i].ID == 1001 { // proposed with 6h 10m, answered since
				w.convs[i].Status, w.convs[i].LastMessageBy = store.StatusPending, store.ByUser
			}
		}
		body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
		if i, j := strings.Index(body, `id="proposal-8"`), strings.Index(body, `id="proposal-7"`); i < 0 || j < 0 || i > j {
			t.Error("the move of an answered customer comes before that of one waiting 3h")
		}
	})
}

// proposalItem is the page's list item of pending proposal id.
func proposalItem(t *testing.T, body string, id int) string {
	t.Helper()
	start := strings.Index(body, fmt.Sprintf(`<li class="proposal" id="proposal-%d">`, id))
	if start < 0 {
		t.Fatalf("no pending proposal %d on the page", id)
	}
	end := strings.Index(body[start:], "</li>")
	return body[start : start+end]
}

// TestPendingProposalSaysItsReceiverIsAbsent: a move proposed to someone
// on shift may wait for approval past the end of their shift; the page
// showed it as proposed ("would wait under 5m with Ana"). Approving it now
// skips it as stale (the re-read before the move checks the receiver too),
// and the row says so before the click: the receiver is away or off shift
// now, and until when.
func TestPendingProposalSaysItsReceiverIsAbsent(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		status string
		backAt time.Time
		want   string // "" = no warning
	}{
		{"on shift", "active", time.Time{}, ""},
		{"off shift", "off-shift", pageNow.Add(18 * time.Hour), "Sam Senior is off shift now (back Wed 09:00 UTC): approved now, the move is skipped (stale), as queuewrangler hands no customer to someone who is not there."},
		{"away", "away", time.Time{}, "Sam Senior is away now: approved now, the move is skipped (stale), as queuewrangler hands no customer to someone who is not there."},
		{"no longer a user", team.StatusRemoved, time.Time{}, "Sam Senior is no longer a Help Scout user: approved now, the move is skipped (stale), as queuewrangler hands no customer to someone who is not there."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			for i := range w.agents {
				if w.agents[i].ID == 12 { // both pending moves go to Sam
					w.agents[i].Status, w.agents[i].Available, w.agents[i].BackAt = tt.status, tt.status == "active", tt.backAt
				}
			}
			body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
			for _, id := range []int{7, 8} {
				row := proposalItem(t, body, id)
				switch {
				case tt.want == "" && strings.Contains(row, `class="err absent"`):
					t.Errorf("proposal %d warns of a receiver who is on shift:\n%s", id, row)
				case tt.want != "" && !strings.Contains(row, `<p class="err absent">`+tt.want+`</p>`):
					t.Errorf("proposal %d lacks %q:\n%s", id, tt.want, row)
				}
			}
		})
	}
}

// TestPendingProposalSaysItsReceiverIsAboutToLeave: approving a move to
// someone whose shift ends within the policy's ShiftEndMargin skips it as
// stale (the approval's re-check, team.Agent.Unfit), as the plan would
// never choose them then; the row says so before the click, with the time
// their shift ends. Both pending moves go to Sam; the page's clock reads
// 15:00 UTC.
func TestPendingProposalSaysItsReceiverIsAboutToLeave(t *testing.T) {
	t.Parallel()
	const margin = 30 * time.Minute // as the team reader sets it, from the policy
	for _, tt := range []struct {
		name  string
		until time.Time // Sam's shift end; zero: none known
		want  string    // "" = no warning
	}{
		{"shift ends in 5 minutes", pageNow.Add(5 * time.Minute),
			"Sam Senior ends the shift at 15:05 UTC, within 30m, too soon to start a new customer: approved now, the move is skipped (stale), as queuewrangler hands a customer only to someone it could choose now."},
		{"shift ends in 45 minutes", pageNow.Add(45 * time.Minute), ""},
		{"no known shift end", time.Time{}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			for i := range w.agents {
				if w.agents[i].ID == 12 {
					w.agents[i].AvailableUntil, w.agents[i].ShiftEndMargin = tt.until, margin
				}
			}
			body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
			for _, id := range []int{7, 8} {
				row := proposalItem(t, body, id)
				switch {
				case tt.want == "" && strings.Contains(row, `class="err absent"`):
					t.Errorf("proposal %d warns of a receiver who can take it:\n%s", id, row)
				case tt.want != "" && !strings.Contains(row, `<p class="err absent">`+html.EscapeString(tt.want)+`</p>`):
					t.Errorf("proposal %d lacks %q:\n%s", id, tt.want, row)
				}
			}
		})
	}
}

// TestPendingProposalSaysItsReceiverCannotTakeIt: approving a move skips
// it as stale when its receiver can no longer open the ticket's mailbox,
// is someone the roster now leaves out or has made the head of support, or
// holds their roster's max_open (team.Agent.Unfit, the approval's
// re-check), but the page warned only of a receiver away or off shift, so
// the SST learnt of it after the click. Proposal 7 is a stuck escalation
// of a ticket in mailbox 5, proposal 8 a hand-out of one in mailbox 6,
// both to Sam.
func TestPendingProposalSaysItsReceiverCannotTakeIt(t *testing.T) {
	t.Parallel()
	const tail = ": approved now, the move is skipped (stale), as queuewrangler hands a customer only to someone it could choose now."
	for _, tt := range []struct {
		name   string
		change func(a *team.Agent)
		want   map[int]string // by proposal; absent = no warning
	}{
		{"can open both mailboxes", func(a *team.Agent) { a.Mailboxes = []int64{5, 6} }, nil},
		{"lost a mailbox", func(a *team.Agent) { a.Mailboxes = []int64{5} },
			map[int]string{8: "Sam Senior can no longer open mailbox 6" + tail}},
		{"left out by the roster", func(a *team.Agent) { a.Role = "exclude" }, map[int]string{
			7: "Sam Senior is someone the roster leaves out now" + tail,
			8: "Sam Senior is someone the roster leaves out now" + tail}},
		{"head of support", func(a *team.Agent) { a.Role = "hos" }, map[int]string{
			7: "Sam Senior is the head of support now, who takes only stuck escalations (and only with escalations in the roster)" + tail,
			8: "Sam Senior is the head of support now, who takes only stuck escalations (and only with escalations in the roster)" + tail}},
		{"head of support taking escalations", func(a *team.Agent) { a.Role, a.Escalations = "hos", true }, map[int]string{
			8: "Sam Senior is the head of support now, who takes only stuck escalations (and only with escalations in the roster)" + tail}},
		{"at max_open", func(a *team.Agent) { a.MaxOpen = 5 }, map[int]string{
			7: "Sam Senior holds 5 open tickets, their roster's max_open" + tail,
			8: "Sam Senior holds 5 open tickets, their roster's max_open" + tail}},
		{"below max_open", func(a *team.Agent) { a.MaxOpen = 6 }, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			for i := range w.convs {
				switch w.convs[i].ID {
				case 1001:
					w.convs[i].MailboxID = 5
				case 1003:
					w.convs[i].MailboxID = 6
				}
			}
			for i := range w.agents {
				if w.agents[i].ID == 12 {
					tt.change(&w.agents[i])
				}
			}
			body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
			for _, id := range []int{7, 8} {
				row, want := proposalItem(t, body, id), tt.want[id]
				switch {
				case want == "" && strings.Contains(row, `class="err absent"`):
					t.Errorf("proposal %d warns of a receiver who can take it:\n%s", id, row)
				case want != "" && !strings.Contains(row, `<p class="err absent">`+html.EscapeString(want)+`</p>`):
					t.Errorf("proposal %d lacks %q:\n%s", id, want, row)
				}
			}
		})
	}
}

// TestPendingProposalSaysItsReceiverLeftHelpScout: a receiver whom the
// mirror no longer holds at all (removed from Help Scout, holding no
// ticket) is a skipped move as much as one it still lists as removed.
func TestPendingProposalSaysItsReceiverLeftHelpScout(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	w.agents = slices.DeleteFunc(w.agents, func(a team.Agent) bool { return a.ID == 12 })
	body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
	const want = "user 12 is no longer a Help Scout user: approved now, the move is skipped (stale), as queuewrangler hands no customer to someone who is not there."
	for _, id := range []int{7, 8} {
		if row := proposalItem(t, body, id); !strings.Contains(row, `<p class="err absent">`+want+`</p>`) {
			t.Errorf("proposal %d lacks %q:\n%s", id, want, row)
		}
	}
	t.Run("not when the team could not be read", func(t *testing.T) {
		w := newWorld(clock.Now)
		w.failReads = true
		body := pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String()
		for _, id := range []int{7, 8} {
			if row := proposalItem(t, body, id); strings.Contains(row, `class="err absent"`) {
				t.Errorf("proposal %d warns of its receiver while the team could not be read:\n%s", id, row)
			}
		}
	})
}

// TestPendingProposalGoneSaysNothingOfItsReceiver: a move whose ticket is
// no longer with its owner is made by nobody (approving finds it
// changed), so its row does not also warn of an absent receiver.
func TestPendingProposalGoneSaysNothingOfItsReceiver(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	w := newWorld(clock.Now)
	w.convs = slices.DeleteFunc(w.convs, func(c store.OpenConversation) bool { return c.ID == 1001 }) // proposal 7's, closed
	for i := range w.agents {
		if w.agents[i].ID == 12 { // proposal 7's receiver
			w.agents[i].Status, w.agents[i].Available = "away", false
		}
	}
	row := proposalItem(t, pageGet(t, newPageServer(t, w, pageToken, clock), "/").Body.String(), 7)
	if !strings.Contains(row, `class="gone"`) || strings.Contains(row, `class="err absent"`) {
		t.Errorf("proposal 7, its ticket closed and its receiver away: want only that the ticket has gone:\n%s", row)
	}
}

// TestApplyModeLoginIsForPlanNow: in apply mode the balancer makes its
// moves without approval, yet the page offered "Log in to approve moves"
// and "Log in (top of the page) to approve or reject" above "Nothing is
// waiting for approval": an SST logged in looking for something to
// approve. With nothing pending, the login is for Plan now, and says so; a
// move left pending from propose mode keeps the approval wording.
func TestApplyModeLoginIsForPlanNow(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, mode string
		pending    bool
		want, not  []string
	}{
		{"apply, nothing pending", "apply", false,
			[]string{"<summary>Log in to plan now</summary>", "(top of the page) to run the balancer now (Plan now)."},
			[]string{"Log in to approve moves", "to approve or reject"}},
		{"apply, a move left pending", "apply", true,
			[]string{"<summary>Log in to approve moves</summary>", "(top of the page) to approve or reject."}, []string{"Log in to plan now"}},
		{"propose", "propose", false,
			[]string{"<summary>Log in to approve moves</summary>", "(top of the page) to approve or reject."}, []string{"Log in to plan now"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			clock := newPageClock()
			w := newWorld(clock.Now)
			if !tt.pending {
				w.proposals = slices.DeleteFunc(w.proposals, func(p store.Proposal) bool { return p.Status == store.ProposalPending })
			}
			s := New(Options{Now: clock.Now})
			s.EnablePage(PageOptions{Team: w, Queue: w, Decider: w, AdminToken: pageToken, StuckAfter: 4 * time.Hour, Mode: tt.mode})
			body := pageGet(t, s, "/").Body.String()
			for _, want := range tt.want {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			for _, not := range tt.not {
				if strings.Contains(body, not) {
					t.Errorf("page says %q", not)
				}
			}
		})
	}
}
