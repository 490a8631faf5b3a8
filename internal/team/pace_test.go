package team

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestPaces: the team's rate per unit of capacity, times each agent's
// capacity weight, is the prior, which an agent's own history outweighs
// as it grows (k = 16 working hours).
func TestPaces(t *testing.T) {
	st, sst, hos, excl := balancer.RoleST, balancer.RoleSST, balancer.RoleHoS, balancer.RoleExclude
	tests := []struct {
		name string
		team []paceEvidence
		want []float64
	}{
		{"no history: unknown", []paceEvidence{{role: st, capacity: 1, hours: 80}, {role: sst, capacity: 1.25, hours: 80}}, []float64{0, 0}},
		{"no hours: unknown", []paceEvidence{{role: st, capacity: 1, replies: 3}}, []float64{0}},
		// The front line sends 240 replies in 160 capacity-weighted hours:
		// 1.5 replies an hour per unit of capacity. Equal evidence, equal
		// pace: the rate itself.
		{"a steady team", []paceEvidence{{role: st, capacity: 1, hours: 80, replies: 120}, {role: st, capacity: 1, hours: 80, replies: 120}},
			[]float64{1.5, 1.5}},
		// Two replies in a first hour (a raw 2/h) barely move a newcomer
		// off their prior: a level-1 junior's 0.5 × 1.5 = 0.75.
		{"two replies make no genius", []paceEvidence{
			{role: st, capacity: 1, hours: 80, replies: 120},
			{role: st, capacity: 1, hours: 80, replies: 120},
			{role: st, capacity: 0.5, hours: 1, replies: 2},
		}, []float64{
			// The rate now includes the newcomer: 242 replies / 160.5 h.
			(120 + 242/160.5*16) / (80 + 16), (120 + 242/160.5*16) / (80 + 16),
			(2 + 0.5*242/160.5*16) / (1 + 16),
		}},
		// A long history speaks for itself: a senior (1.25) who sent 60
		// replies in 80 hours is slow whatever the level says.
		{"history outweighs the level", []paceEvidence{
			{role: st, capacity: 1, hours: 80, replies: 140},
			{role: sst, capacity: 1.25, hours: 80, replies: 60},
		}, []float64{
			(140 + 1*200.0/180*16) / (80 + 16), (60 + 1.25*200.0/180*16) / (80 + 16),
		}},
		// The head of support is not in the team's rate (escalations only),
		// but has a pace of their own; an excluded user has none.
		{"hos and excluded", []paceEvidence{
			{role: st, capacity: 1, hours: 80, replies: 120},
			{role: hos, capacity: 1, hours: 80, replies: 8},
			{role: excl, capacity: 1, hours: 80, replies: 300},
		}, []float64{1.5, (8 + 1.5*16) / (80 + 16.0), 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paces(tt.team)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("paces (-want +got):\n%s", diff)
			}
		})
	}
}

// TestBuildPace: Build gives the balancer's input and the page's agent the
// same pace, from the snapshot's replies over each agent's hours in the
// window (the roster's, or a full-time week without them); with no reply
// history read, every pace is unknown.
func TestBuildPace(t *testing.T) {
	r, err := roster.New(roster.Entry{}, []roster.Entry{
		{ID: 1, Hours: "Mon-Fri 09:00-17:00", Timezone: "UTC"},
		{ID: 2, Hours: "Mon-Fri 09:00-17:00", Timezone: "UTC", Level: new(1)},
		{ID: 4, Role: roster.RoleExclude},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 16, 9, 0, 0, 0, time.UTC) // a Monday: two full working weeks behind
	s := store.Snapshot{
		TakenAt: now,
		Users:   []store.User{{ID: 1, First: "Ana"}, {ID: 2, First: "Jo"}, {ID: 3, First: "Noh"}, {ID: 4, First: "Bot"}},
		Conversations: []store.OpenConversation{
			{ID: 10, Status: store.StatusActive, AssigneeID: 99, LastMessageBy: store.ByCustomer}, // a removed user's
		},
		Replies:      map[int64]int{1: 160, 2: 20, 3: 40, 4: 500, 99: 7},
		RepliesSince: now.Add(-PaceWindow),
	}
	// 80 hours each for Ana and Jo; Noh has no hours: 40 of 168 over two
	// weeks, 80 too. Front line: 220 replies over 80 × (1 + 0.5 + 1) = 200
	// weighted hours, 1.1 an hour.
	const rate = 220.0 / 200
	want := map[int64]float64{
		1:  (160 + 1*rate*16) / (80 + 16),
		2:  (20 + 0.5*rate*16) / (80 + 16),
		3:  (40 + 1*rate*16) / (80 + 16),
		4:  0, // excluded
		99: 0, // removed: no history the team can use
	}
	v := Build(s, r, now)
	for i, a := range v.Agents {
		if math.Abs(a.Pace-want[a.ID]) > 1e-12 {
			t.Errorf("agent %d: pace %g, want %g", a.ID, a.Pace, want[a.ID])
		}
		if b := v.Snapshot.Agents[i]; b.ID != a.ID || b.Pace != a.Pace {
			t.Errorf("agent %d: balancer pace %g, page pace %g", a.ID, b.Pace, a.Pace)
		}
	}

	s.Replies, s.RepliesSince = nil, time.Time{}
	for _, a := range Build(s, r, now).Snapshot.Agents {
		if a.Pace != 0 {
			t.Errorf("agent %d: pace %g without a reply history, want 0 (unknown)", a.ID, a.Pace)
		}
	}
}
