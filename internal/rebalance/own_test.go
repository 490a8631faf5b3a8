package rebalance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// ownEnv is the small world with a daemon in QW_ROUTING=own: its
// rebalancer, router, instruments and log.
type ownEnv struct {
	*world
	reb    *Rebalancer
	router *Router
	m      *metrics.Instruments
	log    *testkit.LogBuffer
}

func newOwnEnv(t *testing.T, unassigned int, mode Mode) *ownEnv {
	t.Helper()
	w := newWorld(t, unassigned)
	e := &ownEnv{world: w, m: metrics.NewInstruments(prometheus.NewRegistry()), log: &testkit.LogBuffer{}}
	e.reb = New(w.db, w.hs, Options{Mode: mode, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
		Metrics: e.m, Logger: slog.New(slog.NewTextHandler(e.log, nil)), Now: func() time.Time { return w.now }})
	e.router = e.reb.NewRouter(context.Background(), RouterOptions{})
	if e.router == nil {
		t.Fatal("NewRouter returned nil in own mode")
	}
	return e
}

// newConversation is a customer's new conversation, created now in the fake.
func (e *ownEnv) newConversation(t *testing.T) int64 {
	t.Helper()
	c, err := e.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: e.mailbox, CustomerID: e.customer, Subject: "new", Body: "hello", At: e.now})
	must(t, err)
	return c.ID
}

// receiveWebhooks has the fake deliver its webhooks into the store's inbox,
// as the daemon's endpoint would after checking the signature.
func (e *ownEnv) receiveWebhooks(t *testing.T) {
	t.Helper()
	rx := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err == nil {
			_, _, err = e.db.AddWebhook(r.Context(), r.Header.Get("X-HelpScout-Event"), body, e.now)
		}
		if err != nil {
			http.Error(rw, err.Error(), http.StatusInternalServerError)
		}
	}))
	t.Cleanup(rx.Close)
	e.fake.SetWebhook(helpscouttest.WebhookOptions{URL: rx.URL, Secret: "s3cret", Backoff: 10 * time.Millisecond})
}

// deliver waits for the fake's webhooks and applies them as the mirror's
// inbox pass does.
func (e *ownEnv) deliver(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must(t, e.fake.WaitWebhooks(ctx))
	if _, err := e.mir.ProcessInbox(ctx); err != nil {
		t.Fatal(err)
	}
}

func (e *ownEnv) route(t *testing.T) []store.Proposal {
	t.Helper()
	ps, err := e.router.RouteOnce(context.Background())
	must(t, err)
	return ps
}

// writes counts the requests that change something in Help Scout.
func writes(fake *helpscouttest.Server) int {
	n := 0
	for route, count := range fake.Stats().Requests {
		if !strings.HasPrefix(route, http.MethodGet) {
			n += count
		}
	}
	return n
}

func TestOwnRoutesANewConversationOnItsWebhookWithOneWriteAndNoNote(t *testing.T) {
	for _, mode := range []Mode{ModePropose, ModeApply} {
		t.Run(string(mode), func(t *testing.T) {
			e := newOwnEnv(t, 0, mode)
			e.receiveWebhooks(t)
			id := e.newConversation(t)
			e.deliver(t)
			e.fake.ResetStats()

			got := e.route(t)
			if len(got) != 1 {
				t.Fatalf("routed %d conversations, want 1", len(got))
			}
			p := got[0]
			if p.ConversationID != id || p.Status != store.ProposalApplied || p.FromAgent != 0 || !p.Handout() ||
				p.DecidedBy != decidedByRouting || p.Reason != string(balancer.ReasonUnassigned) {
				t.Fatalf("route = %+v, want conversation %d handed out and applied", p, id)
			}
			if p.ToAgent != e.ana && p.ToAgent != e.ben {
				t.Errorf("routed to %d, want Ana (%d) or Ben (%d)", p.ToAgent, e.ana, e.ben)
			}
			if c, _ := e.fake.Conversation(id); c.AssigneeID != p.ToAgent {
				t.Errorf("Help Scout has assignee %d, want %d", c.AssigneeID, p.ToAgent)
			}
			if n := len(e.fake.NotesReceived()); n != 0 {
				t.Errorf("a first assignment wrote %d notes, want none", n)
			}
			// Recorded as needing none: a note left due would be written by
			// the first run 5 minutes later (recoverNotes).
			if stored, err := e.db.Proposal(context.Background(), p.ID); err != nil || stored.Note != store.NoteNone {
				t.Errorf("the route's note is %q (%v), want %q", stored.Note, err, store.NoteNone)
			}
			if n := writes(e.fake); n != 1 {
				t.Errorf("the route cost %d writes (%v), want 1", n, e.fake.Stats().Requests)
			}
			if !strings.Contains(p.Explanation, "would wait") {
				t.Errorf("explanation %q does not say the expected wait", p.Explanation)
			}
			// The mirror has not caught up with the assignment: routing
			// again must not assign it twice.
			if again := e.route(t); len(again) != 0 {
				t.Errorf("a second pass routed %+v again", again)
			}
			if n := len(e.fake.Patches()); n != 1 {
				t.Errorf("%d PATCHes after two passes, want 1", n)
			}
		})
	}
}

