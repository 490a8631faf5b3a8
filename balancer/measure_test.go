package balancer

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func TestLevelCapacity(t *testing.T) {
	t.Parallel()
	tests := []struct {
		level int
		want  float64
	}{
		{0, 0}, {1, 0.5}, {2, 1.0}, {3, 1.25}, {4, 1.0}, {5, 0.75}, {6, 0}, {-1, 0},
	}
	for _, tt := range tests {
		if got := LevelCapacity(tt.level); got != tt.want {
			t.Errorf("LevelCapacity(%d) = %g, want %g", tt.level, got, tt.want)
		}
	}
}

func TestWeight(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	p.PendingWeight = 0.3
	tests := []struct {
		name string
		c    Conversation
		want float64
		open bool
	}{
		{"active, customer waiting", Conversation{Status: StatusActive, WaitingOnUs: true, AssigneeID: 1}, 1, true},
		{"active, agent spoke last", Conversation{Status: StatusActive, AssigneeID: 1}, 0.3, true},
		{"pending", Conversation{Status: StatusPending, AssigneeID: 1}, 0.3, true},
		{"pending, customer wrote last", Conversation{Status: StatusPending, WaitingOnUs: true, AssigneeID: 1}, 0.3, true},
		{"closed", Conversation{Status: StatusClosed, AssigneeID: 1}, 0, false},
		{"spam", Conversation{Status: StatusSpam, AssigneeID: 1}, 0, false},
		{"unknown status", Conversation{Status: "deleted", AssigneeID: 1}, 0, false},
		{"unassigned weighs but is not open work", Conversation{Status: StatusActive, WaitingOnUs: true}, 1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := weight(tt.c, p); got != tt.want {
				t.Errorf("weight = %g, want %g", got, tt.want)
			}
			if got := isOpenWork(tt.c); got != tt.open {
				t.Errorf("isOpenWork = %v, want %v", got, tt.open)
			}
		})
	}
}

