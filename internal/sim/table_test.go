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
			JainMean: 0.8, MovesPer100: 0, Churn: Churn{ArrivedUnassigned: 4, SelfAssigned: 4}},
		{Policy: PolicyQueuewrangler, Conversations: 40, MovesPer100: 15,
			Churn: Churn{ArrivedUnassigned: 4, Handouts: 4, Reassignments: 2, ByReason: map[string]int{"unassigned": 4, "overload": 2},
				RotationWrites: 31, LostReplies: 1}},
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
moves/100 = hand-outs of folder tickets + reassignments (a ticket taken from one person for another):
  balanced       0.0 + 0.0   4 folder tickets taken by people
  queuewrangler  10.0 + 5.0  0 folder tickets taken by people; moves by rule: unassigned 4, away 0, stuck 0, overload 2; routing rotation written 31 times; replies lost to moves: 1
`
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}
