package balancer

import (
	"cmp"
	"math"
	"slices"
	"testing"
	"time"
)

// An independent reading of doc.go's expected-wait model, by brute force
// over the snapshot, for the invariant checks: it shares no code with the
// planner but the saturating conversion (hours) and the constants.

// refCounted reports whether the balancer counts agent id: one copy, a
// known role other than exclude, a valid capacity.
func refCounted(s Snapshot, agentN map[int64]int, a Agent) bool {
	return agentN[a.ID] == 1 && validCapacity(a.Capacity) &&
		(a.Role == RoleST || a.Role == RoleSST || a.Role == RoleHoS)
}

// refPace is a's replies per working hour: measured, or capacity times the
// team's measured pace per unit of capacity (agents summed in id order),
// or times PriorPace when nobody is measured.
func refPace(s Snapshot, p Policy, agentN map[int64]int, a Agent) float64 {
	if a.Pace > 0 && !math.IsInf(a.Pace, 1) {
		return a.Pace
	}
	agents := slices.Clone(s.Agents)
	slices.SortFunc(agents, func(x, y Agent) int { return cmp.Compare(x.ID, y.ID) })
	var pace, capacity float64
	for _, b := range agents {
		if refCounted(s, agentN, b) && b.Pace > 0 && !math.IsInf(b.Pace, 1) {
			pace += b.Pace
			capacity += b.Capacity
		}
	}
	scale := p.PriorPace
	if capacity > 0 && pace > 0 && !math.IsInf(pace/capacity, 0) {
		scale = pace / capacity
	}
	return a.Capacity * scale
}

// refAhead counts the customers waiting on agent id whom the agent answers
// before c (longest waiting first, ties by id), and those waiting in all.
func refAhead(s Snapshot, id int64, c Conversation) (ahead, all int) {
	convN := map[int64]int{}
	for _, x := range s.Conversations {
		convN[x.ID]++
	}
	key := func(x Conversation) (time.Time, int64) {
		if classOf(&x) != classWaiting || x.CustomerWaitingSince.IsZero() {
			return s.Now, x.ID
		}
		return x.CustomerWaitingSince, x.ID
	}
	at, cid := key(c)
	for _, x := range s.Conversations {
		if x.AssigneeID != id || convN[x.ID] != 1 || classOf(&x) != classWaiting {
			continue
		}
		all++
		if xa, xid := key(x); nanos(xa) < nanos(at) || nanos(xa) == nanos(at) && xid < cid {
			ahead++
		}
	}
	return ahead, all
}

// refWaitAt is the expected wait behind k customers with agent a.
func refWaitAt(s Snapshot, p Policy, agentN map[int64]int, a Agent, k int) time.Duration {
	var w time.Duration
	if k > 0 {
		w = hours(float64(k) / refPace(s, p, agentN, a))
	}
	if !a.Available {
		if a.BackAt.IsZero() {
			return NoEstimate
		}
		return min(max(a.BackAt.Sub(s.Now), 0)+w, maxWait)
	}
	if a.AvailableUntil.IsZero() {
		return w
	}
	left := max(a.AvailableUntil.Sub(s.Now), 0)
	if w < left {
		return w
	}
	if !a.NextShiftAt.Before(a.AvailableUntil) {
		return min(min(max(a.NextShiftAt.Sub(s.Now), 0), maxWait)+(w-left), maxWait)
	}
	length := assumedShift
	if l := a.AvailableUntil.Sub(a.AvailableSince); !a.AvailableSince.IsZero() && l > 0 && l < 24*time.Hour {
		length = l
	}
	return min(left+24*time.Hour-length+(w-left), maxWait)
}

func refPays(p Policy, owner, target time.Duration) bool {
	if target == NoEstimate {
		return false
	}
	if owner == NoEstimate {
		return true
	}
	return target < owner && float64(target) <= float64(owner)*p.WaitRatio && owner-target >= p.SoonerBy
}

