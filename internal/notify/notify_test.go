package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// hookPath is the webhook's path: the credential, which must never be
// logged.
const hookPath = "/services/T0TEST/B0TEST/s3cr3tXXXXXXXXXXXXXXXX"

// reply is one scripted answer of the endpoint.
type reply struct {
	status     int
	retryAfter string
	body       string
}

// endpoint is a local Slack webhook that records what it is sent and
// answers from a script, then 200 "ok".
type endpoint struct {
	srv    *httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	script []reply
}

func newEndpoint(t *testing.T, script ...reply) *endpoint {
	t.Helper()
	e := &endpoint{script: script}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		if r.URL.Path == hookPath && r.Method == http.MethodPost && r.Header.Get("Content-Type") == "application/json" {
			e.bodies = append(e.bodies, body)
		}
		a := reply{status: http.StatusOK, body: "ok"}
		if len(e.script) > 0 {
			a, e.script = e.script[0], e.script[1:]
		}
		e.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *endpoint) url() string { return e.srv.URL + hookPath }

func (e *endpoint) received() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.bodies...)
}

// fakeStore answers the digest's reads from fixed data and records the
// day it was asked for.
type fakeStore struct {
	users     []store.User
	responses []store.FirstResponse
	moves     store.MoveCounts
	oldest    []store.OpenConversation
	customers map[int64]string

	mu        sync.Mutex
	askedDay  [2]time.Time
	failReads int // the next reads of first responses that fail
}

func (f *fakeStore) Users(context.Context) ([]store.User, error) { return f.users, nil }
func (f *fakeStore) FirstResponsesBetween(_ context.Context, from, to time.Time) ([]store.FirstResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failReads > 0 {
		f.failReads--
		return nil, errors.New("database is locked")
	}
	f.askedDay = [2]time.Time{from, to}
	return f.responses, nil
}
func (f *fakeStore) MovesBetween(context.Context, time.Time, time.Time) (store.MoveCounts, error) {
	return f.moves, nil
}
func (f *fakeStore) OpenConversations(context.Context, store.OpenFilter) ([]store.OpenConversation, error) {
	return f.oldest, nil
}
func (f *fakeStore) CustomerNames(context.Context, []int64) (map[int64]string, error) {
	return f.customers, nil
}

type fakeTeam []team.Agent

func (f fakeTeam) Agents(context.Context) ([]team.Agent, team.Figures, error) {
	return append([]team.Agent(nil), f...), team.Figures{}, nil
}

// sleeps records the waits between attempts instead of taking them.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(_ context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return nil
}

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

// t0 is Monday 2 March 2026, 10:00 in Berlin.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, berlin)

// rig is a Notifier against an endpoint, with a settable clock.
type rig struct {
	n      *Notifier
	clock  *testkit.Clock
	sleeps *sleeps
	m      *metrics.Instruments
	log    *testkit.LogBuffer
	store  *fakeStore
}