func TestOwnSkipsAConversationAssignedMeanwhile(t *testing.T) {
	e := newOwnEnv(t, 0, ModePropose)
	id := e.newConversation(t)
	e.sync(t)
	must(t, e.fake.Assign(id, e.ben, e.ben, e.now)) // Ben took it from the folder
	e.fake.ResetStats()

	got := e.route(t)
	if len(got) != 1 || got[0].Status != store.ProposalStale || !strings.Contains(got[0].Error, "assignee changed") {
		t.Fatalf("routes = %+v, want one stale because the assignee changed", got)
	}
	if n := writes(e.fake); n != 0 {
		t.Errorf("%d writes for a conversation someone assigned meanwhile, want 0", n)
	}
	if c, _ := e.fake.Conversation(id); c.AssigneeID != e.ben {
		t.Errorf("assignee = %d, want Ben's %d kept", c.AssigneeID, e.ben)
	}
}

// A conversation whose webhook never came is routed from the poll that
// first stores it.
func TestOwnRoutesAConversationFirstSeenByAPoll(t *testing.T) {
	e := newOwnEnv(t, 0, ModePropose)
	id := e.newConversation(t)
	if got := e.route(t); len(got) != 0 {
		t.Fatalf("routed %+v before the mirror knew the conversation", got)
	}
	e.sync(t)
	got := e.route(t)
	if len(got) != 1 || got[0].ConversationID != id || got[0].Status != store.ProposalApplied {
		t.Fatalf("routes after the poll = %+v, want conversation %d applied", got, id)
	}
}

// A customer who writes again before the route is applied still needs an
// owner: unlike a rebalancing move, the route is not stale for it.
func TestOwnRoutesWhenTheCustomerWroteAgain(t *testing.T) {
	e := newOwnEnv(t, 0, ModePropose)
	id := e.newConversation(t)
	e.sync(t)
	_, err := e.fake.AddCustomerThread(id, helpscouttest.ThreadInput{Body: "hello?", At: e.now.Add(time.Second)})
	must(t, err)
	got := e.route(t)
	if len(got) != 1 || got[0].Status != store.ProposalApplied {
		t.Fatalf("routes = %+v, want one applied", got)
	}
}

// What waited before the daemon started is backlog: the balancer's rule 1
// hands it out with its caps and the backlog setting, not the router.
func TestOwnLeavesTheBacklogToTheBalancer(t *testing.T) {
	e := newOwnEnv(t, 2, ModePropose)
	if got := e.route(t); len(got) != 0 {
		t.Fatalf("routed the backlog: %+v", got)
	}
	id := e.newConversation(t)
	e.sync(t)
	got := e.route(t)
	if len(got) != 1 || got[0].ConversationID != id {
		t.Fatalf("routes = %+v, want only the new conversation %d", got, id)
	}
}