// checkWaits checks the figures a move carries and the rules that rest on
// them, on cur, the snapshot just before the move: the waits are the
// model's; a hand-out or reassignment goes only to someone whose queue the
// backlog setting allows and who is not about to leave; a reassignment
// pays, for the customer and queue end against queue end.
func checkWaits(t testing.TB, where string, cur Snapshot, p Policy, mv Move, c Conversation, agentN map[int64]int) {
	t.Helper()
	var from, to Agent
	for _, a := range cur.Agents {
		switch a.ID {
		case mv.From:
			from = a
		case mv.To:
			to = a
		}
	}
	k, n := refAhead(cur, mv.To, c)
	if want := refWaitAt(cur, p, agentN, to, k); mv.TargetWait != want {
		t.Errorf("%s: target wait %v, want %v (%d ahead)", where, mv.TargetWait, want, k)
	}
	end := refWaitAt(cur, p, agentN, to, n)
	if p.Backlog != BacklogOldest && end > p.Backlog {
		t.Errorf("%s: target's queue takes %v, beyond the backlog setting %v", where, end, p.Backlog)
	}
	if u := to.AvailableUntil; !u.IsZero() {
		var work time.Duration
		if n > 0 {
			work = hours(float64(n) / refPace(cur, p, agentN, to))
		}
		if work+p.ShiftEndMargin > u.Sub(cur.Now) {
			t.Errorf("%s: target could not start a new customer %v before their shift ends", where, p.ShiftEndMargin)
		}
	}
	if mv.From == 0 {
		if mv.OwnerWait != NoEstimate {
			t.Errorf("%s: hand-out with an owner wait of %v", where, mv.OwnerWait)
		}
		return
	}
	ko, no := refAhead(cur, mv.From, c)
	want := refWaitAt(cur, p, agentN, from, ko)
	if mv.Reason == ReasonStuck {
		since := c.CustomerWaitingSince
		if from.AvailableSince.After(since) {
			since = from.AvailableSince
		}
		if c.AssignedAt.After(since) {
			since = c.AssignedAt
		}
		want = max(want, cur.Now.Sub(since))
	}
	if mv.OwnerWait != want {
		t.Errorf("%s: owner wait %v, want %v (%d ahead)", where, mv.OwnerWait, want, ko)
	}
	if !refPays(p, mv.OwnerWait, mv.TargetWait) {
		t.Errorf("%s: does not pay: %v with the owner, %v with the target", where, mv.OwnerWait, mv.TargetWait)
	}
	last := mv.OwnerWait
	if no > 0 {
		last = max(last, refWaitAt(cur, p, agentN, from, no-1))
	}
	if !refPays(p, last, end) {
		t.Errorf("%s: into an equally buried queue: the owner's last customer waits %v, a new one with the target %v", where, last, end)
	}
}

// TestExpectedWait pins the model on small cases a support lead can check.
func TestExpectedWait(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy() // PriorPace 6: a capacity-1 agent answers every 10 minutes
	waiting := func(id, agent int64, ago time.Duration) Conversation {
		return Conversation{ID: id, Number: id, Status: StatusActive, AssigneeID: agent, WaitingOnUs: true,
			CreatedAt: t0.Add(-ago), CustomerWaitingSince: t0.Add(-ago)}
	}
	newest := waiting(999, 1, 0)
	tests := []struct {
		name  string
		agent Agent
		team  []Agent
		queue int // customers ahead, all waiting longer
		want  time.Duration
	}{
		{"idle", st(1), nil, 0, 0},
		{"three ahead at the prior", st(1), nil, 3, 30 * time.Minute},
		{"a junior takes twice as long", Agent{ID: 1, Role: RoleST, Capacity: 0.5, Available: true}, nil, 3, time.Hour},
		{"measured pace wins", Agent{ID: 1, Role: RoleST, Capacity: 0.5, Available: true, Pace: 12}, nil, 3, 15 * time.Minute},
		{"the team's measured pace per capacity stands in", st(1),
			[]Agent{{ID: 2, Role: RoleST, Capacity: 1, Available: true, Pace: 3}}, 3, time.Hour},
		{"off shift: from when they are back", func() Agent {
			a := st(1)
			a.Available, a.BackAt = false, t0.Add(2*time.Hour)
			return a
		}(), nil, 3, 2*time.Hour + 30*time.Minute},
		{"away, no known return", func() Agent { a := st(1); a.Available = false; return a }(), nil, 0, NoEstimate},
		{"fits before the shift ends", func() Agent {
			a := st(1)
			a.AvailableSince, a.AvailableUntil = t0.Add(-7*time.Hour), t0.Add(time.Hour)
			return a
		}(), nil, 3, 30 * time.Minute},
		{"does not: waits for the same shift tomorrow", func() Agent {
			a := st(1)
			a.AvailableSince, a.AvailableUntil = t0.Add(-7*time.Hour-40*time.Minute), t0.Add(20*time.Minute)
			return a
		}(), nil, 3, 20*time.Minute + 16*time.Hour + 10*time.Minute},
		{"does not: waits for the next shift the roster knows (after a weekend)", func() Agent {
			a := st(1)
			a.AvailableSince, a.AvailableUntil = t0.Add(-7*time.Hour-40*time.Minute), t0.Add(20*time.Minute)
			a.NextShiftAt = a.AvailableUntil.Add(64 * time.Hour)
			return a
		}(), nil, 3, 20*time.Minute + 64*time.Hour + 10*time.Minute},
		{"shift start unknown: an 8-hour shift", func() Agent {
			a := st(1)
			a.AvailableUntil = t0.Add(20 * time.Minute)
			return a
		}(), nil, 3, 20*time.Minute + 16*time.Hour + 10*time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Snapshot{Now: t0, Agents: append([]Agent{tt.agent}, tt.team...)}
			for i := range tt.queue {
				s.Conversations = append(s.Conversations, waiting(int64(100+i), 1, time.Duration(i+1)*time.Hour))
			}
			s.Conversations = append(s.Conversations, newest)
			pl := newPlanner(newModel(s, p))
			a := &pl.agents[pl.index[1]]
			if got := pl.waitAt(a, a.ahead(slotOf(&newest, 0, t0))); got != tt.want {
				t.Errorf("expected wait %v, want %v", got, tt.want)
			}
			agentN := map[int64]int{}
			for _, x := range s.Agents {
				agentN[x.ID]++
			}
			k, _ := refAhead(s, 1, newest)
			if got := refWaitAt(s, p, agentN, tt.agent, k); got != tt.want {
				t.Errorf("the tests' own reading gives %v, want %v", got, tt.want)
			}
		})
	}
}