func newRig(t *testing.T, url string, tweak func(*Options)) *rig {
	t.Helper()
	r := &rig{clock: testkit.NewClock(t0), sleeps: &sleeps{}, m: metrics.NewInstruments(prometheus.NewRegistry()),
		log: &testkit.LogBuffer{}, store: sampleStore()}
	opts := Options{WebhookURL: url, PageURL: "https://queue.example.com/", Store: r.store,
		Digest: Daily{Hour: 9, Minute: 0, Zone: berlin}, Sleep: r.sleeps.sleep, Now: r.clock.Now, Metrics: r.m,
		Logger: slog.New(slog.NewTextHandler(r.log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tweak != nil {
		tweak(&opts)
	}
	r.n = New(opts)
	return r
}

// step builds what is due and delivers it, as Run does, in the test's
// goroutine.
func (r *rig) step(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	r.n.flush(ctx, sampleTeam())
	for len(r.n.queue) > 0 {
		r.n.deliver(ctx, <-r.n.queue)
	}
}

func (r *rig) counted(channel, result string) float64 {
	return testutil.ToFloat64(r.m.Notifications.WithLabelValues(channel, result))
}

func sampleStore() *fakeStore {
	return &fakeStore{
		users: []store.User{
			{ID: 7, First: "Ana", Last: "Silva"}, {ID: 8, First: "Ben", Last: "Okafor"},
			{ID: 9, First: "Sam", Last: "Lee <boss>"},
		},
		customers: map[int64]string{501: "Chris & Co"},
	}
}

func sampleTeam() fakeTeam {
	return fakeTeam{
		{ID: 7, Name: "Ana Silva", Open: 14, FairShare: 7, LoadRatio: 1.8},
		{ID: 8, Name: "Ben Okafor", Open: 3, FairShare: 4, LoadRatio: 0.6},
		{ID: 9, Name: "Sam Lee", Open: 9, FairShare: 6, LoadRatio: 1.25},
		{ID: 10, Name: "Dee Park", Open: 6, FairShare: 6, LoadRatio: 0.9},
		{ID: 11, Name: "Eve Away", Status: roster.StatusAway, Open: 0},
	}
}

func proposal(id, conv, from, to int64, reason, why string) store.Proposal {
	return store.Proposal{ID: id, ConversationID: conv, ConversationNumber: 1000 + conv, FromAgent: from, ToAgent: to,
		Reason: reason, Explanation: why}
}

// golden compares body, indented, with testdata/name.golden (rewritten
// with -update).
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var got bytes.Buffer
	if err := json.Indent(&got, body, "", "  "); err != nil {
		t.Fatalf("the message is not JSON: %v\n%s", err, body)
	}
	got.WriteByte('\n')
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run the test with -update to write it)", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// TestProposalsAreBatchedAtMostOneMessageAMinute: the first proposals go
// at once; those that follow within the minute wait and go together.
func TestProposalsAreBatchedAtMostOneMessageAMinute(t *testing.T) {
	e := newEndpoint(t)
	r := newRig(t, e.url(), nil)
	r.n.ProposalsWaiting([]store.Proposal{proposal(1, 1, 0, 8, "unassigned", "customer waiting 40m, nobody owns it; would wait about 10m with Ben Okafor")})
	r.step(t)
	if got := len(e.received()); got != 1 {
		t.Fatalf("%d messages after the first proposal, want 1", got)
	}

	r.clock.Advance(10 * time.Second)
	r.n.ProposalsWaiting([]store.Proposal{proposal(2, 2, 7, 8, "overload", "customer waiting 1h 5m would wait about 5h behind 9 tickets with Ana Silva, about 20m behind 1 ticket with Ben Okafor")})
	r.step(t)
	r.clock.Advance(30 * time.Second)
	r.n.ProposalsWaiting([]store.Proposal{proposal(3, 3, 7, 9, "stuck", "customer waiting 6h 10m, past the 4h stuck threshold, with Ana Silva; escalated to the senior who can answer soonest: about 15m with Sam Lee")})
	r.step(t)
	if got := len(e.received()); got != 1 {
		t.Fatalf("%d messages within the minute, want still 1", got)
	}

	r.clock.Advance(20 * time.Second) // a minute after the first message
	r.step(t)
	bodies := e.received()
	if len(bodies) != 2 {
		t.Fatalf("%d messages a minute on, want 2: the second holding both waiting proposals", len(bodies))
	}
	golden(t, "proposals", bodies[1])
	if got := r.counted(ChannelProposals, ResultSent); got != 2 {
		t.Errorf("notifications_total{proposals,sent} = %g, want 2", got)
	}
}

// TestProposalsBeyondTheBoundAreCounted: a flood of proposals while Slack
// is away keeps a bounded list and says how many more there are.
func TestProposalsBeyondTheBoundAreCounted(t *testing.T) {
	e := newEndpoint(t)
	r := newRig(t, e.url(), nil)
	var ps []store.Proposal
	for i := range int64(maxPending + 5) {
		ps = append(ps, proposal(i+1, i+1, 7, 8, "overload", "why"))
	}
	r.n.ProposalsWaiting(ps)
	if got := len(r.n.proposals.items); got != maxPending {
		t.Errorf("%d proposals kept, want the bound %d", got, maxPending)
	}
	r.step(t)
	var msg struct {
		Text   string
		Blocks []struct {
			Type     string
			Elements []struct{ Text string }
		}
	}
	bodies := e.received()
	if len(bodies) != 1 {
		t.Fatalf("%d messages, want 1", len(bodies))
	}
	if err := json.Unmarshal(bodies[0], &msg); err != nil {
		t.Fatal(err)
	}
	last := msg.Blocks[len(msg.Blocks)-1]
	if msg.Text != "55 moves wait for approval" || len(msg.Blocks) != 1+shown+1 || last.Type != "context" ||
		last.Elements[0].Text != "45 more proposals on the queue page" {
		t.Errorf("message %q with %d blocks ending %+v; want 55 moves, %d listed and 45 more", msg.Text, len(msg.Blocks), last, shown)
	}
}

// TestEscalationMessage: both kinds of stuck ticket in one message; a
// ticket announced is not announced again for a day.
func TestEscalationMessage(t *testing.T) {
	e := newEndpoint(t)
	r := newRig(t, e.url(), nil)
	flagged := []balancer.Flag{{ConversationID: 41, Number: 1041, AgentID: 9, Reason: balancer.ReasonStuck, WaitingFor: 7 * time.Hour,
		Explanation: "customer waiting 7h, past the 4h stuck threshold, with Sam Lee, a senior: for the head of support to look at"}}
	noSenior := []balancer.Flag{{ConversationID: 42, Number: 1042, AgentID: 7, Reason: balancer.ReasonStuck, WaitingFor: 5 * time.Hour,
		Explanation: "customer waiting 5h, past the 4h stuck threshold, with Ana Silva; no senior on shift can take it: for the head of support to look at"}}
	r.n.Escalations(flagged, noSenior)
	r.step(t)
	bodies := e.received()
	if len(bodies) != 1 {
		t.Fatalf("%d messages, want 1", len(bodies))
	}
	golden(t, "escalation", bodies[0])

	r.clock.Advance(5 * time.Minute) // the next balancer run finds them stuck again
	r.n.Escalations(flagged, noSenior)
	r.step(t)
	if got := r.counted(ChannelEscalation, ResultSent); got != 1 {
		t.Errorf("%g escalation messages after the same tickets were escalated again, want still 1", got)
	}
	r.clock.Advance(repeatEscalationAfter)
	r.n.Escalations(flagged, nil)
	r.step(t)
	if got := r.counted(ChannelEscalation, ResultSent); got != 2 {
		t.Errorf("%g escalation messages a day later, want 2: a ticket still stuck is news again", got)
	}
}

// TestDigest: at 09:00 Berlin time, yesterday (Berlin's calendar day)
// with office-hours times, moves, the most loaded and the oldest wait.
func TestDigest(t *testing.T) {
	e := newEndpoint(t)
	office, err := roster.ParseOfficeHours("Mon-Fri 09:00-17:00 Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	r := newRig(t, e.url(), func(o *Options) { o.OfficeHours = office })
	r.clock.Set(time.Date(2026, 3, 3, 8, 59, 0, 0, berlin)) // Tuesday
	day := time.Date(2026, 3, 2, 0, 0, 0, 0, berlin)        // Monday
	at := func(h, m int) time.Time { return day.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute) }
	r.store.responses = []store.FirstResponse{
		{CreatedAt: at(9, 0), RepliedAt: at(9, 20)},                        // 20m, 20m in hours
		{CreatedAt: at(10, 0), RepliedAt: at(10, 45)},                      // 45m, 45m
		{CreatedAt: at(16, 0), RepliedAt: at(16, 10)},                      // 10m, 10m
		{CreatedAt: day.Add(-5 * time.Hour), RepliedAt: at(9, 30)},         // Sunday 19:00 to 09:30: 14h 30m, 30m
		{CreatedAt: at(-60, 0), RepliedAt: at(9, 5)},                       // Friday 12:00 to Monday 09:05: 3d 21h 5m, 5h 5m
		{CreatedAt: at(12, 0), RepliedAt: at(14, 0)},                       // 2h, 2h
		{CreatedAt: at(17, 30), RepliedAt: at(18, 0)},                      // 30m, none in hours
		{CreatedAt: at(11, 0), RepliedAt: at(11, 5)},                       // 5m, 5m
		{CreatedAt: at(13, 0), RepliedAt: at(13, 0).Add(90 * time.Minute)}, // 1h 30m, 1h 30m
		{CreatedAt: at(15, 0), RepliedAt: at(15, 1)},                       // 1m, 1m
	}
	r.store.moves = store.MoveCounts{Handouts: 12, Reassignments: 3}
	r.store.oldest = []store.OpenConversation{{ID: 501, Number: 1501, AssigneeID: 7,
		CustomerWaitingSince: time.Date(2026, 3, 2, 19, 0, 0, 0, berlin)}}

	r.step(t)
	if got := len(e.received()); got != 0 {
		t.Fatalf("%d messages at 08:59, want none before the digest's time", got)
	}
	r.clock.Advance(time.Minute)
	r.step(t)
	bodies := e.received()
	if len(bodies) != 1 {
		t.Fatalf("%d messages at 09:00, want the digest", len(bodies))
	}
	golden(t, "digest", bodies[0])
	if want := [2]time.Time{day, day.AddDate(0, 0, 1)}; r.store.askedDay != want {
		t.Errorf("asked for first responses in %v, want Berlin's Monday %v", r.store.askedDay, want)
	}
	r.clock.Advance(time.Hour)
	r.step(t)
	if got := len(e.received()); got != 1 {
		t.Errorf("%d messages an hour later, want still 1: one digest a day", got)
	}
	r.clock.Set(time.Date(2026, 3, 4, 9, 0, 0, 0, berlin))
	r.step(t)
	if got := len(e.received()); got != 2 {
		t.Errorf("%d messages on the next morning, want 2", got)
	}
}

// TestDigestSaysWhoHasNoFairShare: someone off shift or away holding
// waiting customers has no fair share, so a load ratio of 0; the digest
// printed "0.0× fair share" beside their open tickets, which reads as an
// idle agent. It says why there is no share instead. And the customer
// waiting longest is named, never by their email address: the mirror falls
// back to it when Help Scout has no name, and Slack is no place for it.
func TestDigestSaysWhoHasNoFairShare(t *testing.T) {
	e := newEndpoint(t)
	r := newRig(t, e.url(), nil)
	r.store.customers = map[int64]string{501: "chris.doe@example.com"}
	r.store.oldest = []store.OpenConversation{{ID: 501, Number: 1501, AssigneeID: 12,
		CustomerWaitingSince: time.Date(2026, 3, 2, 19, 0, 0, 0, berlin)}}
	r.clock.Set(time.Date(2026, 3, 3, 9, 0, 0, 0, berlin))
	ctx := context.Background()
	r.n.flush(ctx, fakeTeam{
		{ID: 7, Name: "Ana Silva", Status: roster.StatusActive, Available: true, Open: 4, FairShare: 5, LoadRatio: 0.8},
		{ID: 12, Name: "Cara Off", Status: roster.StatusOffShift, Open: 5},
		{ID: 13, Name: "Dan Away", Status: roster.StatusAway, Open: 2},
	})
	for len(r.n.queue) > 0 {
		r.n.deliver(ctx, <-r.n.queue)
	}
	bodies := e.received()
	if len(bodies) != 1 {
		t.Fatalf("%d messages, want the digest", len(bodies))
	}
	body := string(bodies[0])
	for _, want := range []string{
		`Ana Silva: 4 open tickets, 0.8× fair share`,
		`Cara Off: 5 open tickets, off shift, no fair share`,
		`Dan Away: 2 open tickets, away, no fair share`,
		`*Oldest waiting customer*\na customer, waiting`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the digest lacks %q:\n%s", want, body)
		}
	}
	for _, never := range []string{"0.0×", "@"} {
		if strings.Contains(body, never) {
			t.Errorf("the digest says %q:\n%s", never, body)
		}
	}
}

// TestDigestRetriesATransientFailure: a digest whose read or delivery
// failed goes at the next tick, for the same day, and only once; when a
// later day's digest is due by then, that one goes instead.
func TestDigestRetriesATransientFailure(t *testing.T) {
	fiveHundreds := make([]reply, 5) // the first attempt and its 4 retries
	for i := range fiveHundreds {
		fiveHundreds[i] = reply{status: http.StatusServiceUnavailable}
	}
	monday := time.Date(2026, 3, 2, 0, 0, 0, 0, berlin)
	for _, tc := range []struct {
		name      string
		failReads int
		script    []reply
		retryAt   time.Time // when the tick after the failure comes
		wantDay   time.Time // the day the digest that goes reports
		failed    float64
	}{
		{"the mirror's read", 1, nil, time.Date(2026, 3, 3, 9, 0, 5, 0, berlin), monday, 1},
		{"Slack's 5xx after the retries", 0, fiveHundreds, time.Date(2026, 3, 3, 9, 0, 30, 0, berlin), monday, 1},
		{"until the next day's digest is due", 1, nil, time.Date(2026, 3, 4, 9, 30, 0, 0, berlin), monday.AddDate(0, 0, 1), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, tc.script...)
			r := newRig(t, e.url(), nil)
			r.store.failReads = tc.failReads
			r.clock.Set(time.Date(2026, 3, 3, 9, 0, 0, 0, berlin))
			r.step(t)
			if got := r.counted(ChannelDigest, ResultSent); got != 0 {
				t.Fatalf("digests sent at 09:00 = %g, want 0: the failure", got)
			}
			r.clock.Set(tc.retryAt)
			r.n.flush(context.Background(), sampleTeam()) // a tick before the delivery
			r.step(t)
			if got := r.counted(ChannelDigest, ResultSent); got != 1 {
				t.Fatalf("digests sent at the next tick = %g, want 1", got)
			}
			if got := r.counted(ChannelDigest, ResultFailed); got != tc.failed {
				t.Errorf("digests failed = %g, want %g", got, tc.failed)
			}
			if want := [2]time.Time{tc.wantDay, tc.wantDay.AddDate(0, 0, 1)}; r.store.askedDay != want {
				t.Errorf("the digest read %v, want %v", r.store.askedDay, want)
			}
			r.clock.Advance(time.Hour)
			r.step(t)
			if got := r.counted(ChannelDigest, ResultSent); got != 1 {
				t.Errorf("digests sent an hour later = %g, want still 1", got)
			}
		})
	}
}

