package balancer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// genConfig shapes a random snapshot.
type genConfig struct {
	agents, convs int
	// openOnly makes every conversation active or pending (the benchmark's
	// "open conversations"); otherwise closed and spam ones mix in.
	openOnly bool
	// messy adds what a careless caller might pass: duplicate ids, unknown
	// roles, zero capacities, unknown assignees, times in the future.
	messy bool
}

var genNow = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)

// genSnapshot builds a plausible team: roles, levels, some people away,
// assignments skewed so that some agents are overloaded, tickets waiting,
// stuck, pinned, recently touched and recently moved.
func genSnapshot(r *rand.Rand, g genConfig) Snapshot {
	s := Snapshot{Now: genNow}
	hours := func(max float64) time.Duration { return time.Duration(r.Float64() * max * float64(time.Hour)) }
	for i := range g.agents {
		a := Agent{ID: int64(i + 1), Name: fmt.Sprintf("agent-%d", i+1), Capacity: LevelCapacity(1 + r.IntN(5))}
		switch x := r.IntN(100); {
		case x < 60:
			a.Role = RoleST
		case x < 82:
			a.Role = RoleSST
		case x < 92:
			a.Role = RoleHoS
			a.Escalations = r.IntN(2) == 0
		default:
			a.Role = RoleExclude
		}
		if r.IntN(10) == 0 {
			a.Capacity = 0.1 + r.Float64()*2
		}
		if r.IntN(5) == 0 {
			a.MaxOpen = 1 + r.IntN(12)
		}
		a.Available = r.IntN(10) < 7
		if !a.Available && r.IntN(8) != 0 {
			a.UnavailableSince = genNow.Add(-hours(72))
		}
		if !a.Available && r.IntN(2) == 0 {
			a.BackAt = genNow.Add(hours(20) - 2*time.Hour) // off shift, back soon or late (or, skewed, already due)
		}
		if a.Available && r.IntN(2) == 0 {
			a.AvailableSince = genNow.Add(-hours(10)) // on shift for 0-10h (or, skewed, a few minutes)
		}
		if a.Available && r.IntN(3) == 0 {
			a.AvailableUntil = genNow.Add(hours(3)) // leaving within 3h, sometimes within the margin
		}
		a.RecentAssignments = r.IntN(6)
		if r.IntN(3) == 0 {
			a.Pace = 1 + r.Float64()*9 // measured: 1-10 replies per working hour
		}
		switch r.IntN(8) {
		case 0:
			a.Mailboxes = []int64{int64(1 + r.IntN(3))} // one of the three mailboxes
		case 1:
			a.Mailboxes = []int64{} // none
		}
		if g.messy {
			switch r.IntN(30) {
			case 0:
				a.Role = "manager"
			case 3:
				a.Pace = []float64{-2, math.Inf(1), math.NaN(), 1e-300}[r.IntN(4)]
			case 1:
				a.Capacity = 0
			case 2:
				if i > 0 {
					a.ID = int64(r.IntN(i) + 1) // duplicate
				}
			}
		}
		s.Agents = append(s.Agents, a)
	}
	pickAgent := func() int64 {
		if len(s.Agents) == 0 {
			return 0
		}
		// Skewed: low indices get more work, so some people are overloaded.
		return s.Agents[r.IntN(r.IntN(len(s.Agents))+1)].ID
	}
	for i := range g.convs {
		created := genNow.Add(-hours(96))
		c := Conversation{ID: int64(100000 + i), Number: int64(5000 + i), MailboxID: int64(1 + r.IntN(3)), CreatedAt: created}
		switch x := r.IntN(100); {
		case x < 65:
			c.Status = StatusActive
		case x < 90 || g.openOnly:
			c.Status = StatusPending
		case x < 97:
			c.Status = StatusClosed
		default:
			c.Status = StatusSpam
		}
		if r.IntN(100) >= 12 {
			c.AssigneeID = pickAgent()
		}
		if c.Status == StatusActive && r.IntN(10) < 7 {
			c.WaitingOnUs = true
			c.CustomerWaitingSince = created.Add(time.Duration(r.Float64() * float64(genNow.Sub(created))))
		}
		c.AgentReplied = r.IntN(2) == 0
		if c.AgentReplied && r.IntN(3) > 0 {
			c.LastAgentActivityAt = genNow.Add(-hours(12))
		}
		if r.IntN(10) == 0 {
			c.LastMovedAt = genNow.Add(-hours(48))
		}
		if c.AssigneeID != 0 && r.IntN(3) == 0 {
			c.AssignedAt = genNow.Add(-hours(10)) // handed over 0-10h ago
		}
		c.Pinned = r.IntN(30) == 0
		if r.IntN(5) == 0 {
			c.PreviousAssigneeID = pickAgent()
		}
		if g.messy {
			switch r.IntN(40) {
			case 0:
				c.ID = int64(100000 + r.IntN(i+1)) // duplicate (or itself)
			case 1:
				c.AssigneeID = 999999 // not in the snapshot
			case 2:
				c.LastAgentActivityAt = genNow.Add(hours(2)) // clock skew
			case 3:
				c.Status = "deleted"
			case 4:
				c.WaitingOnUs, c.CustomerWaitingSince = true, time.Time{}
			}
		}
		s.Conversations = append(s.Conversations, c)
	}
	return s
}

