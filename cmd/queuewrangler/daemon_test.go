package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// holdFirstPatch holds the first PATCH that reaches the fake until
// released: a balancer run caught in the middle of its batch.
type holdFirstPatch struct {
	next    http.Handler
	once    sync.Once
	held    chan struct{} // closed when the first PATCH is held
	release chan struct{}
}

func (h *holdFirstPatch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPatch {
		hold := false
		h.once.Do(func() { hold = true })
		if hold {
			close(h.held)
			<-h.release
		}
	}
	h.next.ServeHTTP(w, r)
}

// A stop while the balancer applies a batch and a request is still being
// served: the loops keep running while the HTTP server drains (run's
// order: HTTP intake first, then the loops), so the batch ends applied
// instead of being cut short at the signal.
func TestStopLetsTheBalancerFinishWhileHTTPDrains(t *testing.T) {
	hold := &holdFirstPatch{held: make(chan struct{}), release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(hold.release) }) }
	t.Cleanup(release)
	const tickets = 3
	fake, cfg, ln := smallTeam(t, tickets, rebalance.ModeApply, func(h http.Handler) http.Handler { hold.next = h; return hold })
	var logs testkit.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logs, nil)), time.Now) }()

	select {
	case <-hold.held: // the balancer's batch has begun: its first move is being made
	case <-time.After(30 * time.Second):
		t.Fatalf("no move was made; daemon log:\n%s", tail(logs.String(), 3000))
	}
	// A request in flight: a webhook whose body the daemon waits for. The
	// 100 Continue says its handler is running.
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /webhooks/helpscout HTTP/1.1\r\nHost: %s\r\nContent-Length: 2\r\nExpect: 100-continue\r\n%s: convo.created\r\n%s: x\r\n\r\n",
		ln.Addr(), helpscout.HeaderEvent, helpscout.HeaderSignature)
	answers := bufio.NewReader(conn)
	if line, err := answers.ReadString('\n'); err != nil || !strings.Contains(line, "100 Continue") {
		t.Fatalf("webhook request: %q, %v; want 100 Continue", line, err)
	}

	cancel() // SIGTERM
	release()
	const cutShort = "balancer run stopped before its last moves"
	deadline := time.Now().Add(30 * time.Second)
	for len(fake.Patches()) < tickets && !strings.Contains(logs.String(), cutShort) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := conn.Write([]byte("{}")); err != nil { // the request ends, and with it the drain
		t.Fatal(err)
	}
	select {
	case err := <-runErr:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after the last request ended")
	}

	if strings.Contains(logs.String(), cutShort) {
		t.Errorf("the stop cut the balancer's batch short while HTTP was draining; daemon log:\n%s", tail(logs.String(), 3000))
	}
	if n := len(fake.Patches()); n != tickets {
		t.Errorf("fake saw %d assignments, want %d", n, tickets)
	}
	db, err := store.OpenReadOnly(context.Background(), cfg.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ps, err := db.ListProposals(context.Background(), store.ProposalFilter{})
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, p := range ps {
		switch p.Status {
		case store.ProposalApplied:
			applied++
		case store.ProposalFailed, store.ProposalApproved, store.ProposalApplying:
			t.Errorf("proposal %d for ticket %d ended %s (%s)", p.ID, p.ConversationNumber, p.Status, p.Error)
		}
	}
	if applied != tickets {
		t.Errorf("%d moves applied, want %d", applied, tickets)
	}
}

// Without QW_SLACK_WEBHOOK_URL the balancer is given no notifier, not a nil
// *Notifier in its interface (which notify no longer accepts): a run in
// propose mode stores its proposals and tells nobody.
func TestProposeWithoutSlackTellsNobody(t *testing.T) {
	_, cfg, ln := smallTeam(t, 1, rebalance.ModePropose, func(h http.Handler) http.Handler { return h })
	var logs testkit.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	runErr := make(chan error, 1)
	go func() { runErr <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logs, nil)), time.Now) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), `msg="balancer run" component=balancer proposals=1`) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-runErr; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !strings.Contains(logs.String(), "move proposed") {
		t.Errorf("no proposal was made; daemon log:\n%s", tail(logs.String(), 3000))
	}
}

// smallTeam is a fake account with Ana and Ben, free, and tickets
// unassigned tickets, and the daemon's settings in mode against it (the
// backlog handed out at once, a run every 100 ms), with its listener. wrap
// wraps the fake's API.
func smallTeam(t *testing.T, tickets int, mode rebalance.Mode, wrap func(http.Handler) http.Handler) (*helpscouttest.Server, *settings, net.Listener) {
	t.Helper()
	const id, secret = "small", "small-client-secret"
	fake := helpscouttest.New(helpscouttest.Options{ClientID: id, ClientSecret: secret})
	t.Cleanup(func() { fake.Close() })
	ts := httptest.NewServer(wrap(fake))
	t.Cleanup(ts.Close)
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Ana", "Ben"} {
		if _, err := fake.AddUser(helpscouttest.User{FirstName: name, Email: strings.ToLower(name) + "@example.com", Status: "active", Timezone: "UTC"}); err != nil {
			t.Fatal(err)
		}
	}
	cust, err := fake.AddCustomer(helpscouttest.Customer{First: "Sam", Email: "sam@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range tickets {
		if _, err := fake.CreateConversation(helpscouttest.NewConversation{MailboxID: mb.ID, CustomerID: cust.ID,
			Subject: "help", Body: "please", At: time.Now().Add(-time.Duration(30+i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Defaults()
	cfg.HelpScoutClientID, cfg.HelpScoutClientSecret, cfg.HelpScoutAPIURL = id, config.Secret(secret), ts.URL
	cfg.WebhookSecret, cfg.DBPath, cfg.ListenAddr = "small-webhook-secret", filepath.Join(t.TempDir(), "qw.db"), "127.0.0.1:0"
	cfg.Mode, cfg.Backlog, cfg.MaxMovesPerRun.N = string(mode), balancer.FormatBacklog(balancer.BacklogOldest), tickets
	cfg.PollInterval.Duration, cfg.BalanceInterval.Duration, cfg.RateLimitPerMinute.N = time.Hour, 100*time.Millisecond, 100000
	s, problems := parse(cfg, roster.Default())
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		t.Fatal(err)
	}
	return fake, s, ln
}
