package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/config"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/sim"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// soakAPI stands in front of the fake's API and notes what the soak
// checks afterwards and the fake does not keep: every access token it
// handed out (to look for them in the log), the stored routing
// configuration each routing PUT found and what it sent, and whether each
// PATCH of an assignee found its conversation unassigned.
type soakAPI struct {
	fake *helpscouttest.Server

	mu          sync.Mutex
	tokenBodies []string
	puts        []soakRoutingPut
	assigns     []soakAssign
}

// soakRoutingPut is one PUT /v2/mailboxes/{id}/routing: the configuration
// stored when it arrived, the one it sent, and the fake's answer.
type soakRoutingPut struct {
	mailbox      int64
	stored, sent helpscouttest.RoutingConfig
	status       int
}

// soakAssign is one PATCH /assignTo of a conversation and whether the
// conversation was unassigned when it arrived.
type soakAssign struct {
	conversation int64
	unassigned   bool
	status       int
}

func (a *soakAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == "/v2/oauth2/token":
		rec := httptest.NewRecorder()
		a.fake.ServeHTTP(rec, r)
		a.mu.Lock()
		a.tokenBodies = append(a.tokenBodies, rec.Body.String())
		a.mu.Unlock()
		maps.Copy(w.Header(), rec.Header())
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/routing"):
		a.routingPut(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(r.URL.Path, "/v2/conversations/"):
		a.patch(w, r)
	default:
		a.fake.ServeHTTP(w, r)
	}
}

func (a *soakAPI) routingPut(w http.ResponseWriter, r *http.Request) {
	mailbox, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/v2/mailboxes/"), "/routing"), 10, 64)
	body := readBack(r)
	put := soakRoutingPut{mailbox: mailbox}
	put.stored, _ = a.fake.Routing(mailbox)
	var sent struct {
		State            string  `json:"state"`
		AssignmentLimit  int     `json:"assignmentLimit"`
		AssignmentMethod string  `json:"assignmentMethod"`
		UserIDs          []int64 `json:"userIds"`
	}
	_ = json.Unmarshal(body, &sent)
	put.sent = helpscouttest.RoutingConfig{State: sent.State, AssignmentLimit: sent.AssignmentLimit,
		AssignmentMethod: sent.AssignmentMethod, UserIDs: sent.UserIDs}
	sw := &statusWriter{ResponseWriter: w}
	defer func() { // also when the fake aborts a truncated answer
		put.status = sw.status
		a.mu.Lock()
		a.puts = append(a.puts, put)
		a.mu.Unlock()
	}()
	a.fake.ServeHTTP(sw, r)
}

func (a *soakAPI) patch(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(strings.TrimPrefix(r.URL.Path, "/v2/conversations/"), 10, 64)
	var op struct{ Path string }
	if json.Unmarshal(readBack(r), &op) != nil || op.Path != "/assignTo" {
		a.fake.ServeHTTP(w, r)
		return
	}
	conv, _ := a.fake.Conversation(id)
	as := soakAssign{conversation: id, unassigned: conv.AssigneeID == 0}
	sw := &statusWriter{ResponseWriter: w}
	defer func() {
		as.status = sw.status
		a.mu.Lock()
		a.assigns = append(a.assigns, as)
		a.mu.Unlock()
	}()
	a.fake.ServeHTTP(sw, r)
}

// readBack reads a request's body and puts it back for the fake.
func readBack(r *http.Request) []byte {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

// statusWriter notes the status of an answer it passes on. It flushes, as
// the fake's truncated answers need.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// TestChaosSoak runs the daemon against the live simulated team while the
// fake Help Scout misbehaves in every way it can: 10% 5xx, a 429 storm,
// slow and truncated responses, a token that expires every simulated hour,
// and duplicated, reordered and dropped webhooks. Then everything calms
// down and the test checks: the mirror equals the fake, moves were applied
// (at least minSoakMoves), none twice, every one with its note, the
// goroutines are back to their start level, and the log holds no secret.
// It does so in each routing mode (QW_ROUTING), with the fake's routing as
// the mode needs it, and checks the mode's own rules after the calm: steer
// writes the rotation only within the admin's set and only when it
// changes (checkSoakSteering); own gives each new conversation its first
// owner once (checkSoakOwnRouting).
// QW_SOAK=1 runs a simulated day; the default is two simulated hours.
func TestChaosSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the daemon against a misbehaving fake")
	}
	for _, mode := range []balancer.RoutingMode{balancer.RoutingHelpScout, balancer.RoutingSteer, balancer.RoutingOwn} {
		t.Run(string(mode), func(t *testing.T) { chaosSoak(t, mode) })
	}
}

