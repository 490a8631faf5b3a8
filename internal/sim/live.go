package sim

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// Clock is the simulated clock of a live run: it starts at the scenario's
// Start plus a warm-up and runs Speed times faster than the wall clock.
// Give its Now to helpscouttest.Options.Clock so that the fake stamps data
// in simulated time.
type Clock struct {
	origin    time.Time // simulated time at wallStart
	wallStart time.Time
	speed     float64
	wall      func() time.Time
}

// NewClock returns a clock that reads sc.Start+warmUp now and advances speed
// simulated seconds per second of wall (nil means time.Now).
func NewClock(sc Scenario, speed float64, warmUp time.Duration, wall func() time.Time) *Clock {
	if wall == nil {
		wall = time.Now
	}
	return &Clock{origin: sc.Start.Add(warmUp), wallStart: wall(), speed: speed, wall: wall}
}

// Now is the simulated time.
func (c *Clock) Now() time.Time {
	el := c.wall().Sub(c.wallStart)
	return c.origin.Add(time.Duration(float64(el) * c.speed)).UTC()
}

// LiveOptions configure a live run.
type LiveOptions struct {
	// Routing is how new conversations are assigned at arrival: PolicyNone
	// (round robin) or PolicyBalanced (the default), played by the model
	// with the fake's routing off; or LiveFakeRouting, the fake's own
	// routing. Whatever else moves tickets (the daemon, through the fake's
	// API) the team simply sees.
	Routing string
	// Tick is the wall time between steps of Run (default 100ms).
	Tick time.Duration
}

// Live plays the model against a fake Help Scout in accelerated time: new
// conversations, agent replies (leaving the conversation pending or closing
// it), customer answers and Away status changes are written through the
// fake's state API, which emits signed webhooks as Help Scout would. The
// team works whatever the fake says they are assigned, so moves made by the
// daemon over HTTP change who works what.
//
// Differences from the offline model: the team's Away status is set when
// Step notices an absence began or ended, so its timestamp is the fake's
// clock at that step; and time advances in steps, so an event is written
// with its exact simulated time but at most one step late.
type Live struct {
	mu    sync.Mutex
	fake  *helpscouttest.Server
	clock *Clock
	w     *world
	opts  LiveOptions

	mailbox int64
	convs   []int64 // fake conversation id by ticket index, 0 before creation
	// routed is, with LiveFakeRouting, the user the fake's routing gave
	// each ticket at creation (0: nobody), by ticket index.
	routed []int64
	away   []bool // Away status last written, by agent
	err    error  // first error of the fake's state API
}

// LiveFakeRouting is LiveOptions.Routing for the fake's own routing: the
// mailbox's routing is on (Balanced, the scenario's assignment limit, the
// front line in the rotation) and assigns each new conversation by the
// configuration stored in the fake, which a daemon in QW_ROUTING=steer
// narrows through the routing API; the team works whatever it assigned.
const LiveFakeRouting = "fake"

// NewLive adds a mailbox and the team to the fake (user ids 1000, 1001, ...
// in team order, the ids Roster uses) and prepares the run. The fake
// must use clock.Now as its Clock.
func NewLive(sc Scenario, fake *helpscouttest.Server, clock *Clock, opts LiveOptions) (*Live, error) {
	if err := sc.Validate(); err != nil {
		return nil, err
	}
	var r router = fewestActive{}
	var byFake *fakeRouter
	switch opts.Routing {
	case "", PolicyBalanced:
	case PolicyNone:
		r = &roundRobin{last: -1}
	case LiveFakeRouting:
		byFake = &fakeRouter{}
		r = byFake
	default:
		return nil, fmt.Errorf("live routing %q is not %s, %s or %s", opts.Routing, PolicyNone, PolicyBalanced, LiveFakeRouting)
	}
	if opts.Tick <= 0 {
		opts.Tick = 100 * time.Millisecond
	}
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support (simulated)", Email: "support@sim.example"})
	if err != nil {
		return nil, fmt.Errorf("add mailbox: %w", err)
	}
	for i, m := range sc.Team {
		u := helpscouttest.User{ID: agentID(i), FirstName: m.Name, LastName: "(sim)", Email: email(i, m.Name),
			Timezone: m.Timezone, Role: "user", CreatedAt: sc.Start}
		if i == 0 {
			u.Role = "owner"
		}
		if _, err := fake.AddUser(u); err != nil {
			return nil, fmt.Errorf("add user %s: %w", m.Name, err)
		}
	}
	l := &Live{fake: fake, clock: clock, opts: opts, mailbox: mb.ID, away: make([]bool, len(sc.Team))}
	pl := newPlan(&sc)
	l.w = newWorld(pl, r, nil, nil)
	l.w.fx = l
	l.convs = make([]int64, len(l.w.tickets))
	if byFake != nil {
		byFake.l, l.routed = l, make([]int64, len(l.w.tickets))
		var front []int64
		for _, a := range l.w.agents {
			if a.front {
				front = append(front, a.id)
			}
		}
		if err := fake.SetRouting(mb.ID, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
			AssignmentLimit: l.w.inbox.limit, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: front}); err != nil {
			return nil, fmt.Errorf("turn the fake's routing on: %w", err)
		}
	}
	return l, nil
}

