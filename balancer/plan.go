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
	r.Moves, r.Flags, r.NoSenior = pl.moves, pl.flags, pl.noSenior
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
	moves    []Move
	flags    []Flag
	noSenior []Flag
	done     map[int32]bool // conversation indices moved or flagged in this plan: never touched again

	// candidates, built once, in ID order until sorted
	queue   []int32 // active unassigned tickets that may move
	awayTix []int32 // waiting tickets due to be handed over by agents away beyond the grace period
	stuckTx []int32 // stuck tickets held by st or sst (moved or flagged)

	// routing is set by Route: new conversations are assigned like
	// hand-outs, without the per-run and per-window caps.
	routing bool
	// lastShift lets Route choose among people about to leave when nobody
	// else can take a new conversation (Route's last resort).
	lastShift bool
}

func newPlanner(m *model) *planner {
	pl := &planner{model: m, done: make(map[int32]bool)}
	m.setPaces()
	for _, ci := range m.order {
		c := &m.convs[ci]
		if c.AssigneeID == 0 {
			if c.Status == StatusActive && !m.protected(c) {
				pl.queue = append(pl.queue, ci)
			}
			continue
		}
		o := m.owner[ci]
		if o < 0 {
			continue // ignored agents keep their tickets
		}
		a := &m.agents[o]
		cl := classOf(c)
		if cl == classWaiting {
			a.queue = append(a.queue, slotOf(c, ci, m.now))
		}
		if a.kind != kindPool {
			continue // the HoS keeps their tickets
		}
		if stuck(c, m.p, m.now) && m.stuckWith(a, c) {
			pl.stuckTx = append(pl.stuckTx, ci)
		}
		if m.protected(c) {
			continue
		}
		if a.away && cl == classWaiting && m.handOver(a, c) {
			pl.awayTix = append(pl.awayTix, ci)
		}
	}
	for i := range m.agents {
		slices.SortFunc(m.agents[i].queue, compareSlots)
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
	return a.available && m.now.Sub(m.waitingWith(a, c)) > m.p.StuckAfter
}

// waitingWith is when customer c started waiting on owner a: the latest of
// their unanswered message, a's becoming available and a's getting the
// ticket.
func (m *model) waitingWith(a *agentState, c *Conversation) time.Time {
	since := c.CustomerWaitingSince
	if a.ag.AvailableSince.After(since) {
		since = a.ag.AvailableSince
	}
	if c.AssignedAt.After(since) {
		since = c.AssignedAt
	}
	return since
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

func (pl *planner) full() bool { return len(pl.moves) >= pl.p.MaxMovesPerRun }

// canGive reports whether another move may leave the agent in this plan.
func (pl *planner) canGive(o int32) bool { return pl.agents[o].out < pl.p.MaxMovesPerAgent }

// canTake reports whether the agent may receive a ticket in tier t: a
// possible target (eligible) within this plan's caps.
func (pl *planner) canTake(a *agentState, t tier) bool {
	if !pl.eligible(a, t) {
		return false
	}
	if pl.routing {
		return true // routing new conversations is not rebalancing: no per-run caps
	}
	return a.in < pl.p.MaxMovesPerAgent && a.ag.RecentAssignments+a.in < pl.p.AssignmentsPerWindow
}

// eligible reports whether the never-target rules let the agent receive a
// ticket in tier t: available, in the tier, below MaxOpen and not about to
// leave. The caps are left to canTake: an agent who has had their share
// of moves in this plan can still take the ticket at the next run.
func (pl *planner) eligible(a *agentState, t tier) bool {
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
	if a.atMaxOpen() {
		return false
	}
	return pl.lastShift || !pl.leaving(a)
}

// rank orders possible targets: the expected wait of a customer who joins
// the end of their queue (how soon they get to new work, and how buried
// they are), then their utilisation after taking the ticket, so that load
// fairness breaks ties; then the lower id, by scanning in id order.
type rank struct {
	wait time.Duration
	util float64
}

func (x rank) less(y rank) bool {
	return x.wait < y.wait || x.wait == y.wait && x.util < y.util
}

func (pl *planner) rankOf(a *agentState, w float64) rank {
	return rank{pl.endWait(a), (a.load(pl.p) + w) / a.ag.Capacity}
}

// bestTwo returns the two agents of tier t who can open mailbox mb and
// rank best for a ticket of weight w (-1 when missing). Keeping the
// runner-up lets callers exclude the source without another scan.
func (pl *planner) bestTwo(t tier, w float64, mb int64) (b1, b2 int32) {
	b1, b2 = -1, -1
	var r1, r2 rank
	for i := range pl.agents {
		a := &pl.agents[i]
		if !pl.canTake(a, t) || !a.canOpen(mb) {
			continue
		}
		r := pl.rankOf(a, w)
		switch {
		case b1 < 0 || r.less(r1):
			b2, r2 = b1, r1
			b1, r1 = int32(i), r
		case b2 < 0 || r.less(r2):
			b2, r2 = int32(i), r
		}
	}
	return b1, b2
}

// pickGeneral chooses the target for an unassigned or away ticket: the
// available front-line agent who ranks best, where the customer's previous
// agent, if available and under fair share, has both their wait and their
// utilisation multiplied by 1 - PreviousAgentBonus for the comparison.
// bonus reports whether the previous agent won because of it; best is the
// best-ranked agent without the bonus.
func (pl *planner) pickGeneral(c *Conversation, w float64) (to int32, bonus bool, best int32) {
	b1, _ := pl.bestTwo(tierGeneral, w, c.MailboxID)
	if b1 < 0 || c.PreviousAssigneeID == 0 || pl.p.PreviousAgentBonus == 0 {
		return b1, false, b1
	}
	prev, ok := pl.index[c.PreviousAssigneeID]
	if !ok || prev == b1 {
		return b1, false, b1
	}
	a := &pl.agents[prev]
	if !pl.canTake(a, tierGeneral) || !a.canOpen(c.MailboxID) {
		return b1, false, b1
	}
	_, fair := pl.fairUtil()
	if a.load(pl.p) >= fair*a.ag.Capacity {
		return b1, false, b1
	}
	// prev is not b1 (returned above when it is), so the agent prev must
	// beat is b1 itself: the runner-up is never needed here.
	k := 1 - pl.p.PreviousAgentBonus
	rp := pl.rankOf(a, w)
	rp = rank{time.Duration(float64(rp.wait) * k), rp.util * k}
	ro := pl.rankOf(&pl.agents[b1], w)
	if rp.less(ro) || rp == ro && a.ag.ID < pl.agents[b1].ag.ID {
		return prev, true, b1
	}
	return b1, false, b1
}

// waits are the figures a decision rests on, kept on the move.
type waits struct {
	owner, target time.Duration
	ownerAhead    int // customers ahead with the owner
	targetAhead   int // customers ahead with the target
}

// waitsFor estimates the customer's wait with the owner (from < 0: none)
// and with the target.
func (pl *planner) waitsFor(ci, from, to int32) waits {
	s := slotOf(&pl.convs[ci], ci, pl.now)
	w := waits{owner: NoEstimate}
	if from >= 0 {
		f := &pl.agents[from]
		w.ownerAhead = f.ahead(s)
		w.owner = pl.waitAt(f, w.ownerAhead)
	}
	t := &pl.agents[to]
	w.targetAhead = t.ahead(s)
	w.target = pl.waitAt(t, w.targetAhead)
	return w
}

// movePays is "a move must pay" for a reassignment: the customer is
// answered clearly sooner with the target, and the target's queue is
// clearly less buried than the owner's (its end comes clearly sooner than
// the owner's last customer, who waits at least as long as this one), so
// nobody is moved into an equally buried queue and the team's total wait
// falls.
func (pl *planner) movePays(from, to int32, w waits) bool {
	last := max(pl.lastWait(&pl.agents[from]), w.owner)
	return pl.pays(w.owner, w.target) && pl.pays(last, pl.endWait(&pl.agents[to]))
}

// move records a move and applies it to the working loads and queues, so
// that later decisions see it.
func (pl *planner) move(ci, from, to int32, r Reason, w waits, why string) {
	c := &pl.convs[ci]
	cl := classOf(c)
	mv := Move{ConversationID: c.ID, Number: c.Number, To: pl.agents[to].ag.ID, Reason: r,
		WaitingFor: waitingFor(c, pl.now), OwnerWait: w.owner, TargetWait: w.target, Explanation: why}
	s := slotOf(c, ci, pl.now)
	if from >= 0 {
		f := &pl.agents[from]
		mv.From = f.ag.ID
		f.add(cl, -1)
		if f.away && cl == classWaiting && pl.handOver(f, c) {
			f.due-- // it leaves the split as the absent agent's, joins it as the target's
		}
		if cl == classWaiting {
			if k, ok := slices.BinarySearchFunc(f.queue, s, compareSlots); ok {
				f.queue = slices.Delete(f.queue, k, k+1)
			}
		}
		f.out++
	} else if cl == classWaiting {
		pl.queueWaiting--
	} else {
		pl.queueLight--
	}
	t := &pl.agents[to]
	t.add(cl, 1)
	if cl == classWaiting {
		t.queue = slices.Insert(t.queue, t.ahead(s), s)
	}
	t.in++
	pl.done[ci] = true
	pl.moves = append(pl.moves, mv)
}

// backlogAllows reports whether a ticket from the Unassigned folder may go
// to agent a under Policy.Backlog: a customer added to a's queue now would
// wait at most Backlog.
func (pl *planner) backlogAllows(a *agentState) bool {
	return pl.p.Backlog == BacklogOldest || pl.endWait(a) <= pl.p.Backlog
}

// unassigned hands out the unassigned queue, oldest waiting first, to
// whoever ranks best, within the backlog setting.
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
		to, bonus, best := pl.pickGeneral(c, weight(*c, pl.p))
		// The best-ranked target has the shortest queue: when the backlog
		// setting keeps this ticket from them, it keeps it from everyone,
		// and queues only grow within a plan.
		if best < 0 || !pl.backlogAllows(&pl.agents[best]) {
			if !pl.noTakerFor(&noTaker, c) {
				return // nobody can take anything more in this plan
			}
			continue
		}
		if !pl.backlogAllows(&pl.agents[to]) {
			to, bonus = best, false // the previous agent's queue is too long for the backlog
		}
		w := pl.waitsFor(ci, -1, to)
		pl.move(ci, -1, to, ReasonUnassigned, w, pl.explainHandout(c, -1, to, bonus, w))
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
// available agents, oldest waiting first, when the move pays.
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
		to, bonus, best := pl.pickGeneral(c, 1)
		if to < 0 {
			if !pl.noTakerFor(&noTaker, c) {
				return
			}
			continue
		}
		if !pl.backlogAllows(&pl.agents[to]) {
			// As in unassigned: the previous agent's queue is too long for
			// the backlog setting, the best-ranked one's may not be.
			if to == best || !pl.backlogAllows(&pl.agents[best]) {
				continue
			}
			to, bonus = best, false
		}
		w := pl.waitsFor(ci, from, to)
		if !pl.movePays(from, to, w) {
			continue
		}
		pl.move(ci, from, to, ReasonAway, w, pl.explainHandout(c, from, to, bonus, w))
	}
}

