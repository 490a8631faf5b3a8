package balancer

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current plans")

// A scenario file describes a team in words a support lead can check: times
// are given as how long ago ("waiting": "6h10m"), capacities by level.

type scenarioFile struct {
	Description   string           `json:"description"`
	Now           time.Time        `json:"now"`
	Policy        policyOverrides  `json:"policy"`
	Agents        []scenarioAgent  `json:"agents"`
	Conversations []scenarioTicket `json:"conversations"`
}

type policyOverrides struct {
	StuckAfter           *duration `json:"stuck_after"`
	PendingWeight        *float64  `json:"pending_weight"`
	MaxMovesPerRun       *int      `json:"max_moves_per_run"`
	MaxMovesPerAgent     *int      `json:"max_moves_per_agent"`
	AssignmentsPerWindow *int      `json:"assignments_per_window"`
	AwayGrace            *duration `json:"away_grace"`
	RecentActivity       *duration `json:"recent_activity"`
	Cooldown             *duration `json:"cooldown"`
	ShiftEndMargin       *duration `json:"shift_end_margin"`
	WaitRatio            *float64  `json:"wait_ratio"`
	SoonerBy             *duration `json:"sooner_by"`
	PriorPace            *float64  `json:"prior_pace"`
	Backlog              *string   `json:"backlog"` // idle, oldest or a duration
	PreviousAgentBonus   *float64  `json:"previous_agent_bonus"`
}

type scenarioAgent struct {
	ID                int64    `json:"id"`
	Name              string   `json:"name"`
	Role              Role     `json:"role"`
	Level             int      `json:"level"`
	Capacity          float64  `json:"capacity"` // overrides the level when set
	Pace              float64  `json:"pace"`     // measured replies per working hour; 0 = unknown
	MaxOpen           int      `json:"max_open"`
	Available         bool     `json:"available"`
	AwayFor           duration `json:"away_for"`
	BackIn            duration `json:"back_in"`       // off shift, next shift starts this long from now; empty = away (unknown)
	OnShiftFor        duration `json:"on_shift_for"`  // available: the shift began this long ago; empty = unknown
	ShiftEndsIn       duration `json:"shift_ends_in"` // available: the shift ends this long from now; empty = open-ended
	Escalations       bool     `json:"escalations"`
	RecentAssignments int      `json:"recent_assignments"`
}

type scenarioTicket struct {
	ID       int64    `json:"id"`
	Status   Status   `json:"status"`
	Assignee int64    `json:"assignee"`
	Previous int64    `json:"previous"`
	Age      duration `json:"age"`      // since creation
	Waiting  duration `json:"waiting"`  // customer waiting on us this long; empty = not waiting
	Replied  bool     `json:"replied"`  // an agent has replied
	Activity duration `json:"activity"` // last agent reply or note this long ago
	Moved    duration `json:"moved"`    // last moved by queuewrangler this long ago
	Pinned   bool     `json:"pinned"`
}

// duration is a Go duration string in JSON; empty means unset.
type duration time.Duration

