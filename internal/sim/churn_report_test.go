package sim

import (
	"encoding/json"
	"fmt"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
)

// TestChurnReport is a diagnostic, not a check: it prints, per built-in
// scenario and seed, the balanced and queuewrangler scores together with the
// queuewrangler moves by rule, and the reassignments (moves of a ticket that
// already had an owner, so every rule but unassigned) per 100
// conversations. moves_per_100 counts every move, including handing out an
// unassigned ticket; whether that should count is a definition question, so
// the report shows both. It runs only with QW_CHURN_REPORT=1 (a simulated
// week per scenario and seed is too slow for every test run); the seeds are
// the scenario's own plus QW_CHURN_SEEDS extra ones, 1..n (default 0).
// QW_CHURN_POLICY, a JSON object of balancer.Policy fields, overrides the
// daemon's default policy, to compare candidate defaults without editing
// them; the world and the scores are the same code either way.
func TestChurnReport(t *testing.T) {
	if os.Getenv("QW_CHURN_REPORT") != "1" {
		t.Skip("diagnostic: set QW_CHURN_REPORT=1 to print the churn report")
	}
	extra, _ := strconv.Atoi(os.Getenv("QW_CHURN_SEEDS"))
	tweak := os.Getenv("QW_CHURN_POLICY")
	type line struct {
		Scenario            string         `json:"scenario"`
		Seed                int64          `json:"seed"`
		Balanced            Result         `json:"balanced"`
		Queuewrangler       Result         `json:"queuewrangler"`
		ByRule              map[string]int `json:"by_rule"`
		ReassignmentsPer100 float64        `json:"reassignments_per_100"`
	}
	for _, name := range BuiltinNames() {
		base := builtin(t, name)
		seeds := []int64{base.Seed}
		for s := int64(1); s <= int64(extra); s++ {
			seeds = append(seeds, s)
		}
		for _, seed := range seeds {
			sc := base
			sc.Seed = seed
			ros, err := rosterFor(&sc, false)
			if err != nil {
				t.Fatal(err)
			}
			flat, err := rosterFor(&sc, true)
			if err != nil {
				t.Fatal(err)
			}
			pl := newPlan(&sc)
			bal := runPolicy(pl, ros, flat, PolicyBalanced)
			qw := runPolicy(pl, ros, flat, PolicyQueuewrangler)
			if tweak != "" {
				qw = runTweaked(t, pl, ros, flat, tweak)
			}
			l := line{Scenario: name, Seed: seed, Balanced: bal.Result, Queuewrangler: qw.Result, ByRule: map[string]int{}}
			re := 0
			for r, n := range qw.reasons {
				l.ByRule[string(r)] = n
				if r != balancer.ReasonUnassigned {
					re += n
				}
			}
			if c := qw.Conversations; c > 0 {
				l.ReassignmentsPer100 = float64(re) * 100 / float64(c)
			}
			b, err := json.Marshal(l)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("CHURN %s", b)
		}
	}
}

// runTweaked is runPolicy for the queuewrangler policy with the daemon's
// policy overridden by a JSON object of balancer.Policy fields.
func runTweaked(t *testing.T, pl *plan, ros, flat *roster.Roster, tweak string) run {
	t.Helper()
	measure := balancer.DefaultPolicy()
	measure.StuckAfter = pl.sc.StuckAfter
	f := &fairness{roster: flat, policy: measure}
	d := newDaemon(pl.sc, ros)
	if err := json.Unmarshal([]byte(tweak), &d.policy); err != nil {
		t.Fatalf("QW_CHURN_POLICY: %v", err)
	}
	if err := d.policy.Validate(); err != nil {
		t.Fatalf("QW_CHURN_POLICY: %v", err)
	}
	w := newWorld(pl, fewestActive{}, d, f)
	w.run()
	return run{Result: score(PolicyQueuewrangler, w, f), world: w, reasons: d.reasons}
}

// awayProbe is the daemon with a log: for every away move it records how
// long the customer had waited, how long until the owner's next shift, and
// the hour of the day, to see which hand-overs make up the churn.
type awayProbe struct {
	*daemon
	lines []string
}

func (a *awayProbe) wrangle(w *world) []reassignment {
	snap := team.SnapshotFrom(w.observe(a.policy.AssignmentWindow, false), a.roster, w.at(w.now))
	res := balancer.Plan(snap, a.policy)
	back := map[int64]time.Time{}
	for _, ag := range snap.Agents {
		back[ag.ID] = ag.BackAt
	}
	out := make([]reassignment, 0, len(res.Moves))
	for _, m := range res.Moves {
		a.reasons[m.Reason]++
		if left := a.shiftLeft(w, int(m.To-agentID(0)), snap.Now); left < 2*time.Hour {
			a.lines = append(a.lines, fmt.Sprintf("LEAVING reason=%s left=%.2fh", m.Reason, left.Hours()))
		}
		if m.Reason == balancer.ReasonAway {
			bi := time.Duration(-1)
			if b := back[m.From]; !b.IsZero() {
				bi = b.Sub(snap.Now)
			}
			a.lines = append(a.lines, fmt.Sprintf("hour=%02d waited=%.1fh back_in=%.1fh", snap.Now.Hour(), m.WaitingFor.Hours(), bi.Hours()))
		}
		out = append(out, reassignment{ticket: int(m.ConversationID - ticketID(0)), to: int(m.To - agentID(0))})
	}
	return out
}

// TestAwayProbe is a diagnostic like TestChurnReport (QW_CHURN_REPORT=1):
// it logs every away move of one built-in scenario (QW_PROBE_SCENARIO,
// default monday-surge) with the hour, the customer's wait and the time
// until the owner's next shift, and every move into someone whose shift
// ends within two hours.
func TestAwayProbe(t *testing.T) {
	if os.Getenv("QW_CHURN_REPORT") != "1" {
		t.Skip("diagnostic: set QW_CHURN_REPORT=1")
	}
	name := os.Getenv("QW_PROBE_SCENARIO")
	if name == "" {
		name = "monday-surge"
	}
	sc := builtin(t, name)
	ros, err := rosterFor(&sc, false)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := rosterFor(&sc, true)
	if err != nil {
		t.Fatal(err)
	}
	pl := newPlan(&sc)
	measure := balancer.DefaultPolicy()
	measure.StuckAfter = pl.sc.StuckAfter
	f := &fairness{roster: flat, policy: measure}
	p := &awayProbe{daemon: newDaemon(pl.sc, ros)}
	w := newWorld(pl, fewestActive{}, p, f)
	w.run()
	for _, l := range p.lines {
		t.Log("AWAY " + l)
	}
	t.Logf("reasons %v", p.reasons)
}

// shiftLeft is how long team member i stays on shift after now, by the
// roster's hours (up to 12h; 12h for someone without hours).
func (a *awayProbe) shiftLeft(w *world, i int, now time.Time) time.Duration {
	m := w.sc.Team[i]
	if m.Hours == "" {
		return 12 * time.Hour
	}
	sched, _ := roster.ParseSchedule(m.Hours)
	loc := time.UTC
	if m.Timezone != "" {
		if l, err := time.LoadLocation(m.Timezone); err == nil {
			loc = l
		}
	}
	for d := time.Duration(0); d < 12*time.Hour; d += 5 * time.Minute {
		if on, _ := sched.OnShift(now.Add(d), loc); !on {
			return d
		}
	}
	return 12 * time.Hour
}
