package notify_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/notify"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// world is a team of two STs, Ana and Ben, in the fake Help Scout, with
// one mailbox and one customer, and the store it is mirrored into.
type world struct {
	fake              *helpscouttest.Server
	hs                *helpscout.Client
	db                *store.DB
	now               time.Time
	mailbox, customer int64
	ana, ben          int64
}

func newWorld(tb testing.TB) *world {
	tb.Helper()
	w := &world{now: time.Now().UTC().Truncate(time.Second), db: testkit.OpenStore(tb)}
	fake, ts := helpscouttest.NewTestServer(tb, helpscouttest.Options{Clock: w.clock})
	hs, err := helpscout.NewClient(&http.Client{Transport: helpscouttest.Bearer{Token: fake.IssueToken()}}).WithBaseURL(ts.URL)
	must(tb, err)
	w.fake, w.hs = fake, hs
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
	must(tb, err)
	w.mailbox = mb.ID
	for _, agent := range []struct {
		name string
		id   *int64
	}{{"Ana", &w.ana}, {"Ben", &w.ben}} {
		u, err := fake.AddUser(helpscouttest.User{FirstName: agent.name, Email: strings.ToLower(agent.name) + "@example.com",
			Role: "user", Timezone: "UTC", Status: "active"})
		must(tb, err)
		*agent.id = u.ID
	}
	cust, err := fake.AddCustomer(helpscouttest.Customer{First: "Chris", Email: "chris@example.com"})
	must(tb, err)
	w.customer = cust.ID
	return w
}

func (w *world) clock() time.Time { return w.now }

// conversation creates a customer's conversation at the given time,
// assigned to assignee (0 = unassigned).
func (w *world) conversation(tb testing.TB, at time.Time, assignee int64) int64 {
	tb.Helper()
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
		Subject: "help", Body: "please", At: at, AssigneeID: assignee})
	must(tb, err)
	return c.ID
}

func (w *world) sync(tb testing.TB) {
	tb.Helper()
	_, err := mirror.New(w.hs, w.db, mirror.Options{Now: w.clock}).SyncOnce(context.Background())
	must(tb, err)
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// mirrored is a world with stuck tickets with Ana (no senior to escalate
// them to) and unassigned ones, so that every balancer run has something
// to tell Slack.
func mirrored(tb testing.TB, stuck, unassigned int) (*store.DB, *helpscout.Client, func() time.Time) {
	tb.Helper()
	w := newWorld(tb)
	// The agents have been on shift for longer than the stuck threshold:
	// a ticket is stuck with its owner only for the time they have been
	// available.
	w.sync(tb)
	w.now = w.now.Add(5 * time.Hour)
	for i := range stuck {
		w.conversation(tb, w.now.Add(-6*time.Hour-time.Duration(i)*time.Minute), w.ana)
	}
	for i := range unassigned {
		w.conversation(tb, w.now.Add(-time.Duration(30+i)*time.Minute), 0)
	}
	w.sync(tb)
	return w.db, w.hs, w.clock
}

// hangingSlack accepts every webhook and answers none until the test ends.
type hangingSlack struct {
	srv      *httptest.Server
	inFlight atomic.Int32
	answered atomic.Int32
}

func newHangingSlack(tb testing.TB) *hangingSlack {
	h := &hangingSlack{}
	release := make(chan struct{})
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.inFlight.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
		h.answered.Add(1)
	}))
	tb.Cleanup(h.srv.Close)
	tb.Cleanup(func() { close(release) }) // before Close, which waits for the handlers
	return h
}

// runNotifier runs n until the test ends.
func runNotifier(tb testing.TB, n *notify.Notifier, db *store.DB, now func() time.Time) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { n.Run(ctx, team.NewReader(db, nil, balancer.DefaultPolicy(), now)) })
	tb.Cleanup(func() { cancel(); wg.Wait() })
}

func newRebalancer(db *store.DB, hs *helpscout.Client, now func() time.Time, n rebalance.Notifier) *rebalance.Rebalancer {
	p := balancer.DefaultPolicy()
	p.MaxMovesPerRun = 5
	return rebalance.New(db, hs, rebalance.Options{Mode: rebalance.ModePropose, Policy: p, Notify: n, Now: now})
}

func newNotifier(url string, db *store.DB, now func() time.Time, m *metrics.Instruments) *notify.Notifier {
	return notify.New(notify.Options{WebhookURL: url, Store: db, QueueSize: 2, Now: now, Metrics: m})
}

// TestHangingSlackNeverHoldsUpTheBalancer: with Slack accepting the
// connection and never answering, balancer runs go on completing while
// the first message is still stuck in the air.
func TestHangingSlackNeverHoldsUpTheBalancer(t *testing.T) {
	db, hs, now := mirrored(t, 3, 3)
	slackDown := newHangingSlack(t)
	m := metrics.NewInstruments(prometheus.NewRegistry())
	n := newNotifier(slackDown.srv.URL+"/services/T0/B0/x", db, now, m)
	runNotifier(t, n, db, now)
	reb := newRebalancer(db, hs, now, n)

	plan, err := reb.RunOnce(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Proposals) == 0 {
		t.Fatal("the first run proposed nothing; the test needs a message for Slack")
	}
	testkit.WaitFor(t, 10*time.Second, "the first message to reach the hanging endpoint", func() (bool, string) {
		return slackDown.inFlight.Load() > 0, "no request yet"
	})
	for i := range 3 {
		if _, err := reb.RunOnce(context.Background()); err != nil {
			t.Fatalf("run %d: %v", i+2, err)
		}
	}
	if got := slackDown.answered.Load(); got != 0 {
		t.Fatalf("the endpoint answered %d requests; the runs must complete while it hangs", got)
	}
	sent := testutil.ToFloat64(m.Notifications.WithLabelValues(notify.ChannelProposals, notify.ResultSent)) +
		testutil.ToFloat64(m.Notifications.WithLabelValues(notify.ChannelEscalation, notify.ResultSent))
	if sent != 0 {
		t.Errorf("%g messages counted sent to an endpoint that never answered", sent)
	}
}

// BenchmarkBalancerRun measures one balancer run (propose mode, 40 stuck
// tickets nobody senior can take and 40 unassigned) with no Slack, with a
// Slack that hangs and with a Slack that refuses connections: the
// notifier must add nothing that depends on Slack.
func BenchmarkBalancerRun(b *testing.B) {
	for _, slackState := range []string{"no-slack", "slack-hangs", "slack-refuses"} {
		b.Run(slackState, func(b *testing.B) {
			db, hs, now := mirrored(b, 40, 40)
			var n rebalance.Notifier
			m := metrics.NewInstruments(prometheus.NewRegistry())
			switch slackState {
			case "slack-hangs":
				nt := newNotifier(newHangingSlack(b).srv.URL+"/services/T0/B0/x", db, now, m)
				runNotifier(b, nt, db, now)
				n = nt
			case "slack-refuses":
				nt := newNotifier("http://127.0.0.1:1/services/T0/B0/x", db, now, m)
				runNotifier(b, nt, db, now)
				n = nt
			}
			reb := newRebalancer(db, hs, now, n)
			for b.Loop() {
				if _, err := reb.RunOnce(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
			var dropped float64
			for _, ch := range []string{notify.ChannelProposals, notify.ChannelEscalation} {
				dropped += testutil.ToFloat64(m.Notifications.WithLabelValues(ch, notify.ResultDropped))
			}
			b.ReportMetric(dropped, "dropped")
		})
	}
}
