package balancer

import (
	"math"
	"testing"
	"time"
)

// scenarioChecks holds, for each testdata scenario, the assertion that says
// in code what the scenario is about, so that a regenerated golden file
// cannot quietly accept a wrong plan.
var scenarioChecks = map[string]func(t *testing.T, s Snapshot, p Policy, r Result){
	"st-away-two-days": func(t *testing.T, s Snapshot, p Policy, r Result) {
		moves := movesByConversation(r)
		for _, id := range []int64{101, 102, 103} {
			m, ok := moves[id]
			if !ok || m.Reason != ReasonAway || (m.To != 2 && m.To != 3) {
				t.Errorf("waiting ticket %d: got move %+v (moved %v), want an away move to Ben or Sam", id, m, ok)
			}
		}
		for _, id := range []int64{104, 105} {
			if m, ok := moves[id]; ok {
				t.Errorf("pending ticket %d moved: %+v", id, m)
			}
		}
		for _, m := range r.Moves {
			if m.To == 4 {
				t.Errorf("the HoS received %d", m.ConversationID)
			}
		}
	},
	"st-stuck": func(t *testing.T, s Snapshot, p Policy, r Result) {
		m, ok := movesByConversation(r)[101]
		if !ok || m.Reason != ReasonStuck || m.To != 4 {
			t.Fatalf("stuck ticket 101: got %+v (moved %v), want a stuck move to Sue (4)", m, ok)
		}
		if sam, sue := agentStats(t, r.Before, 3), agentStats(t, r.Before, 4); sue.Utilisation >= sam.Utilisation {
			t.Errorf("Sue's utilisation %g is not below Sam's %g: the scenario does not test 'least loaded'", sue.Utilisation, sam.Utilisation)
		}
	},
	"sst-stuck": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if m, ok := movesByConversation(r)[301]; ok {
			t.Errorf("the SST's stuck ticket moved: %+v", m)
		}
		if len(r.Flags) != 1 || r.Flags[0].ConversationID != 301 || r.Flags[0].AgentID != 3 || r.Flags[0].Reason != ReasonStuck {
			t.Errorf("flags: got %+v, want one stuck flag on 301 held by Sam (3)", r.Flags)
		}
	},
	"overnight-backlog": func(t *testing.T, s Snapshot, p Policy, r Result) {
		got := map[int64]int{}
		for _, m := range r.Moves {
			got[m.To]++
		}
		if want := map[int64]int{1: p.MaxMovesPerAgent}; !equalCounts(got, want) {
			t.Errorf("first run: moves per target %v, want %v", got, want)
		}
		if len(r.Moves) != 2 || r.Moves[0].ConversationID != 1001 || r.Moves[1].ConversationID != 1002 {
			t.Errorf("first run: got %+v, want the two oldest (1001, 1002)", r.Moves)
		}
		// A run every 5 minutes for the rest of the hour: Ana's window cap
		// holds, the HoS never steps in, the backlog mostly waits for the
		// others' shifts.
		cur, total := s, map[int64]int{}
		for range 12 {
			res := Plan(cur, p)
			checkPlan(t, cur, p, res)
			for _, m := range res.Moves {
				total[m.To]++
			}
			cur = Apply(cur, res.Moves)
			cur.Now = cur.Now.Add(5 * time.Minute)
		}
		if want := map[int64]int{1: p.AssignmentsPerWindow}; !equalCounts(total, want) {
			t.Errorf("after an hour: assignments per agent %v, want %v", total, want)
		}
	},
	"pinned": func(t *testing.T, s Snapshot, p Policy, r Result) {
		moves := movesByConversation(r)
		for _, id := range []int64{101, 901} {
			if m, ok := moves[id]; ok {
				t.Errorf("pinned ticket %d moved: %+v", id, m)
			}
		}
		if countReason(r, ReasonOverload) == 0 {
			t.Error("no overload move: the scenario does not show that another ticket moves instead")
		}
	},
	"recent-reply": func(t *testing.T, s Snapshot, p Policy, r Result) {
		moves := movesByConversation(r)
		for _, id := range []int64{101, 102} {
			if m, ok := moves[id]; ok {
				t.Errorf("ticket %d with recent agent activity moved: %+v", id, m)
			}
		}
		if !IsStuck(s.Conversations[1], p, s.Now) {
			t.Error("ticket 102 is not stuck: the scenario does not test that activity protects a stuck ticket")
		}
		if countReason(r, ReasonOverload) == 0 {
			t.Error("no overload move: the scenario does not show that older tickets move instead")
		}
	},
	"hos-no-escalations": func(t *testing.T, s Snapshot, p Policy, r Result) {
		for _, m := range r.Moves {
			if m.To == 5 {
				t.Errorf("the HoS without escalations received %+v", m)
			}
		}
		m, ok := movesByConversation(r)[101]
		if !ok || m.Reason != ReasonStuck || (m.To != 2 && m.To != 4) {
			t.Errorf("stuck ticket 101: got %+v (moved %v), want a stuck move to an available ST", m, ok)
		}
	},
	"hos-escalations": func(t *testing.T, s Snapshot, p Policy, r Result) {
		for _, m := range r.Moves {
			want := m.ConversationID == 101 && m.Reason == ReasonStuck
			if (m.To == 5) != want {
				t.Errorf("move %+v: to the HoS %v, want %v", m, m.To == 5, want)
			}
		}
		if _, ok := movesByConversation(r)[101]; !ok {
			t.Error("stuck ticket 101 did not move")
		}
	},
	"balanced-team": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if len(r.Moves) != 0 || len(r.Flags) != 0 {
			t.Errorf("got %d moves and %d flags, want none", len(r.Moves), len(r.Flags))
		}
		if r.Before.Imbalance > 1+p.OverloadTolerance {
			t.Errorf("imbalance %g: the team is not balanced within the tolerance", r.Before.Imbalance)
		}
	},
	"capacity-proportional": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if countReason(r, ReasonOverload) == 0 {
			t.Fatal("the first plan makes no overload move")
		}
		// Plan and apply every hour (a fresh assignment window each time)
		// until nothing moves.
		cur := s
		for run := 0; ; run++ {
			if run == 30 {
				t.Fatal("no convergence after 30 runs")
			}
			res := Plan(cur, p)
			checkPlan(t, cur, p, res)
			if len(res.Moves) == 0 {
				break
			}
			cur = Apply(cur, res.Moves)
			cur.Now = cur.Now.Add(time.Hour)
			for i := range cur.Agents {
				cur.Agents[i].RecentAssignments = 0
			}
		}
		st := Measure(cur, p)
		ana, ben := agentStats(t, st, 1), agentStats(t, st, 2)
		for _, a := range []AgentStats{ana, ben} {
			if math.Abs(a.Load-a.FairShare) > 1 {
				t.Errorf("agent %d: load %g, fair share %g: not in proportion to the nearest ticket", a.ID, a.Load, a.FairShare)
			}
		}
		if got, want := ana.Load/(ana.Load+ben.Load), 0.5/(0.5+1.25); math.Abs(got-want) > 1/(ana.Load+ben.Load) {
			t.Errorf("Ana carries %.3f of the work, want %.3f within one ticket", got, want)
		}
	},
	"off-shift-back-soon": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if len(r.Moves) != 0 {
			t.Errorf("moves %+v, want none: every customer of Ana is answered within the threshold when she is back", r.Moves)
		}
		ana := s.Agents[0]
		if s.Now.Sub(ana.UnavailableSince) < p.AwayGrace {
			t.Error("Ana is within the away grace: the scenario does not test the off-shift rule")
		}
		// Without BackAt she counts as absent: her waiting tickets would go.
		absent := s
		absent.Agents = append([]Agent(nil), s.Agents...)
		absent.Agents[0].BackAt = time.Time{}
		if got, want := countReason(Plan(absent, p), ReasonAway), min(3, p.MaxMovesPerAgent); got != want {
			t.Errorf("with Ana away in Help Scout: %d away moves, want %d (her 3, within the per-agent cap)", got, want)
		}
		// Her waiting work is not in the split: Ben and Sam share only
		// their own (1 + 1).
		if r.Before.TotalWork != 2 {
			t.Errorf("total work %g, want 2 (Ana's tickets stay hers)", r.Before.TotalWork)
		}
	},
	"off-shift-would-breach": func(t *testing.T, s Snapshot, p Policy, r Result) {
		moves := movesByConversation(r)
		for _, id := range []int64{101, 401} {
			if m, ok := moves[id]; !ok || m.Reason != ReasonAway || (m.To != 2 && m.To != 3) {
				t.Errorf("ticket %d: got %+v (moved %v), want an away move to Ben or Sam", id, m, ok)
			}
		}
		// 102 is an ongoing conversation: it waits for Ana, unlike when
		// she is away in Help Scout for an unknown time.
		for _, id := range []int64{102, 103, 402} {
			if m, ok := moves[id]; ok {
				t.Errorf("ticket %d moved: %+v", id, m)
			}
		}
		if len(r.Moves) != 2 {
			t.Errorf("%d moves, want 2", len(r.Moves))
		}
		absent := s
		absent.Agents = append([]Agent(nil), s.Agents...)
		for i := range absent.Agents {
			if absent.Agents[i].ID == 1 {
				absent.Agents[i].BackAt = time.Time{}
			}
		}
		if m, ok := movesByConversation(Plan(absent, p))[102]; !ok || m.Reason != ReasonAway {
			t.Errorf("with Ana away in Help Scout, ticket 102: got %+v (moved %v), want an away move", m, ok)
		}
		sun := p
		sun.HandOverOngoing = true
		if m, ok := movesByConversation(Plan(s, sun))[102]; !ok || m.Reason != ReasonAway {
			t.Errorf("following the sun, ticket 102: got %+v (moved %v), want an away move", m, ok)
		}
	},
	"small-team-no-churn": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if len(r.Moves) != 0 {
			t.Errorf("moves %+v, want none within the overload margin", r.Moves)
		}
		ana := agentStats(t, r.Before, 1)
		if ana.Load <= ana.FairShare*(1+p.OverloadTolerance) {
			t.Errorf("Ana's load %g is within the tolerance of %g: the scenario does not test the margin", ana.Load, ana.FairShare)
		}
		noMargin := p
		noMargin.OverloadMargin = 0
		if got := countReason(Plan(s, noMargin), ReasonOverload); got == 0 {
			t.Error("without the margin nothing moves either: the scenario does not test the margin")
		}
	},
	"max-open": func(t *testing.T, s Snapshot, p Policy, r Result) {
		in := 0
		for _, m := range r.Moves {
			if m.To == 2 {
				in++
			}
		}
		if ben := agentStats(t, r.After, 2); ben.Open != 3 || in != 1 {
			t.Errorf("Ben: %d open after %d moves in, want 3 after 1 (max_open 3)", ben.Open, in)
		}
		if len(r.Moves) < 3 {
			t.Errorf("only %d moves: the rest of the queue should go to Cy", len(r.Moves))
		}
	},
	"busy-monday": func(t *testing.T, s Snapshot, p Policy, r Result) {
		for _, reason := range Reasons() {
			if countReason(r, reason) == 0 {
				t.Errorf("no %s move", reason)
			}
		}
		moves := movesByConversation(r)
		if m := moves[901]; m.To != 3 || m.Reason != ReasonUnassigned {
			t.Errorf("901 (Cy's customer before): got %+v, want to Cy (3) by the previous-agent bonus", m)
		}
		if m := moves[501]; m.To != 4 || m.Reason != ReasonStuck {
			t.Errorf("Tom's stuck 501: got %+v, want escalated to Sam (4)", m)
		}
		if len(r.Flags) != 1 || r.Flags[0].ConversationID != 401 {
			t.Errorf("flags %+v, want Sam's stuck 401", r.Flags)
		}
		if r.After.Imbalance >= r.Before.Imbalance {
			t.Errorf("imbalance %g -> %g: the plan does not improve it", r.Before.Imbalance, r.After.Imbalance)
		}
	},
}

func movesByConversation(r Result) map[int64]Move {
	out := map[int64]Move{}
	for _, m := range r.Moves {
		out[m.ConversationID] = m
	}
	return out
}

func countReason(r Result, reason Reason) int {
	n := 0
	for _, m := range r.Moves {
		if m.Reason == reason {
			n++
		}
	}
	return n
}

func agentStats(t *testing.T, st Stats, id int64) AgentStats {
	t.Helper()
	for _, a := range st.Agents {
		if a.ID == id {
			return a
		}
	}
	t.Fatalf("no stats for agent %d", id)
	return AgentStats{}
}

func equalCounts(got, want map[int64]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}
