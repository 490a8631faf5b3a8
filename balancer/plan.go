package balancer

import (
	"cmp"
	"math"
	"slices"
	"time"
)

// Plan computes the moves and flags for a snapshot under a policy. It is a
// pure function: the same snapshot and policy give the same Result whatever
// the order of the input slices. See doc.go for the rules and guarantees.
// Under a policy that fails Validate it makes no moves and no flags.
func Plan(s Snapshot, p Policy) Result {
	m := newModel(s, p)
	r := Result{Before: m.stats()}
	if p.Validate() != nil {
		r.After = m.stats()
		return r
	}
	pl := newPlanner(m)
	pl.unassigned()
	pl.away()
	pl.stuck()
	pl.overload()
	r.Moves, r.Flags = pl.moves, pl.flags
	r.After = m.stats()
	return r
}

// tier is a set of agents a ticket may go to.
type tier uint8

const (
	tierGeneral    tier = iota // available st and sst
	tierSenior                 // available sst
	tierEscalation             // available HoS who takes escalations
)

type planner struct {
	*model
	moves []Move
	flags []Flag
	done  map[int32]bool // conversation indices moved or flagged in this plan: never touched again

	// candidates, built once, in ID order until sorted
	queue   []int32 // active unassigned tickets that may move
	awayTix []int32 // waiting tickets due to be handed over by agents away beyond the grace period
	stuckTx []int32 // stuck tickets held by st or sst (moved or flagged)
	// Per-agent overload candidates (active tickets of available front-line
	// agents that may move), one flat array cut into segments by agent.
	olStart, olEnd []int32
	olBuf          []int32
	olSorted       []bool
}

func newPlanner(m *model) *planner {
	pl := &planner{model: m, done: make(map[int32]bool)}
	n := len(m.agents)
	pl.olStart = make([]int32, n+1)
	for i := range m.agents {
		a := &m.agents[i]
		size := int32(0)
		if a.shared() {
			size = int32(a.waiting + a.activeLight)
		}
		pl.olStart[i+1] = pl.olStart[i] + size
	}
	pl.olEnd = slices.Clone(pl.olStart[:n])
	pl.olBuf = make([]int32, pl.olStart[n])
	pl.olSorted = make([]bool, n)

	for _, ci := range m.order {
		c := &m.convs[ci]
		if c.AssigneeID == 0 {
			if c.Status == StatusActive && !m.protected(c) {
				pl.queue = append(pl.queue, ci)
			}
			continue
		}
		o := m.owner[ci]
		if o < 0 || m.agents[o].kind != kindPool {
			continue // ignored agents and the HoS keep their tickets
		}
		a := &m.agents[o]
		cl := classOf(c)
		if stuck(c, m.p, m.now) && m.stuckWith(a, c) {
			pl.stuckTx = append(pl.stuckTx, ci)
		}
		if m.protected(c) {
			continue
		}
		if a.away && cl == classWaiting && m.handOver(a, c) {
			pl.awayTix = append(pl.awayTix, ci)
		}
		// Only customers nobody has answered yet are taken off an
		// overloaded agent: an ongoing conversation stays with the person
		// who knows it, and the stuck rule is its safety net.
		if a.shared() && (cl == classWaiting || cl == classActiveLight) && !c.AgentReplied {
			pl.olBuf[pl.olEnd[o]] = ci
			pl.olEnd[o]++
		}
	}
	return pl
}

// stuckWith reports whether stuck ticket c is stuck with its owner a: a is
// available and the customer has waited longer than StuckAfter since a
// became available (Agent.AvailableSince) and since a got the ticket
// (Conversation.AssignedAt). A customer who waited overnight is not stuck
// with an agent who came on shift ten minutes ago and is working through
// the night's queue, nor with one an SST handed the ticket to ten minutes
// ago; while the owner is away or off shift, the away rule decides.
func (m *model) stuckWith(a *agentState, c *Conversation) bool {
	if !a.available {
		return false
	}
	since := c.CustomerWaitingSince
	if a.ag.AvailableSince.After(since) {
		since = a.ag.AvailableSince
	}
	if c.AssignedAt.After(since) {
		since = c.AssignedAt
	}
	return m.now.Sub(since) > m.p.StuckAfter
}

// protected reports the never-move rules that depend on the ticket itself.
// A time in the future (clock skew) protects too.
func (m *model) protected(c *Conversation) bool {
	if c.Pinned {
		return true
	}
	if !c.LastMovedAt.IsZero() && m.now.Sub(c.LastMovedAt) < m.p.Cooldown {
		return true
	}
	if !c.LastAgentActivityAt.IsZero() && m.now.Sub(c.LastAgentActivityAt) < m.p.RecentActivity {
		return true
	}
	return false
}