// TestDigestRefusedForGoodIsNotRetried: a refusal no later try changes
// (a 4xx) gives the day's digest up; the next goes tomorrow.
func TestDigestRefusedForGoodIsNotRetried(t *testing.T) {
	e := newEndpoint(t, reply{status: http.StatusForbidden, body: "action_prohibited"})
	r := newRig(t, e.url(), nil)
	r.clock.Set(time.Date(2026, 3, 3, 9, 0, 0, 0, berlin))
	r.step(t)
	r.clock.Advance(time.Hour)
	r.step(t)
	if got := len(e.received()); got != 1 {
		t.Errorf("%d posts by 10:00, want 1: the refused digest is not tried again", got)
	}
	r.clock.Set(time.Date(2026, 3, 4, 9, 0, 0, 0, berlin))
	r.step(t)
	if got := r.counted(ChannelDigest, ResultSent); got != 1 {
		t.Errorf("digests sent the next morning = %g, want 1", got)
	}
}

// TestDigestBacksOffWhileSlackFails: a digest that Slack keeps answering
// with 500 is tried again after a wait that doubles from the tick up to an
// hour, never at every tick; the failure is logged at WARN once and counted
// at each try. A message that gets through ends the wait.
func TestDigestBacksOffWhileSlackFails(t *testing.T) {
	const tick = 5 * time.Second
	start := time.Date(2026, 3, 3, 9, 0, 0, 0, berlin)
	clock := testkit.NewClock(start.Add(-time.Minute)) // the digest is due at 09:00, not tomorrow
	var (
		failing  atomic.Bool
		mu       sync.Mutex
		requests int
		tries    []time.Duration // since 09:00, of each try's first post
	)
	failing.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		mu.Lock()
		requests++
		// A try's retries come at the same reading: the rig's waits are
		// recorded, not taken.
		if at := clock.Now().Sub(start); len(tries) == 0 || tries[len(tries)-1] != at {
			tries = append(tries, at)
		}
		mu.Unlock()
		if failing.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	r := newRig(t, srv.URL+hookPath, func(o *Options) { o.Tick, o.Now = tick, clock.Now })
	clock.Set(start)

	const ticks = int(3 * time.Hour / tick)
	for range ticks {
		r.step(t)
		clock.Advance(tick)
	}
	s := time.Second
	// Waits of 5, 10, 20, ... 2560 s, then the hour.
	want := []time.Duration{0, 5 * s, 15 * s, 35 * s, 75 * s, 155 * s, 315 * s, 635 * s, 1275 * s, 2555 * s, 5115 * s, 8715 * s}
	mu.Lock()
	if diff := cmp.Diff(want, tries); diff != "" {
		t.Errorf("the digest's tries over %d ticks (-want +got):\n%s", ticks, diff)
	}
	if wantPosts := len(want) * (1 + 4); requests != wantPosts {
		t.Errorf("Slack got %d posts over %d ticks, want %d: each try and its 4 retries", requests, ticks, wantPosts)
	}
	mu.Unlock()
	if got := r.counted(ChannelDigest, ResultFailed); got != float64(len(want)) {
		t.Errorf("notifications_total{digest,failed} = %g, want %d: one per try", got, len(want))
	}
	if n := strings.Count(r.log.String(), "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want 1 for the run of failures:\n%s", n, r.log.String())
	}

	// Slack answers again: a proposals message gets through at this tick,
	// and the digest goes at the next, not an hour after its last try.
	failing.Store(false)
	r.n.ProposalsWaiting([]store.Proposal{proposal(1, 1, 0, 8, "unassigned", "why")})
	r.step(t)
	clock.Advance(tick)
	r.step(t)
	if got := r.counted(ChannelDigest, ResultSent); got != 1 {
		t.Errorf("digests sent at the tick after Slack answered = %g, want 1", got)
	}
}