func TestIsStuck(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	waiting := func(d time.Duration) Conversation {
		return Conversation{Status: StatusActive, AssigneeID: 1, WaitingOnUs: true, CustomerWaitingSince: t0.Add(-d)}
	}
	tests := []struct {
		name string
		c    Conversation
		want bool
	}{
		{"waiting past the threshold", waiting(4*time.Hour + time.Second), true},
		{"waiting exactly the threshold", waiting(4 * time.Hour), false},
		{"waiting less", waiting(3 * time.Hour), false},
		{"unassigned", func() Conversation { c := waiting(9 * time.Hour); c.AssigneeID = 0; return c }(), false},
		{"pending", func() Conversation { c := waiting(9 * time.Hour); c.Status = StatusPending; return c }(), false},
		{"agent spoke last", func() Conversation { c := waiting(9 * time.Hour); c.WaitingOnUs = false; return c }(), false},
		{"waiting since unknown", Conversation{Status: StatusActive, AssigneeID: 1, WaitingOnUs: true}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isStuck(tt.c, p, t0); got != tt.want {
				t.Errorf("isStuck = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestMeasure(t *testing.T) {
	t.Parallel()
	p := DefaultPolicy()
	s := Snapshot{
		Now: t0,
		Agents: []Agent{
			{ID: 2, Role: RoleST, Capacity: 0.5, Available: true},
			{ID: 1, Role: RoleST, Capacity: 1, Available: true},
			{ID: 3, Role: RoleSST, Capacity: 1.25, Available: false, UnavailableSince: t0.Add(-10 * time.Minute)},
			{ID: 4, Role: RoleHoS, Capacity: 1, Available: true},
			{ID: 5, Role: RoleExclude, Capacity: 1, Available: true},
		},
		Conversations: []Conversation{
			// agent 1: load 4 (3 waiting + 4 pending-weight tickets)
			{ID: 10, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true},
			{ID: 11, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true},
			{ID: 12, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true},
			{ID: 13, Status: StatusActive, AssigneeID: 1},
			{ID: 14, Status: StatusPending, AssigneeID: 1},
			{ID: 15, Status: StatusPending, AssigneeID: 1},
			{ID: 16, Status: StatusPending, AssigneeID: 1},
			{ID: 17, Status: StatusClosed, AssigneeID: 1},
			// agent 2: load 1
			{ID: 20, Status: StatusActive, AssigneeID: 2, WaitingOnUs: true},
			// agent 3 is away within the grace period: counted, outside the split
			{ID: 30, Status: StatusActive, AssigneeID: 3, WaitingOnUs: true},
			// the HoS and the excluded agent
			{ID: 40, Status: StatusActive, AssigneeID: 4, WaitingOnUs: true},
			{ID: 50, Status: StatusActive, AssigneeID: 5, WaitingOnUs: true},
			// the unassigned queue: 1 + 0.25; pending unassigned is not in it
			{ID: 90, Status: StatusActive, WaitingOnUs: true},
			{ID: 91, Status: StatusActive},
			{ID: 92, Status: StatusPending},
			// held by nobody we know
			{ID: 99, Status: StatusActive, AssigneeID: 77, WaitingOnUs: true},
		},
	}
	fair := 6.25 / 1.5 // (4 + 1 + 1.25) split over capacity 1.5
	want := Stats{
		Imbalance: 4.0 / 3,         // utilisations 4 and 2
		Jain:      36.0 / (2 * 20), // (4+2)² / (2·(16+4))
		CV:        1.0 / 3,         // std 1, mean 3
		TotalWork: 6.25,
		Agents: []AgentStats{
			{ID: 1, Available: true, Open: 7, Active: 4, Waiting: 3, Load: 4, Utilisation: 4, FairShare: fair, LoadRatio: 4 / fair},
			{ID: 2, Available: true, Open: 1, Active: 1, Waiting: 1, Load: 1, Utilisation: 2, FairShare: fair / 2, LoadRatio: 2 / fair},
			{ID: 3, Open: 1, Active: 1, Waiting: 1, Load: 1, Utilisation: 0.8},
			{ID: 4, Available: true, Open: 1, Active: 1, Waiting: 1, Load: 1, Utilisation: 1},
		},
	}
	got := Measure(s, p)
	if diff := cmp.Diff(want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Measure (-want +got):\n%s", diff)
	}

	// Away beyond the grace period, agent 3's waiting ticket joins the split.
	s.Agents[2].UnavailableSince = t0.Add(-time.Hour)
	if got, want := Measure(s, p).TotalWork, 7.25; got != want {
		t.Errorf("TotalWork with agent 3 away beyond grace = %g, want %g", got, want)
	}
}

func TestMeasureEmptyTeam(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		s    Snapshot
	}{
		{"nobody", Snapshot{Now: t0}},
		{"nobody available", Snapshot{Now: t0, Agents: []Agent{{ID: 1, Role: RoleST, Capacity: 1}},
			Conversations: []Conversation{{ID: 1, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true}}}},
		{"no work", Snapshot{Now: t0, Agents: []Agent{{ID: 1, Role: RoleST, Capacity: 1, Available: true}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Measure(tt.s, DefaultPolicy())
			if got.Imbalance != 1 || got.Jain != 1 || got.CV != 0 {
				t.Errorf("imbalance, Jain, CV = %g, %g, %g; want 1, 1, 0", got.Imbalance, got.Jain, got.CV)
			}
			for _, a := range got.Agents {
				if math.IsNaN(a.LoadRatio) || math.IsInf(a.LoadRatio, 0) {
					t.Errorf("agent %d: load ratio %g", a.ID, a.LoadRatio)
				}
			}
		})
	}
}

func TestSnapshotValidate(t *testing.T) {
	t.Parallel()
	good := Snapshot{
		Now:           t0,
		Agents:        []Agent{{ID: 1, Role: RoleST, Capacity: 1}, {ID: 2, Role: RoleExclude}},
		Conversations: []Conversation{{ID: 1, Status: StatusActive}, {ID: 2, Status: StatusSpam}},
	}
	if err := good.Validate(); err != nil {
		t.Fatalf("valid snapshot: %v", err)
	}
	bad := Snapshot{
		Agents: []Agent{
			{ID: 1, Role: RoleST, Capacity: 1},
			{ID: 1, Role: RoleSST, Capacity: 1},
			{ID: 0, Role: "lead", Capacity: math.NaN(), MaxOpen: -1, RecentAssignments: -2},
		},
		Conversations: []Conversation{{ID: 7, Status: StatusActive}, {ID: 7, Status: "open"}},
	}
	err := bad.Validate()
	if err == nil {
		t.Fatal("invalid snapshot passed")
	}
	for _, want := range []string{
		"now is zero", "agent 1: id appears more than once", "agent 0 (index 2): id must be positive",
		`unknown role "lead"`, "capacity NaN", "max open -1", "recent assignments -2",
		"conversation 7: id appears more than once", `unknown status "open"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestApply(t *testing.T) {
	t.Parallel()
	s := Snapshot{
		Now:    t0,
		Agents: []Agent{{ID: 1, RecentAssignments: 1}, {ID: 2}},
		Conversations: []Conversation{
			{ID: 10, AssigneeID: 1},
			{ID: 11, AssigneeID: 0},
			{ID: 12, AssigneeID: 2},
		},
	}
	moves := []Move{
		{ConversationID: 10, From: 1, To: 2},
		{ConversationID: 11, From: 0, To: 1},
		{ConversationID: 12, From: 1, To: 1}, // stale: 12 is with 2
		{ConversationID: 13, From: 0, To: 1}, // unknown conversation
	}
	want := Snapshot{
		Now:    t0,
		Agents: []Agent{{ID: 1, RecentAssignments: 2}, {ID: 2, RecentAssignments: 1}},
		Conversations: []Conversation{
			{ID: 10, AssigneeID: 2, LastMovedAt: t0},
			{ID: 11, AssigneeID: 1, LastMovedAt: t0},
			{ID: 12, AssigneeID: 2},
		},
	}
	got := Apply(s, moves)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	if s.Conversations[0].AssigneeID != 1 || s.Agents[0].RecentAssignments != 1 {
		t.Error("Apply modified its input")
	}
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    time.Duration
		want string
	}{
		{0, "under a minute"},
		{59 * time.Second, "under a minute"},
		{45*time.Minute + 30*time.Second, "45m"},
		{4 * time.Hour, "4h"},
		{6*time.Hour + 10*time.Minute, "6h 10m"},
		{48 * time.Hour, "2d"},
		{52*time.Hour + 59*time.Minute, "2d 4h"},
	}
	for _, tt := range tests {
		if got := humanDuration(tt.d); got != tt.want {
			t.Errorf("humanDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}
