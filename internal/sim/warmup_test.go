package sim

import (
	"errors"
	"flag"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
)

// onAt reports whether a member is available at offset t by their
// precomputed availability changes.
func onAt(changes []change, t time.Duration) bool {
	on := false
	for _, c := range changes {
		if c.at > t {
			break
		}
		on = c.on
	}
	return on
}

func TestWarmupPlaysTheSameWeekAfterAnOrdinaryOne(t *testing.T) {
	sc := builtin(t, "vacation")
	away := slices.IndexFunc(sc.Team, func(m Member) bool { return len(m.Away) > 0 })
	if away < 0 || sc.Team[away].Away[0].At != 24*time.Hour {
		t.Fatalf("vacation has nobody away from 24h (team %+v); the check needs someone", sc.Team)
	}
	sc.Arrivals.Surges = []Surge{{At: 8 * time.Hour, Until: 14 * time.Hour, Factor: 3}}
	sc.Warmup = 7 * 24 * time.Hour
	played, from := sc.played()

	if from != sc.Warmup || played.Duration != sc.Duration+sc.Warmup || played.Warmup != 0 {
		t.Fatalf("scored from %v, played %v with warm-up %v; want from %v, %v, none", from, played.Duration, played.Warmup, sc.Warmup, sc.Duration+sc.Warmup)
	}
	if played.Start.Weekday() != sc.Start.Weekday() || !played.Start.Add(from).Equal(sc.Start) {
		t.Errorf("played from %v (%v), scored week from %v (%v)", played.Start, played.Start.Weekday(), sc.Start, sc.Start.Weekday())
	}
	if sc.Arrivals.Surges[0].At != 8*time.Hour || sc.Team[away].Away[0].At != 24*time.Hour {
		t.Errorf("played changed the scenario it came from: surge at %v, absence at %v", sc.Arrivals.Surges[0].At, sc.Team[away].Away[0].At)
	}
	// The scored week is the scenario's week: the same rates and the same
	// availability at the same offsets from its start.
	for h := time.Duration(0); h < sc.Duration; h += 30 * time.Minute {
		if a, b := rateAt(&sc, h), rateAt(&played, h+from); a != b {
			t.Fatalf("arrival rate at %v: %g in the scenario, %g in the scored week", h, a, b)
		}
	}
	orig, warm := availability(&sc), availability(&played)
	for i, m := range sc.Team {
		for tm := time.Duration(0); tm < sc.Duration; tm += 15 * time.Minute {
			if a, b := onAt(orig[i], tm), onAt(warm[i], tm+from); a != b {
				t.Fatalf("%s at %v: available %v in the scenario, %v in the scored week", m.Name, tm, a, b)
			}
		}
	}
	// The warm-up week is an ordinary one: nobody away, no surge.
	if math.Abs(rateAt(&played, 10*time.Hour)-rateAt(&sc, 10*time.Hour)/3) > 1e-9 {
		t.Errorf("the warm-up's Monday 10:00 rate is %g, want the surge's %g without it", rateAt(&played, 10*time.Hour), rateAt(&sc, 10*time.Hour))
	}
	if _, ok := awaySince(played.Team[away], 48*time.Hour); ok {
		t.Errorf("%s is away in the warm-up", played.Team[away].Name)
	}
}

// With or without a warm-up, the scored week has the very same customers
// and work, so that the two can be compared seed by seed.
func TestWarmupKeepsTheScoredWeeksCustomers(t *testing.T) {
	sc := builtin(t, "monday-surge")
	week := newPlan(&sc).arrivals
	sc.Warmup = 7 * 24 * time.Hour
	pl := newPlan(&sc)
	split := slices.IndexFunc(pl.arrivals, func(a arrival) bool { return a.at >= pl.scoredFrom })
	if split <= 0 || len(pl.arrivals)-split != len(week) {
		t.Fatalf("%d arrivals in the warm-up and %d after it; %d in the week without one", split, len(pl.arrivals)-max(split, 0), len(week))
	}
	for i, a := range week {
		b := pl.arrivals[split+i]
		if b.at-pl.scoredFrom != a.at || b.hard != a.hard || !slices.Equal(b.handle, a.handle) || !slices.Equal(b.answer, a.answer) {
			t.Fatalf("customer %d: %+v in the scored week, %+v without a warm-up", i, b, a)
		}
	}
	// The warm-up is a week of its own, not the scored week again.
	if pl.arrivals[0].at == week[0].at && slices.Equal(pl.arrivals[0].handle, week[0].handle) {
		t.Errorf("the warm-up begins with the scored week's first customer: %+v", week[0])
	}
}