// sortByWait orders tickets oldest waiting first; tickets nobody waits on
// come after, oldest created first; ties by id. The keys are computed once
// per ticket rather than once per comparison: the stuck list of a large
// team has tens of thousands of entries.
func (m *model) sortByWait(list []int32) {
	type key struct {
		at, id int64
		ci     int32
		late   bool // nobody waiting
	}
	keys := make([]key, len(list))
	for i, ci := range list {
		c := &m.convs[ci]
		at, late := c.CustomerWaitingSince, false
		if classOf(c) != classWaiting || at.IsZero() {
			at, late = c.CreatedAt, true
		}
		keys[i] = key{nanos(at), c.ID, ci, late}
	}
	slices.SortFunc(keys, func(a, b key) int {
		switch {
		case a.late != b.late:
			if b.late {
				return -1
			}
			return 1
		case a.at != b.at:
			return cmp.Compare(a.at, b.at)
		}
		return cmp.Compare(a.id, b.id)
	})
	for i := range keys {
		list[i] = keys[i].ci
	}
}

// nanos is t as nanoseconds since 1970, saturated outside the years
// 1678-2262 where UnixNano is undefined (ids still break those ties).
func nanos(t time.Time) int64 {
	const limit = math.MaxInt64/int64(time.Second) - 1
	switch s := t.Unix(); {
	case s > limit:
		return math.MaxInt64
	case s < -limit:
		return math.MinInt64
	default:
		return s*int64(time.Second) + int64(t.Nanosecond())
	}
}