// TestNextDaily: the next digest time in its zone, across a DST change.
func TestNextDaily(t *testing.T) {
	d := Daily{Hour: 9, Minute: 0, Zone: berlin}
	for _, tc := range []struct{ now, want time.Time }{
		{time.Date(2026, 3, 2, 8, 0, 0, 0, berlin), time.Date(2026, 3, 2, 9, 0, 0, 0, berlin)},
		{time.Date(2026, 3, 2, 9, 0, 0, 0, berlin), time.Date(2026, 3, 3, 9, 0, 0, 0, berlin)},
		{time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), time.Date(2026, 3, 29, 9, 0, 0, 0, berlin)}, // clocks go forward that night
	} {
		if got := nextDaily(tc.now, d); !got.Equal(tc.want) {
			t.Errorf("nextDaily(%v) = %v, want %v", tc.now, got, tc.want)
		}
	}
	if got, want := nextDaily(time.Date(2026, 3, 28, 12, 0, 0, 0, berlin), d).Sub(time.Date(2026, 3, 28, 9, 0, 0, 0, berlin)), 23*time.Hour; got != want {
		t.Errorf("the day clocks go forward is %v long, want %v", got, want)
	}
}

// TestRateLimitHonoursRetryAfter: after a 429 the next attempt waits at
// least Retry-After.
func TestRateLimitHonoursRetryAfter(t *testing.T) {
	e := newEndpoint(t, reply{status: http.StatusTooManyRequests, retryAfter: "7", body: "rate_limited"})
	r := newRig(t, e.url(), nil)
	r.n.ProposalsWaiting([]store.Proposal{proposal(1, 1, 0, 8, "unassigned", "why")})
	r.step(t)
	if got := len(e.received()); got != 2 {
		t.Fatalf("%d attempts, want 2: the 429 and the retry", got)
	}
	if diff := cmp.Diff([]time.Duration{7 * time.Second}, r.sleeps.d); diff != "" {
		t.Errorf("waits before the retry (-want +got):\n%s", diff)
	}
	if got := r.counted(ChannelProposals, ResultSent); got != 1 {
		t.Errorf("notifications_total{proposals,sent} = %g, want 1", got)
	}
}

