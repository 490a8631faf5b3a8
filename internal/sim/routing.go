package sim

// Help Scout's routing (helpscout-api.md section 15), as the world plays
// it: the inbox's configuration (who is in the rotation, the assignment
// limit) and the two methods. It knows nothing of queuewrangler; a
// wrangler changes the rotation only through setRotation, as a program
// does through PUT /v2/mailboxes/{id}/routing.

// inbox is the routing configuration Help Scout keeps for the inbox.
type inbox struct {
	// rotation holds, by agent index, whether the agent is in the
	// configuration's userIds. At the start it is the front line (st and
	// sst): the admin's set.
	rotation []bool
	limit    int  // the assignment limit
	drains   bool // whether routing assigns the Unassigned folder when someone becomes eligible
	// writes counts the changes of the rotation written (each a PUT).
	writes int
}

func newInbox(sc *Scenario, agents []*agent) inbox {
	in := inbox{rotation: make([]bool, len(agents)), limit: sc.Routing.AssignmentLimit, drains: sc.Routing.DrainsBacklog}
	if in.limit == 0 {
		in.limit = defaultAssignmentLimit
	}
	for _, a := range agents {
		in.rotation[a.idx] = a.front
	}
	return in
}

// eligible reports whether routing would pick the agent now: in the
// rotation, available (Help Scout's Active, which the model ties to being
// on shift and not away) and under the assignment limit.
func (w *world) eligible(a *agent) bool {
	return w.inbox.rotation[a.idx] && a.available && a.active < w.inbox.limit
}

// setRotation writes the rotation's userIds (by agent index). Help Scout
// refuses an empty rotation while routing is on (400); then nothing
// changes and it reports false. Writing the same set changes nothing.
func (w *world) setRotation(in []bool) bool {
	someone := false
	for _, on := range in {
		someone = someone || on
	}
	if !someone || len(in) != len(w.agents) {
		return false
	}
	same := true
	for i, on := range in {
		same = same && w.inbox.rotation[i] == on
	}
	if same {
		return true
	}
	copy(w.inbox.rotation, in)
	w.inbox.writes++
	w.drain()
	return true
}

// drain assigns the Unassigned folder, oldest first, while routing finds
// someone eligible, when the scenario says routing does that
// (Routing.DrainsBacklog). It is called wherever somebody may have become
// eligible again: on shift or Active, back under the limit, added to the
// rotation.
func (w *world) drain() {
	if !w.inbox.drains {
		return
	}
	for len(w.held) > 0 {
		t := w.tickets[w.held[0]]
		if t.assignee >= 0 || t.status == stClosed {
			w.held = w.held[1:]
			continue
		}
		to := w.router.route(w, t)
		if to < 0 {
			return
		}
		w.held = w.held[1:]
		w.assign(t, to)
	}
}

// router decides who gets a ticket routing assigns. It returns -1 when
// nobody is eligible: the ticket stays unassigned.
type router interface {
	route(w *world, t *ticket) int
}

// roundRobin is Help Scout's Round Robin routing: the next eligible person
// in alphabetical order.
type roundRobin struct {
	last int // rotation position of the last assignment, -1 before the first
}

func (r *roundRobin) route(w *world, _ *ticket) int {
	n := len(w.agents)
	byOrder := make([]int, n)
	for _, a := range w.agents {
		byOrder[a.order] = a.idx
	}
	for step := 1; step <= n; step++ {
		pos := (r.last + step) % n
		if a := w.agents[byOrder[pos]]; w.eligible(a) {
			r.last = pos
			return a.idx
		}
	}
	return -1
}

// fewestActive is Help Scout's Balanced routing: the eligible person with
// the fewest active assignments; ties go to whoever was assigned least
// recently, then alphabetically.
type fewestActive struct{}

func (fewestActive) route(w *world, _ *ticket) int {
	best := -1
	for _, a := range w.agents {
		if !w.eligible(a) {
			continue
		}
		if best < 0 {
			best = a.idx
			continue
		}
		b := w.agents[best]
		if a.active < b.active || a.active == b.active && (a.lastRoute < b.lastRoute || a.lastRoute == b.lastRoute && a.order < b.order) {
			best = a.idx
		}
	}
	return best
}

// routingOff is an inbox whose routing is disabled: every new conversation
// lands in the Unassigned folder.
type routingOff struct{}

func (routingOff) route(*world, *ticket) int { return -1 }