// byInvestment orders an overloaded agent's tickets by how little they have
// put into them: no agent reply yet first, then newest first; ties by id.
func (m *model) byInvestment(x, y int32) int {
	a, b := &m.convs[x], &m.convs[y]
	if a.AgentReplied != b.AgentReplied {
		if !a.AgentReplied {
			return -1
		}
		return 1
	}
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func (pl *planner) full() bool { return len(pl.moves) >= pl.p.MaxMovesPerRun }

// canGive reports whether another move may leave the agent in this plan.
func (pl *planner) canGive(o int32) bool { return pl.agents[o].out < pl.p.MaxMovesPerAgent }

// canTake reports whether the agent may receive a ticket in tier t.
func (pl *planner) canTake(a *agentState, t tier) bool {
	if !a.available {
		return false
	}
	switch t {
	case tierGeneral:
		if a.kind != kindPool {
			return false
		}
	case tierSenior:
		if a.kind != kindPool || a.ag.Role != RoleSST {
			return false
		}
	case tierEscalation:
		if a.kind != kindHoS || !a.ag.Escalations {
			return false
		}
	}
	if a.ag.MaxOpen > 0 && a.open() >= a.ag.MaxOpen {
		return false
	}
	if u := a.ag.AvailableUntil; !u.IsZero() && u.Sub(pl.now) < pl.p.ShiftEndMargin {
		return false
	}
	return a.in < pl.p.MaxMovesPerAgent && a.ag.RecentAssignments+a.in < pl.p.AssignmentsPerWindow
}

// bestTwo returns the two agents of tier t who can open mailbox mb with the
// lowest utilisation after taking weight w (-1 when missing), ties to the
// lower id. Keeping the runner-up lets callers exclude the source without
// another scan.
func (pl *planner) bestTwo(t tier, w float64, mb int64) (b1, b2 int32) {
	b1, b2 = -1, -1
	var s1, s2 float64
	for i := range pl.agents {
		a := &pl.agents[i]
		if !pl.canTake(a, t) || !a.canOpen(mb) {
			continue
		}
		s := (a.load(pl.p) + w) / a.ag.Capacity
		switch {
		case b1 < 0 || s < s1:
			b2, s2 = b1, s1
			b1, s1 = int32(i), s
		case b2 < 0 || s < s2:
			b2, s2 = int32(i), s
		}
	}
	return b1, b2
}

// pickGeneral chooses the target for an unassigned or away ticket: the
// available front-line agent with the lowest utilisation after taking it,
// where the customer's previous agent, if available and under fair share,
// counts their utilisation reduced by the bonus. bonus reports whether the
// previous agent won because of it.
func (pl *planner) pickGeneral(c *Conversation, w float64) (to int32, bonus bool) {
	b1, b2 := pl.bestTwo(tierGeneral, w, c.MailboxID)
	if b1 < 0 || c.PreviousAssigneeID == 0 || pl.p.PreviousAgentBonus == 0 {
		return b1, false
	}
	prev, ok := pl.index[c.PreviousAssigneeID]
	if !ok || prev == b1 {
		return b1, false
	}
	a := &pl.agents[prev]
	if !pl.canTake(a, tierGeneral) || !a.canOpen(c.MailboxID) {
		return b1, false
	}
	_, fair := pl.fairUtil()
	if a.load(pl.p) >= fair*a.ag.Capacity {
		return b1, false
	}
	other := b1
	if other == prev {
		other = b2
	}
	o := &pl.agents[other]
	sPrev := (a.load(pl.p) + w) / a.ag.Capacity * (1 - pl.p.PreviousAgentBonus)
	sOther := (o.load(pl.p) + w) / o.ag.Capacity
	if sPrev < sOther || (sPrev == sOther && a.ag.ID < o.ag.ID) {
		return prev, true
	}
	return b1, false
}

// move records a move and applies it to the working loads, so that later
// decisions see it.
func (pl *planner) move(ci, from, to int32, r Reason, why string) {
	c := &pl.convs[ci]
	cl := classOf(c)
	mv := Move{ConversationID: c.ID, Number: c.Number, To: pl.agents[to].ag.ID, Reason: r,
		WaitingFor: waitingFor(c, pl.now), Explanation: why}
	if from >= 0 {
		f := &pl.agents[from]
		mv.From = f.ag.ID
		f.add(cl, -1)
		if f.away && cl == classWaiting && pl.handOver(f, c) {
			f.due-- // it leaves the split as the absent agent's, joins it as the target's
		}
		f.out++
	} else if cl == classWaiting {
		pl.queueWaiting--
	} else {
		pl.queueLight--
	}
	t := &pl.agents[to]
	t.add(cl, 1)
	t.in++
	pl.done[ci] = true
	pl.moves = append(pl.moves, mv)
}

// unassigned hands out the unassigned queue, oldest waiting first.
func (pl *planner) unassigned() {
	pl.sortByWait(pl.queue)
	var noTaker mailboxSet
	for _, ci := range pl.queue {
		if pl.full() {
			return
		}
		c := &pl.convs[ci]
		if noTaker.has(pl.mailboxKey(c)) {
			continue
		}
		w := Weight(*c, pl.p)
		to, bonus := pl.pickGeneral(c, w)
		if to < 0 {
			if !pl.noTakerFor(&noTaker, c) {
				return // nobody can take anything more in this plan
			}
			continue
		}
		pl.move(ci, -1, to, ReasonUnassigned, pl.explainHandout(c, -1, to, bonus))
	}
}

// mailboxSet records the mailboxes for which a rule found nobody who can
// take a ticket; the zero value is empty.
type mailboxSet map[int64]bool

func (s mailboxSet) has(mb int64) bool { return s[mb] }

// noTakerFor records that nobody can take c in this plan and reports
// whether other tickets may still find a taker. Who can take a ticket
// depends on the ticket only through its mailbox, and only shrinks as the
// plan makes moves, so a mailbox without a taker stays without one; tickets
// of other mailboxes, which people who cannot open this one may take, are
// still tried. Without mailbox restrictions nobody can take anything more.
func (pl *planner) noTakerFor(s *mailboxSet, c *Conversation) bool {
	if !pl.restricted {
		return false
	}
	if *s == nil {
		*s = mailboxSet{}
	}
	(*s)[pl.mailboxKey(c)] = true
	return true
}

// away hands the waiting tickets of agents away beyond the grace period to
// available agents, oldest waiting first.
func (pl *planner) away() {
	pl.sortByWait(pl.awayTix)
	var noTaker mailboxSet
	for _, ci := range pl.awayTix {
		if pl.full() {
			return
		}
		from := pl.owner[ci]
		if !pl.canGive(from) {
			continue
		}
		c := &pl.convs[ci]
		if noTaker.has(pl.mailboxKey(c)) {
			continue
		}
		to, bonus := pl.pickGeneral(c, 1)
		if to < 0 {
			if !pl.noTakerFor(&noTaker, c) {
				return
			}
			continue
		}
		pl.move(ci, from, to, ReasonAway, pl.explainHandout(c, from, to, bonus))
	}
}

// stuck escalates stuck ST tickets and flags stuck SST tickets.
func (pl *planner) stuck() {
	pl.sortByWait(pl.stuckTx)
	// Targets depend on the ticket only through its mailbox (all stuck
	// tickets weigh 1 and come from an ST, outside the senior tiers), so
	// they are computed once per change of the loads or of the mailbox
	// rather than once per ticket.
	type targets struct{ senior, esc, gen1, gen2 int32 }
	threshold := humanDuration(pl.p.StuckAfter)
	var cur targets
	var curMailbox int64
	fresh := false
	for _, ci := range pl.stuckTx {
		if pl.done[ci] {
			continue
		}
		c := &pl.convs[ci]
		from := pl.owner[ci]
		if pl.agents[from].ag.Role == RoleSST {
			pl.flags = append(pl.flags, Flag{ConversationID: c.ID, Number: c.Number,
				AgentID: pl.agents[from].ag.ID, Reason: ReasonStuck,
				WaitingFor: waitingFor(c, pl.now), Explanation: pl.explainFlag(c, from, threshold)})
			pl.done[ci] = true // the HoS decides; overload must not move it meanwhile
			continue
		}
		if pl.full() || !pl.canGive(from) || pl.protected(c) {
			continue
		}
		if mb := pl.mailboxKey(c); !fresh || mb != curMailbox {
			cur.senior, _ = pl.bestTwo(tierSenior, 1, mb)
			cur.esc, _ = pl.bestTwo(tierEscalation, 1, mb)
			cur.gen1, cur.gen2 = pl.bestTwo(tierGeneral, 1, mb)
			curMailbox, fresh = mb, true
		}
		to, via := cur.senior, tierSenior
		if to < 0 {
			to, via = cur.esc, tierEscalation
		}
		if to < 0 {
			to, via = cur.gen1, tierGeneral
			if to == from {
				to = cur.gen2
			}
		}
		if to < 0 {
			continue
		}
		pl.move(ci, from, to, ReasonStuck, pl.explainStuck(c, from, to, via))
		fresh = false
	}
}

// overload moves tickets off agents above their fair share by more than the
// tolerance, one at a time, most utilised agent first, while a move that
// gains enough exists.
func (pl *planner) overload() {
	for !pl.full() {
		_, fair := pl.fairUtil()
		sum, n := pl.sumUtil()
		top := pl.topThree()
		var over []int32
		for i := range pl.agents {
			if a := &pl.agents[i]; a.shared() && pl.overloaded(a, fair) && pl.canGive(int32(i)) {
				over = append(over, int32(i))
			}
		}
		if len(over) == 0 {
			return
		}
		slices.SortFunc(over, func(x, y int32) int {
			if c := cmp.Compare(pl.agents[y].util(pl.p), pl.agents[x].util(pl.p)); c != 0 {
				return c
			}
			return cmp.Compare(pl.agents[x].ag.ID, pl.agents[y].ag.ID)
		})
		// Best targets per kind of ticket, computed when first needed: a
		// ticket's weight and mailbox are the only things about it that
		// change where it can go.
		var best []targetsFor
		target := func(from int32, k ticketKind) int32 {
			i := slices.IndexFunc(best, func(t targetsFor) bool { return t.kind == k })
			if i < 0 {
				w := 1.0
				if k.light {
					w = pl.p.PendingWeight
				}
				t := targetsFor{kind: k}
				t.b1, t.b2 = pl.bestTwo(tierGeneral, w, k.mailbox)
				best = append(best, t)
				i = len(best) - 1
			}
			if b := best[i].b1; b != from {
				return b
			}
			return best[i].b2
		}
		if !pl.overloadStep(over, sum, n, top, target) {
			return
		}
	}
}

// ticketKind is what decides an overload target besides the loads: the
// ticket's weight class and, when some agents cannot open every mailbox,
// its mailbox.
type ticketKind struct {
	light   bool // weighs PendingWeight rather than 1
	mailbox int64
}

// targetsFor are the two best targets for one kind of ticket.
type targetsFor struct {
	kind   ticketKind
	b1, b2 int32
}

// mailboxKey is the mailbox that decides c's possible targets: 0 when every
// agent can open every mailbox, so that targets are shared across them.
func (pl *planner) mailboxKey(c *Conversation) int64 {
	if !pl.restricted {
		return 0
	}
	return c.MailboxID
}

// marginSlack absorbs floating-point rounding in the OverloadMargin test, so
// that a load exactly the margin above fair share counts as overloaded.
const marginSlack = 1e-9

// overloaded reports whether agent a, in the split at fair utilisation fair,
// is outside the hysteresis band: their utilisation exceeds the fair one by
// more than OverloadTolerance (relative) and by at least OverloadMargin
// (absolute, in tickets per unit of capacity).
func (pl *planner) overloaded(a *agentState, fair float64) bool {
	u := a.util(pl.p)
	return u > fair*(1+pl.p.OverloadTolerance) && u-fair >= pl.p.OverloadMargin-marginSlack
}

// overloadStep makes the first acceptable overload move, trying agents in
// order and each agent's tickets by investment. It reports whether it moved.
func (pl *planner) overloadStep(over []int32, sum float64, n int, top [3]int32, target func(from int32, k ticketKind) int32) bool {
	type verdict struct {
		kind ticketKind
		to   int32 // -1: no acceptable move for this kind of ticket
	}
	for _, from := range over {
		seg := pl.olBuf[pl.olStart[from]:pl.olEnd[from]]
		if !pl.olSorted[from] {
			slices.SortFunc(seg, pl.byInvestment)
			pl.olSorted[from] = true
		}
		// The gain test depends on a ticket only through its kind, so each
		// kind is tried once: the first ticket of a kind decides for all.
		var buf [4]verdict
		tried := buf[:0]
		for _, ci := range seg {
			if !pl.restricted && len(tried) == 2 {
				break // both weight classes rejected
			}
			if pl.done[ci] {
				continue
			}
			c := &pl.convs[ci]
			k := ticketKind{light: classOf(c) != classWaiting, mailbox: pl.mailboxKey(c)}
			i := slices.IndexFunc(tried, func(v verdict) bool { return v.kind == k })
			if i < 0 {
				v := verdict{kind: k, to: -1}
				if t := target(from, k); t >= 0 && pl.gains(from, t, Weight(*c, pl.p), sum, n, top) {
					v.to = t
				}
				tried = append(tried, v)
				i = len(tried) - 1
			}
			if to := tried[i].to; to >= 0 {
				pl.move(ci, from, to, ReasonOverload, pl.explainOverload(c, from, to))
				return true
			}
		}
	}
	return false
}

// topThree returns the three most utilised available front-line agents,
// most utilised first (-1 where there are fewer), ties to the lower index.
// The utilisation of everyone but the two agents of a move is the largest
// of these that is neither.
func (pl *planner) topThree() [3]int32 {
	top := [3]int32{-1, -1, -1}
	for i := range pl.agents {
		a := &pl.agents[i]
		if !a.shared() {
			continue
		}
		u := a.util(pl.p)
		for k := range top {
			if top[k] < 0 || u > pl.agents[top[k]].util(pl.p) {
				copy(top[k+1:], top[k:2])
				top[k] = int32(i)
				break
			}
		}
	}
	return top
}

// gains is the acceptance test of an overload move of weight w from a to b,
// given the sum and count of the available front line's utilisations and
// the three most utilised of them:
//
//   - the imbalance (max ÷ mean utilisation) drops by at least MinGain;
//   - the target ends no busier than the source, so a move never just turns
//     one overloaded agent into another.
//
// The busiest utilisation therefore never rises and the imbalance strictly
// falls, so planning and applying again and again converges instead of
// churning. When two agents tie for busiest, no single move lowers the
// maximum they share, so neither is relieved by this rule: the next
// hand-outs go to the least utilised (rules 1 and 2), and the first ticket
// either of them closes breaks the tie.
func (pl *planner) gains(from, to int32, w, sum float64, n int, top [3]int32) bool {
	if w <= 0 || sum <= 0 || n == 0 || top[0] < 0 {
		return false
	}
	a, b := &pl.agents[from], &pl.agents[to]
	ua2 := (a.load(pl.p) - w) / a.ag.Capacity
	ub2 := (b.load(pl.p) + w) / b.ag.Capacity
	if ub2 > ua2 {
		return false
	}
	mean := sum / float64(n)
	mean2 := (sum - a.util(pl.p) + ua2 - b.util(pl.p) + ub2) / float64(n)
	if mean2 <= 0 {
		return false
	}
	max2 := ua2 // ub2 <= ua2
	for _, k := range top {
		if k >= 0 && k != from && k != to {
			max2 = max(max2, pl.agents[k].util(pl.p))
			break
		}
	}
	max1 := pl.agents[top[0]].util(pl.p)
	// A strict drop even at MinGain 0, beyond rounding: otherwise a move
	// that changes nothing could be made again and again.
	drop := max1/mean - max2/mean2
	return drop > marginSlack && drop >= pl.p.MinGain
}