// newSoakAccount is sim.NewAccount with the routing the mode needs in the
// fake: for helpscout the model plays Help Scout's Balanced routing (the
// fake's is off); steer needs the fake's own routing on, so that the
// rotation it narrows decides who gets the next ticket; own needs it off
// and nothing else assigning, so the fake's routing is turned off as an
// admin would, and new conversations arrive unassigned.
func newSoakAccount(sc sim.Scenario, speed float64, opts helpscouttest.Options, mode balancer.RoutingMode) (*sim.Account, error) {
	if mode == balancer.RoutingHelpScout {
		return sim.NewAccount(sc, speed, opts)
	}
	// Monday 09:00 with the night's arrivals waiting, as sim.NewAccount.
	clock := sim.NewClock(sc, speed, 9*time.Hour, nil)
	opts.Clock = clock.Now
	fake := helpscouttest.New(opts)
	team, err := sim.NewLive(sc, fake, clock, sim.LiveOptions{Routing: sim.LiveFakeRouting})
	if err == nil && mode == balancer.RoutingOwn {
		var routing helpscouttest.RoutingConfig
		if routing, err = fake.Routing(team.MailboxID()); err == nil {
			routing.State = helpscouttest.RoutingDisabled
			err = fake.SetRouting(team.MailboxID(), routing)
		}
	}
	var ros *roster.Roster
	if err == nil {
		ros, err = team.Roster()
	}
	if err != nil {
		fake.Close()
		return nil, err
	}
	return &sim.Account{Fake: fake, Team: team, Now: clock.Now, Roster: ros}, nil
}