// fakeRouter is LiveFakeRouting's router: it reports whom the fake's
// routing gave the ticket when it was created (Live.created), -1 when
// nobody, so the model takes the fake's choice instead of making its own.
type fakeRouter struct{ l *Live }

func (f *fakeRouter) route(w *world, t *ticket) int {
	id := f.l.routed[t.idx]
	if i := int(id - agentID(0)); id != 0 && i >= 0 && i < len(w.agents) {
		return i
	}
	return -1
}

// MailboxID is the fake mailbox the conversations arrive in.
func (l *Live) MailboxID() int64 { return l.mailbox }

// Roster is the team as the daemon's roster (design.md section 7): roles,
// levels, hours and time zones, matched by user id.
func (l *Live) Roster() (*roster.Roster, error) { return rosterFor(l.w.sc, false) }

// Run steps the model every Tick until ctx is done or the scenario ends
// (then it returns nil), or the fake rejects a write.
func (l *Live) Run(ctx context.Context) error {
	t := time.NewTicker(l.opts.Tick)
	defer t.Stop()
	for {
		done, err := l.Step()
		if err != nil || done {
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Step brings the model up to the clock: it first takes in assignments
// changed in the fake by someone else (the daemon), then plays the events
// up to now, writing their effects to the fake. It reports whether the
// scenario is over.
func (l *Live) Step() (done bool, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err != nil {
		return true, l.err
	}
	w := l.w
	now := min(l.clock.Now().Sub(w.sc.Start), w.sc.Duration)
	l.takeAssignments()
	w.runUntil(now)
	w.now = max(w.now, now)
	w.compactOpen()
	for i, a := range w.agents {
		if away := isAway(a.m, w.now); away != l.away[i] {
			st := "active"
			if away {
				st = "away"
			}
			l.fail(l.fake.SetUserStatus(a.id, st))
			l.away[i] = away
		}
	}
	return now >= w.sc.Duration || l.err != nil, l.err
}

// takeAssignments applies the fake's assignees to open tickets that differ
// from the model's: someone moved them.
func (l *Live) takeAssignments() {
	w := l.w
	for _, ti := range w.open {
		t := w.tickets[ti]
		id := l.convs[ti]
		if id == 0 || t.status == stClosed {
			continue
		}
		c, ok := l.fake.Conversation(id)
		if !ok {
			continue
		}
		to := -1
		if c.AssigneeID != 0 {
			to = int(c.AssigneeID - agentID(0))
			if to < 0 || to >= len(w.agents) {
				continue // not one of the simulated team
			}
		}
		if to != t.assignee && to >= 0 {
			w.reassign(t, to)
		}
	}
}

// Moves is how many reassignments the team has seen made from outside.
func (l *Live) Moves() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.moves
}

func (l *Live) fail(err error) {
	if err != nil && l.err == nil {
		l.err = err
	}
}

func (l *Live) at(d time.Duration) time.Time { return l.w.at(d) }

func (l *Live) created(t *ticket) {
	cu, err := l.fake.AddCustomer(helpscouttest.Customer{First: "Customer", Last: fmt.Sprint(t.idx + 1)})
	if err != nil {
		l.fail(fmt.Errorf("add customer: %w", err))
		return
	}
	subject := fmt.Sprintf("Question %d", t.idx+1)
	if t.hard {
		subject = fmt.Sprintf("Tricky problem %d", t.idx+1)
	}
	c, err := l.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: l.mailbox, CustomerID: cu.ID,
		Subject: subject, At: l.at(t.created)})
	if err != nil {
		l.fail(err)
		return
	}
	l.convs[t.idx] = c.ID
	if l.routed != nil {
		l.routed[t.idx] = c.AssigneeID
	}
}

func (l *Live) assigned(t *ticket, actor *agent) {
	var by int64
	if actor != nil {
		by = actor.id
	} else if l.routed != nil && l.routed[t.idx] == l.w.agents[t.assignee].id {
		return // the fake's routing made this assignment itself
	}
	l.fail(l.fake.Assign(l.convs[t.idx], by, l.w.agents[t.assignee].id, l.at(l.w.now)))
}

func (l *Live) replied(t *ticket, a *agent) {
	st := helpscouttest.StatusPending
	if t.status == stClosed {
		st = helpscouttest.StatusClosed
	}
	_, err := l.fake.AddAgentReply(l.convs[t.idx], helpscouttest.ThreadInput{UserID: a.id, Status: st,
		Body: fmt.Sprintf("<p>Reply %d of %d</p>", t.done, t.needed), At: l.at(l.w.now)})
	l.fail(err)
}

func (l *Live) answered(t *ticket) {
	_, err := l.fake.AddCustomerThread(l.convs[t.idx], helpscouttest.ThreadInput{
		Body: "<p>Thanks, but one more thing...</p>", At: l.at(l.w.now)})
	l.fail(err)
}
