package balancer

import (
	"slices"
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
// conversation must get an owner. A conversation nobody can take gets no
// move and stays in the Unassigned folder. Under a policy that fails
// Validate it routes nothing.
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
		to, bonus, _ := pl.pickGeneral(c, Weight(*c, p))
		if to < 0 {
			continue
		}
		w := pl.waitsFor(ci, -1, to)
		pl.move(ci, -1, to, ReasonUnassigned, w, pl.explainHandout(c, -1, to, bonus, w))
	}
	return pl.moves
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
	if p.Validate() != nil {
		return nil
	}
	pl := newPlanner(newModel(s, p))
	var avail, staying []int32
	for i := range pl.agents {
		a := &pl.agents[i]
		if !a.shared() || !a.canOpen(mailbox) || !slices.Contains(ceiling, a.ag.ID) {
			continue
		}
		if a.ag.MaxOpen > 0 && a.open() >= a.ag.MaxOpen {
			continue
		}
		avail = append(avail, int32(i))
		if !pl.leaving(a) {
			staying = append(staying, int32(i))
		}
	}
	if len(avail) == 0 {
		return nil
	}
	pool := staying
	if len(pool) == 0 {
		pool = avail
	}
	soonest := NoEstimate
	for _, i := range pool {
		soonest = min(soonest, pl.endWait(&pl.agents[i]))
	}
	var first []int32
	for _, i := range pool {
		if pl.endWait(&pl.agents[i]) == soonest {
			first = append(first, i)
		}
	}
	_, fair := pl.fairUtil()
	lowest := pl.agents[first[0]].util(p)
	for _, i := range first {
		lowest = min(lowest, pl.agents[i].util(p))
	}
	var below, least []int64
	for _, i := range first {
		a := &pl.agents[i]
		if u := a.util(p); u < fair-marginSlack {
			below = append(below, a.ag.ID)
		} else if u <= lowest+marginSlack {
			least = append(least, a.ag.ID)
		}
	}
	if len(below) > 0 {
		return below // agents are in id order
	}
	return least
}

// marginSlack absorbs floating-point rounding when utilisations are
// compared, so that equal loads count as equal.
const marginSlack = 1e-9
