package sim

import (
	"maps"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
)

// A warm-up gives the simulated daemon the history a daemon beside a real
// account has: weeks of replies from which it learns each agent's pace,
// and the queues last week left. Without one, every run starts with an
// empty mirror and empty queues, and the first day's paces rest on a
// handful of replies.
//
// The world plays the warm-up as the front of one longer run (played),
// with the clock's start moved back by the warm-up so that weekdays stay
// where they were, the same shifts and the same arrival process; surges
// and absences are the scored run's and keep their place in it. The
// scored run's customers and work are the very ones it has without a
// warm-up (newPlan), so a run with history and one without can be
// compared week by week; the warm-up's are drawn from streams of their
// own. Every policy plays the same warm-up; only what it does with it
// differs. Scores count only the scored run: conversations created in
// it, fairness samples taken in it, moves made in it.

// played returns the scenario the world plays, the warm-up and then sc,
// and the offset at which the scored run begins.
func (sc Scenario) played() (Scenario, time.Duration) {
	w := sc.Warmup
	if w <= 0 {
		return sc, 0
	}
	out := sc
	out.Warmup = 0
	out.Start = sc.Start.Add(-w)
	out.Duration = sc.Duration + w
	out.Arrivals.Surges = make([]Surge, len(sc.Arrivals.Surges))
	for i, s := range sc.Arrivals.Surges {
		out.Arrivals.Surges[i] = Surge{At: s.At + w, Until: s.Until + w, Factor: s.Factor}
	}
	out.Team = make([]Member, len(sc.Team))
	for i, m := range sc.Team {
		m.Away = make([]Absence, len(sc.Team[i].Away))
		for j, a := range sc.Team[i].Away {
			m.Away[j] = Absence{At: a.At + w, Until: a.Until + w}
		}
		out.Team[i] = m
	}
	return out, w
}

// tally is what the world has counted so far, taken when the scored run
// begins so that the scores count only what happens after.
type tally struct {
	moves, handouts, pulls, abandon, arrivedUnassigned, writes int
	reasons                                                    map[balancer.Reason]int
}

func tallyOf(w *world, reasons map[balancer.Reason]int) tally {
	return tally{moves: w.moves, handouts: w.handouts, pulls: w.pulls, abandon: w.abandon,
		arrivedUnassigned: w.arrivedUnassigned, writes: w.inbox.writes, reasons: maps.Clone(reasons)}
}

// playWarmup plays the world up to the scored run (every event before
// offset from), clears the fairness samples and returns the tally the
// scores subtract.
func playWarmup(w *world, f *fairness, reasons map[balancer.Reason]int, from time.Duration) tally {
	if from <= 0 {
		return tally{}
	}
	w.runUntil(from - 1)
	f.sumImb, f.sumJain, f.n = 0, 0, 0
	return tallyOf(w, reasons)
}
