package sim

import (
	"cmp"
	"container/heap"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// This file is the world: people, customers and tickets. It knows nothing
// of balancing; it asks Help Scout's routing (routing.go) who gets a new
// ticket, lets a wrangler (if any) reassign tickets and change the
// routing's rotation as Help Scout's API allows, and then people work
// whatever is in their own queue.

// status of a ticket, as Help Scout names it.
type status uint8

const (
	stActive status = iota
	stPending
	stClosed
)

// never marks a time that has not happened (offsets are never negative).
const never time.Duration = -1

type ticket struct {
	idx     int
	id      int64
	created time.Duration
	hard    bool
	// offShift: the conversation arrived while no st or sst was
	// available, the same under every policy.
	offShift bool
	needed   int // agent replies this conversation needs
	done     int // agent replies sent
	// Per-reply draws, fixed at arrival, so that every policy sees the very
	// same work: handle[k] is reply k's handle time in units of the mean,
	// answer[k] the customer's answer to reply k in units of the mean.
	handle, answer []float64

	status       status
	assignee     int // agent index, -1 unassigned
	prevAssignee int // agent index before the current one, -1 none
	waiting      bool
	waitingSince time.Duration // when waiting: the customer's unanswered message
	lastCustomer time.Duration
	firstReply   time.Duration
	closed       time.Duration
	lastAgentAct time.Duration
	lastMoved    time.Duration
	inHand       bool // an agent is writing the reply now
	overStuck    bool // a wait for a reply exceeded StuckAfter
}

type agent struct {
	idx   int
	id    int64
	m     Member
	front bool // st or sst: in the routing rotation
	// changes are the availability transitions (on shift and not away),
	// precomputed; available is the current state.
	changes   []change
	available bool
	// offSince is when the agent last became unavailable (0 when never
	// available since the start).
	offSince  time.Duration
	busy      int           // ticket in hand, -1 idle
	active    int           // Help Scout's count of their active assignments
	gen       uint64        // bumps when the reply in hand is abandoned
	order     int           // position in the alphabetical rotation
	lastRoute int64         // sequence number of the last routed assignment, for ties
	started   time.Duration // when the reply in hand was started
	worked    time.Duration // time spent writing replies (abandoned ones too)
	// sent are the times each reply went out, oldest first: the reply
	// threads Help Scout holds, from which the daemon learns a pace.
	sent []time.Duration
}

// moveRecord is one reassignment, for the tests.
type moveRecord struct {
	at                  time.Duration
	ticket, from, to    int
	toAvailable, inHand bool
}

type change struct {
	at time.Duration
	on bool
}

type eventKind uint8

const (
	evArrival eventKind = iota
	evReplySent
	evCustomerAnswer
	evAvailability
	evSample
	evWrangle
	evWebhook
	evNotice
)

type event struct {
	at   time.Duration
	seq  uint64
	kind eventKind
	a, b int    // agent/ticket index, availability state
	gen  uint64 // for evReplySent
}

type eventQueue []event

func (q eventQueue) Len() int { return len(q) }
func (q eventQueue) Less(i, j int) bool {
	if q[i].at != q[j].at {
		return q[i].at < q[j].at
	}
	return q[i].seq < q[j].seq
}
func (q eventQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *eventQueue) Push(x any)   { *q = append(*q, x.(event)) }
func (q *eventQueue) Pop() any {
	old := *q
	e := old[len(old)-1]
	*q = old[:len(old)-1]
	return e
}

// wrangler looks at the account every interval and asks for reassignments,
// as an SST or the daemon would. It may also change the inbox's routing
// rotation (world.setRotation), as a program with Help Scout's "Manage
// Routing" permission can.
type wrangler interface {
	interval() time.Duration
	wrangle(w *world) []reassignment
}

// listener is a wrangler that also hears Help Scout's webhook for each new
// conversation, delivered webhookDelay after the customer wrote in (by
// then routing, if on, has assigned it).
type listener interface {
	conversationCreated(w *world, t *ticket) []reassignment
}

// webhookDelay is how long after a conversation is created a webhook
// listener has acted on it: Help Scout's delivery plus the daemon's own
// handling, rounded up.
const webhookDelay = 10 * time.Second

type reassignment struct {
	ticket, to int // indices
}

// effects mirrors what happens in the world into a live account (the fake
// Help Scout); nil offline. Each call happens after the world changed.
type effects interface {
	created(t *ticket)                // a customer wrote in
	assigned(t *ticket, actor *agent) // routed (actor nil) or taken from the folder (actor the taker)
	replied(t *ticket, a *agent)      // an agent reply; the ticket is now pending or closed
	answered(t *ticket)               // the customer answered; the ticket is active again
}

// sampler observes the account at regular times for the scores.
type sampler interface {
	interval() time.Duration
	sample(w *world)
}

type world struct {
	sc      *Scenario
	now     time.Duration
	agents  []*agent
	tickets []*ticket
	open    []int // tickets not closed, in arrival order (compacted lazily)
	held    []int // the Unassigned folder, oldest first (may hold assigned tickets, skipped)
	q       eventQueue
	seq     uint64
	routes  int64

	router   router
	inbox    inbox
	wrangler wrangler
	sampler  sampler
	fx       effects

	moves    int
	handouts int // moves of a ticket nobody owned (part of moves)
	moveLog  []moveRecord
	pulls    int // tickets people took from the Unassigned folder
	abandon  int // replies abandoned because the ticket was moved away
	// arrivedUnassigned counts the tickets routing could give nobody.
	arrivedUnassigned int
	// movesInto records the times of reassignments into each agent, for
	// the daemon's RecentAssignments.
	movesInto [][]time.Duration
}

// plan is what every policy shares: the arrivals and the availability of
// the team, computed once per scenario.
type plan struct {
	sc       *Scenario
	arrivals []arrival
	changes  [][]change
	// scoredFrom is the offset at which the scored run begins, after any
	// warm-up (warmup.go).
	scoredFrom time.Duration
}

type arrival struct {
	at             time.Duration
	hard           bool
	handle, answer []float64
}

// newPlan draws the arrivals and works out everyone's availability, over
// the scenario's warm-up (if any) and the scored run. The scored run's
// customers and work are drawn exactly as without a warm-up, and the
// warm-up's from streams of their own, so that a run with history and one
// without face the very same week.
func newPlan(sc *Scenario) *plan {
	if sc.Warmup <= 0 {
		return &plan{sc: sc, arrivals: drawArrivals(sc, 0), changes: availability(sc)}
	}
	played, from := sc.played()
	warm := played
	warm.Duration = from // its surges all lie after the warm-up
	arrivals := drawArrivals(&warm, warmupStreams)
	for _, a := range drawArrivals(sc, 0) {
		a.at += from
		arrivals = append(arrivals, a)
	}
	return &plan{sc: &played, arrivals: arrivals, changes: availability(&played), scoredFrom: from}
}

// warmupStreams sets the warm-up's random streams apart from the scored
// run's.
const warmupStreams = 1 << 63

// drawArrivals draws a Poisson process whose rate is constant within each
// hour (PerHour × the hour's profile × the weekend factor × any surges), and
// the work of each conversation from its own stream, so that the arrival
// times do not depend on the work and vice versa. streams (0 for the
// scored run) picks another family of streams for the same seed.
func drawArrivals(sc *Scenario, streams uint64) []arrival {
	rng := rand.New(rand.NewPCG(uint64(sc.Seed), 0x5eed0a11^streams))
	var out []arrival
	for h := time.Duration(0); h < sc.Duration; h += time.Hour {
		// Surges may start or stop inside an hour, so the hour is cut at
		// their edges; the process is memoryless, so restarting it at each
		// cut is exact.
		cuts := []time.Duration{h, min(h+time.Hour, sc.Duration)}
		for _, s := range sc.Arrivals.Surges {
			for _, c := range []time.Duration{s.At, s.Until} {
				if c > h && c < cuts[len(cuts)-1] {
					cuts = append(cuts, c)
				}
			}
		}
		slices.Sort(cuts)
		for i := 0; i+1 < len(cuts); i++ {
			from, to := cuts[i], cuts[i+1]
			perHour := rateAt(sc, from)
			if perHour <= 0 {
				continue
			}
			t := from
			for {
				t += time.Duration(rng.ExpFloat64() / perHour * float64(time.Hour))
				if t >= to {
					break
				}
				out = append(out, arrival{at: t})
			}
		}
	}
	w := sc.Work
	for i := range out {
		r := rand.New(rand.NewPCG(uint64(sc.Seed), (0x7a5c<<32|uint64(i))^streams))
		a := &out[i]
		a.hard = r.Float64() < w.HardFraction
		n := 1 + poisson(r, w.RepliesToResolveMean-1)
		a.handle = make([]float64, n)
		a.answer = make([]float64, n)
		for k := range n {
			// Erlang-2 with mean 1: few replies take almost no time, and
			// there is a long tail.
			a.handle[k] = (r.ExpFloat64() + r.ExpFloat64()) / 2
			a.answer[k] = r.ExpFloat64()
		}
	}
	return out
}

// rateAt is the arrival rate per hour at offset t.
func rateAt(sc *Scenario, t time.Duration) float64 {
	at := sc.Start.Add(t).UTC()
	r := sc.Arrivals.PerHour * sc.Arrivals.HourlyProfile[at.Hour()]
	if wd := at.Weekday(); wd == time.Saturday || wd == time.Sunday {
		r *= sc.Arrivals.WeekendFactor
	}
	for _, s := range sc.Arrivals.Surges {
		if t >= s.At && t < s.Until {
			r *= s.Factor
		}
	}
	return r
}

// poisson draws a Poisson variate by counting unit-rate arrivals; the means
// here are small.
func poisson(r *rand.Rand, mean float64) int {
	if mean <= 0 {
		return 0
	}
	n, sum := 0, r.ExpFloat64()
	for sum < mean {
		n++
		sum += r.ExpFloat64()
	}
	return n
}

// availability works out, minute by minute, when each person is on shift
// (the roster's own schedule logic, read in their time zone) and not away.
// Shifts are written to the minute, so the transitions are exact.
func availability(sc *Scenario) [][]change {
	out := make([][]change, len(sc.Team))
	for i, m := range sc.Team {
		var sched *roster.Schedule
		if m.Hours != "" {
			sched, _ = roster.ParseSchedule(m.Hours) // validated
		}
		loc := time.UTC
		if m.Timezone != "" {
			if l, err := time.LoadLocation(m.Timezone); err == nil {
				loc = l
			}
		}
		prev := false
		for t := time.Duration(0); t < sc.Duration; t += time.Minute {
			on := !isAway(m, t)
			if on && sched != nil {
				on, _ = sched.OnShift(sc.Start.Add(t), loc)
			}
			if on != prev || t == 0 {
				out[i] = append(out[i], change{at: t, on: on})
				prev = on
			}
		}
	}
	return out
}

func isAway(m Member, t time.Duration) bool {
	for _, a := range m.Away {
		if t >= a.At && t < a.Until {
			return true
		}
	}
	return false
}

// awaySince returns the start of the absence covering t, if any.
func awaySince(m Member, t time.Duration) (time.Duration, bool) {
	for _, a := range m.Away {
		if t >= a.At && t < a.Until {
			return a.At, true
		}
	}
	return 0, false
}

// agentID is the simulated Help Scout user id of team member i.
func agentID(i int) int64 { return 1000 + int64(i) }

// ticketID is the simulated conversation id of the i-th arrival.
func ticketID(i int) int64 { return 1_000_000 + int64(i) }

func newWorld(p *plan, r router, wr wrangler, s sampler) *world {
	w := &world{sc: p.sc, router: r, wrangler: wr, sampler: s}
	names := make([]int, len(p.sc.Team))
	for i, m := range p.sc.Team {
		w.agents = append(w.agents, &agent{idx: i, id: agentID(i), m: m, busy: -1,
			front:   m.Role == roster.RoleST || m.Role == roster.RoleSST,
			changes: p.changes[i]})
		names[i] = i
	}
	w.inbox = newInbox(p.sc, w.agents)
	// Help Scout's round robin goes through the rotation in alphabetical order.
	slices.SortStableFunc(names, func(x, y int) int { return cmp.Compare(p.sc.Team[x].Name, p.sc.Team[y].Name) })
	for pos, i := range names {
		w.agents[i].order = pos
	}
	w.movesInto = make([][]time.Duration, len(w.agents))
	for i, a := range p.arrivals {
		w.tickets = append(w.tickets, &ticket{idx: i, id: ticketID(i), created: a.at, hard: a.hard,
			needed: len(a.handle), handle: a.handle, answer: a.answer,
			assignee: -1, prevAssignee: -1, firstReply: never, closed: never, lastAgentAct: never, lastMoved: never})
		w.push(event{at: a.at, kind: evArrival, b: i})
	}
	for _, a := range w.agents {
		for _, c := range a.changes {
			on := 0
			if c.on {
				on = 1
			}
			w.push(event{at: c.at, kind: evAvailability, a: a.idx, b: on})
		}
	}
	if s != nil {
		w.push(event{at: 0, kind: evSample})
	}
	if wr != nil {
		w.push(event{at: wr.interval(), kind: evWrangle})
	}
	return w
}

func (w *world) push(e event) {
	if e.at >= w.sc.Duration {
		return // past the end of the run
	}
	e.seq = w.seq
	w.seq++
	heap.Push(&w.q, e)
}

// run plays the events to the end of the run.
func (w *world) run() {
	w.runUntil(w.sc.Duration)
	w.now = w.sc.Duration
}

// runUntil plays the events up to and including offset limit.
func (w *world) runUntil(limit time.Duration) {
	for w.q.Len() > 0 && w.q[0].at <= limit {
		e := heap.Pop(&w.q).(event)
		w.now = e.at
		switch e.kind {
		case evArrival:
			w.arrive(w.tickets[e.b])
		case evReplySent:
			w.replySent(w.agents[e.a], e.gen)
		case evCustomerAnswer:
			w.customerAnswers(w.tickets[e.b])
		case evAvailability:
			w.setAvailable(w.agents[e.a], e.b == 1)
		case evSample:
			w.compactOpen()
			w.sampler.sample(w)
			w.push(event{at: w.now + w.sampler.interval(), kind: evSample})
		case evWrangle:
			for _, r := range w.wrangler.wrangle(w) {
				w.reassign(w.tickets[r.ticket], r.to)
			}
			w.push(event{at: w.now + w.wrangler.interval(), kind: evWrangle})
		case evNotice:
			w.notice()
		case evWebhook:
			for _, r := range w.wrangler.(listener).conversationCreated(w, w.tickets[e.b]) {
				w.reassign(w.tickets[r.ticket], r.to)
			}
		}
	}
}

func (w *world) arrive(t *ticket) {
	t.offShift = !slices.ContainsFunc(w.agents, func(a *agent) bool { return a.front && a.available })
	t.status = stActive
	t.waiting, t.waitingSince, t.lastCustomer = true, w.now, w.now
	w.open = append(w.open, t.idx)
	if w.fx != nil {
		w.fx.created(t)
	}
	if _, ok := w.wrangler.(listener); ok {
		w.push(event{at: w.now + webhookDelay, kind: evWebhook, b: t.idx})
	}
	if to := w.router.route(w, t); to >= 0 {
		w.assign(t, to)
		return
	}
	// Nobody can take it: it waits in the Unassigned folder, and whoever is
	// free picks it up (tryStart): at once when they next finish a reply,
	// or, already idle, when they notice it.
	w.held = append(w.held, t.idx)
	w.arrivedUnassigned++
	w.push(event{at: w.now + noticeDelay, kind: evNotice})
}

// noticeDelay is how long an idle person takes to notice a new
// conversation in the Unassigned folder: nobody watches it every second.
// People finishing a reply look at it at once (tryStart).
const noticeDelay = 5 * time.Minute

// notice lets the first idle front-line person take from the folder.
func (w *world) notice() {
	for _, a := range w.agents {
		if a.front && a.available && a.busy < 0 {
			w.tryStart(a)
			return
		}
	}
}

// assign gives a ticket to an agent through the router (not a move).
func (w *world) assign(t *ticket, to int) {
	w.setAssignee(t, to)
	w.routes++
	w.agents[to].lastRoute = w.routes
	if w.fx != nil {
		w.fx.assigned(t, nil)
	}
	w.tryStart(w.agents[to])
}

// setAssignee changes a ticket's owner and keeps the owners' counts of
// active assignments, which routing reads.
func (w *world) setAssignee(t *ticket, to int) {
	if t.status == stActive {
		if t.assignee >= 0 {
			w.agents[t.assignee].active--
		}
		if to >= 0 {
			w.agents[to].active++
		}
	}
	t.prevAssignee, t.assignee = t.assignee, to
}

// setStatus changes a ticket's status and keeps its owner's count of
// active assignments.
func (w *world) setStatus(t *ticket, st status) {
	if t.assignee >= 0 && (t.status == stActive) != (st == stActive) {
		if st == stActive {
			w.agents[t.assignee].active++
		} else {
			w.agents[t.assignee].active--
		}
	}
	t.status = st
}

func (w *world) setAvailable(a *agent, on bool) {
	if a.available && !on {
		a.offSince = w.now
	}
	a.available = on
	if on {
		w.drain()
		w.tryStart(a)
	}
	// Going off shift or away: the reply in hand is finished (replySent
	// still fires), then nothing new is started.
}

// tryStart lets an idle, available agent pick their next ticket: the one in
// their own queue whose customer has waited longest; when their queue has
// nothing waiting, a front-line agent takes the oldest ticket from the
// Unassigned folder, as support teams do.
func (w *world) tryStart(a *agent) {
	if !a.available || a.busy >= 0 {
		return
	}
	best := -1
	for _, ti := range w.open {
		t := w.tickets[ti]
		if t.assignee != a.idx || !t.waiting || t.inHand || t.status != stActive {
			continue
		}
		if best < 0 || t.waitingSince < w.tickets[best].waitingSince {
			best = ti
		}
	}
	if best < 0 && a.front {
		best = w.pullUnassigned(a)
	}
	if best < 0 {
		return
	}
	t := w.tickets[best]
	t.inHand = true
	a.busy = best
	a.started = w.now
	minutes := w.sc.Work.HandleMinutesMean * t.handle[t.done] / a.m.Speed
	if t.hard {
		minutes *= w.sc.Work.HardFactor
	}
	d := max(time.Duration(minutes*float64(time.Minute)), time.Second)
	w.push(event{at: w.now + d, kind: evReplySent, a: a.idx, gen: a.gen})
}

// pullUnassigned takes the oldest unassigned ticket for the agent (they
// assign it to themselves), or returns -1.
func (w *world) pullUnassigned(a *agent) int {
	for len(w.held) > 0 {
		t := w.tickets[w.held[0]]
		w.held = w.held[1:]
		if t.assignee >= 0 || t.status == stClosed {
			continue // a wrangler assigned it meanwhile
		}
		w.setAssignee(t, a.idx)
		w.pulls++
		if w.fx != nil {
			w.fx.assigned(t, a)
		}
		return t.idx
	}
	return -1
}

func (w *world) replySent(a *agent, gen uint64) {
	if gen != a.gen || a.busy < 0 {
		return // the ticket was taken away while being written
	}
	t := w.tickets[a.busy]
	a.busy = -1
	a.worked += w.now - a.started
	a.sent = append(a.sent, w.now)
	t.inHand = false
	t.done++
	if t.firstReply == never {
		t.firstReply = w.now
	}
	if w.now-t.waitingSince > w.sc.StuckAfter {
		t.overStuck = true
	}
	t.waiting = false
	t.lastAgentAct = w.now
	if t.done >= t.needed {
		w.setStatus(t, stClosed)
		t.closed = w.now
	} else {
		w.setStatus(t, stPending)
		mins := w.sc.Work.CustomerReplyMinutesMean * t.answer[t.done-1]
		w.push(event{at: w.now + max(time.Duration(mins*float64(time.Minute)), time.Second), kind: evCustomerAnswer, b: t.idx})
	}
	if w.fx != nil {
		w.fx.replied(t, a)
	}
	w.drain() // the agent may be back under the assignment limit
	w.tryStart(a)
}

// customerAnswers reopens a pending ticket: Help Scout makes it active and
// it is back in its assignee's queue.
func (w *world) customerAnswers(t *ticket) {
	if t.status == stClosed {
		return
	}
	w.setStatus(t, stActive)
	t.waiting, t.waitingSince, t.lastCustomer = true, w.now, w.now
	if w.fx != nil {
		w.fx.answered(t)
	}
	if t.assignee >= 0 {
		w.tryStart(w.agents[t.assignee])
	}
}

// reassign moves a ticket to another agent, as an SST (or the daemon) does
// in Help Scout. A reply being written by the previous owner is abandoned:
// the ticket has left their queue, so the work in progress is lost. That is
// the pessimistic reading of a move; it never flatters the wrangler.
func (w *world) reassign(t *ticket, to int) {
	if t.status == stClosed || to < 0 || to >= len(w.agents) || t.assignee == to {
		return
	}
	from := t.assignee
	w.moveLog = append(w.moveLog, moveRecord{at: w.now, ticket: t.idx, from: from, to: to,
		toAvailable: w.agents[to].available, inHand: t.inHand})
	w.setAssignee(t, to)
	t.lastMoved = w.now
	w.moves++
	if from < 0 {
		w.handouts++
	}
	w.movesInto[to] = append(w.movesInto[to], w.now)
	if from >= 0 {
		if fa := w.agents[from]; fa.busy == t.idx {
			fa.busy = -1
			fa.worked += w.now - fa.started
			fa.gen++
			w.abandon++
			t.inHand = false
			w.tryStart(fa)
		}
	}
	w.tryStart(w.agents[to])
	w.drain() // the previous owner may be back under the assignment limit
}

// compactOpen drops closed tickets from the open list.
func (w *world) compactOpen() {
	keep := w.open[:0]
	for _, ti := range w.open {
		if w.tickets[ti].status != stClosed {
			keep = append(keep, ti)
		}
	}
	w.open = keep
}

// activeCount counts an agent's active assignments from the tickets, to
// check the running count (agent.active) that routing reads.
func (w *world) activeCount(a int) int {
	n := 0
	for _, ti := range w.open {
		if t := w.tickets[ti]; t.assignee == a && t.status == stActive {
			n++
		}
	}
	return n
}

// at is the simulated clock at offset d.
func (w *world) at(d time.Duration) time.Time { return w.sc.Start.Add(d) }