func chaosSoak(t *testing.T, mode balancer.RoutingMode) {
	// The two-hour run applies 6 to 8 moves in each mode (own mode's routes
	// not counted) on a quiet machine; half of that leaves room for the
	// faults and a slow machine without letting the checks go idle. Own
	// mode gives each new customer to whoever would answer soonest, so
	// fewer need moving later: under -race beside the other packages' tests
	// it applied 2, and one still shows that moves are exercised.
	minSoakMoves := 3
	if mode == balancer.RoutingOwn {
		minSoakMoves = 1
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
	// The daemon's listener is opened first and handed to run: a port
	// picked free and closed again can be taken by the fake or another
	// test before the daemon binds it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	daemonAddr := ln.Addr().String()
	acct, err := newSoakAccount(sc, speed, helpscouttest.Options{
		ClientID: "chaos", ClientSecret: clientSecret, Seed: 3,
		Webhook: helpscouttest.WebhookOptions{URL: "http://" + daemonAddr + "/webhooks/helpscout", Secret: hookSecret,
			Backoff: 50 * time.Millisecond, MaxBackoff: time.Second},
	}, mode)
	if err != nil {
		t.Fatal(err)
	}
	fake := acct.Fake
	mailbox := acct.Team.MailboxID()
	ceiling, err := fake.Routing(mailbox) // the admin's routing
	if err != nil {
		t.Fatal(err)
	}
	api := &soakAPI{fake: fake}
	ts := httptest.NewServer(api)

	cfg := config.Defaults()
	cfg.HelpScoutClientID, cfg.HelpScoutClientSecret, cfg.HelpScoutAPIURL = "chaos", clientSecret, ts.URL
	cfg.WebhookSecret, cfg.DBPath, cfg.ListenAddr = hookSecret, filepath.Join(t.TempDir(), "qw.db"), daemonAddr
	cfg.PollInterval.Duration, cfg.BalanceInterval.Duration = time.Second, time.Second
	cfg.Mode, cfg.StuckAfter.Duration = string(rebalance.ModeApply), sc.StuckAfter
	cfg.AdminToken, cfg.RateLimitPerMinute.N, cfg.LogLevel = adminToken, 6000, "debug"
	cfg.Backlog, cfg.Routing = "oldest", string(mode)
	settings, problems := parse(cfg, acct.Roster)
	if len(problems) > 0 {
		t.Fatal(problems)
	}
	logs := &testkit.LogBuffer{}
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
	chaosFrom := acct.Now()
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
	api.mu.Lock()
	putsWhileRunning := len(api.puts) // the rest restore the admin's set at shutdown
	api.mu.Unlock()
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
	// Own mode's first assignments are applied proposals too, but routing,
	// not moves: no note, and not what minSoakMoves asks for.
	var moves []store.Proposal
	for _, p := range applied {
		if p.DecidedBy != ownRoutingDecider {
			moves = append(moves, p)
		}
	}
	if len(moves) < minSoakMoves {
		t.Errorf("%d moves applied, want at least %d: the soak no longer exercises moves", len(moves), minSoakMoves)
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
		if movedTo[[2]int64{p.ConversationID, p.ToAgent}] == 0 {
			t.Errorf("proposal %d is recorded applied but Help Scout never saw the assignment\n%s", p.ID, soakHistory(db, logs.String(), p.ConversationID))
		}
	}
	for _, p := range moves {
		perConversation[p.ConversationID]++
	}
	for key, n := range movedTo {
		if n > 1 {
			t.Errorf("conversation %d was assigned to %d %d times\n%s", key[0], key[1], n, soakHistory(db, logs.String(), key[0]))
		}
	}
	for conv, n := range perConversation {
		if notes[conv] != n {
			t.Errorf("conversation %d: %d applied moves, %d notes", conv, n, notes[conv])
		}
	}

	var modeFigures string
	api.mu.Lock()
	puts, assigns := slices.Clone(api.puts), slices.Clone(api.assigns)
	api.mu.Unlock()
	switch mode {
	case balancer.RoutingSteer:
		modeFigures = checkSoakSteering(t, puts[:putsWhileRunning], puts, ceiling)
	case balancer.RoutingOwn:
		modeFigures = checkSoakOwnRouting(t, assigns, applied, fake.Conversations(), chaosFrom)
	}

	// No secret in the log.
	text := logs.String()
	secrets := []string{clientSecret, hookSecret, adminToken}
	api.mu.Lock()
	for _, b := range api.tokenBodies {
		if i := strings.Index(b, `"access_token":"`); i >= 0 {
			rest := b[i+len(`"access_token":"`):]
			secrets = append(secrets, rest[:strings.IndexByte(rest, '"')])
		}
	}
	api.mu.Unlock()
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
	t.Logf("simulated %s: %d moves applied, %d conversations, %d tokens issued, %d webhooks, log %d bytes%s",
		simulated, len(moves), len(fake.Conversations()), len(secrets)-3, len(fake.WebhookDeliveries()), len(text), modeFigures)
}

// soakHistory is what the audit log and the daemon's log say about a
// conversation, for a failure to show how it came about.
func soakHistory(db *store.DB, log string, conversation int64) string {
	var b strings.Builder
	ps, err := db.ListProposals(context.Background(), store.ProposalFilter{ConversationID: conversation})
	if err != nil {
		fmt.Fprintf(&b, "audit log: %v\n", err)
	}
	for _, p := range ps {
		fmt.Fprintf(&b, "proposal %d: %d -> %d, %s by %q, created %s, updated %s, error %q\n", p.ID, p.FromAgent, p.ToAgent,
			p.Status, p.DecidedBy, p.CreatedAt.Format(time.StampMilli), p.UpdatedAt.Format(time.StampMilli), p.Error)
	}
	id := strconv.FormatInt(conversation, 10)
	for line := range strings.Lines(log) {
		if strings.Contains(line, id) {
			b.WriteString(line)
		}
	}
	return b.String()
}

// ownRoutingDecider is DecidedBy of own mode's first assignments in the
// audit log (design.md section 8).
const ownRoutingDecider = "queuewrangler (QW_ROUTING=own)"

// checkSoakSteering checks steer mode's rules (design.md section 8) on the
// routing PUTs the fake received, while running and in all (the shutdown
// restores the admin's set): never an empty rotation, never anyone the
// admin had not in it, the state, method and limit as the admin set them,
// and no PUT of the set already stored; and that the daemon did steer.
func checkSoakSteering(t *testing.T, whileRunning, all []soakRoutingPut, ceiling helpscouttest.RoutingConfig) string {
	t.Helper()
	stored, unchanged := 0, 0
	for i, put := range all {
		if len(put.sent.UserIDs) == 0 {
			t.Errorf("routing PUT %d: an empty rotation", i)
		}
		for _, id := range put.sent.UserIDs {
			if !slices.Contains(ceiling.UserIDs, id) {
				t.Errorf("routing PUT %d: user %d is not in the admin's rotation %v", i, id, ceiling.UserIDs)
			}
		}
		if put.sent.State != ceiling.State || put.sent.AssignmentMethod != ceiling.AssignmentMethod || put.sent.AssignmentLimit != ceiling.AssignmentLimit {
			t.Errorf("routing PUT %d: %s/%s/%d, the admin set %s/%s/%d", i, put.sent.State, put.sent.AssignmentMethod,
				put.sent.AssignmentLimit, ceiling.State, ceiling.AssignmentMethod, ceiling.AssignmentLimit)
		}
		if sameSet(put.sent.UserIDs, put.stored.UserIDs) {
			unchanged++
			t.Errorf("routing PUT %d (answered %d) wrote the rotation already stored, %v", i, put.status, put.stored.UserIDs)
		}
	}
	for _, put := range whileRunning {
		if put.status == http.StatusNoContent {
			stored++
		}
	}
	if stored == 0 {
		t.Errorf("the daemon never changed the rotation while it ran (%d PUTs): the soak did not exercise steer", len(whileRunning))
	}
	return fmt.Sprintf("; %d routing PUTs (%d stored while running, %d at shutdown, %d of an unchanged set)",
		len(all), stored, len(all)-len(whileRunning), unchanged)
}

func sameSet(a, b []int64) bool {
	a, b = slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b))
	return slices.Equal(a, b)
}