// stuck escalates stuck ST tickets when that pays, flags stuck SST
// tickets, and reports the stuck ST tickets it leaves with their owner
// because no senior can take them (Result.NoSenior).
func (pl *planner) stuck() {
	pl.sortByWait(pl.stuckTx)
	threshold := humanDuration(pl.p.StuckAfter)
	var cached map[tier][2]int32
	var cachedMailbox int64
	var seniors seniorsByMailbox
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
		mb := pl.mailboxKey(c)
		if pl.full() || !pl.canGive(from) || pl.protected(c) {
			pl.reportNoSenior(ci, from, mb, &seniors, threshold)
			continue
		}
		// The customer has already waited this long with the owner without
		// an answer: whatever the owner's pace says, expect at least as
		// long again (the estimate has been wrong for this ticket).
		waited := pl.now.Sub(pl.waitingWith(&pl.agents[from], c))
		// All stuck tickets weigh 1 and come from an ST, outside the
		// senior tiers: the targets depend on the ticket only through its
		// mailbox, so they are worked out once per mailbox until a move
		// changes the queues (a large team has thousands of stuck tickets).
		if cached == nil || cachedMailbox != mb {
			cached, cachedMailbox = map[tier][2]int32{}, mb
		}
		moved := false
		for _, via := range []tier{tierSenior, tierEscalation, tierGeneral} {
			best, ok := cached[via]
			if !ok {
				best[0], best[1] = pl.bestTwo(via, 1, mb)
				cached[via] = best
			}
			to, second := best[0], best[1]
			if to == from {
				to = second
			}
			if to < 0 {
				continue
			}
			w := pl.waitsFor(ci, from, to)
			w.owner = max(w.owner, waited)
			if pl.movePays(from, to, w) && pl.backlogAllows(&pl.agents[to]) {
				pl.move(ci, from, to, ReasonStuck, w, pl.explainStuck(c, from, to, via, w))
				cached, seniors, moved = nil, nil, true
				break
			}
		}
		if !moved {
			pl.reportNoSenior(ci, from, mb, &seniors, threshold)
		}
	}
}