func (d *duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	if s == "" {
		*d = 0
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = duration(v)
	return nil
}

// ago returns now - d, or the zero time for an unset duration.
func ago(now time.Time, d duration) time.Time {
	if d == 0 {
		return time.Time{}
	}
	return now.Add(-time.Duration(d))
}

func loadScenario(t *testing.T, path string) (Snapshot, Policy) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var f scenarioFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	p := DefaultPolicy()
	o := f.Policy
	setD := func(dst *time.Duration, v *duration) {
		if v != nil {
			*dst = time.Duration(*v)
		}
	}
	setF := func(dst *float64, v *float64) {
		if v != nil {
			*dst = *v
		}
	}
	setI := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	setD(&p.StuckAfter, o.StuckAfter)
	setF(&p.PendingWeight, o.PendingWeight)
	setI(&p.MaxMovesPerRun, o.MaxMovesPerRun)
	setI(&p.MaxMovesPerAgent, o.MaxMovesPerAgent)
	setI(&p.AssignmentsPerWindow, o.AssignmentsPerWindow)
	setD(&p.AwayGrace, o.AwayGrace)
	setD(&p.RecentActivity, o.RecentActivity)
	setD(&p.Cooldown, o.Cooldown)
	setD(&p.ShiftEndMargin, o.ShiftEndMargin)
	setF(&p.WaitRatio, o.WaitRatio)
	setD(&p.SoonerBy, o.SoonerBy)
	setF(&p.PriorPace, o.PriorPace)
	setF(&p.PreviousAgentBonus, o.PreviousAgentBonus)
	if o.Backlog != nil {
		b, err := ParseBacklog(*o.Backlog)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		p.Backlog = b
	}
	if err := p.Validate(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}

	s := Snapshot{Now: f.Now}
	for _, a := range f.Agents {
		c := a.Capacity
		if c == 0 {
			c = LevelCapacity(a.Level)
		}
		ag := Agent{ID: a.ID, Name: a.Name, Role: a.Role, Capacity: c, Pace: a.Pace, MaxOpen: a.MaxOpen,
			Available: a.Available, Escalations: a.Escalations, RecentAssignments: a.RecentAssignments}
		if a.Available {
			ag.AvailableSince = ago(f.Now, a.OnShiftFor)
			if a.ShiftEndsIn != 0 {
				ag.AvailableUntil = f.Now.Add(time.Duration(a.ShiftEndsIn))
			}
		} else {
			ag.UnavailableSince = ago(f.Now, a.AwayFor)
			if a.BackIn != 0 {
				ag.BackAt = f.Now.Add(time.Duration(a.BackIn))
			}
		}
		s.Agents = append(s.Agents, ag)
	}
	for _, c := range f.Conversations {
		s.Conversations = append(s.Conversations, Conversation{
			ID: c.ID, Number: c.ID + 10000, MailboxID: 1, Status: c.Status,
			AssigneeID: c.Assignee, PreviousAssigneeID: c.Previous,
			CreatedAt:            ago(f.Now, c.Age),
			CustomerWaitingSince: ago(f.Now, c.Waiting),
			WaitingOnUs:          c.Waiting != 0,
			AgentReplied:         c.Replied,
			LastAgentActivityAt:  ago(f.Now, c.Activity),
			LastMovedAt:          ago(f.Now, c.Moved),
			Pinned:               c.Pinned,
		})
	}
	if err := s.Validate(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return s, p
}

// The golden form of a plan: what a reviewer needs to check the decision.

type goldenPlan struct {
	Moves []goldenMove `json:"moves"`
	Flags []goldenFlag `json:"flags"`
	// NoSenior is left out when empty, as in most scenarios.
	NoSenior []goldenFlag `json:"no_senior,omitempty"`
	Before   goldenStats  `json:"before"`
	After    goldenStats  `json:"after"`
}

type goldenMove struct {
	Conversation int64  `json:"conversation"`
	From         int64  `json:"from"`
	To           int64  `json:"to"`
	Reason       Reason `json:"reason"`
	WaitingFor   string `json:"waiting_for"`
	OwnerWait    string `json:"owner_wait"` // "none" for a hand-out or an absence of unknown length
	TargetWait   string `json:"target_wait"`
	Explanation  string `json:"explanation"`
}

type goldenFlag struct {
	Conversation int64  `json:"conversation"`
	Agent        int64  `json:"agent"`
	Reason       Reason `json:"reason"`
	Explanation  string `json:"explanation"`
}

type goldenStats struct {
	Imbalance float64       `json:"imbalance"`
	Jain      float64       `json:"jain"`
	TotalWork float64       `json:"total_work"`
	Agents    []goldenAgent `json:"agents"`
}

type goldenAgent struct {
	ID        int64   `json:"id"`
	Open      int     `json:"open"`
	Load      float64 `json:"load"`
	FairShare float64 `json:"fair_share"`
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

func toGolden(r Result) goldenPlan {
	g := goldenPlan{Moves: []goldenMove{}, Flags: []goldenFlag{}, Before: toGoldenStats(r.Before), After: toGoldenStats(r.After)}
	for _, m := range r.Moves {
		owner := "none"
		if m.OwnerWait != NoEstimate {
			owner = m.OwnerWait.Round(time.Second).String()
		}
		g.Moves = append(g.Moves, goldenMove{m.ConversationID, m.From, m.To, m.Reason, m.WaitingFor.String(),
			owner, m.TargetWait.Round(time.Second).String(), m.Explanation})
	}
	for _, f := range r.Flags {
		g.Flags = append(g.Flags, goldenFlag{f.ConversationID, f.AgentID, f.Reason, f.Explanation})
	}
	for _, f := range r.NoSenior {
		g.NoSenior = append(g.NoSenior, goldenFlag{f.ConversationID, f.AgentID, f.Reason, f.Explanation})
	}
	return g
}

func toGoldenStats(s Stats) goldenStats {
	g := goldenStats{Imbalance: round(s.Imbalance), Jain: round(s.Jain), TotalWork: round(s.TotalWork), Agents: []goldenAgent{}}
	for _, a := range s.Agents {
		g.Agents = append(g.Agents, goldenAgent{a.ID, a.Open, round(a.Load), round(a.FairShare)})
	}
	return g
}

// checkGolden compares the plan with testdata/<name>.golden.json, or
// rewrites the file under -update.
func checkGolden(t *testing.T, name string, r Result) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden.json")
	got := toGolden(r)
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./balancer -update to create it)", err)
	}
	var want goldenPlan
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("plan differs from %s (-want +got):\n%s", path, diff)
	}
}

// TestScenarios plans each named scenario, compares the plan with its
// golden file, checks the general invariants and then the assertion that
// says what the scenario is about. A scenario without such an assertion
// fails: the golden file alone would only say "nothing changed".
func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, path := range files {
		if strings.HasSuffix(path, ".golden.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		seen[name] = true
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, p := loadScenario(t, path)
			r := Plan(s, p)
			checkGolden(t, name, r)
			checkPlan(t, s, p, r)
			check, ok := scenarioChecks[name]
			if !ok {
				t.Fatalf("scenario %s has no targeted check in scenarioChecks", name)
			}
			check(t, s, p, r)
		})
	}
	for name := range scenarioChecks {
		if !seen[name] {
			t.Errorf("scenarioChecks names %s, but testdata/%s.json does not exist", name, name)
		}
	}
}