// A restart routes what arrived while the daemon was stopped: it is newer
// than anything the mirror holds.
func TestOwnRoutesWhatArrivedWhileStopped(t *testing.T) {
	w := newWorld(t, 1)
	w.now = w.now.Add(time.Hour)
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: w.mailbox, CustomerID: w.customer, Subject: "while stopped", At: w.now.Add(-30 * time.Minute)})
	must(t, err)
	reb := New(w.db, w.hs, Options{Mode: ModePropose, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
		Now: func() time.Time { return w.now }})
	router := reb.NewRouter(context.Background(), RouterOptions{})
	w.sync(t)
	got, err := router.RouteOnce(context.Background())
	must(t, err)
	if len(got) != 1 || got[0].ConversationID != c.ID {
		t.Fatalf("routes = %+v, want the conversation created while stopped (%d) only", got, c.ID)
	}
}

// TestOwnHandsANewConversationToTheLastOnShift: when everyone on shift
// leaves within ShiftEndMargin and nobody comes back sooner, own mode's
// route gives a new conversation to one of the last people on shift
// (balancer.Route's lastOnShift), by design. The receiver check before
// the move, which refuses an approved proposal to someone about to leave,
// must not refuse this route: the customer would wait in the Unassigned
// folder all night instead.
func TestOwnHandsANewConversationToTheLastOnShift(t *testing.T) {
	w := newWorld(t, 0)
	from, to := w.now.Add(-time.Hour), w.now.Add(10*time.Minute)
	hours := from.Format("Mon") + " " + from.Format("15:04") + "-" + to.Format("15:04")
	r, err := roster.New(roster.Entry{}, []roster.Entry{
		{ID: w.ana, Hours: hours, Timezone: "UTC"}, {ID: w.ben, Hours: hours, Timezone: "UTC"}})
	must(t, err)
	reb := New(w.db, w.hs, Options{Mode: ModePropose, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
		Roster: r, Now: func() time.Time { return w.now }})
	router := reb.NewRouter(context.Background(), RouterOptions{})
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: w.mailbox, CustomerID: w.customer, Subject: "late", Body: "hello", At: w.now})
	must(t, err)
	w.sync(t)
	got, err := router.RouteOnce(context.Background())
	must(t, err)
	if len(got) != 1 || got[0].ConversationID != c.ID || got[0].Status != store.ProposalApplied {
		t.Fatalf("routes = %+v, want conversation %d handed to the last on shift and applied", got, c.ID)
	}
	if hs, _ := w.fake.Conversation(c.ID); hs.AssigneeID != got[0].ToAgent || (hs.AssigneeID != w.ana && hs.AssigneeID != w.ben) {
		t.Errorf("Help Scout has assignee %d, want Ana (%d) or Ben (%d)", hs.AssigneeID, w.ana, w.ben)
	}
}

func TestRouterOnlyInOwnModeAndNotOff(t *testing.T) {
	w := newWorld(t, 0)
	for _, tt := range []struct {
		mode    Mode
		routing balancer.RoutingMode
		want    bool
	}{
		{ModeOff, balancer.RoutingOwn, false},
		{ModePropose, balancer.RoutingOwn, true},
		{ModeApply, balancer.RoutingOwn, true},
		{ModeApply, balancer.RoutingHelpScout, false},
		{ModeApply, balancer.RoutingSteer, false},
	} {
		var log testkit.LogBuffer
		r := New(w.db, w.hs, Options{Mode: tt.mode, Routing: tt.routing, Policy: balancer.DefaultPolicy(),
			Logger: slog.New(slog.NewTextHandler(&log, nil))})
		if got := r.NewRouter(context.Background(), RouterOptions{}); (got != nil) != tt.want {
			t.Errorf("%s, %s: router %v, want one: %v", tt.mode, tt.routing, got, tt.want)
		}
		warned := strings.Contains(log.String(), "nobody assigns new conversations")
		if want := tt.mode == ModeOff && tt.routing == balancer.RoutingOwn; warned != want {
			t.Errorf("%s, %s: warned that nobody assigns: %v, want %v", tt.mode, tt.routing, warned, want)
		}
	}
	var none *Router // what the daemon holds in the other modes
	none.Wake()
	none.Run(context.Background())
}