// seniorsByMailbox remembers, by mailbox key, whether a senior could take
// a stuck ticket, until a move changes the answer; the zero value is empty.
type seniorsByMailbox map[int64]bool

// reportNoSenior adds stuck ticket ci, which stays with its ST owner from,
// to Result.NoSenior when no senior could take it. That is asked without
// the caps: a senior who has had their share of this run's moves takes it
// at the next run, so nobody needs telling; nor when a senior could take
// it but the move does not pay.
func (pl *planner) reportNoSenior(ci, from int32, mb int64, seniors *seniorsByMailbox, threshold string) {
	if *seniors == nil {
		*seniors = seniorsByMailbox{}
	}
	has, ok := (*seniors)[mb]
	if !ok {
		has = pl.seniorEligible(mb)
		(*seniors)[mb] = has
	}
	if has {
		return
	}
	c := &pl.convs[ci]
	pl.noSenior = append(pl.noSenior, Flag{ConversationID: c.ID, Number: c.Number,
		AgentID: pl.agents[from].ag.ID, Reason: ReasonStuck,
		WaitingFor: waitingFor(c, pl.now), Explanation: pl.explainNoSenior(c, from, threshold)})
}

// seniorEligible reports whether anyone a stuck ST ticket of mailbox key mb
// is escalated to (an SST, or a head of support who takes escalations)
// could take it under the never-target rules (eligible), caps aside.
func (pl *planner) seniorEligible(mb int64) bool {
	for i := range pl.agents {
		a := &pl.agents[i]
		if (pl.eligible(a, tierSenior) || pl.eligible(a, tierEscalation)) && a.canOpen(mb) {
			return true
		}
	}
	return false
}

