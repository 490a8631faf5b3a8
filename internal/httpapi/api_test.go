package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"html"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

const adminToken = "admin-token-that-must-never-be-logged"

// fakeDecider stands in for the rebalancer: proposal 1 is pending, 2 was
// decided already.
type fakeDecider struct {
	mu    sync.Mutex
	calls []string
}

func (d *fakeDecider) record(s string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, s)
}

func (d *fakeDecider) decide(id int64, to store.ProposalStatus) (store.Proposal, error) {
	switch id {
	case 1:
		return store.Proposal{ID: 1, Status: to, ConversationID: 10, ConversationNumber: 7}, nil
	case 2:
		return store.Proposal{}, store.ErrConflict
	case 3: // the caller went away before the move was tried
		return store.Proposal{}, context.Canceled
	case 4: // past its TTL: the rebalancer expired it as the approval came
		return store.Proposal{ID: 4, Status: store.ProposalStale, Error: "expired: nobody approved it in time"},
			fmt.Errorf("%w: proposal 4 expired: nobody approved it in time", store.ErrConflict)
	}
	return store.Proposal{}, store.ErrNotFound
}

func (d *fakeDecider) Approve(_ context.Context, id int64, _ string) (store.Proposal, error) {
	d.record("approve")
	return d.decide(id, store.ProposalApplied)
}

func (d *fakeDecider) Reject(_ context.Context, id int64, _ string) (store.Proposal, error) {
	d.record("reject")
	return d.decide(id, store.ProposalRejected)
}

func (d *fakeDecider) PlanNow(context.Context) ([]store.Proposal, error) {
	d.record("plan")
	return []store.Proposal{{ID: 3, Status: store.ProposalPending, Reason: "overload"}}, nil
}

type fakeQueue struct{}

