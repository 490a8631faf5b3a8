package rebalance

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

var dryRunResult = balancer.Result{
	Moves: []balancer.Move{
		{ConversationID: 501, Number: 41, From: 0, To: 7, Reason: balancer.ReasonUnassigned, WaitingFor: 90*time.Minute + 20*time.Second, Explanation: "nobody owns it"},
		{ConversationID: 502, Number: 42, From: 8, To: 7, Reason: balancer.ReasonOverload, Explanation: "Bo holds 14"},
	},
	Flags:    []balancer.Flag{{ConversationID: 503, Number: 43, AgentID: 9, Reason: balancer.ReasonStuck, WaitingFor: 5 * time.Hour, Explanation: " stuck with an SST \n"}},
	NoSenior: []balancer.Flag{{ConversationID: 504, Number: 44, AgentID: 8, Reason: balancer.ReasonStuck, WaitingFor: 6 * time.Hour, Explanation: "no senior can take it"}},
	Before:   balancer.Stats{Imbalance: 2.5, Jain: 0.61, CV: 0.8},
	After:    balancer.Stats{Imbalance: 1.25, Jain: 0.9, CV: 0.33},
}

var dryRunTeam = []team.Agent{{ID: 7, Name: "Ana", Role: "st"}, {ID: 8, Name: "Bo", Role: "st"}, {ID: 9, Name: "Cy", Role: "sst"}, {ID: 10, Name: "Di", Role: "hos"}}

func TestWritePlanTable(t *testing.T) {
	var b strings.Builder
	if err := WritePlanTable(&b, dryRunResult, dryRunTeam); err != nil {
		t.Fatal(err)
	}
	// The columns line up: tabwriter pads each to its widest cell. Waits
	// read as the explanations write them ("1h 30m"), "-" for none.
	want := `imbalance 2.50 -> 1.25, Jain 0.61 -> 0.90, 2 moves, 1 flag, 1 stuck with no senior to take it (nothing is changed in Help Scout)

TICKET  REASON      FROM          TO   WAITING  WHY
#41     unassigned  (unassigned)  Ana  1h 30m   nobody owns it
#42     overload    Bo            Ana  -        Bo holds 14
flag #43 (stuck, held by Cy): stuck with an SST
no senior #44 (stuck, held by Bo): no senior can take it
`
	if d := cmp.Diff(want, b.String()); d != "" {
		t.Errorf("table (-want +got):\n%s", d)
	}
}

// TestWritePlanTableWithoutHeadOfSupport: without a roster everyone is
// an ST, so the balancer's "for the head of support to look at" names
// nobody; the table says so rather than leave the reader waiting on them.
func TestWritePlanTableWithoutHeadOfSupport(t *testing.T) {
	const note = "nobody in the team is head of support"
	noHoS := dryRunTeam[:3]
	for _, tt := range []struct {
		name  string
		res   balancer.Result
		team  []team.Agent
		wants bool
	}{
		{"flags and no head of support", dryRunResult, noHoS, true},
		{"only tickets no senior can take", balancer.Result{NoSenior: dryRunResult.NoSenior}, noHoS, true},
		{"a head of support", dryRunResult, dryRunTeam, false},
		{"nothing flagged", balancer.Result{Moves: dryRunResult.Moves}, noHoS, false},
	} {
		var b strings.Builder
		if err := WritePlanTable(&b, tt.res, tt.team); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), note); got != tt.wants {
			t.Errorf("%s: says %q: %v, want %v\n%s", tt.name, note, got, tt.wants, b.String())
		}
	}
}

func TestWritePlanJSON(t *testing.T) {
	var b strings.Builder
	if err := WritePlanJSON(&b, dryRunResult, dryRunTeam); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal([]byte(b.String()), &got); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b.String())
	}
	want := map[string]any{
		"moves": []any{
			map[string]any{"conversation_id": 501.0, "number": 41.0, "from": 0.0, "to": 7.0, "from_name": "(unassigned)", "to_name": "Ana",
				"reason": "unassigned", "waiting_seconds": 5420.0, "explanation": "nobody owns it"},
			map[string]any{"conversation_id": 502.0, "number": 42.0, "from": 8.0, "to": 7.0, "from_name": "Bo", "to_name": "Ana",
				"reason": "overload", "waiting_seconds": 0.0, "explanation": "Bo holds 14"},
		},
		"flags": []any{map[string]any{"conversation_id": 503.0, "number": 43.0, "agent_id": 9.0, "agent_name": "Cy", "reason": "stuck",
			"waiting_seconds": 18000.0, "explanation": " stuck with an SST \n"}},
		"no_senior": []any{map[string]any{"conversation_id": 504.0, "number": 44.0, "agent_id": 8.0, "agent_name": "Bo", "reason": "stuck",
			"waiting_seconds": 21600.0, "explanation": "no senior can take it"}},
		"imbalance_before": 2.5, "imbalance_after": 1.25, "jain_before": 0.61, "jain_after": 0.9, "cv_before": 0.8, "cv_after": 0.33,
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("JSON (-want +got):\n%s", d)
	}
	b.Reset()
	if err := WritePlanJSON(&b, balancer.Result{}, nil); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"moves", "flags", "no_senior"} {
		if !strings.Contains(b.String(), `"`+key+`": []`) {
			t.Errorf("an empty plan:\n%s\nwant %q: [] rather than null", b.String(), key)
		}
	}
}