// genPolicy varies every knob around the defaults.
func genPolicy(r *rand.Rand) Policy {
	p := DefaultPolicy()
	p.StuckAfter = time.Duration(1+r.IntN(8)) * time.Hour
	p.PendingWeight = []float64{0, 0.1, 0.25, 0.3, 1}[r.IntN(5)]
	p.MaxMovesPerRun = r.IntN(15)
	p.MaxMovesPerAgent = 1 + r.IntN(4)
	p.AssignmentsPerWindow = 1 + r.IntN(8)
	p.AwayGrace = time.Duration(r.IntN(120)) * time.Minute
	p.ShiftEndMargin = time.Duration(r.IntN(120)) * time.Minute
	p.HandOverOngoing = r.IntN(2) == 0
	p.RecentActivity = time.Duration(r.IntN(6)) * time.Hour
	p.Cooldown = time.Duration(r.IntN(48)) * time.Hour
	p.WaitRatio = []float64{0.25, 0.5, 0.75, 1}[r.IntN(4)]
	p.SoonerBy = time.Duration(r.IntN(5)) * 15 * time.Minute
	p.PriorPace = []float64{1, 4, 6, 12}[r.IntN(4)]
	p.Backlog = []time.Duration{BacklogIdle, 10 * time.Minute, time.Hour, BacklogOldest}[r.IntN(4)]
	p.PreviousAgentBonus = r.Float64()
	return p
}

func shuffled(r *rand.Rand, s Snapshot) Snapshot {
	out := Snapshot{Now: s.Now, Agents: slices.Clone(s.Agents), Conversations: slices.Clone(s.Conversations)}
	r.Shuffle(len(out.Agents), func(i, j int) { out.Agents[i], out.Agents[j] = out.Agents[j], out.Agents[i] })
	r.Shuffle(len(out.Conversations), func(i, j int) {
		out.Conversations[i], out.Conversations[j] = out.Conversations[j], out.Conversations[i]
	})
	return out
}

