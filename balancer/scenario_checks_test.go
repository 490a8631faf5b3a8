package balancer

import (
	"slices"
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
	"stuck-senior-at-max-open": func(t *testing.T, s Snapshot, p Policy, r Result) {
		leftWithNoSenior(t, s, p, r, func(a *Agent) { a.MaxOpen++ })
	},
	"stuck-senior-leaving": func(t *testing.T, s Snapshot, p Policy, r Result) {
		leftWithNoSenior(t, s, p, r, func(a *Agent) { a.AvailableUntil = time.Time{} })
	},
	"stuck-senior-does-not-pay": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if m, ok := movesByConversation(r)[101]; ok || len(r.NoSenior) != 0 {
			t.Errorf("moved %+v (%v), no senior %+v: want 101 left with Ana and nothing reported, since Sam could take it",
				m, ok, r.NoSenior)
		}
		// With Sam's queue answered, the same move pays: what kept the
		// ticket with Ana was the wait, not Sam.
		answered := s
		answered.Conversations = slices.DeleteFunc(slices.Clone(s.Conversations), func(c Conversation) bool { return c.AssigneeID == 3 })
		if m, ok := movesByConversation(Plan(answered, p))[101]; !ok || m.To != 3 || m.Reason != ReasonStuck {
			t.Errorf("with Sam's queue answered: got %+v (moved %v), want 101 escalated to Sam", m, ok)
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
		if !isStuck(s.Conversations[1], p, s.Now) {
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
		if r.Before.Imbalance > 1.5 {
			t.Errorf("imbalance %g: the team is not balanced", r.Before.Imbalance)
		}
	},
	"capacity-proportional": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if m, ok := movesByConversation(r)[101]; !ok || m.Reason != ReasonOverload || m.To != 2 {
			t.Fatalf("first plan: Ana's newest customer 101: got %+v (moved %v), want an overload move to Ben", m, ok)
		}
		// Plan and apply every hour (a fresh assignment window each time)
		// until nothing moves.
		cur := s
		moved := 0
		for run := 0; ; run++ {
			if run == 30 {
				t.Fatal("no convergence after 30 runs")
			}
			res := Plan(cur, p)
			checkPlan(t, cur, p, res)
			if len(res.Moves) == 0 {
				break
			}
			moved += len(res.Moves)
			cur = Apply(cur, res.Moves)
			cur.Now = cur.Now.Add(time.Hour)
			for i := range cur.Agents {
				cur.Agents[i].RecentAssignments = 0
			}
		}
		pl := newPlanner(newModel(cur, p))
		ana, ben := &pl.agents[pl.index[1]], &pl.agents[pl.index[2]]
		if pl.pays(pl.lastWait(ana), pl.endWait(ben)) {
			t.Errorf("after %d moves, Ana's last customer waits %v, a new one with Ben %v: a move still pays", moved, pl.lastWait(ana), pl.endWait(ben))
		}
		if len(ana.queue) >= 10 {
			t.Errorf("Ana still holds %d customers", len(ana.queue))
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
		// Without BackAt she counts as absent: her waiting tickets would go,
		// to Ben and Sam, who have customers waiting, once the backlog is
		// handed out oldest first.
		absent := s
		absent.Agents = append([]Agent(nil), s.Agents...)
		absent.Agents[0].BackAt = time.Time{}
		oldest := p
		oldest.Backlog = BacklogOldest
		if got, want := countReason(Plan(absent, oldest), ReasonAway), min(3, p.MaxMovesPerAgent); got != want {
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
		if m, ok := moves[101]; !ok || m.Reason != ReasonAway || (m.To != 2 && m.To != 3) {
			t.Errorf("ticket 101: got %+v (moved %v), want an away move to Ben or Sam", m, ok)
		}
		// 102 is an ongoing conversation: it waits for Ana, unlike when
		// she is away in Help Scout for an unknown time. 401 is due, but
		// Dee answers it in 20 minutes: no move pays.
		for _, id := range []int64{102, 103, 401, 402} {
			if m, ok := moves[id]; ok {
				t.Errorf("ticket %d moved: %+v", id, m)
			}
		}
		if len(r.Moves) != 1 {
			t.Errorf("%d moves, want 1", len(r.Moves))
		}
		dee := p
		dee.SoonerBy = 0
		if m, ok := movesByConversation(Plan(s, dee))[401]; !ok || m.Reason != ReasonAway {
			t.Errorf("without the margin, ticket 401: got %+v (moved %v), want an away move: the scenario does not test the margin", m, ok)
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
		oldest := noMovesEitherWay(t, s, p, r)
		oldest.SoonerBy, oldest.WaitRatio = 0, 1
		if got := countReason(Plan(s, oldest), ReasonOverload); got == 0 {
			t.Error("without the hysteresis nothing moves either: the scenario does not test it")
		}
	},
	"tied-for-busiest": func(t *testing.T, s Snapshot, p Policy, r Result) {
		got := map[int64]int64{}
		for _, m := range r.Moves {
			if m.Reason != ReasonOverload {
				t.Errorf("move %+v, want only overload moves", m)
			}
			got[m.From] = m.To
		}
		if len(r.Moves) != 2 || got[1] == 0 || got[2] == 0 || got[1] == got[2] {
			t.Errorf("moves %+v, want one from each of the tied Ana and Ben, to Cy and Dee", r.Moves)
		}
		if a, b := agentStats(t, r.Before, 1), agentStats(t, r.Before, 2); a.Load != b.Load {
			t.Errorf("loads %g and %g: the scenario does not tie Ana and Ben", a.Load, b.Load)
		}
	},
	"buried-team": func(t *testing.T, s Snapshot, p Policy, r Result) {
		noMovesEitherWay(t, s, p, r)
		// Everyone really is buried: over an hour of work each.
		pl := newPlanner(newModel(s, p))
		for i := range pl.agents {
			if a := &pl.agents[i]; pl.endWait(a) < time.Hour {
				t.Errorf("%s: a new customer would wait only %v", a.ag.Name, pl.endWait(a))
			}
		}
	},
	"fast-sst-slow-junior": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if len(r.Moves) != 1 || r.Moves[0].ConversationID != 105 || r.Moves[0].To != 2 || r.Moves[0].Reason != ReasonOverload {
			t.Fatalf("moves %+v, want Jo's newest customer 105 to Max", r.Moves)
		}
		if m := r.Moves[0]; m.OwnerWait < time.Hour || m.TargetWait != 0 {
			t.Errorf("waits %v with Jo, %v with Max: want over an hour against none", m.OwnerWait, m.TargetWait)
		}
		// Handed out oldest first, Max keeps taking Jo's newest while that
		// pays: more than one.
		oldest := p
		oldest.Backlog = BacklogOldest
		if got := countReason(Plan(s, oldest), ReasonOverload); got < 2 {
			t.Errorf("backlog oldest: %d moves to Max, want more than one", got)
		}
	},
	"overnight-backlog-idle": func(t *testing.T, s Snapshot, p Policy, r Result) {
		if len(r.Moves) != 1 || r.Moves[0].ConversationID != 1001 || r.Moves[0].To != 1 {
			t.Errorf("moves %+v, want only the oldest (1001) to Ana, who has nobody waiting", r.Moves)
		}
		oldest := p
		oldest.Backlog = BacklogOldest
		if got := len(Plan(s, oldest).Moves); got != 2*p.MaxMovesPerAgent {
			t.Errorf("backlog oldest: %d hand-outs, want %d (the per-agent cap, to both)", got, 2*p.MaxMovesPerAgent)
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

// noMovesEitherWay checks that a scenario's plan moves nothing, under its
// policy and with the backlog handed out oldest first, and returns the
// latter policy for further checks.
func noMovesEitherWay(t *testing.T, s Snapshot, p Policy, r Result) Policy {
	t.Helper()
	if len(r.Moves) != 0 {
		t.Errorf("moves %+v, want none", r.Moves)
	}
	oldest := p
	oldest.Backlog = BacklogOldest
	if res := Plan(s, oldest); len(res.Moves) != 0 {
		t.Errorf("backlog oldest: moves %+v, want none", res.Moves)
	}
	return oldest
}

// leftWithNoSenior checks a scenario where Ana's (1) stuck ticket 101
// stays with her because Sam (3), the only SST, cannot take it, and that
// it is reported for a person; and that once unblock lets Sam take it, he
// does and nothing is reported.
func leftWithNoSenior(t *testing.T, s Snapshot, p Policy, r Result, unblock func(*Agent)) {
	t.Helper()
	if m, ok := movesByConversation(r)[101]; ok {
		t.Errorf("101 moved: %+v", m)
	}
	if len(r.NoSenior) != 1 || r.NoSenior[0].ConversationID != 101 || r.NoSenior[0].AgentID != 1 || r.NoSenior[0].Reason != ReasonStuck {
		t.Errorf("no senior: got %+v, want 101 held by Ana (1)", r.NoSenior)
	}
	if len(r.Flags) != 0 {
		t.Errorf("flags %+v: an ST's ticket is not an SST's flag", r.Flags)
	}
	able := s
	able.Agents = slices.Clone(s.Agents)
	for i := range able.Agents {
		if able.Agents[i].ID == 3 {
			unblock(&able.Agents[i])
		}
	}
	got := Plan(able, p)
	if m, ok := movesByConversation(got)[101]; !ok || m.To != 3 || len(got.NoSenior) != 0 {
		t.Errorf("once Sam can take it: move %+v (moved %v), no senior %+v; want 101 escalated to Sam and nothing reported",
			m, ok, got.NoSenior)
	}
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