func (fakeQueue) OpenConversations(_ context.Context, f store.OpenFilter) ([]store.OpenConversation, error) {
	cs := []store.OpenConversation{
		{ID: 10, Number: 7, Status: "active", Subject: "a", AssigneeID: 5, LastMessageBy: store.ByCustomer, CustomerWaitingSince: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{ID: 11, Number: 8, Status: "active", Subject: "b", LastMessageBy: store.ByCustomer},
		{ID: 12, Number: 9, Status: "pending", Subject: "c"},
		{ID: 13, Number: 10, Status: "active", Subject: "d", AssigneeID: 6, LastMessageBy: store.ByCustomer, CustomerWaitingSince: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	var out []store.OpenConversation
	for _, c := range cs {
		if f.Assignment == store.OnlyUnassigned && c.AssigneeID != 0 || f.Assignment == store.OnlyAssigned && c.AssigneeID == 0 ||
			f.ActiveOnly && c.Status != store.StatusActive {
			continue
		}
		out = append(out, c)
	}
	return out, nil
}

func (q fakeQueue) CountOpenConversations(ctx context.Context, f store.OpenFilter) (int, error) {
	cs, err := q.OpenConversations(ctx, f)
	return len(cs), err
}

func (fakeQueue) ListProposals(_ context.Context, f store.ProposalFilter) ([]store.Proposal, error) {
	return []store.Proposal{{ID: 1, Status: store.ProposalPending, Reason: "unassigned", ToAgent: 5},
		{ID: 2, Status: store.ProposalPending, Reason: "away", FromAgent: 6, ToAgent: 5}}, nil
}

type fakeTeam struct{}

func (fakeTeam) Agents(context.Context) ([]team.Agent, team.Figures, error) {
	return []team.Agent{{ID: 5, Name: "Ana", Role: "st", Level: 2, Open: 3, Pace: 2.25, FairShare: 2.5, LoadRatio: 1.2},
		{ID: 6, Name: "Ben", Role: "st", Level: 2, Status: "off-shift", BackAt: time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)}}, team.Figures{Imbalance: 1.2, Jain: 0.9}, nil
}

func newAPIServer(t *testing.T, token string, logs *bytes.Buffer) (*Server, *fakeDecider) {
	t.Helper()
	d := &fakeDecider{}
	s := New(Options{Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: fakeQueue{}, Decider: d, AdminToken: token, StuckAfter: 4 * time.Hour})
	return s, d
}

func do(s http.Handler, method, path, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, req)
	return w
}

func TestAdminEndpointsAuth(t *testing.T) {
	tests := []struct {
		name       string
		configured string
		method     string
		path       string
		auth       string
		wantStatus int
		wantCall   bool
	}{
		{"approve without a token", adminToken, "POST", "/api/v1/proposals/1/approve", "", 401, false},
		{"approve with a wrong token", adminToken, "POST", "/api/v1/proposals/1/approve", "Bearer wrong", 401, false},
		{"approve with the token as basic auth", adminToken, "POST", "/api/v1/proposals/1/approve", "Basic " + adminToken, 401, false},
		{"approve with no token configured", "", "POST", "/api/v1/proposals/1/approve", "Bearer " + adminToken, 403, false},
		{"approve", adminToken, "POST", "/api/v1/proposals/1/approve", "Bearer " + adminToken, 200, true},
		{"reject", adminToken, "POST", "/api/v1/proposals/1/reject", "Bearer " + adminToken, 200, true},
		{"approve a decided proposal", adminToken, "POST", "/api/v1/proposals/2/approve", "Bearer " + adminToken, 409, true},
		{"approve an unknown proposal", adminToken, "POST", "/api/v1/proposals/99/approve", "Bearer " + adminToken, 404, true},
		{"approve when the caller has gone", adminToken, "POST", "/api/v1/proposals/3/approve", "Bearer " + adminToken, 503, true},
		{"approve a bad id", adminToken, "POST", "/api/v1/proposals/x/approve", "Bearer " + adminToken, 400, false},
		{"plan without a token", adminToken, "POST", "/api/v1/plan", "", 401, false},
		{"plan with no token configured", "", "POST", "/api/v1/plan", "", 403, false},
		{"plan", adminToken, "POST", "/api/v1/plan", "Bearer " + adminToken, 200, true},
		{"approve by GET", adminToken, "GET", "/api/v1/proposals/1/approve", "Bearer " + adminToken, 405, false},
		// Issue 17, row 14: RFC 6750 schemes are case-insensitive.
		{"plan with a lower-case scheme", adminToken, "POST", "/api/v1/plan", "bearer " + adminToken, 200, true},
		{"plan with an upper-case scheme", adminToken, "POST", "/api/v1/plan", "BEARER " + adminToken, 200, true},
		{"plan with the scheme alone", adminToken, "POST", "/api/v1/plan", "Bearer ", 401, false},
		// Issue 17, row 3: the API compares the bytes sent, as the page does.
		{"plan with the token and a trailing tab", adminToken, "POST", "/api/v1/plan", "Bearer " + adminToken + "\t", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s, d := newAPIServer(t, tt.configured, &logs)
			w := do(s, tt.method, tt.path, tt.auth)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d; body %s", w.Code, tt.wantStatus, w.Body)
			}
			if got := len(d.calls) > 0; got != tt.wantCall {
				t.Errorf("decider called = %v, want %v", got, tt.wantCall)
			}
			var body map[string]any
			if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil {
				t.Errorf("answer is not JSON: %s", w.Body)
			}
			if w.Code >= 400 {
				if _, ok := body["error"]; !ok {
					t.Errorf("error answer without an error field: %s", w.Body)
				}
			}
			if strings.Contains(logs.String(), "level=ERROR") && w.Code != http.StatusInternalServerError {
				t.Errorf("an answer of %d logged an error:\n%s", w.Code, logs.String())
			}
			for _, out := range []string{logs.String(), w.Body.String()} {
				if strings.Contains(out, adminToken) {
					t.Errorf("the admin token leaked: %s", out)
				}
			}
		})
	}
}

// TestApproveExpiredSaysSo: an approval the rebalancer refuses because the
// proposal expired gets a 409 that says so, not only "no longer pending",
// which reads as if someone else had decided it.
func TestApproveExpiredSaysSo(t *testing.T) {
	s, _ := newAPIServer(t, adminToken, &bytes.Buffer{})
	w := do(s, "POST", "/api/v1/proposals/4/approve", "Bearer "+adminToken)
	if w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "no longer pending: expired: nobody approved it in time") {
		t.Errorf("status %d, body %s; want 409 saying it expired", w.Code, w.Body)
	}
	// A proposal decided by someone else keeps the plain answer.
	if w := do(s, "POST", "/api/v1/proposals/2/approve", "Bearer "+adminToken); !strings.Contains(w.Body.String(), `"the proposal is no longer pending"`) {
		t.Errorf("decided proposal: body %s", w.Body)
	}
}

