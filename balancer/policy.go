package balancer

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Policy holds the knobs of the algorithm. DefaultPolicy gives the values
// design.md names; callers change single fields from configuration.
type Policy struct {
	// StuckAfter: an assigned, active ticket whose customer has waited
	// longer than this is stuck (QW_STUCK_AFTER).
	StuckAfter time.Duration
	// PendingWeight is the weight of open work nobody is waiting on us for:
	// pending tickets, and active ones where an agent spoke last. In [0, 1].
	PendingWeight float64
	// MaxMovesPerRun caps the moves of one plan (QW_MAX_MOVES_PER_RUN);
	// 0 plans no moves, only flags.
	MaxMovesPerRun int
	// MaxMovesPerAgent caps, per plan, the moves out of one agent and,
	// separately, the moves into one agent, so one run never reshuffles a
	// person's whole queue.
	MaxMovesPerAgent int
	// AssignmentsPerWindow caps an agent's new assignments per window,
	// counting Agent.RecentAssignments, so the first person online is not
	// handed the whole overnight backlog.
	AssignmentsPerWindow int
	// AssignmentWindow is the window the caller counts RecentAssignments
	// over. Plan does not read it; it lives here so that the cap and its
	// window are configured together.
	AssignmentWindow time.Duration
	// AwayGrace: the waiting tickets of an agent who has been unavailable
	// this long are handed to available agents (reason away). A short coffee
	// break or a shift boundary does not reshuffle anything.
	AwayGrace time.Duration
	// HandOverOngoing makes the away rule hand over the ongoing
	// conversations (an agent has replied) of an agent who is merely off
	// shift too, like new customers: follow the sun. Off by default: an
	// ongoing conversation waits for the agent who knows it, who is back at
	// a known time, and the team makes far fewer moves; on, resolutions
	// across time zones are faster (QW_OFF_SHIFT_HANDOVER=all).
	HandOverOngoing bool
	// ShiftEndMargin: nothing is handed to an agent whose shift ends
	// within this (Agent.AvailableUntil). What they cannot finish before
	// they leave waits for their next shift, so the customer would be
	// better off with anyone else, or even where they are. 0 disables it.
	ShiftEndMargin time.Duration
	// RecentActivity: a ticket with an agent reply or note this recent is
	// never moved; someone is working on it.
	RecentActivity time.Duration
	// Cooldown: a ticket queuewrangler moved this recently is never moved
	// again, so tickets do not bounce between people.
	Cooldown time.Duration
	// OverloadTolerance is the hysteresis band: an agent is overloaded only
	// when their load exceeds their fair share by more than this fraction.
	OverloadTolerance float64
	// OverloadMargin is the absolute part of the band, in utilisation
	// (load ÷ capacity, so tickets for a capacity-1 agent): an agent is
	// overloaded only when their utilisation is also at least this much
	// above the fair one, that is their load at least OverloadMargin ×
	// capacity above their fair share. In a small team a ticket or two of
	// difference, which the next arrivals and replies even out on their own,
	// then never moves anything, while a half-capacity junior still counts
	// as overloaded at half the extra tickets of a capacity-1 colleague.
	OverloadMargin float64
	// MinGain is the least reduction of the imbalance (max ÷ mean
	// utilisation) that an overload move must achieve (see doc.go).
	MinGain float64
	// PreviousAgentBonus favours the customer's previous agent on unassigned
	// and away moves when they are available and under their fair share:
	// their utilisation-after-the-move is multiplied by 1 - bonus before
	// comparing. 0 disables it, 1 always picks them. In [0, 1].
	PreviousAgentBonus float64
}

// DefaultPolicy returns the policy design.md describes.
func DefaultPolicy() Policy {
	return Policy{
		StuckAfter:           4 * time.Hour,
		PendingWeight:        0.25,
		MaxMovesPerRun:       5,
		MaxMovesPerAgent:     2,
		AssignmentsPerWindow: 5,
		AssignmentWindow:     time.Hour,
		AwayGrace:            30 * time.Minute,
		ShiftEndMargin:       time.Hour,
		RecentActivity:       2 * time.Hour,
		Cooldown:             24 * time.Hour,
		OverloadTolerance:    0.5,
		OverloadMargin:       2,
		MinGain:              0.02,
		PreviousAgentBonus:   0.25,
	}
}

// Validate reports every problem with the policy at once. Plan makes no
// moves under a policy that fails Validate; validate once at start-up.
func (p Policy) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{field}, args...)...))
	}
	if p.StuckAfter <= 0 {
		bad("StuckAfter", "%v is not positive", p.StuckAfter)
	}
	if !(p.PendingWeight >= 0 && p.PendingWeight <= 1) {
		bad("PendingWeight", "%g is not between 0 and 1", p.PendingWeight)
	}
	if p.MaxMovesPerRun < 0 {
		bad("MaxMovesPerRun", "%d is negative", p.MaxMovesPerRun)
	}
	if p.MaxMovesPerAgent < 1 {
		bad("MaxMovesPerAgent", "%d is below 1", p.MaxMovesPerAgent)
	}
	if p.AssignmentsPerWindow < 1 {
		bad("AssignmentsPerWindow", "%d is below 1", p.AssignmentsPerWindow)
	}
	for _, d := range []struct {
		field string
		d     time.Duration
	}{
		{"AssignmentWindow", p.AssignmentWindow},
		{"AwayGrace", p.AwayGrace},
		{"ShiftEndMargin", p.ShiftEndMargin},
		{"RecentActivity", p.RecentActivity},
		{"Cooldown", p.Cooldown},
	} {
		if d.d < 0 {
			bad(d.field, "%v is negative", d.d)
		}
	}
	if !(p.OverloadTolerance >= 0) || math.IsInf(p.OverloadTolerance, 1) {
		bad("OverloadTolerance", "%g is not a non-negative number", p.OverloadTolerance)
	}
	if !(p.OverloadMargin >= 0) || math.IsInf(p.OverloadMargin, 1) {
		bad("OverloadMargin", "%g is not a non-negative number", p.OverloadMargin)
	}
	if !(p.MinGain >= 0) || math.IsInf(p.MinGain, 1) {
		bad("MinGain", "%g is not a non-negative number", p.MinGain)
	}
	if !(p.PreviousAgentBonus >= 0 && p.PreviousAgentBonus <= 1) {
		bad("PreviousAgentBonus", "%g is not between 0 and 1", p.PreviousAgentBonus)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("validate policy: %w", errors.Join(errs...))
}
