package balancer

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// Small builders for rule tests; the scenarios in testdata tell longer stories.

func st(id int64) Agent {
	return Agent{ID: id, Role: RoleST, Capacity: 1, Available: true}
}

// holding returns n tickets held by agent, the customer waiting on each,
// with ids from first.
func holding(agent int64, first int64, n int) []Conversation {
	var out []Conversation
	for i := range n {
		out = append(out, Conversation{ID: first + int64(i), Number: first + int64(i), Status: StatusActive,
			AssigneeID: agent, WaitingOnUs: true, CreatedAt: t0.Add(-time.Duration(i+1) * time.Minute),
			CustomerWaitingSince: t0.Add(-time.Duration(i+1) * time.Minute)})
	}
	return out
}

func unassignedTicket(id int64, waiting time.Duration) Conversation {
	return Conversation{ID: id, Number: id, Status: StatusActive, WaitingOnUs: true,
		CreatedAt: t0.Add(-waiting), CustomerWaitingSince: t0.Add(-waiting)}
}

// plan runs Plan and the invariant checks, so that every rule test also
// checks the general guarantees.
func plan(t *testing.T, s Snapshot, p Policy) Result {
	t.Helper()
	r := Plan(s, p)
	checkPlan(t, s, p, r)
	return r
}

func targets(r Result) map[int64]int64 {
	out := map[int64]int64{}
	for _, m := range r.Moves {
		out[m.ConversationID] = m.To
	}
	return out
}

func TestPlanInvalidPolicyMovesNothing(t *testing.T) {
	t.Parallel()
	s := Snapshot{Now: t0, Agents: []Agent{st(1)}, Conversations: []Conversation{unassignedTicket(9, time.Hour)}}
	p := DefaultPolicy()
	p.MaxMovesPerAgent = 0
	r := Plan(s, p)
	if len(r.Moves) != 0 || len(r.Flags) != 0 {
		t.Errorf("got %d moves, %d flags under an invalid policy, want none", len(r.Moves), len(r.Flags))
	}
	if diff := cmp.Diff(Measure(s, p), r.After); diff != "" {
		t.Errorf("After (-want +got):\n%s", diff)
	}
}

func TestPreviousAgentBonus(t *testing.T) {
	t.Parallel()
	// Ana (1) holds 1, Ben (2) 2, Cy (3) 6; the queue holds one ticket from
	// a customer Ben helped before. Fair share is 10/3 each, so Ben is under
	// it. Without a bonus Ana, who would answer sooner (10 minutes of work
	// ahead against Ben's 20), gets the ticket; with a bonus of a half,
	// Ben's 20 minutes count as 10 and his lower utilisation after the
	// bonus breaks the tie.
	base := func() Snapshot {
		c := unassignedTicket(9, time.Hour)
		c.PreviousAssigneeID = 2
		convs := append(append(append(holding(1, 100, 1), holding(2, 200, 2)...), holding(3, 300, 6)...), c)
		return Snapshot{Now: t0, Agents: []Agent{st(1), st(2), st(3)}, Conversations: convs}
	}
	tests := []struct {
		name   string
		bonus  float64
		change func(*Snapshot)
		want   int64
	}{
		{"bonus large enough", 0.5, func(*Snapshot) {}, 2},
		{"default bonus too small to beat a lighter queue", 0.25, func(*Snapshot) {}, 1},
		{"no bonus", 0, func(*Snapshot) {}, 1},
		{"previous agent at fair share", 0.5, func(s *Snapshot) {
			s.Conversations = append(s.Conversations, holding(2, 250, 2)...) // Ben 4 >= fair 12/3
		}, 1},
		{"previous agent unavailable", 0.5, func(s *Snapshot) { s.Agents[1].Available = false }, 1},
		{"previous agent at the window cap", 0.5, func(s *Snapshot) { s.Agents[1].RecentAssignments = 5 }, 1},
		{"previous agent unknown", 0.5, func(s *Snapshot) { s.Conversations[len(s.Conversations)-1].PreviousAssigneeID = 42 }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(&s)
			p := DefaultPolicy()
			p.PreviousAgentBonus = tt.bonus
			p.Backlog = BacklogOldest // everyone has a queue
			p.MaxMovesPerRun = 1      // the handout only, no overload afterwards
			r := plan(t, s, p)
			if got := targets(r)[9]; got != tt.want {
				t.Errorf("ticket went to %d, want %d", got, tt.want)
			}
		})
	}
}

