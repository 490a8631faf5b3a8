package sim

import (
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/team"
)

// TestDaemonLearnsPaceFromTheWorld: the simulated mirror holds the replies
// the world's agents sent, so the daemon's own conversion learns each
// agent's pace from them, as it would from Help Scout. Two people of the
// same level, one four times as fast, both busy all shift: after a working
// day their paces are still held near the level's prior; after three they
// clearly part, the fast one ahead.
func TestDaemonLearnsPaceFromTheWorld(t *testing.T) {
	flat := make([]float64, 24)
	for i := range flat {
		flat[i] = 1
	}
	hours := "Mon-Fri 09:00-17:00"
	sc := Scenario{
		Name: "pace", Seed: 3, Start: defaultStart, Duration: 72 * time.Hour, StuckAfter: 4 * time.Hour, BalanceInterval: 5 * time.Minute,
		Team: []Member{
			{Name: "Fast", Role: "st", Level: 2, Speed: 2, Hours: hours, Timezone: "UTC"},
			{Name: "Slow", Role: "st", Level: 2, Speed: 0.5, Hours: hours, Timezone: "UTC"},
		},
		Arrivals: Arrivals{PerHour: 20, HourlyProfile: flat, WeekendFactor: 1},
		Work:     Work{RepliesToResolveMean: 1, HandleMinutesMean: 10, CustomerReplyMinutesMean: 60, HardFactor: 1},
	}
	ros, err := rosterFor(&sc, false)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(newPlan(&sc), fewestActive{}, nil, nil)
	paceAt := func(at time.Duration) (fast, slow float64) {
		t.Helper()
		w.runUntil(at)
		w.now = at
		s := w.observe(time.Hour, false)
		if first := w.at(min(w.agents[0].sent[0], w.agents[1].sent[0])); !s.RepliesSince.Equal(first) {
			t.Errorf("at %v: replies counted since %v, want the run's first reply at %v", at, s.RepliesSince, first)
		}
		for _, a := range w.agents {
			if s.Replies[a.id] != len(a.sent) {
				t.Errorf("at %v: %s sent %d replies, the mirror shows %d", at, a.m.Name, len(a.sent), s.Replies[a.id])
			}
		}
		snap := team.SnapshotFrom(s, ros, w.at(w.now))
		return snap.Agents[0].Pace, snap.Agents[1].Pace
	}
	// Raw, the fast one sends four times as many replies. Eight hours of
	// history against the prior's sixteen pull both towards the team's
	// rate; three working days let the difference show.
	fast1, slow1 := paceAt(17 * time.Hour) // Monday's shift over
	if fast1 <= slow1 || fast1 > 2*slow1 {
		t.Errorf("after one day: paces %.2f and %.2f, want the fast one ahead, by less than twice (thin history)", fast1, slow1)
	}
	fast3, slow3 := paceAt(65 * time.Hour) // Wednesday's shift over
	if fast3 < 2*slow3 || fast3/slow3 <= fast1/slow1 {
		t.Errorf("after three days: paces %.2f and %.2f, want the fast one at least twice the slow one, and further apart than after one day (%.2f, %.2f)",
			fast3, slow3, fast1, slow1)
	}
}
