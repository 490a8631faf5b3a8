package httpapi

import (
	"cmp"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// pageNow is the fixed instant the page tests run at.
var pageNow = time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)

type pageDecision struct {
	ID      int64
	Approve bool
	By      string
}

// fakeWorld implements Team, PageQueue, CustomerNames, FirstResponses and
// Decider over in-memory data, with the store's filter semantics, and
// records every pageDecision.
type fakeWorld struct {
	mu        sync.Mutex
	now       func() time.Time
	agents    []team.Agent
	figures   team.Figures
	convs     []store.OpenConversation
	customers map[int64]string
	proposals []store.Proposal
	frt       []time.Duration
	frtSince  time.Time // what FirstResponseTimes was last asked for
	decisions []pageDecision
	plans     int
	planned   []store.Proposal // what PlanNow answers
	failReads bool
	// off makes an approval wait, as the rebalancer does under
	// QW_MODE=off, instead of applying it at once.
	off bool
}

func (f *fakeWorld) Agents(context.Context) ([]team.Agent, team.Figures, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReads {
		return nil, team.Figures{}, fmt.Errorf("read snapshot: disk on fire")
	}
	return slices.Clone(f.agents), f.figures, nil
}

func (f *fakeWorld) OpenConversations(_ context.Context, flt store.OpenFilter) ([]store.OpenConversation, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.OpenConversation
	for _, c := range f.convs {
		switch {
		case flt.Assignment == store.OnlyAssigned && c.AssigneeID == 0,
			flt.Assignment == store.OnlyUnassigned && c.AssigneeID != 0,
			flt.AssigneeID != 0 && c.AssigneeID != flt.AssigneeID,
			flt.MailboxID != 0 && c.MailboxID != flt.MailboxID,
			flt.ActiveOnly && c.Status != store.StatusActive:
			continue
		}
		if !flt.WaitingBefore.IsZero() && !(c.CustomerWaiting() && c.CustomerWaitingSince.Before(flt.WaitingBefore)) {
			continue
		}
		out = append(out, c)
	}
	if !flt.WaitingBefore.IsZero() {
		slices.SortFunc(out, func(a, b store.OpenConversation) int {
			return cmp.Or(a.CustomerWaitingSince.Compare(b.CustomerWaitingSince), cmp.Compare(a.ID, b.ID))
		})
	}
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[:flt.Limit]
	}
	return out, nil
}

func (f *fakeWorld) CountOpenConversations(ctx context.Context, flt store.OpenFilter) (int, error) {
	flt.Limit = 0
	cs, err := f.OpenConversations(ctx, flt)
	return len(cs), err
}

func (f *fakeWorld) ListProposals(_ context.Context, flt store.ProposalFilter) ([]store.Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []store.Proposal
	for _, p := range f.proposals {
		if len(flt.Statuses) > 0 && !slices.Contains(flt.Statuses, p.Status) {
			continue
		}
		if !flt.DecidedSince.IsZero() && p.DecidedAt.Before(flt.DecidedSince) {
			continue // as the store: decided at or after it
		}
		out = append(out, p)
	}
	// As the store: newest first.
	slices.SortFunc(out, func(a, b store.Proposal) int { return cmp.Compare(b.ID, a.ID) })
	if flt.Limit > 0 && len(out) > flt.Limit {
		out = out[:flt.Limit]
	}
	return out, nil
}

func (f *fakeWorld) CustomerNames(_ context.Context, ids []int64) (map[int64]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make(map[int64]string, len(ids))
	for _, id := range ids {
		if n, ok := f.customers[id]; ok {
			out[id] = n
		}
	}
	return out, nil
}

func (f *fakeWorld) FirstResponseTimes(_ context.Context, since time.Time) ([]time.Duration, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.frtSince = since
	return slices.Clone(f.frt), nil
}