func TestReadEndpoints(t *testing.T) {
	s, _ := newAPIServer(t, adminToken, &bytes.Buffer{})
	tests := []struct {
		path       string
		wantStatus int
		wantIn     []string
	}{
		{"/api/v1/agents", 200, []string{`"name":"Ana"`, `"load_ratio":1.2`, `"back_at":"2026-11-25T08:00:00Z"`,
			`"pace_replies_per_hour":2.25`, `"pace_replies_per_hour":0`}},
		{"/api/v1/conversations?state=unassigned", 200, []string{`"id":11`, `"url":"https://secure.helpscout.net/conversation/11/8"`}},
		// Each stuck conversation says what happens next, as the page does.
		{"/api/v1/conversations?state=stuck", 200, []string{`"id":10`, `"id":13`, `"next":"waits for Ben, back Wed 08:00 UTC, unless someone on shift would answer clearly sooner: queuewrangler then hands it on"`,
			`"next":"waits for Ana, not available now"`}},
		{"/api/v1/conversations?state=open", 200, []string{`"id":10`, `"id":11`, `"id":12`}},
		{"/api/v1/conversations?state=bogus", 400, []string{`"error"`}},
		{"/api/v1/proposals?status=pending", 200, []string{`"status":"pending"`,
			`"reason":"unassigned","kind":"handout"`, `"reason":"away","kind":"reassignment"`}},
		{"/api/v1/proposals?status=bogus", 400, []string{`"error"`}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			w := do(s, "GET", tt.path, "")
			if w.Code != tt.wantStatus {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			for _, want := range tt.wantIn {
				if !strings.Contains(w.Body.String(), want) {
					t.Errorf("body lacks %s: %s", want, w.Body)
				}
			}
		})
	}
	for _, state := range []string{"open", "unassigned"} {
		if w := do(s, "GET", "/api/v1/conversations?state="+state, ""); strings.Contains(w.Body.String(), `"next"`) {
			t.Errorf("state=%s says what happens next, which only stuck conversations do: %s", state, w.Body)
		}
	}
	// The unassigned queue holds active tickets only.
	if w := do(s, "GET", "/api/v1/conversations?state=unassigned", ""); strings.Contains(w.Body.String(), `"id":12`) {
		t.Errorf("pending ticket listed as unassigned queue: %s", w.Body)
	}
	// A refused status filter names every status the filter takes.
	w := do(s, "GET", "/api/v1/proposals?status=bogus", "")
	for st := range proposalStatuses {
		if !strings.Contains(w.Body.String(), st) {
			t.Errorf("the refusal of a bad status omits %s: %s", st, w.Body)
		}
	}
}