func TestOwnWarnsOnceWhenHelpScoutRoutingIsOn(t *testing.T) {
	e := newOwnEnv(t, 0, ModePropose)
	ctx := context.Background()
	warning := "Help Scout's routing is on"
	notices := func() string {
		ns, err := e.reb.Notices(ctx)
		must(t, err)
		return strings.Join(ns, "\n")
	}
	e.router.CheckRouting(ctx)
	if strings.Contains(e.log.String(), warning) || strings.Contains(notices(), "Turn Help Scout's routing off") {
		t.Fatalf("flagged routing that is off:\n%s\n%s", e.log.String(), notices())
	}
	inboxNote := func() string {
		rt := e.reb.Routing(ctx)
		if rt.Mode != string(balancer.RoutingOwn) || len(rt.Inboxes) != 1 || rt.Inboxes[0].MailboxID != e.mailbox {
			t.Fatalf("routing view = %+v, want own mode and the one inbox", rt)
		}
		return rt.Inboxes[0].Note
	}
	if got := inboxNote(); !strings.Contains(got, "queuewrangler alone assigns") {
		t.Errorf("inbox note %q does not say that routing is off", got)
	}

	on := helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
		AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{e.ana, e.ben}}
	must(t, e.fake.SetRouting(e.mailbox, on))
	e.router.CheckRouting(ctx)
	e.router.CheckRouting(ctx)
	if n := strings.Count(e.log.String(), warning); n != 1 {
		t.Errorf("warned %d times over two checks, want once:\n%s", n, e.log.String())
	}
	if !strings.Contains(notices(), `Turn Help Scout's routing off in inbox "Support"`) {
		t.Errorf("page notices %q do not flag the inbox", notices())
	}
	if got := inboxNote(); !strings.Contains(got, "turn it off, or both will assign") {
		t.Errorf("inbox note %q does not flag routing that is on", got)
	}

	off := on
	off.State = helpscouttest.RoutingDisabled
	must(t, e.fake.SetRouting(e.mailbox, off))
	e.router.CheckRouting(ctx)
	if strings.Contains(notices(), "Turn Help Scout's routing off") {
		t.Errorf("still flagged after routing was turned off: %q", notices())
	}

	e.fake.SetRoutingPermission(helpscouttest.RoutingDenied)
	e.router.CheckRouting(ctx)
	e.router.CheckRouting(ctx)
	if !strings.Contains(notices(), "Cannot check that Help Scout's routing is off") || !strings.Contains(notices(), "403") {
		t.Errorf("page notices %q do not say the routing cannot be checked", notices())
	}
	if n := strings.Count(e.log.String(), "cannot check that Help Scout's routing is off"); n != 1 {
		t.Errorf("logged the 403 %d times, want once:\n%s", n, e.log.String())
	}
	// Not fatal: new conversations are still routed.
	e.newConversation(t)
	e.sync(t)
	if got := e.route(t); len(got) != 1 || got[0].Status != store.ProposalApplied {
		t.Errorf("routes after a 403 = %+v, want one applied", got)
	}
}