// checkDeterministic plans twice and once more on shuffled input; all three
// results must be identical, down to the last bit of every figure.
func checkDeterministic(t testing.TB, r *rand.Rand, s Snapshot, p Policy, want Result) {
	t.Helper()
	if diff := cmp.Diff(want, Plan(s, p)); diff != "" {
		t.Errorf("second plan of the same snapshot differs (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(want, Plan(shuffled(r, s), p)); diff != "" {
		t.Errorf("plan of the shuffled snapshot differs (-ordered +shuffled):\n%s", diff)
	}
}

var priority = map[Reason]int{ReasonUnassigned: 0, ReasonAway: 1, ReasonStuck: 2, ReasonOverload: 3}

// checkPlan checks every guarantee doc.go states, replaying the moves one by
// one on the snapshot and measuring each step independently with Measure.
func checkPlan(t testing.TB, s Snapshot, p Policy, r Result) {
	t.Helper()
	agentN := map[int64]int{}
	agents := map[int64]Agent{}
	for _, a := range s.Agents {
		agentN[a.ID]++
		agents[a.ID] = a
	}
	convN := map[int64]int{}
	for _, c := range s.Conversations {
		convN[c.ID]++
	}
	front := func(id int64) bool {
		a, ok := agents[id]
		return ok && agentN[id] == 1 && (a.Role == RoleST || a.Role == RoleSST) && validCapacity(a.Capacity)
	}
	if diff := cmp.Diff(Measure(s, p), r.Before); diff != "" {
		t.Errorf("Before is not Measure(snapshot) (-measure +before):\n%s", diff)
	}
	if p.Validate() == nil && len(r.Moves) > p.MaxMovesPerRun {
		t.Errorf("%d moves, above MaxMovesPerRun %d", len(r.Moves), p.MaxMovesPerRun)
	}
	cur := s
	moved := map[int64]bool{}
	in, out := map[int64]int{}, map[int64]int{}
	last := 0
	for k, mv := range r.Moves {
		where := fmt.Sprintf("move %d (conversation %d, %s, %d -> %d)", k, mv.ConversationID, mv.Reason, mv.From, mv.To)
		if convN[mv.ConversationID] != 1 {
			t.Errorf("%s: conversation id appears %d times in the snapshot", where, convN[mv.ConversationID])
			continue
		}
		if moved[mv.ConversationID] {
			t.Errorf("%s: conversation moved twice", where)
		}
		moved[mv.ConversationID] = true
		var c Conversation
		for _, x := range cur.Conversations {
			if x.ID == mv.ConversationID {
				c = x
			}
		}
		if c.AssigneeID != mv.From {
			t.Errorf("%s: conversation is assigned to %d", where, c.AssigneeID)
		}
		if c.Number != mv.Number {
			t.Errorf("%s: number %d, conversation has %d", where, mv.Number, c.Number)
		}
		pr, ok := priority[mv.Reason]
		if !ok {
			t.Errorf("%s: unknown reason", where)
		}
		if pr < last {
			t.Errorf("%s: out of priority order", where)
		}
		last = pr

		// the target
		to, ok := agents[mv.To]
		switch {
		case !ok || agentN[mv.To] != 1:
			t.Errorf("%s: target is not exactly one agent of the snapshot", where)
		case !to.Available:
			t.Errorf("%s: target is unavailable", where)
		case to.Role == RoleHoS:
			if !to.Escalations || mv.Reason != ReasonStuck {
				t.Errorf("%s: target is the HoS (escalations %v)", where, to.Escalations)
			}
		case !front(mv.To):
			t.Errorf("%s: target is not a front-line agent (role %q, capacity %g)", where, to.Role, to.Capacity)
		}
		if mv.To == mv.From {
			t.Errorf("%s: moves to its own holder", where)
		}
		if to.Mailboxes != nil && !slices.Contains(to.Mailboxes, c.MailboxID) {
			t.Errorf("%s: target can open mailboxes %v, not the ticket's %d", where, to.Mailboxes, c.MailboxID)
		}
		if u := to.AvailableUntil; !u.IsZero() && u.Sub(s.Now) < p.ShiftEndMargin {
			t.Errorf("%s: target's shift ends in %v, within ShiftEndMargin %v", where, u.Sub(s.Now), p.ShiftEndMargin)
		}

		// never-move rules
		if c.Pinned {
			t.Errorf("%s: pinned", where)
		}
		if !c.LastMovedAt.IsZero() && s.Now.Sub(c.LastMovedAt) < p.Cooldown {
			t.Errorf("%s: moved %v ago, within the cooldown", where, s.Now.Sub(c.LastMovedAt))
		}
		if !c.LastAgentActivityAt.IsZero() && s.Now.Sub(c.LastAgentActivityAt) < p.RecentActivity {
			t.Errorf("%s: agent activity %v ago", where, s.Now.Sub(c.LastAgentActivityAt))
		}
		if mv.From != 0 && !front(mv.From) {
			t.Errorf("%s: source is not a front-line agent", where)
		}
		if mv.WaitingFor != waitingFor(&c, s.Now) {
			t.Errorf("%s: waiting for %v, want %v", where, mv.WaitingFor, waitingFor(&c, s.Now))
		}
		if mv.Explanation == "" {
			t.Errorf("%s: no explanation", where)
		}
		if mv.Handout() != (mv.From == 0) {
			t.Errorf("%s: Handout() is %v", where, mv.Handout())
		}
		checkWaits(t, where, cur, p, mv, c, agentN)

		// the rule's own conditions
		from := agents[mv.From]
		switch mv.Reason {
		case ReasonUnassigned:
			if mv.From != 0 || c.Status != StatusActive {
				t.Errorf("%s: not an active unassigned ticket", where)
			}
		case ReasonAway:
			if from.Available || s.Now.Sub(from.UnavailableSince) < p.AwayGrace || classOf(&c) != classWaiting {
				t.Errorf("%s: not a waiting ticket of an agent away beyond the grace period", where)
			}
			if !from.BackAt.IsZero() {
				since := c.CustomerWaitingSince
				if since.IsZero() {
					since = s.Now
				}
				if wait := from.BackAt.Sub(since); wait <= p.StuckAfter {
					t.Errorf("%s: the owner is off shift and back when the customer has waited %v, within StuckAfter %v", where, wait, p.StuckAfter)
				}
				if c.AgentReplied && !p.HandOverOngoing {
					t.Errorf("%s: an ongoing conversation of an owner who is merely off shift", where)
				}
			}
		case ReasonStuck:
			if !isStuck(c, p, s.Now) || from.Role != RoleST {
				t.Errorf("%s: not a stuck ticket of an ST", where)
			}
			since := c.CustomerWaitingSince
			if from.AvailableSince.After(since) {
				since = from.AvailableSince
			}
			if c.AssignedAt.After(since) {
				since = c.AssignedAt
			}
			if !from.Available || s.Now.Sub(since) <= p.StuckAfter {
				t.Errorf("%s: not stuck with its owner (available %v, waiting on them for %v)", where, from.Available, s.Now.Sub(since))
			}
		case ReasonOverload:
			if !from.Available || classOf(&c) != classWaiting || c.AgentReplied {
				t.Errorf("%s: not a waiting customer nobody has answered, of an available agent", where)
			}
		}

		// caps
		if mv.From != 0 {
			out[mv.From]++
			if out[mv.From] > p.MaxMovesPerAgent {
				t.Errorf("%s: %d moves out of %d, above MaxMovesPerAgent", where, out[mv.From], mv.From)
			}
		}
		in[mv.To]++
		if in[mv.To] > p.MaxMovesPerAgent {
			t.Errorf("%s: %d moves into %d, above MaxMovesPerAgent", where, in[mv.To], mv.To)
		}
		if to.RecentAssignments+in[mv.To] > p.AssignmentsPerWindow {
			t.Errorf("%s: %d recent + %d new assignments, above AssignmentsPerWindow %d",
				where, to.RecentAssignments, in[mv.To], p.AssignmentsPerWindow)
		}

		next := Apply(cur, []Move{mv})
		after := Measure(next, p)
		if to.MaxOpen > 0 {
			for _, as := range after.Agents {
				if as.ID == mv.To && as.Open > to.MaxOpen {
					t.Errorf("%s: target holds %d open tickets, above MaxOpen %d", where, as.Open, to.MaxOpen)
				}
			}
		}
		cur = next
	}

	for _, f := range r.Flags {
		var c Conversation
		for _, x := range s.Conversations {
			if x.ID == f.ConversationID {
				c = x
			}
		}
		if !isStuck(c, p, s.Now) || c.AssigneeID != f.AgentID || agents[f.AgentID].Role != RoleSST || f.Reason != ReasonStuck {
			t.Errorf("flag on conversation %d: not a stuck ticket held by an SST", f.ConversationID)
		}
		if moved[f.ConversationID] {
			t.Errorf("flag on conversation %d: the ticket was also moved", f.ConversationID)
		}
	}
	flagged := map[int64]bool{}
	for _, f := range r.Flags {
		flagged[f.ConversationID] = true
	}
	for _, f := range r.NoSenior {
		var c Conversation
		for _, x := range s.Conversations {
			if x.ID == f.ConversationID {
				c = x
			}
		}
		owner := agents[f.AgentID]
		if !isStuck(c, p, s.Now) || c.AssigneeID != f.AgentID || owner.Role != RoleST || !owner.Available || f.Reason != ReasonStuck {
			t.Errorf("no senior for conversation %d: not a stuck ticket held by an available ST", f.ConversationID)
		}
		if moved[f.ConversationID] || flagged[f.ConversationID] {
			t.Errorf("no senior for conversation %d: the ticket was also moved or flagged", f.ConversationID)
		}
		flagged[f.ConversationID] = true // twice is a fault too
	}
	if diff := cmp.Diff(Measure(cur, p), r.After); diff != "" {
		t.Errorf("After is not Measure(Apply(snapshot, moves)) (-measure +after):\n%s", diff)
	}
}

// TestPlanInvariants checks the guarantees on random teams and policies.
func TestPlanInvariants(t *testing.T) {
	t.Parallel()
	seeds := 300
	if testing.Short() {
		seeds = 40
	}
	for seed := range uint64(seeds) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 42))
			g := genConfig{agents: 1 + r.IntN(30), convs: r.IntN(400), messy: seed%3 == 0}
			s := genSnapshot(r, g)
			p := genPolicy(r)
			res := Plan(s, p)
			checkPlan(t, s, p, res)
			checkDeterministic(t, r, s, p, res)
		})
	}
}