// TestSlackAnswers: each kind of answer, its retries, its result and one
// log line per kind however often it comes, never with the URL.
func TestSlackAnswers(t *testing.T) {
	fiveHundreds := make([]reply, 5)
	for i := range fiveHundreds {
		fiveHundreds[i] = reply{status: http.StatusServiceUnavailable, body: "<html>down</html>"}
	}
	for _, tc := range []struct {
		name     string
		script   []reply
		result   string
		attempts int
		waits    []time.Duration
		logged   string
	}{
		{"invalid_payload", []reply{{status: 400, body: "invalid_payload"}, {status: 400, body: "invalid_payload"}}, ResultInvalidPayload, 1, nil, "invalid_payload"},
		{"no_service", []reply{{status: 404, body: "no_service"}, {status: 404, body: "no_service"}}, ResultNoService, 1, nil, "no_service"},
		{"another 4xx text", []reply{{status: 403, body: "action_prohibited"}, {status: 403, body: "action_prohibited"}}, ResultFailed, 1, nil, "action_prohibited"},
		{"5xx retried with backoff, then given up", append(fiveHundreds, fiveHundreds...), ResultFailed, 5,
			[]time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}, "HTTP 503"},
		{"a 5xx then sent", []reply{{status: 500}}, ResultSent, 2, []time.Duration{time.Second}, ""},
		{"429 beyond the longest wait", []reply{{status: 429, retryAfter: "3600"}, {status: 429, retryAfter: "3600"}}, ResultRateLimited, 1, nil, "rate_limited"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEndpoint(t, tc.script...)
			r := newRig(t, e.url(), nil)
			r.n.enqueue(message{channel: ChannelDigest, payload: webhookMessage("one", nil)})
			r.step(t)
			if got := len(e.received()); got != tc.attempts {
				t.Errorf("%d attempts, want %d", got, tc.attempts)
			}
			if diff := cmp.Diff(tc.waits, r.sleeps.d); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
			if got := r.counted(ChannelDigest, tc.result); got != 1 {
				t.Errorf("notifications_total{digest,%s} = %g, want 1", tc.result, got)
			}
			if tc.logged == "" {
				return
			}
			if tc.attempts == 1 { // a second message meets the same answer
				r.n.enqueue(message{channel: ChannelDigest, payload: webhookMessage("two", nil)})
				r.step(t)
				if got := r.counted(ChannelDigest, tc.result); got != 2 {
					t.Errorf("notifications_total{digest,%s} = %g after two messages, want 2", tc.result, got)
				}
			}
			log := r.log.String()
			if got := strings.Count(log, "level=WARN"); got != 1 || !strings.Contains(log, tc.logged) {
				t.Errorf("%d warnings, want 1 saying %q:\n%s", got, tc.logged, log)
			}
			if strings.Contains(log, "s3cr3t") {
				t.Errorf("the log holds the webhook's credential:\n%s", log)
			}
		})
	}
}

