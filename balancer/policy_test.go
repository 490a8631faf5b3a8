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
		{"wait ratio 0 and NaN", func(p *Policy) { p.WaitRatio = 0 }, []string{"WaitRatio"}},
		{"wait ratio above 1", func(p *Policy) { p.WaitRatio = 1.5 }, []string{"WaitRatio"}},
		{"wait ratio 1 and sooner-by 0 are allowed", func(p *Policy) { p.WaitRatio, p.SoonerBy = 1, 0 }, nil},
		{"negative sooner-by and backlog", func(p *Policy) { p.SoonerBy, p.Backlog = -time.Minute, -time.Second },
			[]string{"SoonerBy", "Backlog"}},
		{"prior pace", func(p *Policy) { p.PriorPace = math.Inf(1) }, []string{"PriorPace"}},
		{"prior pace 0", func(p *Policy) { p.PriorPace = 0 }, []string{"PriorPace"}},
		{"backlog oldest", func(p *Policy) { p.Backlog = BacklogOldest }, nil},
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

func TestParseBacklog(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		text string
		want time.Duration
		bad  bool
	}{
		{"idle", BacklogIdle, false},
		{"oldest", BacklogOldest, false},
		{"30m", 30 * time.Minute, false},
		{"0s", 0, false},
		{"-5m", 0, true},
		{"soon", 0, true},
		{"", 0, true},
	} {
		got, err := ParseBacklog(tt.text)
		if (err != nil) != tt.bad || got != tt.want {
			t.Errorf("ParseBacklog(%q) = %v, %v; want %v (error %v)", tt.text, got, err, tt.want, tt.bad)
		}
		if err == nil {
			if back, _ := ParseBacklog(FormatBacklog(got)); back != got {
				t.Errorf("FormatBacklog(%v) = %q does not read back", got, FormatBacklog(got))
			}
		}
	}
}

func TestParseRoutingMode(t *testing.T) {
	for _, m := range routingModes() {
		got, err := ParseRoutingMode(string(m))
		if err != nil || got != m {
			t.Errorf("ParseRoutingMode(%q) = %q, %v", m, got, err)
		}
	}
	_, err := ParseRoutingMode("balanced")
	if err == nil || !strings.Contains(err.Error(), "helpscout, steer, own") {
		t.Errorf("ParseRoutingMode(balanced) error = %v, want one naming the modes", err)
	}
}

func TestParseHandover(t *testing.T) {
	for value, want := range map[string]bool{HandoverNew: false, HandoverAll: true} {
		if got, err := ParseHandover(value); got != want || err != nil {
			t.Errorf("ParseHandover(%q) = %v, %v; want %v", value, got, err, want)
		}
	}
	for _, value := range []string{"", "All", "sun"} {
		if _, err := ParseHandover(value); err == nil || err.Error() != `"`+value+`" is not new or all` {
			t.Errorf("ParseHandover(%q) error %v, want it to name the two values", value, err)
		}
	}
}
