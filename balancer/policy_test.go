package balancer

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultPolicyIsValid(t *testing.T) {
	t.Parallel()
	if err := DefaultPolicy().Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestPolicyValidate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		change func(*Policy)
		want   []string // every field the error must name; none = valid
	}{
		{"defaults", func(*Policy) {}, nil},
		{"zero moves per run plans flags only", func(p *Policy) { p.MaxMovesPerRun = 0 }, nil},
		{"pending weight 0 and bonus 1 are allowed", func(p *Policy) { p.PendingWeight, p.PreviousAgentBonus = 0, 1 }, nil},
		{"stuck after zero", func(p *Policy) { p.StuckAfter = 0 }, []string{"StuckAfter"}},
		{"pending weight above 1", func(p *Policy) { p.PendingWeight = 1.5 }, []string{"PendingWeight"}},
		{"pending weight NaN", func(p *Policy) { p.PendingWeight = math.NaN() }, []string{"PendingWeight"}},
		{"caps", func(p *Policy) { p.MaxMovesPerRun, p.MaxMovesPerAgent, p.AssignmentsPerWindow = -1, 0, 0 },
			[]string{"MaxMovesPerRun", "MaxMovesPerAgent", "AssignmentsPerWindow"}},
		{"negative durations", func(p *Policy) {
			p.AssignmentWindow, p.AwayGrace, p.RecentActivity, p.Cooldown = -1, -time.Minute, -time.Hour, -time.Second
		}, []string{"AssignmentWindow", "AwayGrace", "RecentActivity", "Cooldown"}},
		{"tolerance and gain", func(p *Policy) { p.OverloadTolerance, p.MinGain = -0.1, math.Inf(1) },
			[]string{"OverloadTolerance", "MinGain"}},
		{"overload margin negative", func(p *Policy) { p.OverloadMargin = -1 }, []string{"OverloadMargin"}},
		{"overload margin NaN", func(p *Policy) { p.OverloadMargin = math.NaN() }, []string{"OverloadMargin"}},
		{"overload margin 0 turns the absolute band off", func(p *Policy) { p.OverloadMargin = 0 }, nil},
		{"bonus above 1", func(p *Policy) { p.PreviousAgentBonus = 2 }, []string{"PreviousAgentBonus"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultPolicy()
			tt.change(&p)
			err := p.Validate()
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("Validate passed")
			}
			for _, field := range tt.want {
				if !strings.Contains(err.Error(), field+":") {
					t.Errorf("error %q does not name %s", err, field)
				}
			}
		})
	}
}