// Hand-outs and reassignments are counted apart in
// queuewrangler_reassignments_total: own mode's routes are hand-outs, an
// approved move of an owned ticket a reassignment.
func TestHandoutsAndReassignmentsAreCountedApart(t *testing.T) {
	e := newOwnEnv(t, 0, ModePropose)
	ctx := context.Background()
	owned, err := e.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: e.mailbox, CustomerID: e.customer,
		Subject: "owned", AssigneeID: e.ana, At: e.now.Add(-2 * time.Hour)})
	must(t, err)
	e.newConversation(t)
	e.sync(t)
	if got := e.route(t); len(got) != 1 || got[0].Status != store.ProposalApplied {
		t.Fatalf("routes = %+v, want one applied", got)
	}
	move, err := e.db.InsertProposals(ctx, []store.Proposal{{ConversationID: owned.ID, ConversationNumber: owned.Number,
		MailboxID: e.mailbox, FromAgent: e.ana, ToAgent: e.ben, Reason: string(balancer.ReasonOverload),
		Explanation: "customer waiting 2h would wait about 5h behind 9 tickets with Ana, about 20m with Ben",
		Snapshot: store.ProposalSnapshot{AssigneeID: e.ana, Status: store.StatusActive,
			CustomerWaitingSince: owned.CreatedAt, LastCustomerAt: owned.CreatedAt}}})
	must(t, err)
	if got, err := e.reb.Approve(ctx, move[0].ID, "sst"); err != nil || got.Status != store.ProposalApplied {
		t.Fatalf("approve = %+v, %v; want applied", got, err)
	}
	count := func(reason balancer.Reason, outcome, kind string) float64 {
		return testutil.ToFloat64(e.m.Reassignments.WithLabelValues(string(reason), outcome, kind))
	}
	for _, c := range []struct {
		reason        balancer.Reason
		outcome, kind string
		want          float64
	}{
		{balancer.ReasonUnassigned, "applied", metrics.KindHandout, 1},
		{balancer.ReasonUnassigned, "applied", metrics.KindReassignment, 0},
		{balancer.ReasonOverload, "applied", metrics.KindReassignment, 1},
		{balancer.ReasonOverload, "applied", metrics.KindHandout, 0},
		{balancer.ReasonOverload, "approved", metrics.KindReassignment, 1},
	} {
		if got := count(c.reason, c.outcome, c.kind); got != c.want {
			t.Errorf("reassignments_total{reason=%s,outcome=%s,kind=%s} = %g, want %g", c.reason, c.outcome, c.kind, got, c.want)
		}
	}
	// The reassignment carries its note; the hand-out none.
	notes := e.fake.NotesReceived()
	if len(notes) != 1 || notes[0].ConversationID != owned.ID || !strings.Contains(notes[0].Text, "about 20m with Ben") {
		t.Errorf("notes = %+v, want one on the reassigned ticket saying why it pays", notes)
	}
}

// gatedTransport holds the first PATCH until released: a balancer run's
// apply stuck behind a slow Help Scout.
type gatedTransport struct {
	next    http.RoundTripper
	once    sync.Once
	held    chan struct{} // closed when the first PATCH is held
	release chan struct{}
}

func (g *gatedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPatch {
		hold := false
		g.once.Do(func() { hold = true })
		if hold {
			close(g.held)
			<-g.release
		}
	}
	return g.next.RoundTrip(r)
}

// routeNewConversation creates a conversation, mirrors it and routes it in
// the background: the channel gets what RouteOnce returns.
func (w *world) routeNewConversation(t *testing.T, router *Router) (helpscouttest.Conversation, <-chan []store.Proposal) {
	t.Helper()
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
		Subject: "new", At: w.now})
	must(t, err)
	w.sync(t)
	routed := make(chan []store.Proposal, 1)
	go func() {
		ps, err := router.RouteOnce(context.Background())
		if err != nil {
			t.Error(err)
		}
		routed <- ps
	}()
	return c, routed
}

// A route does not queue behind a run's applies: those happen after the
// run's plan, outside planMu.
func TestOwnRouteDoesNotWaitForARunsApplies(t *testing.T) {
	w := newWorld(t, 1) // one backlog ticket for the run to hand out
	gate := &gatedTransport{next: helpscouttest.Bearer{Token: w.token}, held: make(chan struct{}), release: make(chan struct{})}
	p := balancer.DefaultPolicy()
	p.Backlog = balancer.BacklogOldest
	reb := New(w.db, w.clientWith(t, gate), Options{Mode: ModeApply, Routing: balancer.RoutingOwn, Policy: p,
		Now: func() time.Time { return w.now }})
	router := reb.NewRouter(context.Background(), RouterOptions{})
	runDone := make(chan error, 1)
	go func() {
		_, err := reb.RunOnce(context.Background())
		runDone <- err
	}()
	<-gate.held // the run is applying, its PATCH held

	c, routed := w.routeNewConversation(t, router)
	select {
	case ps := <-routed:
		if len(ps) != 1 || ps[0].ConversationID != c.ID || ps[0].Status != store.ProposalApplied {
			t.Errorf("routes = %+v, want conversation %d applied", ps, c.ID)
		}
	case <-time.After(time.Minute):
		t.Error("the route waited for the run's held apply")
	}
	close(gate.release)
	must(t, <-runDone)
}