// TestDeadEndpointIsLoggedWithoutTheURL: connection refused is retried,
// then counted failed; the log names the error, not the URL.
func TestDeadEndpointIsLoggedWithoutTheURL(t *testing.T) {
	e := newEndpoint(t)
	dead := e.url()
	e.srv.Close()
	r := newRig(t, dead, nil)
	r.n.enqueue(message{channel: ChannelEscalation, payload: webhookMessage("x", nil)})
	r.step(t)
	if got := r.counted(ChannelEscalation, ResultFailed); got != 1 {
		t.Errorf("notifications_total{escalation,failed} = %g, want 1", got)
	}
	if got := len(r.sleeps.d); got != 4 {
		t.Errorf("%d waits, want 4 retries", got)
	}
	log := r.log.String()
	if !strings.Contains(log, "connection refused") || strings.Contains(log, "s3cr3t") || strings.Contains(log, "/services/") {
		t.Errorf("log should name the refusal and not the URL:\n%s", log)
	}
}

// TestFullQueueDrops: messages that find the queue full are dropped and
// counted, never waited for.
func TestFullQueueDrops(t *testing.T) {
	r := newRig(t, "http://127.0.0.1:1/services/x", func(o *Options) { o.QueueSize = 1 })
	r.n.enqueue(message{channel: ChannelProposals, payload: webhookMessage("kept", nil)})
	r.n.enqueue(message{channel: ChannelProposals, payload: webhookMessage("dropped", nil)})
	r.n.enqueue(message{channel: ChannelDigest, payload: webhookMessage("dropped", nil)})
	if got := r.counted(ChannelProposals, ResultDropped) + r.counted(ChannelDigest, ResultDropped); got != 2 {
		t.Errorf("dropped = %g, want 2", got)
	}
	if got := len(r.n.queue); got != 1 {
		t.Errorf("%d messages queued, want 1", got)
	}
}