func TestCaps(t *testing.T) {
	t.Parallel()
	// Ten unassigned tickets, three agents on shift.
	base := func() Snapshot {
		s := Snapshot{Now: t0, Agents: []Agent{st(1), st(2), st(3)}}
		for i := range 10 {
			s.Conversations = append(s.Conversations, unassignedTicket(int64(10+i), time.Duration(10-i)*time.Minute))
		}
		return s
	}
	tests := []struct {
		name   string
		policy func(*Policy)
		change func(*Snapshot)
		want   map[int64]int // moves per target
	}{
		{"per run", func(p *Policy) { p.MaxMovesPerRun = 4 }, func(*Snapshot) {}, map[int64]int{1: 2, 2: 1, 3: 1}},
		{"per agent", func(p *Policy) { p.MaxMovesPerRun = 10 }, func(*Snapshot) {}, map[int64]int{1: 2, 2: 2, 3: 2}},
		{"per window", func(p *Policy) { p.MaxMovesPerRun, p.MaxMovesPerAgent = 10, 10 },
			func(s *Snapshot) { s.Agents[0].RecentAssignments = 4; s.Agents[1].RecentAssignments = 5 },
			map[int64]int{1: 1, 3: 5}},
		{"max open", func(p *Policy) { p.MaxMovesPerRun, p.MaxMovesPerAgent = 10, 10 },
			func(s *Snapshot) {
				s.Agents[0].MaxOpen = 2
				s.Agents[1].MaxOpen = 1
				s.Conversations = append(s.Conversations, holding(2, 100, 1)...)
			},
			map[int64]int{1: 2, 3: 5}},
		{"zero moves per run", func(p *Policy) { p.MaxMovesPerRun = 0 }, func(*Snapshot) {}, map[int64]int{}},
		// The default backlog setting hands the folder only to people with
		// nobody waiting: one each, and the rest waits for idle moments.
		{"idle backlog", func(p *Policy) { p.Backlog = BacklogIdle }, func(*Snapshot) {}, map[int64]int{1: 1, 2: 1, 3: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := base()
			tt.change(&s)
			p := DefaultPolicy()
			p.Backlog = BacklogOldest // the caps are under test, not the backlog setting
			tt.policy(&p)
			r := plan(t, s, p)
			got := map[int64]int{}
			for _, m := range r.Moves {
				got[m.To]++
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("moves per target (-want +got):\n%s", diff)
			}
			// oldest waiting first
			for i, m := range r.Moves {
				if m.ConversationID != int64(10+i) {
					t.Errorf("move %d hands out %d, want %d (oldest waiting first)", i, m.ConversationID, 10+i)
				}
			}
		})
	}
}

