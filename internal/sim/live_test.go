package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

// liveRig is a live run on a fake Help Scout with a hand-driven wall clock.
type liveRig struct {
	wall time.Time
	fake *helpscouttest.Server
	live *Live
}

func newLiveRig(t *testing.T, sc Scenario, speed float64, warmUp time.Duration, opts ...LiveOptions) *liveRig {
	t.Helper()
	r := &liveRig{wall: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	clock := NewClock(sc, speed, warmUp, func() time.Time { return r.wall })
	r.fake = helpscouttest.New(helpscouttest.Options{Clock: clock.Now, WallClock: func() time.Time { return r.wall }})
	t.Cleanup(func() { r.fake.Close() })
	var err error
	r.live, err = NewLive(sc, r.fake, clock, append(opts, LiveOptions{})[0])
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *liveRig) step(t *testing.T, wall time.Duration) bool {
	t.Helper()
	r.wall = r.wall.Add(wall)
	done, err := r.live.Step()
	if err != nil {
		t.Fatalf("step: %v", err)
	}
	return done
}

func TestLiveWritesTheWorldIntoTheFake(t *testing.T) {
	sc := builtin(t, "small-team-week")
	sc.Duration = 14 * time.Hour
	r := newLiveRig(t, sc, 60, 10*time.Hour) // starts Monday 10:00 UTC, a simulated minute per second
	if done := r.step(t, 0); done {
		t.Fatal("done after the warm-up")
	}
	var arrived int
	for _, a := range drawArrivals(&sc, 0) {
		if a.at <= 10*time.Hour {
			arrived++
		}
	}
	convs := r.fake.Conversations()
	if len(convs) != arrived {
		t.Fatalf("%d conversations in the fake after the warm-up, want the %d arrivals", len(convs), arrived)
	}
	replies, closed := 0, 0
	for _, c := range convs {
		if c.Status == helpscouttest.StatusClosed {
			closed++
		}
		for _, th := range c.Threads {
			if th.Type == helpscouttest.ThreadMessage {
				replies++
				if th.CreatedByID < agentID(0) || th.CreatedByID >= agentID(len(sc.Team)) {
					t.Errorf("reply by user %d, not one of the team", th.CreatedByID)
				}
			}
		}
	}
	if replies == 0 || closed == 0 {
		t.Errorf("after the warm-up: %d agent replies, %d closed conversations; want some of each", replies, closed)
	}

	// The daemon moves a waiting ticket of someone on shift to Cara (an ST
	// on shift from 12:00 London) through the fake; the team must follow.
	var moved helpscouttest.Conversation
	for _, c := range r.fake.Conversations() {
		if c.Status == helpscouttest.StatusActive && c.AssigneeID != 0 && c.AssigneeID != agentID(2) {
			moved = c
			break
		}
	}
	if moved.ID == 0 {
		t.Fatal("no active assigned conversation to move")
	}
	if err := r.fake.Assign(moved.ID, agentID(1), agentID(2), time.Time{}); err != nil {
		t.Fatal(err)
	}
	r.step(t, 3*time.Minute) // three simulated hours: Cara is on shift
	if got := r.live.Moves(); got != 1 {
		t.Errorf("the team saw %d moves, want 1", got)
	}
	after, _ := r.fake.Conversation(moved.ID)
	if after.AssigneeID != agentID(2) {
		t.Errorf("conversation %d assigned to %d, want Cara (%d): nobody else may take it back", moved.ID, after.AssigneeID, agentID(2))
	}
	for !r.step(t, time.Minute) {
	}
}

func TestLiveSetsAwayStatus(t *testing.T) {
	sc := builtin(t, "vacation") // Cara is away from 24h to 96h
	sc.Duration = 26 * time.Hour
	r := newLiveRig(t, sc, 60, 23*time.Hour)
	r.step(t, 0)
	status := func() string {
		for _, u := range r.fake.Users() {
			if u.ID == agentID(2) {
				return u.Status
			}
		}
		return ""
	}
	if got := status(); got != "active" {
		t.Errorf("before her vacation Cara is %q, want active", got)
	}
	r.step(t, 90*time.Second)
	if got := status(); got != "away" {
		t.Errorf("on vacation Cara is %q, want away", got)
	}
}

func TestLiveRosterMatchesTheFakeUsers(t *testing.T) {
	sc := builtin(t, "stuck-junior")
	r := newLiveRig(t, sc, 60, 0)
	ros, err := r.live.Roster()
	if err != nil {
		t.Fatalf("the daemon rejects the roster: %v", err)
	}
	for i, u := range r.fake.Users() {
		p := ros.Lookup(u.ID, u.Email)
		if !p.Listed || p.Role != sc.Team[i].Role || p.Level != sc.Team[i].Level {
			t.Errorf("user %d (%s): roster profile %+v, want role %s level %d", u.ID, u.FirstName, p, sc.Team[i].Role, sc.Team[i].Level)
		}
	}
}

func TestLiveRunStopsWithTheContext(t *testing.T) {
	sc := builtin(t, "stuck-junior")
	r := newLiveRig(t, sc, 60, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := r.live.Run(ctx); err != nil {
		t.Errorf("Run = %v, want nil once the context is done", err)
	}
}

// TestLiveFakeRoutingAssignsByTheStoredRotation: with LiveFakeRouting the
// fake's own routing is on with the front line in the rotation, assigns
// new conversations, and follows a rotation written to it (as a steering
// daemon writes it); the team works what it assigned.
func TestLiveFakeRoutingAssignsByTheStoredRotation(t *testing.T) {
	sc := builtin(t, "small-team-week")
	sc.Duration = 14 * time.Hour
	r := newLiveRig(t, sc, 60, 10*time.Hour, LiveOptions{Routing: LiveFakeRouting})
	cfg, err := r.fake.Routing(r.live.MailboxID())
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Enabled() || cfg.AssignmentMethod != helpscouttest.RoutingBalanced || len(cfg.UserIDs) < 2 {
		t.Fatalf("the fake's routing is %+v: want Balanced, on, with the front line", cfg)
	}
	r.step(t, 0)
	routedTo := map[int64]int64{} // conversation -> whom routing gave it
	routed := func() {
		for _, c := range r.fake.Conversations() {
			for _, th := range c.Threads {
				if th.Type == helpscouttest.ThreadLineitem && strings.HasPrefix(th.ActionText, "Routing assigned to") {
					routedTo[c.ID] = th.AssignedToID
					break
				}
			}
		}
	}
	routed()
	if len(routedTo) == 0 {
		t.Fatal("no conversation was assigned by the fake's routing")
	}

	// Only one agent in the rotation: routing gives every new
	// conversation to them, or to nobody.
	only := cfg.UserIDs[1]
	cfg.UserIDs = []int64{only}
	if err := r.fake.SetRouting(r.live.MailboxID(), cfg); err != nil {
		t.Fatal(err)
	}
	before := len(routedTo)
	seen := map[int64]bool{}
	for id := range routedTo {
		seen[id] = true
	}
	r.step(t, time.Hour/60) // an hour of simulated time
	routed()
	for id, to := range routedTo {
		if !seen[id] && to != only {
			t.Errorf("conversation %d routed to %d, outside the rotation of %d", id, to, only)
		}
	}
	if len(routedTo) == before {
		t.Fatal("routing assigned nothing in the simulated hour")
	}
	if err := r.live.err; err != nil {
		t.Fatal(err)
	}
}