func TestWarmupScoresOnlyTheScoredRun(t *testing.T) {
	sc := builtin(t, "stuck-junior")
	sc.Warmup = 72 * time.Hour // from Friday: a working day, then the weekend
	from := sc.Warmup
	conversations := -1
	for _, p := range Policies() {
		t.Run(p, func(t *testing.T) {
			r := runOne(t, sc, p)
			w := r.world
			var first []time.Duration
			for _, tk := range w.tickets {
				if tk.created >= from {
					fr := tk.firstReply
					if fr == never {
						fr = w.sc.Duration
					}
					first = append(first, fr-tk.created)
				}
			}
			if len(first) == len(w.tickets) || len(first) == 0 {
				t.Fatalf("%d of %d conversations in the scored run; the check needs some on each side", len(first), len(w.tickets))
			}
			if r.Conversations != len(first) {
				t.Errorf("%d conversations scored, %d created in the scored run", r.Conversations, len(first))
			}
			// Every policy plays the same warm-up and the same week.
			if conversations >= 0 && r.Conversations != conversations {
				t.Errorf("%d conversations, %d under the first policy", r.Conversations, conversations)
			}
			conversations = r.Conversations
			if got, want := r.FirstResponseP50Seconds, seconds(percentile(first, 0.5)); got != want {
				t.Errorf("first response p50 %ds, %ds over the scored run's conversations", got, want)
			}
			if got, want := r.FirstResponseMeanSeconds, seconds(mean(first)); got != want {
				t.Errorf("first response mean %ds, %ds over the scored run's conversations", got, want)
			}
			if p != PolicyQueuewrangler && p != PolicyQueuewranglerOwn {
				return
			}
			scored := 0
			for _, m := range w.moveLog {
				if m.at >= from {
					scored++
				}
			}
			if scored == len(w.moveLog) {
				t.Fatalf("all %d moves in the scored run; the check needs some in the warm-up", scored)
			}
			if c := r.Churn; c.Handouts+c.Reassignments != scored {
				t.Errorf("hand-outs %d + reassignments %d, %d moves in the scored run (%d in all)", c.Handouts, c.Reassignments, scored, len(w.moveLog))
			}
			byRule := 0
			for _, n := range r.Churn.ByReason {
				byRule += n
			}
			if byRule != scored {
				t.Errorf("%d moves by rule %v, %d moves in the scored run", byRule, r.Churn.ByReason, scored)
			}
		})
	}
}

// The fairness figures are sampled in the scored run only: the warm-up's
// samples are dropped when it ends.
func TestWarmupDropsTheWarmupsFairnessSamples(t *testing.T) {
	sc := builtin(t, "small-team-week")
	sc.Warmup = 72 * time.Hour // from Friday: a working day, then the weekend
	pl := newPlan(&sc)
	flat, err := rosterFor(&sc, true)
	if err != nil {
		t.Fatal(err)
	}
	play := func(warmup bool) (inWarmup, inAll int) {
		measure := balancer.DefaultPolicy()
		measure.StuckAfter = sc.StuckAfter
		f := &fairness{roster: flat, policy: measure}
		w := newWorld(pl, fewestActive{}, nil, f)
		if warmup {
			playWarmup(w, f, nil, pl.scoredFrom)
			if w.now >= pl.scoredFrom || w.q[0].at < pl.scoredFrom {
				t.Fatalf("the warm-up stopped at %v with an event at %v; the scored run begins at %v", w.now, w.q[0].at, pl.scoredFrom)
			}
		} else {
			w.runUntil(pl.scoredFrom - 1)
		}
		inWarmup = f.n
		w.run()
		return inWarmup, f.n
	}
	if n, _ := play(true); n != 0 {
		t.Errorf("%d samples kept after the warm-up", n)
	}
	_, scored := play(true)
	warm, all := play(false)
	if warm == 0 || scored != all-warm {
		t.Errorf("%d samples counted; %d in all, %d of them in the warm-up", scored, all, warm)
	}
}

func TestWarmupIsValidated(t *testing.T) {
	for _, tt := range []struct {
		warmup time.Duration
		ok     bool
	}{{0, true}, {7 * 24 * time.Hour, true}, {-time.Hour, false}, {maxDuration, false}} {
		sc := builtin(t, "small-team-week")
		sc.Warmup = tt.warmup
		err := sc.Validate()
		if (err == nil) != tt.ok || err != nil && !strings.Contains(err.Error(), "warmup") {
			t.Errorf("warm-up %v: %v, want ok %v", tt.warmup, err, tt.ok)
		}
	}
}

func TestSimulateWarmupFlag(t *testing.T) {
	prepare := func(args ...string) (*Command, error) {
		var c Command
		fs := flag.NewFlagSet("simulate", flag.ContinueOnError)
		c.AddFlags(fs)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return &c, c.Prepare()
	}
	c, err := prepare("--scenario", "stuck-junior,vacation", "--seeds", "1", "--warmup", "168h")
	if err != nil {
		t.Fatal(err)
	}
	if i := slices.IndexFunc(c.scenarios, func(sc Scenario) bool { return sc.Warmup != 7*24*time.Hour }); i >= 0 {
		t.Errorf("%s has warm-up %v, want 168h", c.scenarios[i].Name, c.scenarios[i].Warmup)
	}
	_, err = prepare("--warmup", "-1h", "--policies", "nobody")
	var ue *UsageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--warmup") || !strings.Contains(err.Error(), "--policies") {
		t.Errorf("a negative warm-up and a bad policy: %v, want both in one usage error", err)
	}
}