func TestNeverMove(t *testing.T) {
	t.Parallel()
	// Ana holds eight tickets and Ben none: without protection, Ben would
	// answer Ana's newest customers over an hour sooner and two move. Each
	// case gives all of Ana's tickets one property.
	p := DefaultPolicy()
	tests := []struct {
		name   string
		change func(*Conversation)
		moves  bool
	}{
		{"unprotected", func(*Conversation) {}, true},
		{"pinned", func(c *Conversation) { c.Pinned = true }, false},
		{"moved within the cooldown", func(c *Conversation) { c.LastMovedAt = t0.Add(-23 * time.Hour) }, false},
		{"moved before the cooldown", func(c *Conversation) { c.LastMovedAt = t0.Add(-25 * time.Hour) }, true},
		{"recent agent activity", func(c *Conversation) { c.LastAgentActivityAt = t0.Add(-time.Hour) }, false},
		{"old agent activity", func(c *Conversation) { c.LastAgentActivityAt = t0.Add(-3 * time.Hour) }, true},
		{"activity in the future (clock skew)", func(c *Conversation) { c.LastAgentActivityAt = t0.Add(time.Hour) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Snapshot{Now: t0, Agents: []Agent{st(1), st(2)}, Conversations: holding(1, 100, 8)}
			for i := range s.Conversations {
				tt.change(&s.Conversations[i])
			}
			r := plan(t, s, p)
			if got := len(r.Moves) > 0; got != tt.moves {
				t.Errorf("moved %d tickets, want moves: %v", len(r.Moves), tt.moves)
			}
		})
	}
}

func TestIgnoredAgentsKeepTickets(t *testing.T) {
	t.Parallel()
	away := func(a Agent) Agent { a.Available = false; return a }
	tests := []struct {
		name  string
		agent Agent
	}{
		{"excluded, away", away(Agent{ID: 1, Role: RoleExclude, Capacity: 1})},
		{"HoS, away", away(Agent{ID: 1, Role: RoleHoS, Capacity: 1, Escalations: true})},
		{"HoS, overloaded", Agent{ID: 1, Role: RoleHoS, Capacity: 1, Available: true}},
		{"unknown role", away(Agent{ID: 1, Role: "manager", Capacity: 1})},
		{"zero capacity", away(Agent{ID: 1, Role: RoleST})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			convs := holding(1, 100, 8)
			convs[0].CustomerWaitingSince = t0.Add(-9 * time.Hour) // stuck too
			s := Snapshot{Now: t0, Agents: []Agent{tt.agent, st(2)}, Conversations: convs}
			if r := plan(t, s, DefaultPolicy()); len(r.Moves) != 0 || len(r.Flags) != 0 {
				t.Errorf("got moves %+v, flags %+v; want none", r.Moves, r.Flags)
			}
		})
	}
	t.Run("unknown assignee", func(t *testing.T) {
		s := Snapshot{Now: t0, Agents: []Agent{st(2)}, Conversations: holding(77, 100, 8)}
		if r := plan(t, s, DefaultPolicy()); len(r.Moves) != 0 {
			t.Errorf("got moves %+v, want none", r.Moves)
		}
	})
	t.Run("excluded agent is never a target", func(t *testing.T) {
		s := Snapshot{Now: t0,
			Agents:        []Agent{{ID: 1, Role: RoleExclude, Capacity: 1, Available: true}, {ID: 2, Role: RoleHoS, Capacity: 1, Available: true}},
			Conversations: []Conversation{unassignedTicket(9, time.Hour)}}
		if r := plan(t, s, DefaultPolicy()); len(r.Moves) != 0 {
			t.Errorf("got moves %+v, want none", r.Moves)
		}
	})
}

func TestDuplicateIDsAreIgnored(t *testing.T) {
	t.Parallel()
	s := Snapshot{Now: t0,
		Agents: []Agent{st(1), st(2), st(2), st(3)},
		Conversations: []Conversation{
			unassignedTicket(9, 2*time.Hour), unassignedTicket(9, 2*time.Hour), unassignedTicket(10, time.Hour),
		}}
	s.Agents[1].Capacity = 5 // the copies differ: neither can be trusted
	r := plan(t, s, DefaultPolicy())
	want := []Move{{ConversationID: 10, Number: 10, To: 1, Reason: ReasonUnassigned, WaitingFor: time.Hour, OwnerWait: NoEstimate}}
	if diff := cmp.Diff(want, r.Moves, cmpIgnoreExplanation); diff != "" {
		t.Errorf("moves (-want +got):\n%s", diff)
	}
	for _, a := range r.Before.Agents {
		if a.ID == 2 {
			t.Error("agent 2 (duplicated) has stats")
		}
	}
}

