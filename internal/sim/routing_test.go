package sim

import (
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
)

// handWorld is a world of hand-made arrivals for the routing tests: every
// arrival needs one reply of the given length in handle units (10 minutes
// at speed 1), and the team is always on shift unless hours say otherwise.
func handWorld(t *testing.T, team []Member, routing Routing, at []time.Duration, handle float64, r router, wr wrangler) *world {
	t.Helper()
	sc := Scenario{
		Name: "hand", Start: defaultStart, Duration: 24 * time.Hour, StuckAfter: 4 * time.Hour, BalanceInterval: 5 * time.Minute,
		Team: team, Routing: routing,
		Arrivals: Arrivals{PerHour: 0, HourlyProfile: make([]float64, 24)},
		Work:     Work{RepliesToResolveMean: 1, HandleMinutesMean: 10, CustomerReplyMinutesMean: 60, HardFactor: 1},
	}
	if err := sc.Validate(); err != nil {
		t.Fatal(err)
	}
	pl := &plan{sc: &sc, changes: availability(&sc)}
	for _, a := range at {
		pl.arrivals = append(pl.arrivals, arrival{at: a, handle: []float64{handle}, answer: []float64{1}})
	}
	return newWorld(pl, r, wr, nil)
}

func member(name string) Member { return Member{Name: name, Role: "st", Level: 2, Speed: 1} }

func TestAssignmentLimit(t *testing.T) {
	// Two people, a limit of one active conversation each, and three
	// customers within two minutes who each take an hour to answer.
	w := handWorld(t, []Member{member("Ana"), member("Ben")}, Routing{AssignmentLimit: 1},
		[]time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute}, 6, fewestActive{}, nil)
	w.runUntil(4 * time.Minute)
	if w.arrivedUnassigned != 1 || w.tickets[2].assignee != -1 {
		t.Errorf("third customer: assignee %d, %d arrived unassigned; want the folder (both at the limit)", w.tickets[2].assignee, w.arrivedUnassigned)
	}
	if w.tickets[0].assignee == w.tickets[1].assignee {
		t.Errorf("the first two both went to %d", w.tickets[0].assignee)
	}
}

func TestDrainsBacklog(t *testing.T) {
	// Ana starts at 09:00; three customers wrote in during the night.
	ana := member("Ana")
	ana.Hours, ana.Timezone = "Mon-Fri 09:00-17:00", "UTC"
	night := []time.Duration{2 * time.Hour, 3 * time.Hour, 4 * time.Hour}
	for _, tt := range []struct {
		drains          bool
		assignedAtNine  int
		takenFromFolder int
	}{
		{false, 1, 3}, // she takes them one at a time, as she frees up
		{true, 3, 0},  // routing assigns the whole folder when she turns eligible
	} {
		w := handWorld(t, []Member{ana}, Routing{AssignmentLimit: 100, DrainsBacklog: tt.drains}, night, 1, fewestActive{}, nil)
		w.runUntil(9 * time.Hour)
		if got := w.agents[0].active; got != tt.assignedAtNine {
			t.Errorf("drains %v: %d active assignments at 09:00, want %d", tt.drains, got, tt.assignedAtNine)
		}
		w.run()
		if w.pulls != tt.takenFromFolder {
			t.Errorf("drains %v: %d taken from the folder, want %d", tt.drains, w.pulls, tt.takenFromFolder)
		}
	}
}

func TestRotation(t *testing.T) {
	w := handWorld(t, []Member{member("Ana"), member("Ben")}, Routing{AssignmentLimit: 100}, nil, 1, fewestActive{}, nil)
	w.runUntil(time.Minute)
	if w.setRotation([]bool{false, false}) {
		t.Error("an empty rotation was accepted (Help Scout refuses it while routing is on)")
	}
	for range 2 {
		if !w.setRotation([]bool{false, true}) {
			t.Fatal("rotation refused")
		}
	}
	if w.inbox.writes != 1 {
		t.Errorf("%d writes for one change written twice, want 1", w.inbox.writes)
	}
	for range 5 {
		tk := &ticket{assignee: -1, prevAssignee: -1}
		if to := w.router.route(w, tk); to != 1 {
			t.Fatalf("routed to %d, want Ben (1), the only one in the rotation", to)
		}
		w.assign(tk, 1)
	}
}

// TestOwnModeAssignsAtTheWebhook: with routing off, a new conversation
// that nobody idle takes is assigned by the daemon when its webhook
// arrives, to whoever would answer soonest.
func TestOwnModeAssignsAtTheWebhook(t *testing.T) {
	sc := Scenario{Name: "hand", Start: defaultStart, StuckAfter: 4 * time.Hour, BalanceInterval: 5 * time.Minute}
	team := []Member{member("Ana"), member("Ben")}
	ros, err := rosterFor(&Scenario{Name: "hand", Team: team}, false)
	if err != nil {
		t.Fatal(err)
	}
	d := newDaemon(&sc, ros, balancer.RoutingOwn)
	// Ana and Ben are both busy with an hour's work from 00:01 (each
	// conversation handed out at its webhook); the third customer, at
	// 00:10, is assigned by the daemon at its webhook too.
	w := handWorld(t, team, Routing{AssignmentLimit: 100}, []time.Duration{time.Minute, 2 * time.Minute, 10 * time.Minute}, 6, routingOff{}, d)
	w.runUntil(10*time.Minute + webhookDelay - time.Second)
	if got := w.tickets[2].assignee; got != -1 {
		t.Fatalf("third customer assigned to %d before the webhook", got)
	}
	w.runUntil(10*time.Minute + webhookDelay)
	if got := w.tickets[2].assignee; got < 0 {
		t.Fatalf("third customer still unassigned after the webhook")
	}
	if d.reasons[balancer.ReasonUnassigned] != 3 || w.handouts != 3 || w.pulls != 0 {
		t.Errorf("hand-outs %d (by rule %v), %d taken from the folder; want the daemon to hand out all 3", w.handouts, d.reasons, w.pulls)
	}
}

// TestSteerKeepsTheRotationToWhoShouldGetTheNextTicket: the daemon in
// steer mode writes the rotation the balancer wants, within the admin's
// set, and only when it changes.
func TestSteerKeepsTheRotationToWhoShouldGetTheNextTicket(t *testing.T) {
	sc := Scenario{Name: "hand", Start: defaultStart, StuckAfter: 4 * time.Hour, BalanceInterval: 5 * time.Minute}
	team := []Member{member("Ana"), member("Ben"), member("Cy")}
	team[2].Role = "hos" // not in the admin's rotation
	ros, err := rosterFor(&Scenario{Name: "hand", Team: team}, false)
	if err != nil {
		t.Fatal(err)
	}
	d := newDaemon(&sc, ros, balancer.RoutingSteer)
	// Ana gets the first customer (an hour's work) at 00:01; at its
	// webhook the daemon takes her out of the rotation, so Ben gets the
	// next one even though Balanced routing would pick either.
	w := handWorld(t, team, Routing{AssignmentLimit: 100}, []time.Duration{time.Minute, 2 * time.Minute}, 6, fewestActive{}, d)
	w.runUntil(3 * time.Minute)
	if a, b := w.tickets[0].assignee, w.tickets[1].assignee; a == b {
		t.Errorf("both customers went to %d", a)
	}
	if w.inbox.rotation[2] {
		t.Error("the HoS, outside the admin's set, was added to the rotation")
	}
	if w.inbox.writes == 0 {
		t.Error("no rotation written")
	}
	writes := w.inbox.writes
	d.steer(w, d.snapshot(w))
	if w.inbox.writes != writes {
		t.Error("the same rotation written again")
	}
}
