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
	// ShiftEndMargin: nothing is handed to an agent who could not start a
	// customer joining their queue now this long before their shift ends
	// (Agent.AvailableUntil); with nobody waiting on them, one whose shift
	// ends within it. What they cannot finish before they leave waits for
	// their next shift, so the customer would be better off with anyone
	// else, or even where they are. 30 minutes, not an hour: in the
	// simulator an hour kept idle people out of the last hour of every
	// shift and queued the day's last customers on whoever stays latest,
	// for a worse median and a worse tail. 0 disables it.
	ShiftEndMargin time.Duration
	// RecentActivity: a ticket with an agent reply or note this recent is
	// never moved; someone is working on it.
	RecentActivity time.Duration
	// Cooldown: a ticket queuewrangler moved this recently is never moved
	// again, so tickets do not bounce between people.
	Cooldown time.Duration
	// WaitRatio and SoonerBy are the hysteresis of "a move must pay": a
	// ticket is taken from its owner only when the customer's expected wait
	// with the new owner is at most WaitRatio of the wait with the current
	// one and at least SoonerBy shorter, and the same holds for the last
	// customer in each queue, so that nobody is moved into a queue about as
	// buried as the one they leave. Both absorb the estimate's error: a
	// reply's length varies several-fold, and the pace is a rate, not a
	// promise. WaitRatio is in (0, 1]; SoonerBy is not negative.
	WaitRatio float64
	SoonerBy  time.Duration
	// PriorPace is the replies per working hour assumed of a capacity-1
	// agent whose pace nobody has measured (Agent.Pace 0), while nobody
	// in the team is measured either; otherwise the team's measured pace
	// per unit of capacity stands in. Above 0.
	PriorPace float64
	// Backlog is the team's choice between the median and the tail
	// (design.md section 8, QW_BACKLOG): a ticket from the Unassigned
	// folder is handed only to someone whose queue they would get through
	// within Backlog (the expected wait of a customer added to it now).
	// BacklogIdle (0) hands it only to someone with no customer waiting,
	// the moments Help Scout's routing leaves the backlog to: it costs the
	// customers already queued nothing. BacklogOldest hands it out at once,
	// oldest first, ahead of everyone who wrote in later: the tail shrinks
	// and the morning's customers wait longer. Values in between bound what
	// the backlog may add to a busy queue. Not negative.
	Backlog time.Duration
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
		ShiftEndMargin:       30 * time.Minute,
		RecentActivity:       2 * time.Hour,
		Cooldown:             24 * time.Hour,
		WaitRatio:            0.5,
		SoonerBy:             30 * time.Minute,
		PriorPace:            6,
		Backlog:              BacklogIdle,
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
	if !(p.WaitRatio > 0 && p.WaitRatio <= 1) {
		bad("WaitRatio", "%g is not above 0 and at most 1", p.WaitRatio)
	}
	if p.SoonerBy < 0 {
		bad("SoonerBy", "%v is negative", p.SoonerBy)
	}
	if !(p.PriorPace > 0) || math.IsInf(p.PriorPace, 1) {
		bad("PriorPace", "%g is not a positive number", p.PriorPace)
	}
	if p.Backlog < 0 {
		bad("Backlog", "%v is negative", p.Backlog)
	}
	if !(p.PreviousAgentBonus >= 0 && p.PreviousAgentBonus <= 1) {
		bad("PreviousAgentBonus", "%g is not between 0 and 1", p.PreviousAgentBonus)
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("validate policy: %w", errors.Join(errs...))
}

// The ends of Policy.Backlog.
const (
	// BacklogIdle hands the Unassigned folder only to people with no
	// customer waiting.
	BacklogIdle time.Duration = 0
	// BacklogOldest hands the Unassigned folder out at once, oldest first.
	BacklogOldest = time.Duration(math.MaxInt64)
)

// ParseBacklog reads a backlog setting as QW_BACKLOG spells it: "idle",
// "oldest", or a Go duration in between ("30m").
func ParseBacklog(text string) (time.Duration, error) {
	switch text {
	case "idle":
		return BacklogIdle, nil
	case "oldest":
		return BacklogOldest, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%q is not idle, oldest or a duration like 30m", text)
	}
	return d, nil
}

// The values of QW_OFF_SHIFT_HANDOVER (and simulate's --off-shift-handover):
// which waiting tickets of an agent who is merely off shift are handed to
// whoever is on shift (Policy.HandOverOngoing).
const (
	// HandoverNew hands over only customers nobody has answered yet;
	// ongoing conversations wait for the agent who knows them.
	HandoverNew = "new"
	// HandoverAll hands over ongoing conversations too (follow the sun):
	// faster resolutions across time zones, more moves.
	HandoverAll = "all"
)

// ParseHandover reads a handover value: whether ongoing conversations are
// handed over too.
func ParseHandover(value string) (ongoing bool, err error) {
	switch value {
	case HandoverNew, HandoverAll:
		return value == HandoverAll, nil
	}
	return false, fmt.Errorf("%q is not new or all", value)
}

// FormatBacklog spells a backlog setting as ParseBacklog reads it.
func FormatBacklog(d time.Duration) string {
	switch d {
	case BacklogIdle:
		return "idle"
	case BacklogOldest:
		return "oldest"
	}
	return d.String()
}