var cmpIgnoreExplanation = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Explanation" }, cmp.Ignore())

func TestStuckEscalationOrder(t *testing.T) {
	t.Parallel()
	// Ana (ST) holds a stuck ticket. Sam is the SST, Lee the HoS, Ben an ST.
	// The customer has waited 5h with Ana: whatever her pace says, that is
	// the least they can expect to wait on, and anyone idle pays.
	sst := Agent{ID: 3, Role: RoleSST, Capacity: 1.25, Available: true}
	hos := Agent{ID: 5, Role: RoleHoS, Capacity: 1, Available: true, Escalations: true}
	tests := []struct {
		name   string
		change func(sam, lee *Agent)
		want   int64
	}{
		{"to the SST", func(*Agent, *Agent) {}, 3},
		{"SST away: to the HoS who takes escalations", func(sam, _ *Agent) { sam.Available = false }, 5},
		{"SST full: to the HoS", func(sam, _ *Agent) { sam.MaxOpen = 1 }, 5},
		{"SST away, HoS without escalations: to an ST", func(sam, lee *Agent) { sam.Available, lee.Escalations = false, false }, 2},
		{"SST and HoS away: to an ST", func(sam, lee *Agent) { sam.Available, lee.Available = false, false }, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sam, lee := sst, hos
			tt.change(&sam, &lee)
			convs := holding(1, 100, 2)
			convs[0].CustomerWaitingSince = t0.Add(-5 * time.Hour)
			convs = append(convs, holding(3, 300, 1)...)
			s := Snapshot{Now: t0, Agents: []Agent{st(1), st(2), sam, lee}, Conversations: convs}
			p := DefaultPolicy()
			p.Backlog = BacklogOldest // Sam has a customer waiting
			r := plan(t, s, p)
			m, ok := movesByConversation(r)[100]
			if !ok || m.Reason != ReasonStuck || m.To != tt.want {
				t.Errorf("stuck ticket 100: got %+v (moved %v), want a stuck move to %d", m, ok, tt.want)
			}
		})
	}
}

// TestMovePays pins "a move must pay" on two queues: the newest customer
// nobody has answered moves only when the other agent would answer them in
// at most WaitRatio of the time and at least SoonerBy sooner, and, under
// the default backlog setting, only to someone with nobody waiting.
func TestMovePays(t *testing.T) {
	t.Parallel()
	junior := func(id int64) Agent { a := st(id); a.Capacity = 0.5; return a }
	fast := func(id int64) Agent { a := st(id); a.Pace = 12; return a }
	tests := []struct {
		name    string
		agents  []Agent
		a, b    int // customers waiting on agents 1 and 2
		backlog time.Duration
		moved   bool
	}{
		{"3 vs 0: 20m sooner is not enough", []Agent{st(1), st(2)}, 3, 0, BacklogIdle, false},
		{"4 vs 0: 30m sooner", []Agent{st(1), st(2)}, 4, 0, BacklogIdle, true},
		{"a junior's 3 vs 0: 40m sooner", []Agent{junior(1), st(2)}, 3, 0, BacklogIdle, true},
		{"fast owner's 6 vs 0: 25m sooner", []Agent{fast(1), st(2)}, 6, 0, BacklogIdle, false},
		{"8 vs 1, idle backlog: the target has a customer waiting", []Agent{st(1), st(2)}, 8, 1, BacklogIdle, false},
		{"8 vs 1, oldest first", []Agent{st(1), st(2)}, 8, 1, BacklogOldest, true},
		{"8 vs 4, oldest first: the target's queue is as buried as half the owner's", []Agent{st(1), st(2)}, 8, 4, BacklogOldest, false},
		{"8 vs 3, oldest first", []Agent{st(1), st(2)}, 8, 3, BacklogOldest, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			p.Backlog = tt.backlog
			p.MaxMovesPerRun = 1
			convs := append(holding(1, 100, tt.a), holding(2, 200, tt.b)...)
			// The target's customers have waited longer than the owner's,
			// so a moved customer joins the end of the target's queue.
			for i := range convs {
				if convs[i].AssigneeID == 2 {
					convs[i].CustomerWaitingSince = convs[i].CustomerWaitingSince.Add(-time.Hour)
				}
			}
			r := plan(t, Snapshot{Now: t0, Agents: tt.agents, Conversations: convs}, p)
			if got := countReason(r, ReasonOverload) == 1; got != tt.moved {
				t.Errorf("moves %+v: moved %v, want %v", r.Moves, got, tt.moved)
			}
			if tt.moved && r.Moves[0].ConversationID != 100 { // holding's first ticket arrived last
				t.Errorf("moved %d, want the newest customer 100", r.Moves[0].ConversationID)
			}
		})
	}
}