// newFailingOwnEnv is newOwnEnv with a transport that answers the first
// failures assignment PATCHes with a 503, and one new conversation in the
// mirror.
func newFailingOwnEnv(t *testing.T, failures int) (*ownEnv, int64) {
	t.Helper()
	e := newOwnEnv(t, 0, ModePropose)
	e.hs = e.clientWith(t, helpscouttest.Bearer{Token: e.token, Next: &failFirst{match: isPatch, times: failures}})
	e.reb = New(e.db, e.hs, Options{Mode: ModePropose, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
		Metrics: e.m, Logger: slog.New(slog.NewTextHandler(e.log, nil)), Now: func() time.Time { return e.now }})
	e.router = e.reb.NewRouter(context.Background(), RouterOptions{})
	id := e.newConversation(t)
	e.sync(t)
	return e, id
}

// A route whose assignment fails is tried again at the next pass: the
// conversation is still unassigned and still new.
func TestOwnRetriesAFailedRoute(t *testing.T) {
	e, id := newFailingOwnEnv(t, 1)
	if got := e.route(t); len(got) != 1 || got[0].Status != store.ProposalFailed {
		t.Fatalf("first pass = %+v, want one failed route", got)
	}
	got := e.route(t)
	if len(got) != 1 || got[0].ConversationID != id || got[0].Status != store.ProposalApplied {
		t.Fatalf("second pass = %+v, want conversation %d routed and applied", got, id)
	}
	if c, _ := e.fake.Conversation(id); c.AssigneeID != got[0].ToAgent {
		t.Errorf("Help Scout has assignee %d, want %d", c.AssigneeID, got[0].ToAgent)
	}
	if again := e.route(t); len(again) != 0 {
		t.Errorf("an applied route was tried again: %+v", again)
	}
}

// A route that keeps failing is tried routeAttempts times, then left to
// the balancer with one warning that names the ticket and the error.
func TestOwnGivesUpAfterRouteAttempts(t *testing.T) {
	e, id := newFailingOwnEnv(t, 100)
	for pass := range routeAttempts {
		if got := e.route(t); len(got) != 1 || got[0].Status != store.ProposalFailed {
			t.Fatalf("pass %d = %+v, want one failed route", pass+1, got)
		}
	}
	if got := e.route(t); len(got) != 0 {
		t.Errorf("routed %+v after %d failures, want it left to the balancer", got, routeAttempts)
	}
	if n := len(e.fake.Patches()); n != 0 {
		t.Errorf("fake holds %d patches, want none (every one failed)", n)
	}
	c, _ := e.fake.Conversation(id)
	logs := e.log.String()
	if n := strings.Count(logs, "gave up on a new conversation"); n != 1 {
		t.Fatalf("%d give-up warnings, want 1:\n%s", n, logs)
	}
	if want := "ticket=" + itoa(c.Number); !strings.Contains(logs, want) || !strings.Contains(logs, "503") {
		t.Errorf("the warning does not name %s and the 503:\n%s", want, logs)
	}
}

