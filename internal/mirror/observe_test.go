package mirror_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// webhookInbox is the HTTP edge reduced to what matters here: it stores every
// delivery in the store's webhook inbox, as httpapi does once the
// signature checks out.
type webhookInbox struct {
	db *store.DB
	mu sync.Mutex
	n  int
}

func (h *webhookInbox) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	if _, _, err := h.db.AddWebhook(r.Context(), r.Header.Get("X-HelpScout-Event"), body, time.Now()); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
}

func (h *webhookInbox) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n
}

// histogram is one histogram series: its count and sum.
type histogram struct {
	Count uint64
	Sum   float64
}

// gatherHistograms reads a histogram family by series ("mailbox=.. agent=..").
func gatherHistograms(t *testing.T, reg *prometheus.Registry, name string) map[string]histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]histogram{}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, lp := range m.GetLabel() {
				key += fmt.Sprintf("%s=%s ", lp.GetName(), lp.GetValue())
			}
			out[key] = histogram{Count: m.GetHistogram().GetSampleCount(), Sum: m.GetHistogram().GetSampleSum()}
		}
	}
	return out
}

// must(f())(t) is f's value, or the end of the test on f's error.
func must[T any](v T, err error) func(*testing.T) T {
	return func(t *testing.T) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestFirstResponseAndResolutionByHand builds conversations in the fake
// whose first response and resolution times are computed by hand, mirrors
// them by poll and by webhook, and checks the histograms' sums and counts;
// then restarts on the same database and checks nothing is observed twice.
func TestFirstResponseAndResolutionByHand(t *testing.T) {
	ctx := context.Background()
	// base is ten hours before now: every reply and close falls within the
	// mirror's RecentWindow, so all of them are observed.
	now := time.Now().UTC().Truncate(time.Second)
	base := now.Add(-10 * time.Hour)
	at := func(d time.Duration) time.Time { return base.Add(d) }
	clock := func() time.Time { return now }

	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{Clock: clock})
	mb := must(fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"}))(t)
	ana := must(fake.AddUser(helpscouttest.User{FirstName: "Ana", Email: "ana@example.com"}))(t).ID
	ben := must(fake.AddUser(helpscouttest.User{FirstName: "Ben", Email: "ben@example.com"}))(t).ID
	cust := must(fake.AddCustomer(helpscouttest.Customer{First: "Sam", Email: "sam@example.net"}))(t).ID

	newConv := func(created time.Duration, assignee int64) int64 {
		t.Helper()
		c := must(fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust,
			AssigneeID: assignee, Subject: "help", At: at(created)}))(t)
		return c.ID
	}
	reply := func(conv, user int64, d time.Duration, status string) {
		t.Helper()
		must(fake.AddAgentReply(conv, helpscouttest.ThreadInput{UserID: user, At: at(d), Status: status}))(t)
	}
	customer := func(conv int64, d time.Duration) {
		t.Helper()
		must(fake.AddCustomerThread(conv, helpscouttest.ThreadInput{At: at(d)}))(t)
	}
	status := func(conv, user int64, d time.Duration, s string) {
		t.Helper()
		noErr(t, fake.SetStatus(conv, user, s, at(d)))
	}

	// Each case: what happens, then the hand computation in the comment.
	// FRT is creation of a customer-started conversation -> first
	// published agent reply; resolution is creation -> first close at or
	// after the first agent reply.

	// A note and an assignment line item before the first reply count for
	// nothing: FRT 30m = 1800 by Ana. Never closed: no resolution.
	noteFirst := newConv(0, 0)
	noErr(t, fake.Assign(noteFirst, ana, ana, at(5*time.Minute)))
	must(fake.AddNote(noteFirst, helpscouttest.ThreadInput{UserID: ana, Body: "looking", At: at(10 * time.Minute)}))(t)
	reply(noteFirst, ana, 30*time.Minute, "")

	// A draft is not a reply: Ana's draft at 5m, Ben's reply at 45m:
	// FRT 2700 by Ben; closed at 2h: resolution 7200.
	draft := newConv(0, ana)
	must(fake.AddDraft(draft, helpscouttest.ThreadInput{UserID: ana, At: at(5 * time.Minute)}))(t)
	reply(draft, ben, 45*time.Minute, "")
	status(draft, ben, 2*time.Hour, helpscouttest.StatusClosed)

	// A draft alone: no first response, and its close is no resolution.
	draftOnly := newConv(0, ana)
	must(fake.AddDraft(draftOnly, helpscouttest.ThreadInput{UserID: ana, At: at(5 * time.Minute)}))(t)
	status(draftOnly, ana, time.Hour, helpscouttest.StatusClosed)

	// Agent-started at 1h: no first response. Its opening message is an
	// agent reply, so the close at 4h resolves it: resolution 3h = 10800
	// (Help Scout: resolved = at least one user reply and closed).
	agentStarted := must(fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust,
		CreatedByUserID: ana, AssigneeID: ana, Subject: "we noticed", At: at(time.Hour)}))(t).ID
	customer(agentStarted, 2*time.Hour)
	reply(agentStarted, ana, 3*time.Hour, "")
	status(agentStarted, ana, 4*time.Hour, helpscouttest.StatusClosed)

	// The customer writes again at 1h before any reply; the clock runs
	// from creation, not from the follow-up: reply at 3h, FRT 10800 by Ben.
	followUp := newConv(0, ben)
	customer(followUp, time.Hour)
	reply(followUp, ben, 3*time.Hour, "")

	// Send-and-close at 20m (FRT 1200, resolution 1200, Ana); the customer
	// reopens at 2h, Ana replies at 3h and closes at 4h: not resolved again.
	reopened := newConv(0, ana)
	reply(reopened, ana, 20*time.Minute, helpscouttest.StatusClosed)
	customer(reopened, 2*time.Hour)
	reply(reopened, ana, 3*time.Hour, "")
	status(reopened, ana, 4*time.Hour, helpscouttest.StatusClosed)

	// Closed at 10m without a reply, reopened by the customer at 1h, Ben
	// replies at 2h and closes at 5h: FRT 7200 by Ben; the close before
	// the reply is no resolution, the one at 5h is: 18000.
	closedFirst := newConv(0, ben)
	status(closedFirst, ben, 10*time.Minute, helpscouttest.StatusClosed)
	customer(closedFirst, time.Hour)
	reply(closedFirst, ben, 2*time.Hour, "")
	status(closedFirst, ben, 5*time.Hour, helpscouttest.StatusClosed)

	// Replied to, then marked spam: skipped entirely.
	spam := newConv(0, ana)
	reply(spam, ana, 15*time.Minute, "")
	status(spam, ana, time.Hour, helpscouttest.StatusSpam)

	// Waits for the webhook phase: created at 8h, nothing else yet.
	viaWebhook := newConv(8*time.Hour, ben)

	db := testkit.OpenStore(t)
	hs := must(helpscout.NewClient(fake.Client()).WithBaseURL(ts.URL))(t)
	reg := prometheus.NewPedanticRegistry()
	m := mirror.New(hs, db, mirror.Options{Metrics: metrics.NewInstruments(reg), Now: clock})

	mbID := fmt.Sprint(mb.ID)
	series := func(agent int64) string { return fmt.Sprintf("agent_id=%d mailbox_id=%s ", agent, mbID) }
	mailbox := "mailbox_id=" + mbID + " "
	check := func(t *testing.T, reg *prometheus.Registry, wantFRT, wantRes map[string]histogram) {
		t.Helper()
		if diff := cmp.Diff(gatherHistograms(t, reg, "helpscout_first_response_seconds"), wantFRT); diff != "" {
			t.Errorf("first response histogram (-got +want):\n%s", diff)
		}
		if diff := cmp.Diff(gatherHistograms(t, reg, "helpscout_resolution_seconds"), wantRes); diff != "" {
			t.Errorf("resolution histogram (-got +want):\n%s", diff)
		}
	}

	// Phase 1: everything arrives by poll.
	st := must(m.SyncOnce(ctx))(t)
	wantFRT := map[string]histogram{
		series(ana): {Count: 2, Sum: 1800 + 1200},
		series(ben): {Count: 3, Sum: 2700 + 10800 + 7200},
	}
	wantRes := map[string]histogram{
		mailbox: {Count: 4, Sum: 7200 + 10800 + 1200 + 18000},
	}
	t.Run("by poll", func(t *testing.T) {
		check(t, reg, wantFRT, wantRes)
		if st.Observed != 9 {
			t.Errorf("SyncOnce observed %d, want 9 (5 first responses, 4 resolutions)", st.Observed)
		}
	})

	// Phase 2: Ben replies at 9h and closes at 9h30; the mirror hears by
	// webhook first (FRT 3600, resolution 5400), then polls the same
	// changes again.
	inbox := &webhookInbox{db: db}
	rx := httptest.NewServer(inbox)
	t.Cleanup(rx.Close)
	fake.SetWebhook(helpscouttest.WebhookOptions{URL: rx.URL, Secret: "s3cret"})
	reply(viaWebhook, ben, 9*time.Hour, "")
	status(viaWebhook, ben, 9*time.Hour+30*time.Minute, helpscouttest.StatusClosed)
	waitCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	noErr(t, fake.WaitWebhooks(waitCtx))
	if inbox.count() == 0 {
		t.Fatal("no webhook reached the inbox")
	}
	must(m.ProcessInbox(ctx))(t)
	wantFRT[series(ben)] = histogram{Count: 4, Sum: 2700 + 10800 + 7200 + 3600}
	wantRes[mailbox] = histogram{Count: 5, Sum: 7200 + 10800 + 1200 + 18000 + 5400}
	t.Run("by webhook", func(t *testing.T) { check(t, reg, wantFRT, wantRes) })

	st = must(m.SyncOnce(ctx))(t)
	t.Run("the same reply by poll", func(t *testing.T) {
		check(t, reg, wantFRT, wantRes)
		if st.Observed != 0 {
			t.Errorf("the poll after the webhook observed %d, want 0", st.Observed)
		}
	})

	// Phase 3: a restart on the same database, with the sync cursor lost
	// so that every conversation is read again: a new registry, nothing in
	// it.
	noErr(t, db.SetCursor(ctx, mirror.CursorConversations, time.Time{}))
	reg2 := prometheus.NewPedanticRegistry()
	m2 := mirror.New(hs, db, mirror.Options{Metrics: metrics.NewInstruments(reg2), Now: clock})
	st = must(m2.SyncOnce(ctx))(t)
	must(m2.ProcessInbox(ctx))(t)
	t.Run("after a restart", func(t *testing.T) {
		if st.Conversations != 9 {
			t.Fatalf("the restarted mirror listed %d conversations, want a full walk of 9", st.Conversations)
		}
		check(t, reg2, map[string]histogram{}, map[string]histogram{})
		if st.Observed != 0 {
			t.Errorf("the restarted mirror observed %d, want 0", st.Observed)
		}
	})
}

// The sync freshness gauge is read against Prometheus's time(), so it is
// stamped with the wall clock even when the mirror's own clock is the
// demo's simulated one, months away.
func TestSyncLastSuccessIsWallClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 3})
	reg := prometheus.NewPedanticRegistry()
	m := e.mirror(mirror.Options{Metrics: metrics.NewInstruments(reg)})
	before := time.Now().Unix()
	syncOnce(t, m)
	after := time.Now().Unix()

	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != "queuewrangler_sync_last_success_timestamp_seconds" {
			continue
		}
		got := int64(f.GetMetric()[0].GetGauge().GetValue())
		if got < before || got > after {
			t.Fatalf("last success stamped %s, want between %s and %s (wall clock; the mirror's clock reads %s)",
				time.Unix(got, 0).UTC(), time.Unix(before, 0).UTC(), time.Unix(after, 0).UTC(), e.clock.Now())
		}
		return
	}
	t.Fatal("queuewrangler_sync_last_success_timestamp_seconds not exported")
}