// TestDisabled: without a webhook there is no Notifier, and Run on nil
// returns at once.
func TestDisabled(t *testing.T) {
	n := New(Options{})
	if n != nil {
		t.Fatalf("New without a webhook = %v, want nil", n)
	}
	n.Run(context.Background(), sampleTeam())
}

// TestEscapes: customer and agent names cannot inject links or mentions.
func TestEscapes(t *testing.T) {
	if got, want := escape("<!channel> & <https://evil|x>"), "&lt;!channel&gt; &amp; &lt;https://evil|x&gt;"; got != want {
		t.Errorf("escape = %q, want %q", got, want)
	}
}

// TestDigestZoneDefaultsToOfficeHours: without a zone of its own the
// digest goes by the office hours' clock, else by UTC.
func TestDigestZoneDefaultsToOfficeHours(t *testing.T) {
	office, err := roster.ParseOfficeHours("Mon-Fri 09:00-17:00 America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		office roster.OfficeHours
		zone   *time.Location
		want   string
	}{
		{"office hours' zone", office, nil, "America/New_York"},
		{"UTC without office hours", roster.OfficeHours{}, nil, "UTC"},
		{"its own zone first", office, berlin, "Europe/Berlin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := New(Options{WebhookURL: "https://hooks.slack.com/services/x", OfficeHours: tc.office, Digest: Daily{Hour: 9, Zone: tc.zone}})
			if got := n.opts.Digest.Zone.String(); got != tc.want {
				t.Errorf("digest zone = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestDigestReadFailureWaitsThroughADelivery: a digest that failed because
// the mirror could not be read keeps its wait when another message gets
// through: a delivery says Slack answers, nothing about the mirror.
func TestDigestReadFailureWaitsThroughADelivery(t *testing.T) {
	e := newEndpoint(t)
	r := newRig(t, e.url(), nil)
	r.store.failReads = 3
	start := time.Date(2026, 3, 3, 9, 0, 0, 0, berlin)
	for _, at := range []time.Duration{0, 5 * time.Second, 15 * time.Second} { // waits of 5, 10, then 20 s
		r.clock.Set(start.Add(at))
		r.step(t)
	}
	if got := r.counted(ChannelDigest, ResultFailed); got != 3 {
		t.Fatalf("digests failed by 09:00:15 = %g, want 3", got)
	}
	r.clock.Set(start.Add(20 * time.Second))
	r.n.ProposalsWaiting([]store.Proposal{proposal(1, 1, 0, 8, "unassigned", "why")})
	r.step(t)
	if got := r.counted(ChannelProposals, ResultSent); got != 1 {
		t.Fatalf("proposals messages sent = %g, want 1", got)
	}
	r.clock.Set(start.Add(25 * time.Second))
	r.step(t)
	if got := r.counted(ChannelDigest, ResultSent); got != 0 {
		t.Errorf("digests sent at 09:00:25 = %g, want 0: the 20 s wait after the read failed at 09:00:15 is not over", got)
	}
	r.clock.Set(start.Add(35 * time.Second))
	r.step(t)
	if got := r.counted(ChannelDigest, ResultSent); got != 1 {
		t.Errorf("digests sent at 09:00:35 = %g, want 1", got)
	}
}

// TestDigestNextDayStartsItsWaitAfresh: after a day of failures has grown
// the wait to an hour, the next day's digest that fails is tried again at
// the next tick, as the first failure of a day is, not an hour later.
func TestDigestNextDayStartsItsWaitAfresh(t *testing.T) {
	const tick = 5 * time.Second
	e := newEndpoint(t)
	r := newRig(t, e.url(), func(o *Options) { o.Tick = tick })
	r.store.failReads = 1 << 30 // the mirror cannot be read until told
	reads := func() int { return 1<<30 - r.store.failReads }
	start := time.Date(2026, 3, 3, 9, 0, 0, 0, berlin)
	r.clock.Set(start)
	for range int(3 * time.Hour / tick) {
		r.step(t)
		r.clock.Advance(tick)
	}
	if got, want := reads(), 12; got != want { // waits of 5 s doubling to the hour, as in TestDigestBacksOffWhileSlackFails
		t.Fatalf("reads of the digest over 3 hours = %d, want %d", got, want)
	}
	tomorrow := start.AddDate(0, 0, 1)
	r.clock.Set(tomorrow)
	r.step(t)
	if got, want := reads(), 13; got != want {
		t.Fatalf("reads by the next day's 09:00 = %d, want %d: its digest is due", got, want)
	}
	r.store.failReads = 0
	r.clock.Set(tomorrow.Add(tick))
	r.step(t)
	if got := r.counted(ChannelDigest, ResultSent); got != 1 {
		t.Errorf("digests sent a tick after the next day's first failure = %g, want 1", got)
	}
	if want := [2]time.Time{start.Add(-9 * time.Hour), tomorrow.Add(-9 * time.Hour)}; r.store.askedDay != want {
		t.Errorf("the digest read %v, want %v: the next day's reports its yesterday", r.store.askedDay, want)
	}
}