// A stop in the middle of a route pass leaves the routes not yet tried
// approved, the one whose re-read it cut short too; the balancer's next
// run applies them.
func TestOwnStopMidPassLeavesTheRestForTheNextRun(t *testing.T) {
	tests := []struct {
		name    string
		match   func(*http.Request) bool
		applied int
	}{
		{"stopped while the first route is made", isPatch, 1},
		{"stopped during the first re-read", isReRead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newOwnEnv(t, 0, ModePropose)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopping := cancelAt{next: helpscouttest.Bearer{Token: e.token}, match: tt.match, after: true, cancel: cancel}
			e.reb = New(e.db, e.clientWith(t, stopping), Options{Mode: ModePropose, Routing: balancer.RoutingOwn,
				Policy: balancer.DefaultPolicy(), Now: func() time.Time { return e.now }})
			router := e.reb.NewRouter(context.Background(), RouterOptions{})
			ids := []int64{e.newConversation(t), e.newConversation(t), e.newConversation(t)}
			e.sync(t)

			got, err := router.RouteOnce(ctx)
			want := fmt.Sprintf("stopped in the middle of a batch: %d of 3 moves left approved for the next run: context canceled", 3-tt.applied)
			if err == nil || err.Error() != want {
				t.Fatalf("RouteOnce = %v, want %q", err, want)
			}
			n := map[store.ProposalStatus]int{}
			for _, p := range got {
				n[p.Status]++
			}
			if len(got) != 3 || n[store.ProposalApplied] != tt.applied || n[store.ProposalApproved] != 3-tt.applied {
				t.Fatalf("after the stop: %v, want %d applied and the rest approved", n, tt.applied)
			}

			if _, err := New(e.db, e.hs, Options{Mode: ModePropose, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
				Now: func() time.Time { return e.now }}).RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, id := range ids {
				if c, _ := e.fake.Conversation(id); c.AssigneeID == 0 {
					t.Errorf("conversation %d is still unassigned after the next run", id)
				}
			}
			if n := len(e.fake.Patches()); n != 3 {
				t.Errorf("fake saw %d patches, want 3: each route once", n)
			}
		})
	}
}

// TestOwnRoutingSaysADamagedFileOnce: a route pass reads the team from the
// mirror, and on a damaged file every pass (one per webhook or poll that
// may have stored a conversation) failed and logged "own routing failed"
// at ERROR. The damage is said once between all that meet it.
func TestOwnRoutingSaysADamagedFileOnce(t *testing.T) {
	e := newOwnEnv(t, 2, ModePropose) // the team's read meets the damage at a waiting customer
	repair := testkit.DamageTable(t, e.dbPath, "conversations")
	defer repair()
	if _, err := e.router.RouteOnce(context.Background()); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("a route pass on the damaged file: %v, want store.ErrCorrupt", err)
	}

	const passes = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := 0
	e.router.opts.Ready = func() (bool, string) { // asked before each pass
		if asked++; asked > passes {
			cancel()
			return false, "stop"
		}
		e.router.Wake() // as the next webhook would
		return true, ""
	}
	e.router.Wake()
	e.router.Run(ctx)
	saidOnce(t, e.log, "own routing failed", passes)
}

// TestHandoutRefreshDamageSaidOnce: after a hand-out the mirror re-reads
// the conversation (AfterApply), and on a damaged file it logged a WARN
// line after every hand-out, without the remedy and without the store
// learning that the file is damaged. As after a move, it is said once,
// at ERROR, with the remedy.
func TestHandoutRefreshDamageSaidOnce(t *testing.T) {
	e := newOwnEnv(t, 0, ModePropose)
	const handouts = 3
	for range handouts {
		e.newConversation(t)
	}
	e.sync(t)
	var logs testkit.LogBuffer
	e.reb.opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	refreshes := 0
	e.reb.opts.AfterApply = func(_ context.Context, id int64) error {
		refreshes++
		return fmt.Errorf("refresh conversation %d: store conversation %d: %w", id, id, store.ErrCorrupt)
	}
	got := e.route(t)
	applied := 0
	for _, p := range got {
		if p.Status == store.ProposalApplied && p.Handout() {
			applied++
		}
	}
	if applied != handouts || refreshes != handouts {
		t.Fatalf("%d hand-outs applied (of %d routes), %d refreshes; want %d of each", applied, len(got), refreshes, handouts)
	}
	saidOnce(t, &logs, "hand-out applied", refreshes)
	if !e.db.HeldDamaged() {
		t.Error("after the refresh met the damage, the store does not hold the file damaged")
	}
}