// decide moves a pending proposal on as the rebalancer would in apply
// mode: an approval is applied at once.
func (f *fakeWorld) decide(id int64, approve bool, by string) (store.Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.decisions = append(f.decisions, pageDecision{ID: id, Approve: approve, By: by})
	for i := range f.proposals {
		p := &f.proposals[i]
		if p.ID != id {
			continue
		}
		if p.Status != store.ProposalPending {
			// As the rebalancer answers: the proposal as it is, and the conflict.
			return *p, fmt.Errorf("decide proposal %d: %w", id, store.ErrConflict)
		}
		now := f.now()
		p.DecidedBy, p.DecidedAt, p.UpdatedAt = by, now, now
		switch {
		case approve && f.off:
			p.Status = store.ProposalApproved
		case approve:
			p.Status, p.AppliedAt = store.ProposalApplied, now
		default:
			p.Status = store.ProposalRejected
		}
		return *p, nil
	}
	return store.Proposal{}, fmt.Errorf("decide proposal %d: %w", id, store.ErrNotFound)
}

func (f *fakeWorld) Approve(_ context.Context, id int64, by string) (store.Proposal, error) {
	return f.decide(id, true, by)
}

func (f *fakeWorld) Reject(_ context.Context, id int64, by string) (store.Proposal, error) {
	return f.decide(id, false, by)
}

func (f *fakeWorld) PlanNow(context.Context) ([]store.Proposal, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.plans++
	return slices.Clone(f.planned), nil
}

func (f *fakeWorld) Decisions() []pageDecision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.decisions)
}

// newWorld is a small team: one overloaded ST, one SST, one away, one
// off shift; a stuck ticket, two unassigned, two pending proposals and a
// history of moves.
func newWorld(now func() time.Time) *fakeWorld {
	t0 := now()
	return &fakeWorld{
		now: now,
		agents: []team.Agent{
			{ID: 11, Name: "Ana Front", Role: "st", Level: 2, Status: "active", Available: true, Open: 14, Waiting: 9, Load: 11.5, Capacity: 1, Pace: 1.84, FairShare: 6, LoadRatio: 1.92, OldestWait: t0.Add(-6*time.Hour - 10*time.Minute)},
			{ID: 12, Name: "Sam Senior", Role: "sst", Level: 4, Status: "active", Available: true, Open: 5, Waiting: 1, Load: 3.25, Capacity: 1.4, FairShare: 8.4, LoadRatio: 0.39},
			{ID: 13, Name: "Walt Away", Role: "st", Level: 3, Status: "away", Open: 3, Waiting: 2, Load: 2.5, Capacity: 1, OldestWait: t0.Add(-90 * time.Minute)},
			{ID: 14, Name: "Olga Night", Role: "st", Level: 1, Status: "off-shift", Open: 0, Capacity: 0.8, BackAt: t0.Add(18 * time.Hour)},
		},
		figures: team.Figures{Imbalance: 1.4, Jain: 0.81, CV: 0.37},
		convs: []store.OpenConversation{
			{ID: 1001, Number: 501, Status: store.StatusActive, Subject: "Refund for order 77", AssigneeID: 11, CustomerID: 9001,
				CreatedAt: t0.Add(-30 * time.Hour), CustomerWaitingSince: t0.Add(-6*time.Hour - 10*time.Minute), LastMessageBy: store.ByCustomer},
			{ID: 1002, Number: 502, Status: store.StatusActive, Subject: "Password reset loop", AssigneeID: 12, CustomerID: 9002,
				CreatedAt: t0.Add(-time.Hour), CustomerWaitingSince: t0.Add(-time.Hour), LastMessageBy: store.ByCustomer},
			{ID: 1003, Number: 503, Status: store.StatusActive, Subject: "Cannot log in", CustomerID: 9003,
				CreatedAt: t0.Add(-3 * time.Hour), CustomerWaitingSince: t0.Add(-3 * time.Hour), LastMessageBy: store.ByCustomer},
			{ID: 1004, Number: 504, Status: store.StatusActive, Subject: "Invoice address", CustomerID: 9004,
				CreatedAt: t0.Add(-20 * time.Minute), CustomerWaitingSince: t0.Add(-20 * time.Minute), LastMessageBy: store.ByCustomer},
			{ID: 1005, Number: 505, Status: store.StatusPending, Subject: "Pending unassigned is not in the queue", CustomerID: 9005,
				CreatedAt: t0.Add(-2 * time.Hour)},
		},
		customers: map[int64]string{1001: "Carla Customer", 1002: "Dan Doe", 1003: "Erin Early", 1004: "finn@example.com"},
		proposals: []store.Proposal{
			{ID: 1, CreatedAt: t0.Add(-26 * time.Hour), ConversationID: 990, ConversationNumber: 490, FromAgent: 11, ToAgent: 12,
				Reason: "overload", Explanation: "old move", Status: store.ProposalApplied, DecidedBy: "api", AppliedAt: t0.Add(-25 * time.Hour)},
			{ID: 2, CreatedAt: t0.Add(-2 * time.Hour), ConversationID: 991, ConversationNumber: 491, FromAgent: 13, ToAgent: 12,
				Reason: "away", Explanation: "stale one", Status: store.ProposalStale, Error: "the assignee changed", UpdatedAt: t0.Add(-time.Hour)},
			{ID: 3, CreatedAt: t0.Add(-90 * time.Minute), ConversationID: 992, ConversationNumber: 492, FromAgent: 11, ToAgent: 12,
				Reason: "overload", Explanation: "failed one", Status: store.ProposalFailed, Error: "help scout answered 500", UpdatedAt: t0.Add(-80 * time.Minute)},
			{ID: 4, CreatedAt: t0.Add(-70 * time.Minute), ConversationID: 993, ConversationNumber: 493, FromAgent: 11, ToAgent: 12,
				Reason: "overload", Explanation: "rejected one", Status: store.ProposalRejected, DecidedBy: "page: Sam", UpdatedAt: t0.Add(-60 * time.Minute)},
			{ID: 7, CreatedAt: t0.Add(-5 * time.Minute), ConversationID: 1001, ConversationNumber: 501, FromAgent: 11, ToAgent: 12,
				Reason: "stuck", Explanation: "Reassigned by queuewrangler from Ana Front to Sam Senior: customer waiting 6h 10m", Status: store.ProposalPending,
				Snapshot: store.ProposalSnapshot{AssigneeID: 11, Status: store.StatusActive, CustomerWaitingSince: t0.Add(-6*time.Hour - 10*time.Minute)}},
			{ID: 8, CreatedAt: t0.Add(-5 * time.Minute), ConversationID: 1003, ConversationNumber: 503, ToAgent: 12,
				Reason: "unassigned", Explanation: "Assigned by queuewrangler to Sam Senior: unassigned for 3h", Status: store.ProposalPending,
				Snapshot: store.ProposalSnapshot{Status: store.StatusActive, CustomerWaitingSince: t0.Add(-3 * time.Hour)}},
		},
		frt: []time.Duration{5 * time.Minute, 12 * time.Minute, 20 * time.Minute, 45 * time.Minute, 2 * time.Hour},
	}
}