// TestPlanConverges plans and applies repeatedly with no cooldown, so
// that tickets could bounce between queues; a move must pay against the
// queue it leaves, so moving back never does, and planning stops.
func TestPlanConverges(t *testing.T) {
	t.Parallel()
	runs := 30
	if testing.Short() {
		runs = 5
	}
	for seed := range uint64(runs) {
		r := rand.New(rand.NewPCG(seed, 99))
		s := genSnapshot(r, genConfig{agents: 2 + r.IntN(10), convs: 50 + r.IntN(150)})
		// Keep only what the rule acts on: everyone available, all work assigned.
		for i := range s.Agents {
			s.Agents[i].Available = true
		}
		s.Conversations = slices.DeleteFunc(s.Conversations, func(c Conversation) bool { return c.AssigneeID == 0 })
		p := DefaultPolicy()
		p.Cooldown, p.RecentActivity, p.StuckAfter = 0, 0, 1000*time.Hour
		p.WaitRatio, p.SoonerBy, p.Backlog = 1, 0, BacklogOldest // no hysteresis at all
		p.MaxMovesPerAgent, p.MaxMovesPerRun, p.AssignmentsPerWindow = 1, 3, 1
		for run := 0; ; run++ {
			if run == 2000 {
				t.Fatalf("seed %d: still moving after %d runs", seed, run)
			}
			res := plan(t, s, p)
			if len(res.Moves) == 0 {
				break
			}
			s = Apply(s, res.Moves)
			for i := range s.Agents {
				s.Agents[i].RecentAssignments = 0
			}
		}
	}
}