// TestAPIStuckNextIsThePages: the API's "next" is the page's sentence, in
// the page's zone, and knows a move approved or being made as the page
// does (review finding 8: the API said times in UTC whatever the page's
// zone, and only pending proposals were a next step).
func TestAPIStuckNextIsThePages(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	t0 := clock.Now()
	w := newWorld(clock.Now)
	stuck := func(id, owner int64) store.OpenConversation {
		return store.OpenConversation{ID: id, Number: id - 500, Status: store.StatusActive, Subject: "stuck", AssigneeID: owner,
			CreatedAt: t0.Add(-10 * time.Hour), CustomerWaitingSince: t0.Add(-5 * time.Hour), LastMessageBy: store.ByCustomer}
	}
	w.convs = append(w.convs, stuck(2001, 14), stuck(2002, 12), stuck(2003, 13))
	w.proposals = append(w.proposals,
		store.Proposal{ID: 20, ConversationID: 2002, FromAgent: 12, ToAgent: 11, Reason: "overload", Status: store.ProposalApproved},
		store.Proposal{ID: 21, ConversationID: 2003, FromAgent: 13, ToAgent: 11, Reason: "away", Status: store.ProposalApplying})
	s := New(Options{Now: clock.Now})
	s.EnableAPI(APIOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour})
	s.EnablePage(PageOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour, Location: time.FixedZone("CET", 3600)})

	rec := do(s, "GET", "/api/v1/conversations?state=stuck", "")
	var body struct {
		Conversations []struct {
			ID   int64  `json:"id"`
			Next string `json:"next"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	got := map[int64]string{}
	for _, c := range body.Conversations {
		got[c.ID] = c.Next
	}
	want := map[int64]string{
		1001: "proposal waiting for approval",
		2001: "waits for Olga Night, back Wed 10:00 CET, unless someone on shift would answer clearly sooner: queuewrangler then hands it on",
		2002: "move to Ana Front approved: made by the balancer's next run",
		2003: "being moved to Ana Front",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("next of the stuck conversations (-want +got):\n%s", diff)
	}
	page := pageGet(t, s, "/").Body.String()
	for id, say := range want {
		if !strings.Contains(page, html.EscapeString(say)) {
			t.Errorf("the API says %q of %d, which the page does not", say, id)
		}
	}
}

// Issue 17, row 7: wrong tokens are answered 429 past the limit, but the
// right one always gets in, also from the guesser's own address: behind a
// reverse proxy every client has the proxy's address.
func TestAPIWrongTokensNeverLockOutTheRightOne(t *testing.T) {
	t.Parallel()
	s, d := newAPIServer(t, adminToken, &bytes.Buffer{})
	s.apiLimiter.delay = time.Millisecond
	const proxy = "10.0.0.2:4000" // the reverse proxy in front of the daemon
	send := func(auth, forwardedFor string) *httptest.ResponseRecorder {
		req := httptest.NewRequest("POST", "/api/v1/plan", nil)
		req.RemoteAddr = proxy
		req.Header.Set("X-Forwarded-For", forwardedFor)
		req.Header.Set("Authorization", auth)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w
	}
	for i := range maxAPIAuthFailures {
		if w := send("Bearer guess", "203.0.113.9"); w.Code != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, w.Code)
		}
	}
	w := send("Bearer guess", "203.0.113.9")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Errorf("a wrong token past the limit: %d (Retry-After %q), want 429", w.Code, w.Header().Get("Retry-After"))
	}
	if len(d.calls) != 0 {
		t.Fatalf("the decider ran %v for wrong tokens", d.calls)
	}
	if w := send("Bearer "+adminToken, "198.51.100.7"); w.Code != http.StatusOK {
		t.Errorf("the SST behind the same proxy with the right token: %d, want 200", w.Code)
	}
	if w := send("Bearer guess", "203.0.113.9"); w.Code != http.StatusTooManyRequests {
		t.Errorf("the guesser after the right token got in: %d, want 429 still", w.Code)
	}
}

// crowdedQueue holds active unassigned conversations, each behind a
// pending one by id, as a mirror with many pending tickets does.
type crowdedQueue struct {
	fakeQueue
	active int
}

func (q crowdedQueue) OpenConversations(_ context.Context, f store.OpenFilter) ([]store.OpenConversation, error) {
	var out []store.OpenConversation
	for i := range 2 * q.active {
		c := store.OpenConversation{ID: int64(i + 1), Number: int64(i + 1), Status: store.StatusActive}
		if i%2 == 0 {
			c.Status = store.StatusPending
		}
		if f.ActiveOnly && c.Status != store.StatusActive {
			continue
		}
		out = append(out, c)
	}
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out, nil
}

func (q crowdedQueue) CountOpenConversations(ctx context.Context, f store.OpenFilter) (int, error) {
	f.Limit = 0
	cs, err := q.OpenConversations(ctx, f)
	return len(cs), err
}

// TestConversationsSayWhenCut: the unassigned queue is active tickets
// however many pending ones come first, and an answer cut at its bound
// says so and how many there are.
func TestConversationsSayWhenCut(t *testing.T) {
	tests := []struct {
		name          string
		active        int
		state         string
		listed, total int
		truncated     bool
	}{
		{"unassigned, all fit", maxConversations, "unassigned", maxConversations, maxConversations, false},
		{"unassigned, one too many", maxConversations + 1, "unassigned", maxConversations, maxConversations + 1, true},
		{"open, with the pending ones", maxConversations, "open", maxConversations, 2 * maxConversations, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{})
			s.EnableAPI(APIOptions{Team: fakeTeam{}, Queue: crowdedQueue{active: tt.active}})
			w := do(s, "GET", "/api/v1/conversations?state="+tt.state, "")
			var got struct {
				Conversations []conversationJSON `json:"conversations"`
				Truncated     bool               `json:"truncated"`
				Total         int                `json:"total"`
			}
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != http.StatusOK {
				t.Fatalf("status %d, %v: %.200s", w.Code, err, w.Body)
			}
			if len(got.Conversations) != tt.listed || got.Truncated != tt.truncated || got.Total != tt.total {
				t.Errorf("%d listed, truncated %v, total %d; want %d, %v, %d",
					len(got.Conversations), got.Truncated, got.Total, tt.listed, tt.truncated, tt.total)
			}
			if tt.state != "unassigned" {
				return
			}
			for _, c := range got.Conversations {
				if c.Status != store.StatusActive {
					t.Fatalf("the unassigned queue lists %s conversation %d", c.Status, c.ID)
				}
			}
		})
	}
}

// teamOf is a Team of fixed agents and figures.
type teamOf struct {
	agents  []team.Agent
	figures team.Figures
}

func (t teamOf) Agents(context.Context) ([]team.Agent, team.Figures, error) {
	return t.agents, t.figures, nil
}

// TestAgentsFairnessFiguresOnlyWithSomeoneInTheSplit: with nobody
// available the balancer reports an imbalance of 1 and a Jain index of 1,
// which read as a perfectly fair team while the whole front line is away.
// The metrics leave both absent then and the page says none; the API
// leaves them out as it does every absent figure.
func TestAgentsFairnessFiguresOnlyWithSomeoneInTheSplit(t *testing.T) {
	t.Parallel()
	away := team.Agent{ID: 5, Name: "Ana", Role: "st", Level: 2, Status: "away", Open: 3, Load: 3}
	on := team.Agent{ID: 6, Name: "Ben", Role: "st", Level: 2, Status: "active", Available: true, Open: 1, Load: 1, FairShare: 4, LoadRatio: 0.25}
	for _, tt := range []struct {
		name    string
		agents  []team.Agent
		figures team.Figures
		want    string
	}{
		// The balancer's figures with nobody in the split.
		{"nobody available", []team.Agent{away}, team.Figures{Imbalance: 1, Jain: 1, CV: 0}, `{}`},
		{"someone available", []team.Agent{away, on}, team.Figures{Imbalance: 1.75, Jain: 0.8, CV: 0.5}, `{"imbalance_ratio":1.75,"jain":0.8,"cv":0.5}`},
		// A perfectly even team's CV is 0, a figure rather than an absent one.
		{"an even team", []team.Agent{on}, team.Figures{Imbalance: 1, Jain: 1, CV: 0}, `{"imbalance_ratio":1,"jain":1,"cv":0}`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := New(Options{})
			s.EnableAPI(APIOptions{Team: teamOf{tt.agents, tt.figures}, Queue: fakeQueue{}})
			rec := do(s, "GET", "/api/v1/agents", "")
			var body struct {
				Team json.RawMessage `json:"team"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
				t.Fatalf("status %d, %v; body %s", rec.Code, err, rec.Body)
			}
			if got := string(body.Team); got != tt.want {
				t.Errorf("team = %s, want %s", got, tt.want)
			}
		})
	}
}