const pageToken = "s3cret-admin-token"

// newPageServer serves the page over w with the given admin token.
func newPageServer(t testing.TB, w *fakeWorld, token string, clock *testkit.Clock) *Server {
	t.Helper()
	s := New(Options{Now: clock.Now})
	s.EnablePage(PageOptions{
		Team: w, Queue: w, Decider: w, Customers: w, FirstResponses: w,
		AdminToken: token, StuckAfter: 4 * time.Hour,
	})
	return s
}

func newPageClock() *testkit.Clock { return testkit.NewClock(pageNow) }

// do runs one request through the server.
func pageDo(t testing.TB, s http.Handler, req *http.Request) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	return rec
}

func pageGet(t testing.TB, s http.Handler, path string, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return pageDo(t, s, req)
}

func pagePost(t testing.TB, s http.Handler, path string, form url.Values, cookies ...*http.Cookie) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, c := range cookies {
		req.AddCookie(c)
	}
	return pageDo(t, s, req)
}

// login logs in and returns the session cookie and the page's CSRF token.
func pageLogin(t testing.TB, s http.Handler) (*http.Cookie, string) {
	t.Helper()
	rec := pagePost(t, s, "/login", url.Values{"token": {pageToken}, "who": {"Sam"}})
	if rec.Code != http.StatusSeeOther {
		t.Fatalf("login: status %d, want 303; body %s", rec.Code, rec.Body)
	}
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil {
		t.Fatal("login set no session cookie")
	}
	page := pageGet(t, s, "/", cookie).Body.String()
	return cookie, csrfFrom(t, page)
}

// csrfFrom finds the CSRF token in a rendered page.
func csrfFrom(t testing.TB, page string) string {
	t.Helper()
	const marker = `name="csrf" value="`
	i := strings.Index(page, marker)
	if i < 0 {
		t.Fatal("no csrf field on the page")
	}
	rest := page[i+len(marker):]
	return rest[:strings.IndexByte(rest, '"')]
}