// TestAwayOffShift pins the away rule's boundary between an absence and a
// shift gap: an off-shift agent's waiting ticket is handed over only when
// its customer would, by the time the agent is back, have waited longer than
// StuckAfter.
func TestAwayOffShift(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy() // StuckAfter 4h, AwayGrace 30m
	waiting := func(id int64, for_ time.Duration) Conversation {
		return Conversation{ID: id, Number: id, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true,
			CreatedAt: t0.Add(-for_), CustomerWaitingSince: t0.Add(-for_)}
	}
	tests := []struct {
		name       string
		agent      func(*Agent)
		conv       Conversation
		due, moved bool
	}{
		{"away in help scout: handed over", func(a *Agent) {}, waiting(10, 10*time.Minute), true, true},
		{"off shift, back before the threshold", func(a *Agent) { a.BackAt = t0.Add(time.Hour) }, waiting(10, 2*time.Hour), false, false},
		{"off shift, back exactly at the threshold", func(a *Agent) { a.BackAt = t0.Add(time.Hour) }, waiting(10, 3*time.Hour), false, false},
		{"off shift, back a minute after the threshold", func(a *Agent) { a.BackAt = t0.Add(time.Hour + time.Minute) }, waiting(10, 3*time.Hour), true, true},
		{"off shift overnight", func(a *Agent) { a.BackAt = t0.Add(15 * time.Hour) }, waiting(10, 5*time.Minute), true, true},
		// Due, but the owner is back in 10 minutes and answers them first:
		// nobody else would be clearly sooner, so it stays.
		{"off shift, already past the threshold, back soon", func(a *Agent) { a.BackAt = t0.Add(10 * time.Minute) }, waiting(10, 5*time.Hour), true, false},
		{"off shift, already past the threshold, back in an hour", func(a *Agent) { a.BackAt = t0.Add(time.Hour) }, waiting(10, 5*time.Hour), true, true},
		{"off shift, waiting since unknown counts from now", func(a *Agent) { a.BackAt = t0.Add(3 * time.Hour) },
			Conversation{ID: 10, Number: 10, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true, CreatedAt: t0.Add(-20 * time.Hour)}, false, false},
		{"off shift within the grace period", func(a *Agent) { a.BackAt, a.UnavailableSince = t0.Add(15*time.Hour), t0.Add(-10*time.Minute) },
			waiting(10, 5*time.Minute), false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			off := st(1)
			off.Available, off.UnavailableSince = false, t0.Add(-time.Hour)
			tt.agent(&off)
			s := Snapshot{Now: t0, Agents: []Agent{off, st(2)}, Conversations: []Conversation{tt.conv}}
			r := plan(t, s, p)
			if got := len(r.Moves) == 1 && r.Moves[0].Reason == ReasonAway; got != tt.moved {
				t.Errorf("moves %+v: handed over %v, want %v", r.Moves, got, tt.moved)
			}
			// The fair split counts the ticket exactly when it is due.
			want := 0.0
			if tt.due {
				want = 1
			}
			if got := r.Before.TotalWork; got != want {
				t.Errorf("total work %g, want %g", got, want)
			}
		})
	}
}

// TestStuckWithOwner: a customer who waited overnight is not stuck with an
// agent who has just come on shift, nor with one an SST handed the ticket
// to ten minutes ago; once the agent has had StuckAfter of their own time,
// the ticket is escalated. A ticket of an owner who is off shift is the
// away rule's, never the stuck rule's.
func TestStuckWithOwner(t *testing.T) {
	t.Parallel()
	sst := Agent{ID: 9, Role: RoleSST, Capacity: 1, Available: true}
	tests := []struct {
		name       string
		owner      func(a *Agent)
		assignedAt time.Time
		escalate   bool
	}{
		{"on shift for 10 minutes", func(a *Agent) { a.AvailableSince = t0.Add(-10 * time.Minute) }, time.Time{}, false},
		{"on shift for 4h10m", func(a *Agent) { a.AvailableSince = t0.Add(-4*time.Hour - 10*time.Minute) }, time.Time{}, true},
		{"available since unknown", func(a *Agent) {}, time.Time{}, true},
		{"off shift, back in an hour", func(a *Agent) {
			a.Available, a.UnavailableSince, a.BackAt = false, t0.Add(-10*time.Minute), t0.Add(time.Hour)
		}, time.Time{}, false},
		{"handed the ticket 10 minutes ago", func(a *Agent) {}, t0.Add(-10 * time.Minute), false},
		{"handed the ticket 4h10m ago", func(a *Agent) {}, t0.Add(-4*time.Hour - 10*time.Minute), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			owner := st(1)
			tt.owner(&owner)
			c := holding(1, 100, 1)
			c[0].CustomerWaitingSince = t0.Add(-14 * time.Hour)
			c[0].AssignedAt = tt.assignedAt
			c[0].AgentReplied = true // an ongoing conversation: away leaves it to its owner
			r := plan(t, Snapshot{Now: t0, Agents: []Agent{owner, sst}, Conversations: c}, DefaultPolicy())
			if got := countReason(r, ReasonStuck) == 1; got != tt.escalate {
				t.Errorf("moves %+v: escalated %v, want %v", r.Moves, got, tt.escalate)
			}
		})
	}
}

