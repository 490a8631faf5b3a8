package balancer

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// The expected-wait model (doc.go, "Expected wait"): agents answer the
// customer who has waited longest first, at their pace, during their
// shift. A customer's expected wait with an agent is the work queued ahead
// of them divided by the agent's pace, pushed to the next shift when it
// cannot be started before this one ends.

// NoEstimate is an expected wait nobody can estimate: the ticket's owner
// is away with no known return, or nobody owns it.
const NoEstimate = time.Duration(math.MaxInt64)

// maxWait bounds every estimate short of NoEstimate, so that sums of
// waits never overflow: a century is as good as never.
const maxWait = 100 * 365 * 24 * time.Hour

// assumedShift is the length of a shift whose start Plan does not know
// (Agent.AvailableSince zero): a working day.
const assumedShift = 8 * time.Hour

// slot is one customer waiting in an agent's queue, in the order the agent
// answers them: longest waiting first, ties by id.
type slot struct {
	at int64 // CustomerWaitingSince in nanoseconds; now when unknown
	id int64
	ci int32 // conversation index
}

func compareSlots(a, b slot) int {
	if c := cmp.Compare(a.at, b.at); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// slotOf is c's place in a queue at now.
func slotOf(c *Conversation, ci int32, now time.Time) slot {
	at := c.CustomerWaitingSince
	if at.IsZero() || classOf(c) != classWaiting {
		at = now // not waiting yet, or since an unknown time: behind everyone
	}
	return slot{at: nanos(at), id: c.ID, ci: ci}
}

// paceScale is the replies per working hour per unit of capacity that
// stands in for an agent nobody has measured: the team's measured pace per
// unit of capacity (agents in id order, so the sum does not depend on the
// input), or PriorPace when nobody is measured.
func (m *model) paceScale() float64 {
	var pace, capacity float64
	for i := range m.agents {
		a := &m.agents[i]
		if a.kind != kindIgnored && validPace(a.ag.Pace) {
			pace += a.ag.Pace
			capacity += a.ag.Capacity
		}
	}
	if capacity > 0 && pace > 0 && !math.IsInf(pace/capacity, 0) {
		return pace / capacity
	}
	return m.p.PriorPace
}

func validPace(p float64) bool { return p > 0 && !math.IsInf(p, 1) }

// setPaces gives every counted agent their replies per working hour:
// measured, or their capacity at the team's (or the prior) pace.
func (m *model) setPaces() {
	scale := m.paceScale()
	for i := range m.agents {
		a := &m.agents[i]
		if a.kind == kindIgnored {
			continue
		}
		a.pace = a.ag.Capacity * scale
		if validPace(a.ag.Pace) {
			a.pace = a.ag.Pace
		}
	}
}

// work is how long an agent takes to send k replies.
func work(a *agentState, k int) time.Duration {
	if k == 0 {
		return 0
	}
	return hours(float64(k) / a.pace)
}

// hours converts hours to a duration, saturating at maxWait.
func hours(h float64) time.Duration {
	if !(h < maxWait.Hours()) {
		return maxWait
	}
	return time.Duration(h * float64(time.Hour))
}

// waitAt is the expected wait of the customer with k customers ahead of
// them in agent a's queue. An available agent starts now; what cannot be
// started before their shift ends (AvailableUntil) waits for their next
// shift. An agent off shift starts at BackAt; one away with no known
// return gives NoEstimate.
func (m *model) waitAt(a *agentState, k int) time.Duration {
	w := work(a, k)
	if !a.available {
		if a.ag.BackAt.IsZero() {
			return NoEstimate
		}
		return min(max(a.ag.BackAt.Sub(m.now), 0)+w, maxWait)
	}
	end := a.ag.AvailableUntil
	if end.IsZero() {
		return w
	}
	left := max(end.Sub(m.now), 0)
	if w < left {
		return w
	}
	return min(m.nextShift(a)+(w-left), maxWait)
}

// nextShift is how long from now until an available agent's next shift
// starts: Agent.NextShiftAt when the roster knows it (a weekend or a day
// off included), else the same shift tomorrow, 24 hours after the current
// one began (AvailableSince), or after AvailableUntil less assumedShift
// when the start is unknown.
func (m *model) nextShift(a *agentState) time.Duration {
	end := a.ag.AvailableUntil
	if next := a.ag.NextShiftAt; !next.Before(end) {
		return min(max(next.Sub(m.now), 0), maxWait)
	}
	length := assumedShift
	if since := a.ag.AvailableSince; !since.IsZero() {
		if l := end.Sub(since); l > 0 && l < 24*time.Hour {
			length = l
		}
	}
	return max(end.Sub(m.now), 0) + 24*time.Hour - length
}

// ahead counts the customers in a's queue that a would answer before s.
func (a *agentState) ahead(s slot) int {
	k, _ := slices.BinarySearchFunc(a.queue, s, compareSlots)
	return k
}

// endWait is the expected wait of a customer who joins a's queue now,
// behind everyone already waiting: what a new ticket would wait, and how
// buried the queue is.
func (m *model) endWait(a *agentState) time.Duration {
	return m.waitAt(a, len(a.queue))
}

// lastWait is the expected wait of the last customer in a's queue (0 for
// an empty queue).
func (m *model) lastWait(a *agentState) time.Duration {
	if len(a.queue) == 0 {
		return 0
	}
	return m.waitAt(a, len(a.queue)-1)
}

// pays is "a move must pay" (design.md section 8) for one pair of waits:
// the wait with the target is at most WaitRatio of the wait with the owner
// and at least SoonerBy shorter, and in any case shorter, so that no
// policy lets a ticket move between equal queues. An owner with no
// estimate (away, no known return) is beaten by any target.
func (m *model) pays(owner, target time.Duration) bool {
	if target == NoEstimate {
		return false
	}
	if owner == NoEstimate {
		return true
	}
	return target < owner && float64(target) <= float64(owner)*m.p.WaitRatio && owner-target >= m.p.SoonerBy
}

// leaving reports whether a customer joining a's queue now could not be
// started ShiftEndMargin before a's shift ends: what they cannot finish
// before they leave waits for their next shift.
func (m *model) leaving(a *agentState) bool {
	u := a.ag.AvailableUntil
	return !u.IsZero() && work(a, len(a.queue))+m.p.ShiftEndMargin > u.Sub(m.now)
}