// TestLateRecoveredRouteIsRoutedAfresh: a route left approved by a daemon
// stopped before it was made is made by the first run after the restart
// (recoverInterrupted). It was made as planned however late that was, and,
// being a route, spared the shift-end check: a new customer routed to
// Ana, the only one on shift then, was handed to her two hours on, five
// minutes before she left, while Ben had come on shift for the evening.
// A route the recovery finds more than interruptedAfter old is now routed
// afresh from the team as it is then (the old one stale, saying why); one
// found moments after its plan is made as planned.
func TestLateRecoveredRouteIsRoutedAfresh(t *testing.T) {
	for _, tt := range []struct {
		name  string
		after time.Duration // from the stopped route to the next run
		late  bool
	}{
		{"moments later", time.Minute, false},
		{"after a restart two hours later", time.Hour + 55*time.Minute, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, 0)
			w.db.Now = func() time.Time { return w.now }
			// Ana is on shift now and leaves in two hours; Ben comes on in
			// an hour and stays late.
			hours := func(from, to time.Duration) string {
				f, e := w.now.Add(from), w.now.Add(to)
				return f.Format("Mon") + " " + f.Format("15:04") + "-" + e.Format("15:04")
			}
			r, err := roster.New(roster.Entry{}, []roster.Entry{
				{ID: w.ana, Hours: hours(-time.Hour, 2*time.Hour), Timezone: "UTC"},
				{ID: w.ben, Hours: hours(time.Hour, 8*time.Hour), Timezone: "UTC"}})
			must(t, err)
			opts := Options{Mode: ModePropose, Routing: balancer.RoutingOwn, Policy: balancer.DefaultPolicy(),
				Roster: r, Now: func() time.Time { return w.now }}

			stopCtx, stop := context.WithCancel(ctx)
			defer stop()
			stopping := cancelAt{next: helpscouttest.Bearer{Token: w.token}, match: isReRead, cancel: stop}
			router := New(w.db, w.clientWith(t, stopping), opts).NewRouter(ctx, RouterOptions{})
			c, err := w.fake.CreateConversation(helpscouttest.NewConversation{
				MailboxID: w.mailbox, CustomerID: w.customer, Subject: "new", Body: "hello", At: w.now})
			must(t, err)
			w.sync(t)
			left, err := router.RouteOnce(stopCtx)
			if err == nil || len(left) != 1 || left[0].Status != store.ProposalApproved || left[0].ToAgent != w.ana {
				t.Fatalf("stopped route pass = %+v, %v; want conversation %d's route to Ana left approved", left, err, c.ID)
			}

			w.now = w.now.Add(tt.after)
			_, err = New(w.db, w.hs, opts).RunOnce(ctx)
			must(t, err)
			old, err := w.db.Proposal(ctx, left[0].ID)
			must(t, err)
			hs, _ := w.fake.Conversation(c.ID)
			if !tt.late {
				if old.Status != store.ProposalApplied || hs.AssigneeID != w.ana {
					t.Errorf("route recovered %s: %s %q, Help Scout assignee %d; want applied to Ana (%d)", tt.name, old.Status, old.Error, hs.AssigneeID, w.ana)
				}
				return
			}
			if want := "a route left unmade for 1h 55m (stopped before it was made): routed afresh"; old.Status != store.ProposalStale || old.Error != want {
				t.Errorf("route to Ana recovered %s: %s %q, want stale %q", tt.name, old.Status, old.Error, want)
			}
			if hs.AssigneeID != w.ben {
				t.Errorf("Help Scout has assignee %d, want Ben (%d), on shift for hours, not Ana (%d), who leaves in 5 minutes", hs.AssigneeID, w.ben, w.ana)
			}
			routes, err := w.db.ListProposals(ctx, store.ProposalFilter{})
			must(t, err)
			if len(routes) != 2 || routes[0].Status != store.ProposalApplied || !routed(routes[0]) || routes[0].ToAgent != w.ben {
				t.Errorf("proposals after the recovery: %+v; want the stale route and an applied route to Ben", routes)
			}
			if n := len(w.fake.Patches()); n != 1 {
				t.Errorf("fake saw %d assignments, want 1", n)
			}
		})
	}
}
