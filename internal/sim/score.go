package sim

import (
	"cmp"
	"math"
	"slices"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// Result is one policy's scores on a scenario, the JSON of design.md
// section 10. Times are whole seconds; shares and ratios are rounded to
// three decimals so the output is stable and readable.
type Result struct {
	Policy                  string `json:"policy"`
	Conversations           int    `json:"conversations"`
	FirstResponseP50Seconds int64  `json:"first_response_p50_seconds"`
	FirstResponseP90Seconds int64  `json:"first_response_p90_seconds"`
	// FirstResponseMeanSeconds moves only when capacity is really gained
	// or lost: serving customers in another order changes who waits, not
	// how long they wait in total.
	FirstResponseMeanSeconds int64   `json:"first_response_mean_seconds"`
	ResolutionP50Seconds     int64   `json:"resolution_p50_seconds"`
	ResolutionP90Seconds     int64   `json:"resolution_p90_seconds"`
	WaitingOverStuckShare    float64 `json:"waiting_over_stuck_share"`
	ImbalanceRatioMean       float64 `json:"imbalance_ratio_mean"`
	JainMean                 float64 `json:"jain_mean"`
	MovesPer100              float64 `json:"moves_per_100"`
	// HandoutsPer100 and ReassignmentsPer100 split MovesPer100 (design.md
	// section 8): a hand-out gives a ticket nobody owns to someone, a
	// reassignment takes it from one person for another.
	HandoutsPer100      float64 `json:"handouts_per_100"`
	ReassignmentsPer100 float64 `json:"reassignments_per_100"`

	// Churn says where the moves and the Unassigned folder's tickets came
	// from. It is not in the JSON, whose keys design.md fixes; the table
	// prints it under the scores.
	Churn Churn `json:"-"`
	// Tail says who the slowest customers were. Not in the JSON either.
	Tail Tail `json:"-"`
}

// Tail describes the slowest tenth of the conversations by first response,
// those ranked above the 90th percentile: how many of them arrived while no
// st or sst was available. When nearly all did, the tail is a matter of who
// covers nights and weekends and of the order the backlog is served in
// (QW_BACKLOG), not of how work is shared among the people on shift.
type Tail struct {
	Slowest  int // conversations in the slowest tenth
	OffShift int // of them, arrived while no st or sst was available
}

// tailOf works out Tail from each conversation's first response time and
// whether it arrived while nobody was on shift. The slowest tenth are the
// ones the nearest-rank 90th percentile leaves above it; ties in time
// go to the later conversation (the higher index), so the count does not
// depend on sorting.
func tailOf(first []time.Duration, offShift []bool) Tail {
	n := len(first)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int {
		if c := cmp.Compare(first[a], first[b]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	within := team.Rank(n, 0.9) // ranks at or below the 90th percentile
	t := Tail{Slowest: n - within}
	for _, i := range order[within:] {
		if offShift[i] {
			t.OffShift++
		}
	}
	return t
}

// Churn breaks a run's moves down, because one figure hides the difference
// between handing a ticket nobody owns to someone and taking a ticket away
// from its owner.
type Churn struct {
	// ArrivedUnassigned counts the conversations that arrived while no st
	// or sst was available, so that routing left them in the Unassigned
	// folder. Availability is the same under every policy, so is this.
	ArrivedUnassigned int
	// Handouts are moves of a ticket out of the Unassigned folder to a
	// person (the balancer's unassigned rule). Every such ticket is
	// assigned once whatever the policy: by the balancer, or by whoever
	// takes it from the folder (SelfAssigned).
	Handouts int
	// Reassignments are moves of a ticket from one person to another (the
	// away, stuck and overload rules): the churn people feel.
	Reassignments int
	// SelfAssigned counts the tickets people took from the folder
	// themselves.
	SelfAssigned int
	// ByReason counts the balancer's moves by rule (queuewrangler only).
	ByReason map[string]int
	// RotationWrites counts the changes of the routing rotation the daemon
	// wrote (steer mode only), each one PUT.
	RotationWrites int
	// LostReplies counts replies abandoned because their ticket was moved
	// away while being written.
	LostReplies int
}

// sampleEvery is how often the fairness figures are sampled.
const sampleEvery = 5 * time.Minute

// fairness samples the team's fairness figures with the daemon's own
// conversion and balancer.Measure, the numbers /metrics would export. Its
// roster has no schedules: availability comes as Away status from the
// world, worked out from the same schedules (see observe).
type fairness struct {
	roster  *roster.Roster
	policy  balancer.Policy
	sumImb  float64
	sumJain float64
	n       int
}

func (f *fairness) interval() time.Duration { return sampleEvery }

// sample counts only moments when at least two front-line people are
// available and there is work: otherwise the figures are 1 by definition
// whatever the policy, and nights and weekends would dilute the means.
func (f *fairness) sample(w *world) {
	snap := team.SnapshotFrom(w.observe(f.policy.AssignmentWindow, true), f.roster, w.at(w.now))
	st := balancer.Measure(snap, f.policy)
	sharing := 0
	for _, a := range st.Agents {
		if a.FairShare > 0 {
			sharing++
		}
	}
	if sharing < 2 {
		return
	}
	f.sumImb += st.Imbalance
	f.sumJain += st.Jain
	f.n++
}

// score computes a policy's result once the run is over. A conversation
// still unanswered (or unresolved) at the end counts with its wait so far:
// a lower bound, which is kinder to whichever policy leaves more customers
// waiting, never harsher.
//
// Only the scored run counts (from on, after any warm-up): conversations
// created in it, and the moves and churn since before was tallied.
func score(policy string, w *world, f *fairness, from time.Duration, before tally) Result {
	end := w.sc.Duration
	var first, resolve []time.Duration
	var offShift []bool
	over := 0
	for _, t := range w.tickets {
		if t.created < from {
			continue
		}
		offShift = append(offShift, t.offShift)
		fr := t.firstReply
		if fr == never {
			fr = end
		}
		first = append(first, fr-t.created)
		cl := t.closed
		if cl == never {
			cl = end
		}
		resolve = append(resolve, cl-t.created)
		if t.overStuck || t.waiting && end-t.waitingSince > w.sc.StuckAfter {
			over++
		}
	}
	r := Result{Policy: policy, Conversations: len(first)}
	moves, handouts := w.moves-before.moves, w.handouts-before.handouts
	r.FirstResponseP50Seconds = seconds(percentile(first, 0.5))
	r.FirstResponseP90Seconds = seconds(percentile(first, 0.9))
	r.FirstResponseMeanSeconds = seconds(mean(first))
	r.Tail = tailOf(first, offShift)
	r.ResolutionP50Seconds = seconds(percentile(resolve, 0.5))
	r.ResolutionP90Seconds = seconds(percentile(resolve, 0.9))
	r.ImbalanceRatioMean, r.JainMean = 1, 1
	if f.n > 0 {
		r.ImbalanceRatioMean = round3(f.sumImb / float64(f.n))
		r.JainMean = round3(f.sumJain / float64(f.n))
	}
	if n := len(first); n > 0 {
		r.WaitingOverStuckShare = round3(float64(over) / float64(n))
		r.HandoutsPer100 = round3(float64(handouts) * 100 / float64(n))
		r.ReassignmentsPer100 = round3(float64(moves-handouts) * 100 / float64(n))
		// The sum of the rounded parts, so that the JSON adds up exactly.
		r.MovesPer100 = round3(r.HandoutsPer100 + r.ReassignmentsPer100)
	}
	r.Churn = Churn{ArrivedUnassigned: w.arrivedUnassigned - before.arrivedUnassigned, Handouts: handouts,
		Reassignments: moves - handouts, SelfAssigned: w.pulls - before.pulls,
		RotationWrites: w.inbox.writes - before.writes, LostReplies: w.abandon - before.abandon}
	return r
}

// mean is the arithmetic mean, 0 for no values.
func mean(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	var sum float64
	for _, x := range d {
		sum += float64(x)
	}
	return time.Duration(sum / float64(len(d)))
}

// percentile is the nearest-rank percentile: the smallest value with at
// least q of the values at or below it. 0 for no values.
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return team.Percentile(s, q)
}

func seconds(d time.Duration) int64 { return int64(math.Round(d.Seconds())) }

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