// TestShiftEndMargin: nothing is handed to someone about to leave; with
// nobody else, the ticket stays where it is.
func TestShiftEndMargin(t *testing.T) {
	t.Parallel()
	leaving, staying := st(1), st(2)
	leaving.AvailableUntil = t0.Add(20 * time.Minute)
	staying.AvailableUntil = t0.Add(3 * time.Hour)
	convs := append(holding(2, 200, 3), unassignedTicket(900, time.Hour))
	oldest := DefaultPolicy()
	oldest.Backlog = BacklogOldest // the staying agent has customers waiting
	r := plan(t, Snapshot{Now: t0, Agents: []Agent{leaving, staying}, Conversations: convs}, oldest)
	if got := targets(r)[900]; got != 2 {
		t.Errorf("unassigned ticket went to %d, want 2 (1 leaves in 20m): moves %+v", got, r.Moves)
	}
	r = plan(t, Snapshot{Now: t0, Agents: []Agent{leaving}, Conversations: []Conversation{unassignedTicket(900, time.Hour)}}, DefaultPolicy())
	if len(r.Moves) != 0 {
		t.Errorf("moves %+v, want none: the only agent leaves in 20m", r.Moves)
	}
	p := DefaultPolicy()
	p.ShiftEndMargin = 0
	if r := plan(t, Snapshot{Now: t0, Agents: []Agent{leaving}, Conversations: []Conversation{unassignedTicket(900, time.Hour)}}, p); len(r.Moves) != 1 {
		t.Errorf("with the margin off: moves %+v, want one", r.Moves)
	}
	// With 3 customers ahead (30 minutes of work), someone leaving in 55
	// minutes could not start a new one 30 minutes before the end.
	busy := st(3)
	busy.AvailableUntil = t0.Add(55 * time.Minute)
	r = plan(t, Snapshot{Now: t0, Agents: []Agent{busy}, Conversations: append(holding(3, 300, 3), unassignedTicket(900, time.Hour))}, oldest)
	if len(r.Moves) != 0 {
		t.Errorf("moves %+v, want none: the queue runs into the last half hour of the shift", r.Moves)
	}
}

// TestOverloadKeepsOngoingConversations: overload relieves an agent of
// customers nobody has answered yet, never of conversations they are in.
func TestOverloadKeepsOngoingConversations(t *testing.T) {
	t.Parallel()
	convs := holding(1, 100, 10)
	for i := range convs {
		convs[i].AgentReplied = i%2 == 0
	}
	r := plan(t, Snapshot{Now: t0, Agents: []Agent{st(1), st(2), st(3)}, Conversations: convs}, DefaultPolicy())
	if countReason(r, ReasonOverload) == 0 {
		t.Fatal("no overload move from 10 vs 0 vs 0")
	}
	byID := map[int64]Conversation{}
	for _, c := range convs {
		byID[c.ID] = c
	}
	for _, m := range r.Moves {
		if byID[m.ConversationID].AgentReplied {
			t.Errorf("moved ongoing conversation %d: %+v", m.ConversationID, m)
		}
	}
	for i := range convs {
		convs[i].AgentReplied = true
	}
	if r := plan(t, Snapshot{Now: t0, Agents: []Agent{st(1), st(2), st(3)}, Conversations: convs}, DefaultPolicy()); len(r.Moves) != 0 {
		t.Errorf("every conversation ongoing: moves %+v, want none", r.Moves)
	}
}

