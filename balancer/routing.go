package balancer

import (
	"slices"
	"time"
)

// Route assigns new conversations nobody owns yet, for QW_ROUTING=own
// (design.md section 8): each listed conversation that is active,
// unassigned and not protected by a never-move rule goes to the available
// front-line agent who ranks best for it, exactly as rule 1 picks (the
// shortest expected wait for a customer joining their queue, then the
// lowest utilisation after taking it, the previous agent's bonus
// included), oldest waiting first, each applied before the next is
// decided. The never-target rules hold (availability, ShiftEndMargin,
// MaxOpen, mailbox access); the per-run and per-window caps and the
// backlog setting do not, because they limit rebalancing and a new
// conversation must get an owner. When nobody stays on shift,
// ShiftEndMargin gives way: the last people on shift take it, unless
// someone coming on shift later would answer sooner (lastOnShift), as
// Rotation never empties the rotation while someone is available and as
// Help Scout's routing gives it to whoever is still Active. A conversation
// nobody can take gets no move and stays in the Unassigned folder. Under
// a policy that fails Validate it routes nothing.
func Route(s Snapshot, p Policy, ids ...int64) []Move {
	if p.Validate() != nil || len(ids) == 0 {
		return nil
	}
	pl := newPlanner(newModel(s, p))
	pl.routing = true
	var list []int32
	for _, ci := range pl.queue {
		if slices.Contains(ids, pl.convs[ci].ID) {
			list = append(list, ci)
		}
	}
	pl.sortByWait(list)
	for _, ci := range list {
		c := &pl.convs[ci]
		to, bonus, _ := pl.pickGeneral(c, weight(*c, p))
		var w waits
		if to >= 0 {
			w = pl.waitsFor(ci, -1, to)
		} else if to, bonus, w = pl.lastOnShift(ci); to < 0 {
			continue
		}
		pl.move(ci, -1, to, ReasonUnassigned, w, pl.explainHandout(c, -1, to, bonus, w))
	}
	return pl.moves
}

// lastOnShift is Route's last resort, when nobody but people about to
// leave could take conversation ci: of those, the one who ranks best,
// unless someone coming on shift later would answer the customer sooner
// (-1 then). ShiftEndMargin keeps new work from someone about to leave
// while someone else stays. When nobody stays, the last person on shift
// answers the customer now, or first thing on their next shift when their
// queue is longer than what is left of this one: in their queue the
// customer is answered in turn by age, as under Help Scout's routing,
// while in the Unassigned folder they wait for a moment when someone has
// nothing else waiting, which a team with more work than time (every
// queue longer than the afternoon) never has. What someone coming on
// shift sooner would answer sooner (a whole team buried until the
// afternoon shift arrives, the night shift taking over) stays in the
// folder for them. w are the waits the choice rests on, for the move.
func (pl *planner) lastOnShift(ci int32) (to int32, bonus bool, w waits) {
	c := &pl.convs[ci]
	pl.lastShift = true
	to, bonus, _ = pl.pickGeneral(c, weight(*c, pl.p))
	pl.lastShift = false
	if to < 0 {
		return -1, false, w
	}
	w = pl.waitsFor(ci, -1, to)
	if w.target >= pl.soonestBack(ci) {
		return -1, false, w
	}
	return to, bonus, w
}

// soonestBack is the shortest expected wait of customer ci with a
// front-line agent who is off shift with a known return and could take
// it then (NoEstimate when nobody is).
func (pl *planner) soonestBack(ci int32) time.Duration {
	c := &pl.convs[ci]
	soonest := NoEstimate
	for i := range pl.agents {
		a := &pl.agents[i]
		if a.available || a.kind != kindPool || a.ag.BackAt.IsZero() || !a.canOpen(c.MailboxID) || a.atMaxOpen() {
			continue
		}
		soonest = min(soonest, pl.waitsFor(ci, -1, int32(i)).target)
	}
	return soonest
}

// Rotation says who should be in mailbox's routing rotation, for
// QW_ROUTING=steer (design.md section 8). Help Scout's routing counts
// tickets and knows nothing of capacity, pace, shifts or backlogs, so the
// rotation is kept to the people the balancer would have chosen, and
// routing's next assignment is then one that nobody needs to undo. Of
// ceiling (the admin's set): the available front-line agents who can open
// the mailbox and take more work (MaxOpen) and are not about to leave (a
// customer joining their queue now could be started ShiftEndMargin
// before their shift ends); of those, the ones who would answer a new
// customer soonest (the shortest expected wait for a customer joining
// the end of their queue: everyone idle, when anyone is); and of those,
// the ones below their capacity-weighted fair share, or, when none is,
// the least utilised.
//
// It never returns an empty rotation while someone of the ceiling is
// available: when everyone available is about to leave, it chooses among
// them. It returns nil when nobody of the ceiling is available, for the
// caller to keep the rotation it has (Help Scout refuses an empty one).
// The ids are sorted. Under a policy that fails Validate it returns nil.
func Rotation(s Snapshot, p Policy, mailbox int64, ceiling []int64) []int64 {
	var in []int64
	for _, c := range RotationChoices(s, p, mailbox, ceiling) {
		if c.Why == RotationIn {
			in = append(in, c.AgentID)
		}
	}
	return in
}

