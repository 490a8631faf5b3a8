package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

const ownHookSecret = "own-webhook-secret"

// ownEnv is the daemon, run() in QW_ROUTING=own on loopback, against the
// fake with signed webhooks, through a relay that notes when each
// convo.created webhook was delivered (the daemon answered 200: stored),
// and in front of the fake's API, which notes when each PATCH of a
// conversation was answered (the fake's own records keep whole seconds).
type ownEnv struct {
	fake     *helpscouttest.Server
	daemon   string
	mailbox  int64
	customer int64

	mu        sync.Mutex
	delivered map[int64]time.Time // conversation id -> convo.created accepted
	patched   map[int64]time.Time // conversation id -> its last PATCH answered
}

func newOwnEnv(tb testing.TB, budget string) *ownEnv {
	tb.Helper()
	e := &ownEnv{delivered: map[int64]time.Time{}, patched: map[int64]time.Time{}}
	ts := httptest.NewServer(http.HandlerFunc(e.api))
	e.fake = helpscouttest.New(helpscouttest.Options{BaseURL: ts.URL})
	tb.Cleanup(func() {
		ts.Close()
		e.fake.Close()
	})
	fake := e.fake
	acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 15, Conversations: 200})
	if err != nil {
		tb.Fatal(err)
	}
	for _, mb := range acct.Mailboxes {
		cfg, err := fake.Routing(mb)
		if err != nil {
			tb.Fatal(err)
		}
		if cfg.State != helpscouttest.RoutingDisabled {
			tb.Fatalf("mailbox %d: the fake's routing is %s; own mode needs it off", mb, cfg.State)
		}
	}
	addr := startDaemon(tb, ts.URL, io.Discard, map[string]string{
		"QW_ROUTING": "own", "QW_MODE": "propose", "QW_POLL_INTERVAL": "1h", "QW_BALANCE_INTERVAL": "1h",
		"QW_HELPSCOUT_WEBHOOK_SECRET": ownHookSecret, "QW_RATE_LIMIT_PER_MINUTE": budget,
	})
	e.daemon, e.mailbox, e.customer = "http://"+addr, acct.Mailboxes[0], acct.Customers[0]
	relay := httptest.NewServer(http.HandlerFunc(e.relay))
	tb.Cleanup(relay.Close)
	fake.SetWebhook(helpscouttest.WebhookOptions{URL: relay.URL, Secret: ownHookSecret, Backoff: 20 * time.Millisecond})
	return e
}

// api serves the fake and notes when a PATCH of a conversation was
// answered.
func (e *ownEnv) api(w http.ResponseWriter, r *http.Request) {
	e.fake.ServeHTTP(w, r)
	if r.Method != http.MethodPatch {
		return
	}
	if id, err := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/v2/conversations/"), 10, 64); err == nil {
		e.mu.Lock()
		e.patched[id] = time.Now()
		e.mu.Unlock()
	}
}

// relay forwards a webhook to the daemon and notes when a convo.created
// was accepted.
func (e *ownEnv) relay(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	req, _ := http.NewRequestWithContext(r.Context(), http.MethodPost, e.daemon+"/webhooks/helpscout", bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	at := time.Now()
	var c struct{ ID int64 }
	if resp.StatusCode == http.StatusOK && r.Header.Get("X-HelpScout-Event") == "convo.created" && json.Unmarshal(body, &c) == nil {
		e.mu.Lock()
		e.delivered[c.ID] = at
		e.mu.Unlock()
	}
	w.WriteHeader(resp.StatusCode)
}

// arrive creates a customer's conversation and returns how long after its
// webhook's delivery Help Scout had it assigned, and to whom.
func (e *ownEnv) arrive(tb testing.TB) (time.Duration, int64) {
	tb.Helper()
	c, err := e.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: e.mailbox, CustomerID: e.customer, Subject: "new", Body: "hello"})
	if err != nil {
		tb.Fatal(err)
	}
	var assignee int64
	var delivered, assignedAt time.Time
	testkit.WaitFor(tb, time.Minute, fmt.Sprintf("conversation %d assigned", c.ID), func() (bool, string) {
		got, _ := e.fake.Conversation(c.ID)
		e.mu.Lock()
		defer e.mu.Unlock()
		var ok bool
		switch delivered, ok = e.delivered[c.ID]; {
		case !ok:
			return false, "its webhook not delivered"
		case got.AssigneeID == 0:
			return false, "still unassigned"
		}
		// The route's PATCH is the only one: a first assignment adds no
		// note and nothing else writes.
		assignee, assignedAt = got.AssigneeID, e.patched[c.ID]
		return !assignedAt.IsZero(), "no PATCH noted"
	})
	return max(assignedAt.Sub(delivered), 0), assignee
}

// End to end through serve: a new conversation's webhook leads to its
// assignment with one write and no note, counted as a hand-out.
func TestOwnModeAssignsNewConversationsEndToEnd(t *testing.T) {
	e := newOwnEnv(t, "200")
	e.fake.ResetStats()
	_, to := e.arrive(t)
	if to == 0 {
		t.Fatal("no assignee")
	}
	if n := len(e.fake.NotesReceived()); n != 0 {
		t.Errorf("a first assignment wrote %d notes, want none", n)
	}
	if p := e.fake.Patches(); len(p) != 1 || p[0].Path != "/assignTo" {
		t.Errorf("patches = %+v, want one assignTo", p)
	}
	testkit.WaitFor(t, time.Minute, "the hand-out counted", func() (bool, string) {
		m := scrapeMetrics(t, strings.TrimPrefix(e.daemon, "http://"))
		want := `queuewrangler_reassignments_total{kind="handout",outcome="applied",reason="unassigned"} 1`
		return strings.Contains(m, want), "no " + want
	})
	resp, err := http.Get(e.daemon + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(page), "queuewrangler assigns each one itself as it arrives") {
		t.Error("the page does not say that the daemon routes new conversations itself")
	}
}

// BenchmarkOwnWebhookToAssignment measures, against the live fake, the time
// from a new conversation's webhook delivery (the daemon answered 200) to
// its assignment in Help Scout, one conversation at a time: the mirror's
// inbox pass, the route's plan over a 200-conversation mirror, the re-read
// and the PATCH. The budget is raised so that it measures the daemon, not
// the pacing (each route spends about 7 units of it, webhooks included).
// Target: p99 under 5 s.
func BenchmarkOwnWebhookToAssignment(b *testing.B) {
	e := newOwnEnv(b, "100000")
	var lat []time.Duration
	b.ResetTimer()
	for b.Loop() {
		d, _ := e.arrive(b)
		lat = append(lat, d)
	}
	b.StopTimer()
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, int(q*float64(len(lat))))] }
	b.ReportMetric(float64(at(0.50).Microseconds())/1000, "p50_ms")
	b.ReportMetric(float64(at(0.99).Microseconds())/1000, "p99_ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max_ms")
}
