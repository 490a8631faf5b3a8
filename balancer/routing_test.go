package balancer

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	junior := Agent{ID: 1, Name: "Jo", Role: RoleST, Capacity: 0.5, Available: true}
	sst := Agent{ID: 2, Name: "Max", Role: RoleSST, Capacity: 1.25, Available: true}
	newOne := unassignedTicket(900, 0)
	leaving := func(a Agent, left time.Duration) Agent { a.AvailableUntil = t0.Add(left); return a }
	offShift := func(a Agent, back time.Duration) Agent { a.Available, a.BackAt = false, t0.Add(back); return a }
	tests := []struct {
		name   string
		agents []Agent
		convs  []Conversation
		ids    []int64
		want   map[int64]int64
	}{
		{"to whoever answers soonest", []Agent{junior, sst}, append(holding(2, 200, 2), newOne), []int64{900}, map[int64]int64{900: 1}},
		{"a slow queue loses to a fast one", []Agent{junior, sst}, append(append(holding(1, 100, 1), holding(2, 200, 2)...), newOne), []int64{900}, map[int64]int64{900: 2}},
		{"nobody available: stays", []Agent{{ID: 1, Role: RoleST, Capacity: 1}}, []Conversation{newOne}, []int64{900}, map[int64]int64{}},
		// Both idle: the utilisation after taking it breaks the tie.
		{"only the listed conversations", []Agent{junior, sst}, []Conversation{newOne, unassignedTicket(901, time.Hour)}, []int64{900}, map[int64]int64{900: 2}},
		// Nobody stays on shift: the last one takes it, now or first thing
		// on their next shift, unless someone back sooner would answer
		// sooner; then it stays in the Unassigned folder.
		{"the last one on shift, about to leave and idle, takes it", []Agent{leaving(junior, 20*time.Minute)},
			[]Conversation{newOne}, []int64{900}, map[int64]int64{900: 1}},
		{"the last one on shift will start it on their next shift: takes it", []Agent{leaving(junior, 20*time.Minute)},
			append(holding(1, 100, 2), newOne), []int64{900}, map[int64]int64{900: 1}},
		{"the same, someone back later: takes it", []Agent{leaving(junior, 20*time.Minute), offShift(sst, 30*time.Hour)},
			append(holding(1, 100, 2), newOne), []int64{900}, map[int64]int64{900: 1}},
		{"the same, someone back before their next shift: stays", []Agent{leaving(junior, 20*time.Minute), offShift(sst, 2*time.Hour)},
			append(holding(1, 100, 2), newOne), []int64{900}, map[int64]int64{}},
		{"someone back sooner would answer sooner: stays", []Agent{leaving(junior, 2*time.Hour), offShift(sst, 30*time.Minute)},
			append(holding(1, 100, 5), newOne), []int64{900}, map[int64]int64{}},
		{"someone staying takes it, not the one leaving", []Agent{leaving(sst, 20*time.Minute), junior},
			append(holding(1, 100, 1), newOne), []int64{900}, map[int64]int64{900: 1}},
		{"no caps: a whole burst is routed", []Agent{junior}, []Conversation{unassignedTicket(900, 0), unassignedTicket(901, 0),
			unassignedTicket(902, 0), unassignedTicket(903, 0)}, []int64{900, 901, 902, 903},
			map[int64]int64{900: 1, 901: 1, 902: 1, 903: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Snapshot{Now: t0, Agents: tt.agents, Conversations: tt.convs}
			moves := Route(s, DefaultPolicy(), tt.ids...)
			got := map[int64]int64{}
			for _, m := range moves {
				got[m.ConversationID] = m.To
				if !m.Handout() || m.Reason != ReasonUnassigned || m.Explanation == "" {
					t.Errorf("move %+v: want an explained hand-out", m)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("targets (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	t.Parallel()
	ana, ben, cy := st(1), st(2), st(3)
	ana.Name, ben.Name, cy.Name = "Ana", "Ben", "Cy"
	leaving := func(a Agent) Agent { a.AvailableUntil = t0.Add(20 * time.Minute); return a }
	away := func(a Agent) Agent { a.Available = false; return a }
	all := []int64{1, 2, 3}
	tests := []struct {
		name    string
		agents  []Agent
		convs   []Conversation
		ceiling []int64
		want    []int64
	}{
		{"everyone idle and equal: everyone", []Agent{ana, ben, cy}, nil, all, []int64{1, 2, 3}},
		{"the idle ones", []Agent{ana, ben, cy}, holding(1, 100, 2), all, []int64{2, 3}},
		{"the idle one below share", []Agent{ana, ben, cy}, append(holding(1, 100, 2), pending(3, 300, 4)...), all, []int64{2}},
		{"nobody idle: the shortest queue", []Agent{ana, ben, cy}, append(append(holding(1, 100, 3), holding(2, 200, 1)...), holding(3, 300, 2)...), all, []int64{2}},
		{"not someone about to leave", []Agent{ana, leaving(ben), cy}, holding(1, 100, 1), all, []int64{3}},
		{"never outside the admin's set", []Agent{ana, ben, cy}, holding(1, 100, 1), []int64{1, 2}, []int64{2}},
		{"everyone leaving: still someone", []Agent{leaving(ana), leaving(ben)}, holding(1, 100, 1), all, []int64{2}},
		{"nobody available: keep what there is", []Agent{away(ana), away(ben)}, nil, all, nil},
		{"not the HoS", []Agent{ana, {ID: 5, Role: RoleHoS, Capacity: 1, Available: true}}, holding(1, 100, 1), []int64{1, 5}, []int64{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Rotation(Snapshot{Now: t0, Agents: tt.agents, Conversations: tt.convs}, DefaultPolicy(), 1, tt.ceiling)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("rotation (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRoutingInvariants checks Route's and Rotation's guarantees on random
// teams and policies, and that neither depends on the order of the input.
func TestRoutingInvariants(t *testing.T) {
	t.Parallel()
	seeds := 200
	if testing.Short() {
		seeds = 30
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 15))
			s := genSnapshot(r, genConfig{agents: 1 + r.IntN(20), convs: r.IntN(300), messy: seed%3 == 0})
			p := genPolicy(r)
			agentN := map[int64]int{}
			agents := map[int64]Agent{}
			for _, a := range s.Agents {
				agentN[a.ID]++
				agents[a.ID] = a
			}
			checkRoute(t, r, s, p, agentN, agents)
			checkRotation(t, r, s, p, agentN, agents)
		})
	}
}

func checkRoute(t *testing.T, r *rand.Rand, s Snapshot, p Policy, agentN map[int64]int, agents map[int64]Agent) {
	t.Helper()
	var ids []int64
	for _, c := range s.Conversations {
		if c.AssigneeID == 0 && r.IntN(2) == 0 {
			ids = append(ids, c.ID)
		}
	}
	moves := Route(s, p, ids...)
	if diff := cmp.Diff(moves, Route(shuffled(r, s), p, ids...)); diff != "" {
		t.Errorf("Route of the shuffled snapshot differs (-ordered +shuffled):\n%s", diff)
	}
	cur := s
	for _, mv := range moves {
		where := fmt.Sprintf("route %d -> %d", mv.ConversationID, mv.To)
		if !slices.Contains(ids, mv.ConversationID) || !mv.Handout() || mv.Reason != ReasonUnassigned {
			t.Errorf("%s: not a hand-out of a listed conversation: %+v", where, mv)
		}
		var c Conversation
		for _, x := range cur.Conversations {
			if x.ID == mv.ConversationID {
				c = x
			}
		}
		to := agents[mv.To]
		if !refCounted(s, agentN, to) || !to.Available || (to.Role != RoleST && to.Role != RoleSST) {
			t.Errorf("%s: target is not an available front-line agent", where)
		}
		if to.Mailboxes != nil && !slices.Contains(to.Mailboxes, c.MailboxID) {
			t.Errorf("%s: target cannot open mailbox %d", where, c.MailboxID)
		}
		if c.Pinned || c.Status != StatusActive {
			t.Errorf("%s: pinned or not active", where)
		}
		k, _ := refAhead(cur, mv.To, c)
		if want := refWaitAt(cur, p, agentN, to, k); mv.TargetWait != want {
			t.Errorf("%s: target wait %v, want %v", where, mv.TargetWait, want)
		}
		if refLeaving(cur, p, agentN, to, c) {
			// ShiftEndMargin gives way only for the last people on shift:
			// nobody who stays could have taken the customer.
			for _, b := range s.Agents {
				if b.ID == to.ID || !b.Available || !refCounted(s, agentN, b) || b.Role != RoleST && b.Role != RoleSST ||
					b.Mailboxes != nil && !slices.Contains(b.Mailboxes, c.MailboxID) || b.MaxOpen > 0 && openOf(cur, p, b.ID) >= b.MaxOpen {
					continue
				}
				if !refLeaving(cur, p, agentN, b, c) {
					t.Errorf("%s: the target is about to leave, while %d, who stays, could take the customer", where, b.ID)
				}
			}
		}
		if u := to.AvailableUntil; !u.IsZero() && mv.TargetWait >= u.Sub(cur.Now) {
			// Only the last people on shift take what they will start on
			// their next shift, and only when nobody coming on shift
			// would answer the customer sooner.
			for _, b := range s.Agents {
				if b.Available || b.BackAt.IsZero() || !refCounted(s, agentN, b) || b.Role != RoleST && b.Role != RoleSST ||
					b.Mailboxes != nil && !slices.Contains(b.Mailboxes, c.MailboxID) || b.MaxOpen > 0 && openOf(cur, p, b.ID) >= b.MaxOpen {
					continue
				}
				k, _ := refAhead(cur, b.ID, c)
				if back := refWaitAt(cur, p, agentN, b, k); back <= mv.TargetWait {
					t.Errorf("%s: the target starts on the customer after their shift ends (wait %v, %v left), and %d, back at %v, would answer in %v",
						where, mv.TargetWait, u.Sub(cur.Now), b.ID, b.BackAt, back)
				}
			}
		}
		cur = Apply(cur, []Move{mv})
		if to.MaxOpen > 0 {
			for _, as := range Measure(cur, p).Agents {
				if as.ID == mv.To && as.Open > to.MaxOpen {
					t.Errorf("%s: target holds %d, above MaxOpen %d", where, as.Open, to.MaxOpen)
				}
			}
		}
	}
}

func checkRotation(t *testing.T, r *rand.Rand, s Snapshot, p Policy, agentN map[int64]int, agents map[int64]Agent) {
	t.Helper()
	var ceiling []int64
	for _, a := range s.Agents {
		if r.IntN(4) > 0 {
			ceiling = append(ceiling, a.ID)
		}
	}
	mailbox := int64(1 + r.IntN(3))
	got := Rotation(s, p, mailbox, ceiling)
	if diff := cmp.Diff(got, Rotation(shuffled(r, s), p, mailbox, ceiling)); diff != "" {
		t.Errorf("Rotation of the shuffled snapshot differs (-ordered +shuffled):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("rotation %v is not sorted", got)
	}
	eligible := 0
	open := map[int64]int{}
	for _, c := range s.Conversations {
		if isOpenWork(c) {
			open[c.AssigneeID]++
		}
	}
	for _, a := range s.Agents {
		if slices.Contains(ceiling, a.ID) && refCounted(s, agentN, a) && a.Available && (a.Role == RoleST || a.Role == RoleSST) &&
			(a.Mailboxes == nil || slices.Contains(a.Mailboxes, mailbox)) && (a.MaxOpen == 0 || open[a.ID] < a.MaxOpen) {
			eligible++
		}
	}
	if p.Validate() == nil && (eligible > 0) != (len(got) > 0) {
		t.Errorf("rotation %v with %d eligible people of the ceiling", got, eligible)
	}
	for _, id := range got {
		a := agents[id]
		if !slices.Contains(ceiling, id) || !a.Available || (a.Role != RoleST && a.Role != RoleSST) ||
			(a.Mailboxes != nil && !slices.Contains(a.Mailboxes, mailbox)) {
			t.Errorf("rotation %v holds %d, who is outside the ceiling, unavailable, not front line or cannot open mailbox %d", got, id, mailbox)
		}
	}
	choices := RotationChoices(s, p, mailbox, ceiling)
	if diff := cmp.Diff(choices, RotationChoices(shuffled(r, s), p, mailbox, ceiling)); diff != "" {
		t.Errorf("RotationChoices of the shuffled snapshot differs (-ordered +shuffled):\n%s", diff)
	}
	var in []int64
	for _, c := range choices {
		if c.Why == RotationIn {
			in = append(in, c.AgentID)
		}
		if c.Why == "" || !slices.Contains(ceiling, c.AgentID) {
			t.Errorf("choice %+v: no reason, or someone outside the ceiling", c)
		}
	}
	if p.Validate() == nil && len(choices) != len(slices.Compact(slices.Sorted(slices.Values(ceiling)))) {
		t.Errorf("%d choices for a ceiling of %d people", len(choices), len(ceiling))
	}
	if !slices.Equal(in, got) {
		t.Errorf("RotationChoices puts %v in, Rotation %v", in, got)
	}
}

func TestRotationChoices(t *testing.T) {
	t.Parallel()
	ana, ben, cy, di, ed := st(1), st(2), st(3), st(4), st(5)
	ben.Available = false                                // Away: no known return
	cy.Available, cy.BackAt = false, t0.Add(8*time.Hour) // off shift until tomorrow
	di.AvailableUntil = t0.Add(20 * time.Minute)         // leaving
	ed.MaxOpen = 1                                       // and holds one
	hos := Agent{ID: 6, Role: RoleHoS, Capacity: 1, Available: true}
	fay, gus := st(7), st(8)
	fay.Mailboxes = []int64{2}
	convs := append(append(holding(5, 500, 1), holding(8, 800, 1)...), holding(1, 100, 0)...)
	s := Snapshot{Now: t0, Agents: []Agent{ana, ben, cy, di, ed, hos, fay, gus}, Conversations: convs}
	got := map[int64]RotationWhy{}
	for _, c := range RotationChoices(s, DefaultPolicy(), 1, []int64{8, 7, 6, 5, 4, 3, 2, 1, 9, 1}) {
		got[c.AgentID] = c.Why
		if c.Why == RotationIn && (c.Wait != 0 || c.FairUtilisation <= 0) {
			t.Errorf("%d is in with a wait of %s and a fair utilisation of %.2f: want an idle agent below share", c.AgentID, c.Wait, c.FairUtilisation)
		}
	}
	want := map[int64]RotationWhy{
		1: RotationIn, 2: RotationAway, 3: RotationOffShift, 4: RotationLeaving, 5: RotationAtMaxOpen,
		6: RotationNotFrontLine, 7: RotationNoAccess, 8: RotationLongerWait, 9: RotationNotFrontLine,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}

	// Two idle people, one holding pending work: same wait, one above share.
	s = Snapshot{Now: t0, Agents: []Agent{st(1), st(2)}, Conversations: pending(2, 200, 4)}
	got = map[int64]RotationWhy{}
	for _, c := range RotationChoices(s, DefaultPolicy(), 1, []int64{1, 2}) {
		got[c.AgentID] = c.Why
	}
	if diff := cmp.Diff(map[int64]RotationWhy{1: RotationIn, 2: RotationAboveShare}, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}

// pending returns n pending tickets held by agent, with ids from first.
func pending(agent, first int64, n int) []Conversation {
	var out []Conversation
	for i := range n {
		out = append(out, Conversation{ID: first + int64(i), Number: first + int64(i), Status: StatusPending,
			AssigneeID: agent, AgentReplied: true, CreatedAt: t0.Add(-time.Hour)})
	}
	return out
}

// refLeaving reports whether a customer joining a's queue in s now could
// not be started ShiftEndMargin before a's shift ends (the planner's
// leaving, worked out again).
func refLeaving(s Snapshot, p Policy, agentN map[int64]int, a Agent, c Conversation) bool {
	u := a.AvailableUntil
	if u.IsZero() {
		return false
	}
	var work time.Duration
	if _, n := refAhead(s, a.ID, c); n > 0 {
		work = hours(float64(n) / refPace(s, p, agentN, a))
	}
	return work+p.ShiftEndMargin > u.Sub(s.Now)
}

// openOf is how many open tickets agent id holds in s, as Measure counts.
func openOf(s Snapshot, p Policy, id int64) int {
	for _, as := range Measure(s, p).Agents {
		if as.ID == id {
			return as.Open
		}
	}
	return 0
}
