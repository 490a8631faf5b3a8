package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/internal/version"
)

// gate holds conversation list requests until it is opened, so a test can
// look at the daemon before its first sync finishes.
type gate struct {
	next http.Handler
	once sync.Once
	open chan struct{}
}

func (g *gate) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.TrimRight(r.URL.Path, "/") == "/v2/conversations" {
		select {
		case <-g.open:
		case <-r.Context().Done():
			return
		}
	}
	g.next.ServeHTTP(w, r)
}

func (g *gate) Open() { g.once.Do(func() { close(g.open) }) }

// TestServeEndToEnd runs the daemon, run(), on 127.0.0.1:0 against the fake
// with signed webhooks pointed at it. /readyz answers 503 until the first
// sync has finished and 200 after; the store then equals the fake; and a
// change in the fake reaches the store through the webhook alone (the poll
// interval is an hour, and no list request is made).
func TestServeEndToEnd(t *testing.T) {
	n := testkit.Size(5000, 1000, 300)
	const (
		id, secret = "e2e", "e2e-client-secret"
		hookSecret = "e2e-webhook-secret"
	)
	fake := helpscouttest.New(helpscouttest.Options{ClientID: id, ClientSecret: secret})
	t.Cleanup(func() { fake.Close() })
	acct, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 4, Conversations: n})
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{next: fake, open: make(chan struct{})}
	t.Cleanup(g.Open)
	ts := httptest.NewServer(g)
	t.Cleanup(ts.Close)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	daemonURL := "http://" + ln.Addr().String()
	fake.SetWebhook(helpscouttest.WebhookOptions{URL: daemonURL + "/webhooks/helpscout", Secret: hookSecret,
		Backoff: 50 * time.Millisecond})

	dbPath := filepath.Join(t.TempDir(), "qw.db")
	for k, v := range map[string]string{
		"QW_HELPSCOUT_API_URL": ts.URL, "QW_HELPSCOUT_CLIENT_ID": id, "QW_HELPSCOUT_CLIENT_SECRET": secret,
		"QW_HELPSCOUT_WEBHOOK_SECRET": hookSecret, "QW_DB_PATH": dbPath, "QW_LISTEN_ADDR": ln.Addr().String(),
		"QW_POLL_INTERVAL": "1h", "QW_MODE": "off", "QW_RATE_LIMIT_PER_MINUTE": "100000",
		"QW_LOG_FORMAT": "text", "QW_LOG_LEVEL": "debug", "QW_MAILBOXES": "", "QW_ROSTER_FILE": "", "QW_ADMIN_TOKEN": "",
	} {
		t.Setenv(k, v)
	}
	cfg, err := loadConfig(t.Context(), config.NeedsHelpScout, true)
	if err != nil {
		t.Fatal(err)
	}
	var logs testkit.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	runErr := make(chan error, 1)
	go func() {
		runErr <- run(ctx, cfg, ln, slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), time.Now)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case err := <-runErr:
			if err != nil {
				t.Errorf("run returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("run did not return within 30s of cancellation")
		}
	}
	defer stop()

	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(daemonURL + path)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	waitFor := func(what string, limit time.Duration, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(limit)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out after %s waiting for %s; daemon log:\n%s", limit, what, tail(logs.String(), 3000))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The first sync is held at the gate: not ready yet, and it says why.
	waitFor("the daemon to listen", 10*time.Second, func() bool {
		resp, err := http.Get(daemonURL + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	// The database opens first (readyz says so), then the first sync waits.
	waitFor("/readyz to name the first sync", 10*time.Second, func() bool {
		code, body := get("/readyz")
		return code == http.StatusServiceUnavailable && strings.Contains(body, "first sync")
	})
	g.Open()
	waitFor("/readyz to answer 200", 3*time.Minute, func() bool { code, _ := get("/readyz"); return code == http.StatusOK })

	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	assertStoreMirrorsFake(t, db, fake)

	// A change in Help Scout, delivered only by webhook.
	listsBefore := fake.Stats().Requests[helpscouttest.RouteListConversations]
	var target helpscouttest.Conversation
	for _, c := range fake.Conversations() {
		if c.Status == helpscouttest.StatusActive && c.Type == "email" {
			target = c
			break
		}
	}
	agent := acct.Agents[len(acct.Agents)-1]
	if agent == target.AssigneeID {
		agent = acct.Agents[len(acct.Agents)-2]
	}
	if err := fake.Assign(target.ID, 0, agent, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := fake.AddAgentReply(target.ID, helpscouttest.ThreadInput{UserID: agent, Body: "on it", Status: helpscouttest.StatusPending}); err != nil {
		t.Fatal(err)
	}
	want, _ := fake.Conversation(target.ID)
	waitFor("the webhook's change in the store", 30*time.Second, func() bool {
		c, threads, err := db.Conversation(context.Background(), target.ID)
		return err == nil && c.AssigneeID == agent && c.Status == helpscouttest.StatusPending && len(threads) == len(want.Threads)
	})
	hookCtx, hookCancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer hookCancel()
	if err := fake.WaitWebhooks(hookCtx); err != nil {
		t.Fatal(err)
	}
	for _, d := range fake.WebhookDeliveries() {
		if !d.Delivered || d.StatusCode != http.StatusOK {
			t.Errorf("webhook %s answered %d (%s)", d.Event, d.StatusCode, d.Err)
		}
	}
	if got := fake.Stats().Requests[helpscouttest.RouteListConversations]; got != listsBefore {
		t.Errorf("the daemon listed conversations %d times after the first sync; the change should come by webhook", got-listsBefore)
	}

	stop()
	assertStoreMirrorsFake(t, db, fake)
	out := logs.String()
	// The start line says which build runs, for whoever reads the log of
	// a deployment: the image stamps both in.
	if want := fmt.Sprintf("version=%s commit=%s", version.Version(), version.Commit()); !strings.Contains(out, want) {
		t.Errorf("no log line says %q; daemon log:\n%s", want, tail(out, 3000))
	}
	for _, s := range []string{secret, hookSecret} {
		if strings.Contains(out, s) {
			t.Errorf("daemon log contains a secret (%.4s...)", s)
		}
	}
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