// TestMailboxAccess: a ticket only ever goes to someone who can open its
// mailbox, by every rule; with nobody who can, it stays where it is.
func TestMailboxAccess(t *testing.T) {
	t.Parallel()
	salesOnly := func(a Agent) Agent { a.Mailboxes = []int64{2}; return a }
	inMailbox := func(cs []Conversation, mb int64) []Conversation {
		for i := range cs {
			cs[i].MailboxID = mb
		}
		return cs
	}
	// Ana (support and sales) is busier than Sal (sales only).
	ana, sal := st(1), salesOnly(st(2))
	oldest := DefaultPolicy()
	oldest.Backlog = BacklogOldest // hand-outs to people with customers waiting
	support := unassignedTicket(900, time.Hour)
	support.MailboxID = 1
	sales := unassignedTicket(901, 50*time.Minute)
	sales.MailboxID = 2
	convs := append(inMailbox(holding(1, 100, 3), 1), support, sales)
	r := plan(t, Snapshot{Now: t0, Agents: []Agent{ana, sal}, Conversations: convs}, oldest)
	if diff := cmp.Diff(map[int64]int64{900: 1, 901: 2}, targets(r)); diff != "" {
		t.Errorf("targets (-want +got):\n%s", diff)
	}

	// Nobody else can open support: Ana's overload stays with her, while
	// her sales tickets can go to Sal.
	convs = append(inMailbox(holding(1, 100, 8), 1), inMailbox(holding(1, 200, 4), 2)...)
	r = plan(t, Snapshot{Now: t0, Agents: []Agent{ana, sal, salesOnly(st(3))}, Conversations: convs}, DefaultPolicy())
	if countReason(r, ReasonOverload) == 0 {
		t.Fatalf("no overload move from 12 vs 0 vs 0: %+v", r.Moves)
	}
	for _, m := range r.Moves {
		if m.ConversationID < 200 {
			t.Errorf("support ticket moved to an agent who cannot open it: %+v", m)
		}
	}

	// A stuck ST ticket skips the SST who cannot open its mailbox.
	sam := Agent{ID: 8, Role: RoleSST, Capacity: 1, Available: true, Mailboxes: []int64{2}}
	sue := Agent{ID: 9, Role: RoleSST, Capacity: 1, Available: true}
	stuckOne := inMailbox(holding(1, 100, 1), 1)
	stuckOne[0].CustomerWaitingSince = t0.Add(-5 * time.Hour)
	r = plan(t, Snapshot{Now: t0, Agents: []Agent{ana, sam, sue}, Conversations: append(stuckOne, inMailbox(holding(9, 300, 2), 1)...)}, oldest)
	if got := targets(r)[100]; got != 9 {
		t.Errorf("stuck ticket went to %d, want 9 (8 cannot open mailbox 1): %+v", got, r.Moves)
	}

	// The oldest unassigned ticket is in a mailbox nobody available can
	// open: it stays, and the newer one behind it is still handed out.
	billing := unassignedTicket(902, 2*time.Hour)
	billing.MailboxID = 3
	r = plan(t, Snapshot{Now: t0, Agents: []Agent{sal}, Conversations: []Conversation{billing, sales}}, DefaultPolicy())
	if diff := cmp.Diff(map[int64]int64{901: 2}, targets(r)); diff != "" {
		t.Errorf("hand-outs behind a ticket nobody can open (-want +got):\n%s", diff)
	}

	// The same for an away agent's tickets.
	bob := st(4)
	bob.Available = false
	bob.UnavailableSince = t0.Add(-10 * time.Hour)
	left := holding(4, 400, 2)
	left[0].MailboxID, left[0].CustomerWaitingSince = 3, t0.Add(-3*time.Hour)
	left[1].MailboxID, left[1].CustomerWaitingSince = 2, t0.Add(-2*time.Hour)
	r = plan(t, Snapshot{Now: t0, Agents: []Agent{sal, bob}, Conversations: left}, DefaultPolicy())
	if diff := cmp.Diff(map[int64]int64{401: 2}, targets(r)); diff != "" {
		t.Errorf("away hand-overs behind a ticket nobody can open (-want +got):\n%s", diff)
	}
}