// RotationWhy says why Rotation put someone of the ceiling in the
// rotation or left them out, for the page and the audit log.
type RotationWhy string

// Why someone of the ceiling is in the rotation or not, in the order
// Rotation applies its rules: the first rule that leaves someone out is
// the one named.
const (
	// RotationIn: in the rotation.
	RotationIn RotationWhy = "in"
	// RotationNotFrontLine: not an ST or SST the balancer counts (the HoS,
	// excluded, unknown to the snapshot, or listed twice).
	RotationNotFrontLine RotationWhy = "not_front_line"
	// RotationNoAccess: cannot open the mailbox.
	RotationNoAccess RotationWhy = "no_access"
	// RotationAway: Away in Help Scout, or unavailable with no known
	// return (Agent.BackAt zero).
	RotationAway RotationWhy = "away"
	// RotationOffShift: off shift, back at Agent.BackAt.
	RotationOffShift RotationWhy = "off_shift"
	// RotationAtMaxOpen: holds MaxOpen open tickets already.
	RotationAtMaxOpen RotationWhy = "at_max_open"
	// RotationLeaving: a customer joining their queue now could not be
	// started Policy.ShiftEndMargin before their shift ends, while someone
	// else stays.
	RotationLeaving RotationWhy = "leaving"
	// RotationLongerWait: someone else would answer a new customer sooner.
	RotationLongerWait RotationWhy = "longer_wait"
	// RotationAboveShare: as soon to answer as those in the rotation, but
	// at or above their capacity-weighted fair share (or, when nobody is
	// below it, more utilised than the least utilised).
	RotationAboveShare RotationWhy = "above_share"
)

// RotationChoice is Rotation's decision about one person of the ceiling.
type RotationChoice struct {
	AgentID int64
	Why     RotationWhy
	// Wait is the expected wait of a customer joining the end of their
	// queue now, for RotationIn, RotationLongerWait and RotationAboveShare;
	// 0 otherwise.
	Wait time.Duration
	// Utilisation is their load ÷ capacity and FairUtilisation the team's
	// fair utilisation, for the same three.
	Utilisation, FairUtilisation float64
}

// RotationChoices is Rotation with the reason for every person of the
// ceiling, one choice each, in id order. Those Rotation returns are
// RotationIn; when it returns nil (nobody of the ceiling available), no
// choice is RotationIn. Under a policy that fails Validate it returns nil.
func RotationChoices(s Snapshot, p Policy, mailbox int64, ceiling []int64) []RotationChoice {
	if p.Validate() != nil {
		return nil
	}
	pl := newPlanner(newModel(s, p))
	ids := slices.Clone(ceiling)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make([]RotationChoice, 0, len(ids))
	at := map[int64]int{} // agent index of each candidate's choice
	var avail, staying []int32
	for _, id := range ids {
		c := RotationChoice{AgentID: id}
		i, known := pl.index[id]
		switch {
		case !known || pl.agents[i].kind != kindPool:
			c.Why = RotationNotFrontLine
		case !pl.agents[i].canOpen(mailbox):
			c.Why = RotationNoAccess
		case !pl.agents[i].available && pl.agents[i].ag.BackAt.IsZero():
			c.Why = RotationAway
		case !pl.agents[i].available:
			c.Why = RotationOffShift
		case pl.agents[i].atMaxOpen():
			c.Why = RotationAtMaxOpen
		default:
			avail = append(avail, i)
			if !pl.leaving(&pl.agents[i]) {
				staying = append(staying, i)
			}
		}
		at[id] = len(out)
		out = append(out, c)
	}
	if len(avail) == 0 {
		return out
	}
	pool := staying
	if len(pool) == 0 {
		pool = avail // everyone available is about to leave: choose among them
	} else {
		for _, i := range avail {
			if !slices.Contains(staying, i) {
				out[at[pl.agents[i].ag.ID]].Why = RotationLeaving
			}
		}
	}
	soonest := NoEstimate
	for _, i := range pool {
		soonest = min(soonest, pl.endWait(&pl.agents[i]))
	}
	_, fair := pl.fairUtil()
	var first []int32
	for _, i := range pool {
		a := &pl.agents[i]
		c := &out[at[a.ag.ID]]
		c.Wait, c.Utilisation, c.FairUtilisation = pl.endWait(a), a.util(p), fair
		if c.Wait == soonest {
			first = append(first, i)
		} else {
			c.Why = RotationLongerWait
		}
	}
	lowest := pl.agents[first[0]].util(p)
	for _, i := range first {
		lowest = min(lowest, pl.agents[i].util(p))
	}
	anyBelow := false
	for _, i := range first {
		if pl.agents[i].util(p) < fair-marginSlack {
			anyBelow = true
		}
	}
	for _, i := range first {
		a := &pl.agents[i]
		u := a.util(p)
		out[at[a.ag.ID]].Why = RotationAboveShare
		if u < fair-marginSlack || !anyBelow && u <= lowest+marginSlack {
			out[at[a.ag.ID]].Why = RotationIn
		}
	}
	return out
}

// marginSlack absorbs floating-point rounding when utilisations are
// compared, so that equal loads count as equal.
const marginSlack = 1e-9