// overload moves a customer off an available agent's queue when someone
// else would answer them clearly sooner (movePays), one move at a time,
// the move that saves the customer the most time first. From each queue
// it takes the newest customer nobody has answered yet: the one who would
// wait longest and in whom the owner has invested least; an ongoing
// conversation stays with the person who knows it (the stuck rule is its
// safety net).
func (pl *planner) overload() {
	type choice struct {
		ci, from, to int32
		w            waits
	}
	for !pl.full() {
		// The best targets for a ticket depend on it only through its
		// mailbox: computed when first needed, once per move.
		var best []targetsFor
		target := func(from int32, mb int64) int32 {
			i := slices.IndexFunc(best, func(t targetsFor) bool { return t.mailbox == mb })
			if i < 0 {
				t := targetsFor{mailbox: mb}
				t.b1, t.b2 = pl.bestTwo(tierGeneral, 1, mb)
				best = append(best, t)
				i = len(best) - 1
			}
			if b := best[i].b1; b != from {
				return b
			}
			return best[i].b2
		}
		var pick choice
		found := false
		for i := range pl.agents {
			from := int32(i)
			a := &pl.agents[i]
			if !a.shared() || !pl.canGive(from) || len(a.queue) < 2 || !pl.pays(pl.lastWait(a), 0) {
				continue // nobody could answer this queue's last customer clearly sooner
			}
			var tried []int64 // mailboxes whose newest movable customer was tried
			for k := len(a.queue) - 1; k >= 0; k-- {
				ci := a.queue[k].ci
				c := &pl.convs[ci]
				if pl.done[ci] || c.AgentReplied || pl.protected(c) {
					continue
				}
				mb := pl.mailboxKey(c)
				if slices.Contains(tried, mb) {
					continue
				}
				tried = append(tried, mb)
				if to := target(from, mb); to >= 0 && pl.backlogAllows(&pl.agents[to]) {
					w := pl.waitsFor(ci, from, to)
					if pl.movePays(from, to, w) && (!found || w.owner-w.target > pick.w.owner-pick.w.target) {
						pick, found = choice{ci, from, to, w}, true
					}
				}
				if !pl.restricted {
					break
				}
			}
		}
		if !found {
			return
		}
		c := &pl.convs[pick.ci]
		pl.move(pick.ci, pick.from, pick.to, ReasonOverload, pick.w, pl.explainOverload(c, pick.from, pick.to, pick.w))
	}
}

// targetsFor are the two best targets for the tickets of one mailbox.
type targetsFor struct {
	mailbox int64
	b1, b2  int32
}

// mailboxKey is the mailbox that decides c's possible targets: 0 when every
// agent can open every mailbox, so that targets are shared across them.
func (pl *planner) mailboxKey(c *Conversation) int64 {
	if !pl.restricted {
		return 0
	}
	return c.MailboxID
}
