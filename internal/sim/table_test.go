package sim

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReportWriteTable(t *testing.T) {
	sc := Scenario{Duration: 24 * time.Hour, StuckAfter: 4 * time.Hour, Team: make([]Member, 3)}
	rep := Report{Scenario: "one-day", Seed: 3, Results: []Result{
		{Policy: PolicyBalanced, Conversations: 40, FirstResponseP50Seconds: 1500, FirstResponseP90Seconds: 3*3600 + 5*60,
			ResolutionP50Seconds: 26 * 3600, ResolutionP90Seconds: 59, WaitingOverStuckShare: 0.125, ImbalanceRatioMean: 1.5,
			JainMean: 0.8, MovesPer100: 0, Churn: Churn{ArrivedUnassigned: 4, SelfAssigned: 4}, Tail: Tail{Slowest: 4, OffShift: 3}},
		{Policy: PolicyQueuewrangler, Conversations: 40, MovesPer100: 15,
			Churn: Churn{ArrivedUnassigned: 4, Handouts: 4, Reassignments: 2, ByReason: map[string]int{"unassigned": 4, "overload": 2},
				RotationWrites: 31, LostReplies: 1}, Tail: Tail{Slowest: 4, OffShift: 4}},
	}}
	var b strings.Builder
	if err := rep.WriteTable(&b, sc); err != nil {
		t.Fatal(err)
	}
	// Scores align right, the churn lines left; every rule of the balancer
	// is named, in its priority order, the ones that moved nothing too.
	want := `scenario one-day, seed 3: 24h0m0s simulated, 3 people, stuck after 4h0m0s

         policy  conversations  first response p50    p90  resolution p50  p90  waiting > stuck  imbalance  Jain  moves/100
       balanced             40                 25m  3h05m          26h00m   0m            12.5%       1.50  0.80        0.0
  queuewrangler             40                  0m     0m              0m   0m             0.0%       0.00  0.00       15.0

imbalance: max ÷ mean utilisation over available agents (1 is perfect); Jain: 1 is perfect.

Unassigned folder: 4 of 40 conversations (10.0 per 100) arrived while no st or sst was available.
Of the slowest tenth by first response, arrived while no st or sst was available: balanced 3 of 4, queuewrangler 4 of 4.
moves/100 = hand-outs of folder tickets + reassignments (a ticket taken from one person for another):
  balanced       0.0 + 0.0   4 folder tickets taken by people
  queuewrangler  10.0 + 5.0  0 folder tickets taken by people; moves by rule: unassigned 4, away 0, stuck 0, overload 2; routing rotation written 31 times; replies lost to moves: 1
`
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

// The slowest tenth are the ones above the nearest-rank 90th percentile;
// a tie at the boundary goes to the later conversation.
func TestTailOf(t *testing.T) {
	m := time.Minute
	tests := []struct {
		name     string
		first    []time.Duration
		offShift []bool
		want     Tail
	}{
		{"none", nil, nil, Tail{}},
		{"fewer than ten: nobody above the 90th", []time.Duration{m, 2 * m, 3 * m}, []bool{true, true, true}, Tail{}},
		{"ten: the slowest one", []time.Duration{9 * m, m, m, m, m, m, m, m, m, m},
			[]bool{true, false, false, false, false, false, false, false, false, false}, Tail{Slowest: 1, OffShift: 1}},
		{"the slowest arrived on shift", []time.Duration{9 * m, m, m, m, m, m, m, m, m, m},
			[]bool{false, true, true, true, true, true, true, true, true, true}, Tail{Slowest: 1}},
		{"a tie at the boundary goes to the later one", []time.Duration{5 * m, m, m, m, m, m, m, m, m, 5 * m},
			[]bool{true, false, false, false, false, false, false, false, false, false}, Tail{Slowest: 1}},
		{"twenty: the two slowest", []time.Duration{m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, m, 7 * m, 8 * m},
			[]bool{true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, true, false},
			Tail{Slowest: 2, OffShift: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tailOf(tt.first, tt.offShift); got != tt.want {
				t.Errorf("tailOf = %+v, want %+v", got, tt.want)
			}
		})
	}
}
