package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

const replayHookSecret = "replay-webhook-secret"

// replayEnv is the daemon, run() on loopback, against the fake with signed
// webhooks pointed at it: the real webhook path, from HTTP to SQLite.
type replayEnv struct {
	fake   *helpscouttest.Server
	daemon string    // base URL
	db     *store.DB // read-only, beside the daemon
	active []helpscouttest.Conversation
	seen   int // deliveries already looked at
}

func newReplayEnv(tb testing.TB) *replayEnv {
	tb.Helper()
	fake, ts := helpscouttest.NewTestServer(tb, helpscouttest.Options{})
	if _, err := fake.Seed(helpscouttest.GenerateConfig{Seed: 12, Conversations: 200}); err != nil {
		tb.Fatal(err)
	}
	dbPath := filepath.Join(tb.TempDir(), "qw.db")
	addr := startDaemon(tb, ts.URL, io.Discard, map[string]string{
		"QW_DB_PATH": dbPath, "QW_MODE": "off", "QW_POLL_INTERVAL": "1h",
		"QW_HELPSCOUT_WEBHOOK_SECRET": replayHookSecret, "QW_RATE_LIMIT_PER_MINUTE": "200",
	})
	db, err := store.OpenReadOnly(context.Background(), dbPath)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	e := &replayEnv{fake: fake, daemon: "http://" + addr, db: db}
	for _, c := range fake.Conversations() {
		if c.Status == helpscouttest.StatusActive && c.Type == "email" {
			e.active = append(e.active, c)
		}
	}
	fake.SetWebhook(helpscouttest.WebhookOptions{URL: e.daemon + "/webhooks/helpscout", Secret: replayHookSecret,
		Backoff: 20 * time.Millisecond})
	return e
}

// deliveries waits for the fake's worker and returns what it delivered
// since the last call.
func (e *replayEnv) deliveries(tb testing.TB) []helpscouttest.WebhookDelivery {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.fake.WaitWebhooks(ctx); err != nil {
		tb.Fatal(err)
	}
	all := e.fake.WebhookDeliveries()
	out := all[e.seen:]
	e.seen = len(all)
	for _, d := range out {
		if !d.Delivered {
			tb.Fatalf("delivery %d (%s) was not accepted: %d %s", d.Seq, d.Event, d.StatusCode, d.Err)
		}
	}
	return out
}

func (e *replayEnv) post(tb testing.TB, d helpscouttest.WebhookDelivery) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, e.daemon+"/webhooks/helpscout", bytes.NewReader(d.Body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("X-HelpScout-Event", d.Event)
	req.Header.Set("X-HelpScout-Signature", d.Signature)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		tb.Fatalf("webhook answered %d, want 200", resp.StatusCode)
	}
}

