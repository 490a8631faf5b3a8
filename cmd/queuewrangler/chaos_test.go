package main

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/sim"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// recordingTokens remembers every access token the fake hands out, so the
// test can look for them in the log.
type recordingTokens struct {
	next   http.Handler
	mu     sync.Mutex
	bodies []string
}

func (r *recordingTokens) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.URL.Path != "/v2/oauth2/token" {
		r.next.ServeHTTP(w, req)
		return
	}
	rec := httptest.NewRecorder()
	r.next.ServeHTTP(rec, req)
	r.mu.Lock()
	r.bodies = append(r.bodies, rec.Body.String())
	r.mu.Unlock()
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
}

// TestChaosSoak runs the daemon against the live simulated team while the
// fake Help Scout misbehaves in every way it can: 10% 5xx, a 429 storm,
// slow and truncated responses, a token that expires every simulated hour,
// and duplicated, reordered and dropped webhooks. Then everything calms
// down and the test checks: the mirror equals the fake, moves were applied
// (at least minSoakMoves), none twice, every one with its note, the
// goroutines are back to their start level, and the log holds no secret.
// QW_SOAK=1 runs a simulated day; the default is two simulated hours.
func TestChaosSoak(t *testing.T) {
	// The two-hour run applies 6 (three runs); half of that leaves room for
	// the faults and a slow machine without letting the checks go idle.
	const minSoakMoves = 3
	if testing.Short() {
		t.Skip("runs the daemon against a misbehaving fake")
	}
	simulated, speed := 2*time.Hour, 720.0 // 10 s of wall time
	if os.Getenv("QW_SOAK") == "1" {
		simulated = 24 * time.Hour // 120 s
	}
	goroutinesBefore := runtime.NumGoroutine()

	sc, err := sim.Builtin("small-team-week")
	if err != nil {
		t.Fatal(err)
	}
	// A team that needs moves within the two hours (the account starts at
	// Monday 09:00): Ana goes Away with customers waiting on her, Cara's
	// shift begins at 10:00 to a busy Ben, and the Unassigned folder and
	// the away hand-overs go out at once (QW_BACKLOG=oldest) rather than
	// only to someone idle. small-team-week as it is applied none.
	sc.Team[0].Away = []sim.Absence{{At: 9*time.Hour + 10*time.Minute, Until: 48 * time.Hour}}
	sc.Team[2].Hours = "Mon-Fri 10:00-18:00"
	const hookSecret, adminToken, clientSecret = "chaos-hook-secret", "chaos-admin-token", "chaos-client-secret"
	daemonAddr := freePort(t)
	acct, err := sim.NewAccount(sc, speed, helpscouttest.Options{
		ClientID: "chaos", ClientSecret: clientSecret, Seed: 3,
		Webhook: helpscouttest.WebhookOptions{URL: "http://" + daemonAddr + "/webhooks/helpscout", Secret: hookSecret,
			Backoff: 50 * time.Millisecond, MaxBackoff: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	fake := acct.Fake
	tokens := &recordingTokens{next: fake}
	ts := httptest.NewServer(tokens)

	cfg := config.Defaults()
	cfg.HelpScoutClientID, cfg.HelpScoutClientSecret, cfg.HelpScoutAPIURL = "chaos", clientSecret, ts.URL
	cfg.WebhookSecret, cfg.DBPath, cfg.ListenAddr = hookSecret, filepath.Join(t.TempDir(), "qw.db"), daemonAddr
	cfg.PollInterval.Duration, cfg.BalanceInterval.Duration = time.Second, time.Second
	cfg.Mode, cfg.StuckAfter.Duration = string(rebalance.ModeApply), sc.StuckAfter
	cfg.AdminToken, cfg.RateLimitPerMinute.N, cfg.LogLevel = adminToken, 6000, "debug"
	cfg.Backlog = "oldest"
	settings, problems := parse(cfg, acct.Roster)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	logs := &testkit.LogBuffer{}
	ln, err := net.Listen("tcp", daemonAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	var runErr error
	wg.Go(func() { runErr = run(ctx, settings, ln, cfg.Logger(logs), acct.Now) })
	simCtx, stopSim := context.WithCancel(ctx)
	wg.Go(func() {
		if err := acct.Team.Run(simCtx); err != nil {
			t.Errorf("the simulated team stopped: %v", err)
		}
	})

	// Chaos, with a token that expires every simulated hour.
	fake.SetTokenTTL(time.Duration(float64(time.Hour) / speed))
	fake.SetFaults(helpscouttest.Faults{
		ErrorProbability: 0.10, StormFor: 2 * time.Second, Delay: 200 * time.Millisecond, DelayProbability: 0.05,
		TruncateProbability: 0.03, WebhookDropProbability: 0.10, WebhookDuplicateProbability: 0.10, WebhookReorderProbability: 0.10,
	})
	time.Sleep(time.Duration(float64(simulated) / speed))

	// Calm: the team stops, faults end, webhooks drain, the daemon polls.
	stopSim()
	fake.SetFaults(helpscouttest.Faults{})
	drain, cancelDrain := context.WithTimeout(context.Background(), 30*time.Second)
	if err := fake.WaitWebhooks(drain); err != nil {
		t.Errorf("webhooks did not drain: %v", err)
	}
	cancelDrain()
	// Several polls after the calm (a sync in flight when it began may
	// have started before it, hence one more), and balancer runs between
	// them, so that the mirror has caught up with the last moves.
	waitForSyncs(t, daemonAddr, 3, time.Minute)
	stop()
	wg.Wait()
	ts.Close()
	fake.Close()
	if runErr != nil {
		t.Fatalf("run: %v", runErr)
	}

	db, err := store.Open(context.Background(), cfg.DBPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	assertStoreMirrorsFake(t, db, fake)

	applied, err := db.ListProposals(context.Background(), store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalApplied}})
	if err != nil {
		t.Fatal(err)
	}
	if len(applied) < minSoakMoves {
		t.Errorf("%d proposals applied, want at least %d: the soak no longer exercises moves", len(applied), minSoakMoves)
	}
	movedTo := map[[2]int64]int{}
	for _, p := range fake.Patches() {
		if p.Path == "/assignTo" && p.StatusCode == http.StatusNoContent {
			to, _ := strconv.ParseInt(string(p.Value), 10, 64)
			movedTo[[2]int64{p.ConversationID, to}]++
		}
	}
	notes := map[int64]int{}
	for _, n := range fake.NotesReceived() {
		if n.StatusCode == http.StatusCreated && (strings.HasPrefix(n.Text, "Reassigned by queuewrangler") || strings.HasPrefix(n.Text, "Assigned by queuewrangler")) {
			notes[n.ConversationID]++
		}
	}
	perConversation := map[int64]int{}
	for _, p := range applied {
		perConversation[p.ConversationID]++
		if movedTo[[2]int64{p.ConversationID, p.ToAgent}] == 0 {
			t.Errorf("proposal %d is recorded applied but Help Scout never saw the assignment", p.ID)
		}
	}
	for key, n := range movedTo {
		if n > 1 {
			t.Errorf("conversation %d was assigned to %d %d times", key[0], key[1], n)
		}
	}
	for conv, n := range perConversation {
		if notes[conv] != n {
			t.Errorf("conversation %d: %d applied moves, %d notes", conv, n, notes[conv])
		}
	}

	// No secret in the log.
	text := logs.String()
	secrets := []string{clientSecret, hookSecret, adminToken}
	tokens.mu.Lock()
	for _, b := range tokens.bodies {
		if i := strings.Index(b, `"access_token":"`); i >= 0 {
			rest := b[i+len(`"access_token":"`):]
			secrets = append(secrets, rest[:strings.IndexByte(rest, '"')])
		}
	}
	tokens.mu.Unlock()
	for _, s := range secrets {
		if s != "" && strings.Contains(text, s) {
			t.Errorf("the log contains a secret (%d characters)", len(s))
		}
	}

	// Goroutines back to where they started (idle HTTP connections close
	// asynchronously, so give them a moment).
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore+2 && time.Now().Before(deadline) {
		http.DefaultClient.CloseIdleConnections()
		time.Sleep(100 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutinesBefore+2 {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines after the soak, %d before:\n%s", n, goroutinesBefore, buf[:runtime.Stack(buf, true)])
	}
	t.Logf("simulated %s: %d proposals applied, %d conversations, %d tokens issued, %d webhooks, log %d bytes",
		simulated, len(applied), len(fake.Conversations()), len(secrets)-3, len(fake.WebhookDeliveries()), len(text))
}
