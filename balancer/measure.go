package balancer

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// weight is the conversation's weight as work: 1 when it is active and the
// customer is waiting on us, Policy.PendingWeight when it is pending or
// active with an agent speaking last, 0 when closed, spam or unknown. It does
// not look at the assignee: an unassigned ticket weighs what it will weigh
// once someone takes it.
func weight(c Conversation, p Policy) float64 {
	switch classOf(&c) {
	case classWaiting:
		return 1
	case classActiveLight, classPending:
		return p.PendingWeight
	}
	return 0
}

// isOpenWork reports whether the conversation counts in its assignee's load:
// assigned, and active or pending.
func isOpenWork(c Conversation) bool {
	return c.AssigneeID != 0 && classOf(&c) != classNone
}

// isStuck reports whether the conversation is stuck at now: assigned,
// active, the customer waiting on us, for longer than p.StuckAfter.
func isStuck(c Conversation, p Policy, now time.Time) bool {
	return c.AssigneeID != 0 && stuck(&c, p, now)
}

func stuck(c *Conversation, p Policy, now time.Time) bool {
	return classOf(c) == classWaiting && !c.CustomerWaitingSince.IsZero() &&
		now.Sub(c.CustomerWaitingSince) > p.StuckAfter
}

// waitingFor is how long the customer has been waiting at now, 0 if not.
func waitingFor(c *Conversation, now time.Time) time.Duration {
	if classOf(c) != classWaiting || c.CustomerWaitingSince.IsZero() {
		return 0
	}
	return max(now.Sub(c.CustomerWaitingSince), 0)
}

// Measure computes the fairness figures of a snapshot without planning, so
// that the page and the metrics show the very numbers Plan decides on.
// It equals Plan(s, p).Before.
func Measure(s Snapshot, p Policy) Stats {
	return newModel(s, p).stats()
}

// class sorts a conversation by how it weighs; a few counts per agent are
// then enough to know the load, whatever order the input came in.
type class uint8

const (
	classNone        class = iota // closed, spam, unknown status: weighs 0
	classWaiting                  // active, customer waiting on us: weighs 1
	classActiveLight              // active, an agent spoke last: PendingWeight
	classPending                  // pending: PendingWeight
)

func classOf(c *Conversation) class {
	switch c.Status {
	case StatusActive:
		if c.WaitingOnUs {
			return classWaiting
		}
		return classActiveLight
	case StatusPending:
		return classPending
	}
	return classNone
}

// kind is how the balancer treats an agent.
type kind uint8

const (
	kindIgnored kind = iota // excluded, unknown role, bad capacity or duplicate id
	kindPool                // st or sst: shares the general work
	kindHoS                 // counted for the page, outside the split
)

// agentState is one agent plus the counts that make up their load. Loads are
// kept as integer counts so that sums do not depend on input order.
type agentState struct {
	ag        *Agent
	kind      kind
	available bool
	// away: a pool agent unavailable for at least AwayGrace, whose waiting
	// tickets are handed over when they are due (handOver).
	away bool
	// due counts the waiting tickets of an away agent that are due to be
	// handed over: they belong to the available team's fair split.
	due                           int
	waiting, activeLight, pending int
	in, out                       int // moves into and out of the agent in this plan
	// pace is the replies per working hour Plan expects (setPaces), and
	// queue the customers waiting on the agent in the order they will be
	// answered; Plan fills both, Measure needs neither.
	pace  float64
	queue []slot
}

func (a *agentState) open() int { return a.waiting + a.activeLight + a.pending }

// atMaxOpen reports whether the agent holds their MaxOpen open tickets
// already (never, without a cap).
func (a *agentState) atMaxOpen() bool { return a.ag.MaxOpen > 0 && a.open() >= a.ag.MaxOpen }

func (a *agentState) load(p Policy) float64 {
	return float64(a.waiting) + float64(a.activeLight+a.pending)*p.PendingWeight
}

func (a *agentState) util(p Policy) float64 { return a.load(p) / a.ag.Capacity }

// shared reports whether the agent's fair share is positive: available
// front-line agents split the work.
func (a *agentState) shared() bool { return a.kind == kindPool && a.available }

func (a *agentState) add(cl class, n int) {
	switch cl {
	case classWaiting:
		a.waiting += n
	case classActiveLight:
		a.activeLight += n
	case classPending:
		a.pending += n
	}
}

// model is the normalised view of a snapshot that Measure and Plan share.
type model struct {
	now    time.Time
	p      Policy
	agents []agentState // sorted by ID
	index  map[int64]int32
	convs  []Conversation // the snapshot's, never written
	order  []int32        // conversation indices sorted by ID, duplicated IDs dropped
	// owner[i] is the agent index holding conversation i, -1 when it is
	// unassigned or held by someone the balancer ignores.
	owner []int32
	// the unassigned queue: active unassigned tickets
	queueWaiting, queueLight int
	// restricted is true when some agent cannot open every mailbox, so a
	// ticket's target depends on its mailbox.
	restricted bool
}

// canOpen reports whether agent a can open mailbox mb (0: unknown, which
// anyone may).
func (a *agentState) canOpen(mb int64) bool {
	return a.ag.Mailboxes == nil || mb == 0 || slices.Contains(a.ag.Mailboxes, mb)
}