// checkSoakOwnRouting checks own mode's first assignments (design.md
// section 8) of the conversations created during the soak: each was
// assigned from unassigned at most once, assigned by the daemon at most
// once besides its applied reassignments, and routed at most once; the
// router did route; and most got an owner.
func checkSoakOwnRouting(t *testing.T, assigns []soakAssign, applied []store.Proposal, convs []helpscouttest.Conversation, from time.Time) string {
	t.Helper()
	assigned, fromUnassigned := map[int64]int{}, map[int64]int{}
	for _, a := range assigns {
		if a.status == http.StatusNoContent {
			assigned[a.conversation]++
			if a.unassigned {
				fromUnassigned[a.conversation]++
			}
		}
	}
	reassigned, routes := map[int64]int{}, map[int64]int{}
	for _, p := range applied {
		if !p.Handout() {
			reassigned[p.ConversationID]++
		}
		if p.DecidedBy == ownRoutingDecider {
			routes[p.ConversationID]++
		}
	}
	created, owned, routed := 0, 0, 0
	for _, c := range convs {
		if c.CreatedAt.Before(from) {
			continue
		}
		created++
		if n := fromUnassigned[c.ID]; n > 1 {
			t.Errorf("conversation %d, new, was assigned from unassigned %d times", c.ID, n)
		}
		if n, moves := assigned[c.ID], reassigned[c.ID]; n-moves > 1 {
			t.Errorf("conversation %d, new, was assigned %d times, and only %d of them are applied reassignments", c.ID, n, moves)
		}
		if n := routes[c.ID]; n > 1 {
			t.Errorf("conversation %d was routed %d times", c.ID, n)
		}
		if routes[c.ID] > 0 {
			routed++
		}
		if c.AssigneeID != 0 {
			owned++
		}
	}
	if routed == 0 {
		t.Errorf("none of the %d conversations created during the soak was routed: the soak did not exercise own", created)
	}
	// Most, not all: a conversation that arrives while nobody is on shift
	// (the simulated day's nights), or whose route fails three times under
	// the 5xx, waits for the balancer's hand-outs, which need someone
	// available; the calm gives them a few runs, not a shift's start. Half
	// is far below what a run reaches and far above what a router that
	// stopped routing would leave.
	if owned*2 < created {
		t.Errorf("%d of %d conversations created during the soak have an owner, want most", owned, created)
	}
	return fmt.Sprintf("; %d of %d new conversations routed, %d owned", routed, created, owned)
}