// waitStored polls SQLite until ok holds for the stored conversation, and
// returns how long that took.
func (e *replayEnv) waitStored(tb testing.TB, id int64, ok func(store.Conversation) bool) time.Duration {
	tb.Helper()
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		c, _, err := e.db.Conversation(context.Background(), id)
		if err == nil && ok(c) {
			return time.Since(start)
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatalf("conversation %d never reached the store", id)
	return 0
}

// waitInboxEmpty polls SQLite until no webhook event waits to be
// processed (pending, or failed and due for another try). A replay that
// got past the duplicate check is counted only once its pass has run; a
// fixed sleep counted nothing on a machine slow to start the pass.
func (e *replayEnv) waitInboxEmpty(tb testing.TB) {
	tb.Helper()
	start := time.Now()
	for time.Since(start) < 30*time.Second {
		waiting, err := e.db.PendingWebhooks(context.Background(), 0, 1)
		if err == nil && len(waiting) == 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
	tb.Fatal("the webhook inbox never emptied")
}

func requestCount(fake *helpscouttest.Server) int {
	n := 0
	for _, v := range fake.Stats().Requests {
		n += v
	}
	return n
}

// replayRound makes one conversation's convo.tags body stale (a customer
// replies after it), replays it replays times through the daemon's webhook
// endpoint, then sends a fresh webhook for another conversation. It
// returns the Help Scout calls the replays cost and how long the fresh
// event took to reach SQLite.
func (e *replayEnv) replayRound(tb testing.TB, stale, fresh helpscouttest.Conversation, replays int, round int) (calls int, latency time.Duration) {
	tb.Helper()
	if err := e.fake.SetTags(stale.ID, []string{fmt.Sprintf("vip-%d", round)}, time.Time{}); err != nil {
		tb.Fatal(err)
	}
	captured := e.deliveries(tb)[0]
	if _, err := e.fake.AddCustomerThread(stale.ID, helpscouttest.ThreadInput{Body: "any news?"}); err != nil {
		tb.Fatal(err)
	}
	e.deliveries(tb)
	want := len(e.mustConv(tb, stale.ID).Threads)
	e.waitStored(tb, stale.ID, func(c store.Conversation) bool { return c.ThreadCount == want })

	// Fresh changes are held back from the fake's own delivery, so that
	// the fresh webhook leaves exactly when the test sends it.
	e.fake.SetWebhook(helpscouttest.WebhookOptions{URL: e.daemon + "/nowhere", Secret: replayHookSecret, MaxAttempts: 1})
	status := helpscouttest.StatusPending
	if e.mustConv(tb, fresh.ID).Status == status {
		status = helpscouttest.StatusActive
	}
	if err := e.fake.SetStatus(fresh.ID, 0, status, time.Time{}); err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e.fake.WaitWebhooks(ctx)
	all := e.fake.WebhookDeliveries()
	freshHook := all[len(all)-1]
	e.seen = len(all)
	e.fake.SetWebhook(helpscouttest.WebhookOptions{URL: e.daemon + "/webhooks/helpscout", Secret: replayHookSecret,
		Backoff: 20 * time.Millisecond})

	before := requestCount(e.fake)
	for range replays {
		e.post(tb, captured)
	}
	e.waitInboxEmpty(tb) // anything the replays stored has been processed
	calls = requestCount(e.fake) - before
	start := time.Now()
	e.post(tb, freshHook)
	e.waitStored(tb, fresh.ID, func(c store.Conversation) bool { return c.Status == status })
	return calls, time.Since(start)
}

func (e *replayEnv) mustConv(tb testing.TB, id int64) helpscouttest.Conversation {
	tb.Helper()
	c, ok := e.fake.Conversation(id)
	if !ok {
		tb.Fatalf("conversation %d is not in the fake", id)
	}
	return c
}

// BenchmarkReplayedWebhooks is issue 17 row 5 as a benchmark: 1,000
// replays of one stale signed convo.tags body through the daemon's real
// webhook endpoint, against the fake Help Scout, then a fresh webhook.
// Reported: the Help Scout calls the 1,000 replays cost (target: at most
// 1), and how long the fresh webhook took from being sent to being in
// SQLite (target: under 1 s). Before this change the same run cost about
// two calls per replay and left the fresh event behind all of them.
func BenchmarkReplayedWebhooks(b *testing.B) {
	const replays = 1000
	e := newReplayEnv(b)
	var calls int
	var latency time.Duration
	b.ResetTimer()
	for i := range b.N {
		stale, fresh := e.active[(2*i)%len(e.active)], e.active[(2*i+1)%len(e.active)]
		c, l := e.replayRound(b, stale, fresh, replays, i)
		calls += c
		latency += l
	}
	b.ReportMetric(float64(calls)/float64(b.N), "helpscout-calls/1000-replays")
	b.ReportMetric(float64(latency.Milliseconds())/float64(b.N), "fresh-webhook-ms")
}

// TestReplayedWebhooksThroughTheDaemon is the benchmark's round as a test,
// with 200 replays as in the report (issue 17 row 5): they cost no Help
// Scout call, and the fresh webhook after them is applied.
func TestReplayedWebhooksThroughTheDaemon(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon")
	}
	e := newReplayEnv(t)
	calls, latency := e.replayRound(t, e.active[0], e.active[1], 200, 0)
	if calls > 1 {
		t.Errorf("200 replays of a stale body cost %d Help Scout calls, want at most 1", calls)
	}
	t.Logf("200 replays: %d Help Scout calls; the fresh webhook reached SQLite after %s", calls, latency)
}