// TestAgentsLeaveOutTheLoadRatioOfSomeoneWithoutAFairShare: someone off
// shift, away or the head of support has no fair share, and the balancer's
// load ratio for them is 0. The API said "load_ratio": 0 beside their
// waiting customers, which a tool reads as an idle agent, while the metric
// is absent for them and the page says "no fair share". The key is left
// out for them, as the team's fairness figures are while undefined.
func TestAgentsLeaveOutTheLoadRatioOfSomeoneWithoutAFairShare(t *testing.T) {
	s, _ := newAPIServer(t, adminToken, &bytes.Buffer{})
	rec := do(s, "GET", "/api/v1/agents", "")
	var body struct{ Agents []map[string]any }
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("status %d, %v; body %s", rec.Code, err, rec.Body)
	}
	got := map[string]any{}
	for _, a := range body.Agents {
		ratio, ok := a["load_ratio"]
		if !ok {
			ratio = "(no key)"
		}
		got[a["name"].(string)] = ratio
	}
	want := map[string]any{"Ana": 1.2, "Ben": "(no key)"} // Ben is off shift
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("load_ratio by agent (-want +got):\n%s", diff)
	}
}

// TestStuckRowsSayWhatTheBacklogKeeps: the day-one repro on the page and
// the API. Under QW_BACKLOG=idle, with everyone on shift busy, the team
// (team.Reader, through balancer.BacklogKeeps) marks Walt's and Ana's
// stuck tickets as kept; the page listed them under "Waits for its owner"
// as handed on or escalated, which `plan` never did. They now say why they
// stay and come first, under "Needs someone", and the API says the same.
// The team has no head of support (newWorld's), so Sam's ticket is not
// "flagged for the head of support" either.
func TestStuckRowsSayWhatTheBacklogKeeps(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	t0 := clock.Now()
	w := newWorld(clock.Now)
	for i := range w.agents {
		switch w.agents[i].ID {
		case 11:
			w.agents[i].Kept = map[int64]bool{2004: true}
		case 13:
			w.agents[i].Kept = map[int64]bool{2002: true}
		}
	}
	stuck := func(id, owner int64, waited time.Duration) store.OpenConversation {
		return store.OpenConversation{ID: id, Number: id - 500, Status: store.StatusActive, Subject: "stuck", AssigneeID: owner,
			CreatedAt: t0.Add(-waited - time.Hour), CustomerWaitingSince: t0.Add(-waited), LastMessageBy: store.ByCustomer}
	}
	w.convs = append(w.convs, stuck(2002, 13, 30*time.Hour), stuck(2003, 12, 5*time.Hour), stuck(2004, 11, 20*24*time.Hour))
	s := New(Options{Now: clock.Now})
	s.EnableAPI(APIOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour})
	s.EnablePage(PageOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour})

	const why = "nobody is free to take it: everyone on shift who could has customers waiting (QW_BACKLOG=idle)"
	want := map[int64]string{
		1001: "proposal waiting for approval",
		2002: "Walt Away is away: " + why,
		2003: "stays with Sam Senior: flagged once stuck while Sam Senior is on shift, but the team has no head of support to decide, so it waits until someone takes it up",
		2004: "stays with Ana Front: " + why,
	}
	rec := do(s, "GET", "/api/v1/conversations?state=stuck", "")
	var body struct {
		Conversations []struct {
			ID   int64  `json:"id"`
			Next string `json:"next"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	got := map[int64]string{}
	for _, c := range body.Conversations {
		got[c.ID] = c.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("next of the stuck conversations (-want +got):\n%s", diff)
	}
	page := pageGet(t, s, "/").Body.String()
	for id, say := range want {
		if !strings.Contains(page, html.EscapeString(say)) {
			t.Errorf("the API says %q of %d, which the page does not", say, id)
		}
	}
	// The kept tickets need someone: listed first, longest wait first.
	sec := page[strings.Index(page, `<section id="stuck"`):strings.Index(page, `<section id="unassigned"`)]
	order := strings.Join(regexp.MustCompile(`id="stuck-(?:needs|waits)"|conversation/\d+`).FindAllString(sec, -1), " ")
	if want := `id="stuck-needs" conversation/2004 conversation/2002 conversation/2003 id="stuck-waits" conversation/1001`; order != want {
		t.Errorf("stuck section in the order\n%s\nwant\n%s", order, want)
	}
}

// TestStuckRowsSayTheHolds: the balancer never moves a ticket moved within
// the cooldown, one an agent replied to or noted lately, nor one whose move
// an SST rejected within the cooldown, yet the page and the API promised
// those tickets to a senior or to the away rule. They now say which hold
// keeps the ticket and until when, at the server's clock and in the page's
// zone, from the rejected proposals the page and the API read; a refusal
// older than the cooldown holds nothing. The agents carry the windows of
// the policy they were measured under, as team.Reader's do.
func TestStuckRowsSayTheHolds(t *testing.T) {
	t.Parallel()
	clock := newPageClock()
	t0 := clock.Now() // Tuesday 15:00 UTC
	w := newWorld(clock.Now)
	for i := range w.agents {
		w.agents[i].Cooldown, w.agents[i].RecentActivity = 24*time.Hour, 2*time.Hour
	}
	stuck := func(id, owner int64, waited time.Duration) store.OpenConversation {
		return store.OpenConversation{ID: id, Number: id - 500, Status: store.StatusActive, Subject: "stuck", AssigneeID: owner,
			CreatedAt: t0.Add(-waited - time.Hour), CustomerWaitingSince: t0.Add(-waited), LastMessageBy: store.ByCustomer}
	}
	moved := stuck(2101, 11, 5*time.Hour)
	moved.LastMovedAt = t0.Add(-time.Hour)
	noted := stuck(2104, 13, 9*time.Hour)
	noted.LastAgentActivityAt = t0.Add(-30 * time.Minute)
	w.convs = append(w.convs, moved, stuck(2102, 11, 7*time.Hour), stuck(2103, 11, 8*time.Hour), noted)
	refusal := func(id, conv int64, at time.Time) store.Proposal {
		return store.Proposal{ID: id, CreatedAt: at.Add(-time.Hour), UpdatedAt: at, ConversationID: conv, ConversationNumber: conv - 500,
			FromAgent: 11, ToAgent: 12, Reason: "stuck", Explanation: "refused", Status: store.ProposalRejected, DecidedBy: "page: Sam", DecidedAt: at}
	}
	w.proposals = append(w.proposals, refusal(30, 2102, t0.Add(-2*time.Hour)), refusal(31, 2103, t0.Add(-25*time.Hour)))
	s := New(Options{Now: clock.Now})
	s.EnableAPI(APIOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour})
	s.EnablePage(PageOptions{Team: w, Queue: w, StuckAfter: 4 * time.Hour})

	want := map[int64]string{
		1001: "proposal waiting for approval",
		2101: "moved by queuewrangler at Tue 14:00 UTC: not moved again before Wed 14:00 UTC (cooldown)",
		2102: "a move was rejected at Tue 13:00 UTC: left with Ana Front until Wed 13:00 UTC, or until Ana Front is away or off shift",
		2103: "to a senior, else another agent, once stuck while Ana Front is on shift, if one would answer clearly sooner; else it stays with Ana Front",
		2104: "an agent replied or added a note at Tue 14:30 UTC: not moved before Tue 16:30 UTC; Walt Away is away",
	}
	rec := do(s, "GET", "/api/v1/conversations?state=stuck", "")
	var body struct {
		Conversations []struct {
			ID   int64  `json:"id"`
			Next string `json:"next"`
		} `json:"conversations"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("answer is not JSON: %v: %s", err, rec.Body)
	}
	got := map[int64]string{}
	for _, c := range body.Conversations {
		got[c.ID] = c.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("next of the stuck conversations (-want +got):\n%s", diff)
	}
	page := pageGet(t, s, "/").Body.String()
	for id, say := range want {
		if !strings.Contains(page, html.EscapeString(say)) {
			t.Errorf("the API says %q of %d, which the page does not", say, id)
		}
	}
	// A hold with a known end waits, unless the owner cannot answer:
	// Walt's customer needs someone.
	sec := page[strings.Index(page, `<section id="stuck"`):strings.Index(page, `<section id="unassigned"`)]
	order := strings.Join(regexp.MustCompile(`id="stuck-(?:needs|waits)"|conversation/\d+`).FindAllString(sec, -1), " ")
	if want := `id="stuck-needs" conversation/2104 id="stuck-waits" conversation/2103 conversation/2102 conversation/1001 conversation/2101`; order != want {
		t.Errorf("stuck section in the order\n%s\nwant\n%s", order, want)
	}
}