// TestPlanMovesSomething guards the property test against vacuity: with
// default caps, the random teams must exercise every kind of move and flag,
// with the backlog handed out oldest first; under the default backlog
// setting, every rule must still find someone idle to move to.
func TestPlanMovesSomething(t *testing.T) {
	t.Parallel()
	assignedOnly := func(s *Snapshot) {
		s.Conversations = slices.DeleteFunc(s.Conversations, func(c Conversation) bool { return c.AssigneeID == 0 })
	}
	for _, tt := range []struct {
		name    string
		backlog time.Duration
		// Under idle each of the few people with nobody waiting takes one
		// ticket, from the first rule that has one: prep leaves work for
		// the rules under test only.
		prep func(*Snapshot)
		want []Reason
	}{
		{"oldest", BacklogOldest, func(*Snapshot) {}, Reasons()},
		{"idle", BacklogIdle, func(*Snapshot) {}, []Reason{ReasonUnassigned}},
		{"idle, no folder", BacklogIdle, assignedOnly, []Reason{ReasonAway}},
		{"idle, no folder, nobody away", BacklogIdle, func(s *Snapshot) {
			assignedOnly(s)
			for i := range s.Agents {
				s.Agents[i].Available = true
			}
		}, []Reason{ReasonStuck, ReasonOverload}},
	} {
		seen := map[Reason]int{}
		flags, noSenior := 0, 0
		for seed := range uint64(60) {
			r := rand.New(rand.NewPCG(seed, 7))
			s := genSnapshot(r, genConfig{agents: 12, convs: 200})
			tt.prep(&s)
			p := DefaultPolicy()
			p.MaxMovesPerRun = 40
			p.MaxMovesPerAgent = 6
			p.AssignmentsPerWindow = 20
			p.Backlog = tt.backlog
			res := Plan(s, p)
			for _, m := range res.Moves {
				seen[m.Reason]++
			}
			flags += len(res.Flags)
			noSenior += len(res.NoSenior)
		}
		for _, reason := range tt.want {
			if seen[reason] == 0 {
				t.Errorf("%s: no %s move in 60 random teams", tt.name, reason)
			}
		}
		if flags == 0 {
			t.Errorf("%s: no flag in 60 random teams", tt.name)
		}
		if noSenior == 0 {
			t.Errorf("%s: no stuck ticket left for want of a senior in 60 random teams", tt.name)
		}
	}
}

// FuzzPlanInvariants lets the fuzzer pick the team: go test -fuzz
// FuzzPlanInvariants ./balancer. The corpus is in testdata/fuzz.
func FuzzPlanInvariants(f *testing.F) {
	f.Add(uint64(1), uint8(5), uint16(40), false)
	f.Add(uint64(2), uint8(30), uint16(500), true)
	f.Fuzz(func(t *testing.T, seed uint64, agents uint8, convs uint16, messy bool) {
		r := rand.New(rand.NewPCG(seed, uint64(agents)<<16|uint64(convs)))
		g := genConfig{agents: int(agents % 48), convs: int(convs % 800), messy: messy}
		s := genSnapshot(r, g)
		p := genPolicy(r)
		res := Plan(s, p)
		checkPlan(t, s, p, res)
		checkDeterministic(t, r, s, p, res)
	})
}