func newModel(s Snapshot, p Policy) *model {
	m := &model{now: s.Now, p: p, convs: s.Conversations}

	ai := make([]int32, len(s.Agents))
	for i := range ai {
		ai[i] = int32(i)
	}
	slices.SortFunc(ai, func(x, y int32) int { return cmp.Compare(s.Agents[x].ID, s.Agents[y].ID) })
	m.agents = make([]agentState, 0, len(ai))
	m.index = make(map[int64]int32, len(ai))
	for k := 0; k < len(ai); {
		// An id that appears twice is ignored entirely: picking one copy
		// would depend on input order.
		j := k + 1
		for j < len(ai) && s.Agents[ai[j]].ID == s.Agents[ai[k]].ID {
			j++
		}
		ag := &s.Agents[ai[k]]
		st := agentState{ag: ag, available: ag.Available}
		if j == k+1 && validCapacity(ag.Capacity) {
			switch ag.Role {
			case RoleST, RoleSST:
				st.kind = kindPool
			case RoleHoS:
				st.kind = kindHoS
			}
		}
		if st.kind == kindPool && !ag.Available {
			st.away = s.Now.Sub(ag.UnavailableSince) >= p.AwayGrace
		}
		if ag.Mailboxes != nil && st.kind != kindIgnored {
			m.restricted = true
		}
		m.index[ag.ID] = int32(len(m.agents))
		m.agents = append(m.agents, st)
		k = j
	}

	type idIndex struct {
		id int64
		i  int32
	}
	ids := make([]idIndex, len(s.Conversations))
	for i := range s.Conversations {
		ids[i] = idIndex{s.Conversations[i].ID, int32(i)}
	}
	slices.SortFunc(ids, func(x, y idIndex) int { return cmp.Compare(x.id, y.id) })
	m.order = make([]int32, 0, len(ids))
	m.owner = make([]int32, len(s.Conversations))
	for k := 0; k < len(ids); {
		j := k + 1
		for j < len(ids) && ids[j].id == ids[k].id {
			m.owner[ids[j].i] = -1
			j++
		}
		ci := ids[k].i
		m.owner[ci] = -1
		if j > k+1 {
			k = j
			continue
		}
		k = j
		m.order = append(m.order, ci)
		c := &s.Conversations[ci]
		cl := classOf(c)
		if c.AssigneeID == 0 {
			if c.Status == StatusActive {
				if cl == classWaiting {
					m.queueWaiting++
				} else {
					m.queueLight++
				}
			}
			continue
		}
		o, ok := m.index[c.AssigneeID]
		if !ok || m.agents[o].kind == kindIgnored {
			continue
		}
		m.owner[ci] = o
		a := &m.agents[o]
		a.add(cl, 1)
		if a.away && cl == classWaiting && m.handOver(a, c) {
			a.due++
		}
	}
	return m
}

// handOver reports whether the waiting ticket c of away agent a is due to be
// handed to the available team. An agent away in Help Scout, or off shift
// with no known next shift (BackAt zero), is on an absence of unknown length:
// every waiting ticket is due. An agent who is merely off shift will be back
// at BackAt and answer their own customers then: an ongoing conversation
// (an agent has replied) waits for them unless Policy.HandOverOngoing, and
// any other customer is due only when they would by then have waited
// longer than StuckAfter. A customer waiting since an unknown time counts from now.
func (m *model) handOver(a *agentState, c *Conversation) bool {
	back := a.ag.BackAt
	if back.IsZero() {
		return true
	}
	if c.AgentReplied && !m.p.HandOverOngoing {
		return false // an ongoing conversation waits for the agent who knows it
	}
	since := c.CustomerWaitingSince
	if since.IsZero() {
		since = m.now
	}
	return back.Sub(since) > m.p.StuckAfter
}

// queueLoad is the weight of the unassigned queue.
func (m *model) queueLoad() float64 {
	return float64(m.queueWaiting) + float64(m.queueLight)*m.p.PendingWeight
}

// fairUtil is the utilisation every available front-line agent would have
// in a perfectly fair split; a fair share is fairUtil × capacity. The work
// split is what the available team holds or is due to take: their own open
// work, the unassigned queue, and the waiting tickets due to be handed over
// by agents away beyond the grace period (handOver).
func (m *model) fairUtil() (share, fairUtil float64) {
	var capSum float64
	share = m.queueLoad()
	for i := range m.agents {
		a := &m.agents[i]
		switch {
		case a.shared():
			share += a.load(m.p)
			capSum += a.ag.Capacity
		case a.away:
			share += float64(a.due)
		}
	}
	if capSum == 0 {
		return share, 0
	}
	return share, share / capSum
}

func (m *model) stats() Stats {
	share, fair := m.fairUtil()
	st := Stats{TotalWork: share, Agents: make([]AgentStats, 0, len(m.agents))}
	var sum, sumSq, maxU float64
	n := 0
	for i := range m.agents {
		a := &m.agents[i]
		if a.kind == kindIgnored {
			continue
		}
		as := AgentStats{
			ID:          a.ag.ID,
			Available:   a.available,
			Open:        a.open(),
			Active:      a.waiting + a.activeLight,
			Waiting:     a.waiting,
			Load:        a.load(m.p),
			Utilisation: a.util(m.p),
		}
		if a.shared() {
			as.FairShare = fair * a.ag.Capacity
			if as.FairShare > 0 {
				as.LoadRatio = as.Load / as.FairShare
			}
			u := as.Utilisation
			sum += u
			sumSq += u * u
			maxU = max(maxU, u)
			n++
		}
		st.Agents = append(st.Agents, as)
	}
	st.Imbalance, st.Jain, st.CV = 1, 1, 0
	if n > 0 && sum > 0 {
		mean := sum / float64(n)
		st.Imbalance = maxU / mean
		st.Jain = sum * sum / (float64(n) * sumSq)
		st.CV = math.Sqrt(max(sumSq/float64(n)-mean*mean, 0)) / mean
	}
	return st
}
