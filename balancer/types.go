package balancer

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Role is an agent's place in the support team (design.md section 7).
type Role string

// The roles of the roster file.
const (
	RoleST      Role = "st"      // front line
	RoleSST     Role = "sst"     // front line, and the escalation target for stuck ST tickets
	RoleHoS     Role = "hos"     // never a target, except for stuck escalations when Escalations is set
	RoleExclude Role = "exclude" // ignored: never counted, never a target, their tickets never move
)

// Status is a conversation's Help Scout status.
type Status string

// The statuses the balancer distinguishes. Anything else weighs nothing.
const (
	StatusActive  Status = "active"
	StatusPending Status = "pending"
	StatusClosed  Status = "closed"
	StatusSpam    Status = "spam"
)

// Reason says which rule produced a move. The order of the constants is the
// priority order in which Plan applies the rules.
type Reason string

// The four kinds of move, in priority order (doc.go, "The rules").
const (
	// ReasonUnassigned hands out a ticket nobody owns: the only hand-out.
	ReasonUnassigned Reason = "unassigned"
	// ReasonAway hands on a customer of someone away or off shift.
	ReasonAway Reason = "away"
	// ReasonStuck escalates a customer stuck with their ST.
	ReasonStuck Reason = "stuck"
	// ReasonOverload takes the newest customer of a long queue to someone
	// who would answer them clearly sooner. The name predates that rule
	// and stays, because dashboards and audit logs use it.
	ReasonOverload Reason = "overload"
)

// Reasons lists every kind of move in priority order: the one list that
// reports and tests iterate.
func Reasons() []Reason {
	return []Reason{ReasonUnassigned, ReasonAway, ReasonStuck, ReasonOverload}
}

// Snapshot is everything Plan looks at. The caller builds it from its mirror;
// Now is the caller's clock reading, because the balancer never reads a clock.
type Snapshot struct {
	Now           time.Time
	Agents        []Agent
	Conversations []Conversation
}

// Agent is one Help Scout user as the roster and their status describe them.
type Agent struct {
	ID   int64
	Name string // used in explanations only
	Role Role
	// Capacity is the agent's weight in the fair split: a level's default
	// (LevelCapacity) unless the roster overrides it. Must be above 0.
	Capacity float64
	// Pace is the agent's measured replies per working hour, learned from
	// the mirror's history with the level weight as the prior; 0 means
	// unknown (Plan then uses Capacity alone).
	Pace float64
	// MaxOpen is a hard cap on the agent's open work (count of tickets);
	// 0 means no cap.
	MaxOpen int
	// Available is true when the agent is on shift and Active in Help Scout.
	Available bool
	// UnavailableSince is when the agent went away or off shift. The zero
	// time on an unavailable agent means "for longer than anyone remembers".
	UnavailableSince time.Time
	// AvailableSince is when an available agent's current stretch of
	// availability began: the start of their shift, or when they turned
	// Active in Help Scout if that was later. The zero time means "for longer
	// than anyone knows". The stuck rule counts a customer's wait only from
	// then: a ticket is not stuck with an agent who has just come on shift.
	// Plan ignores it on an unavailable agent.
	AvailableSince time.Time
	// AvailableUntil is when an available agent's shift ends (from the
	// roster's hours); zero when open-ended. Plan hands nothing to an agent
	// whose shift ends within Policy.ShiftEndMargin. Ignored on an
	// unavailable agent.
	AvailableUntil time.Time
	// NextShiftAt is when an available agent's next shift starts, after
	// the one that ends at AvailableUntil (from the roster's hours). What
	// the agent cannot start before their shift ends waits until then. The
	// zero time means unknown: the same shift tomorrow is assumed. Ignored
	// on an unavailable agent and when AvailableUntil is zero.
	NextShiftAt time.Time
	// BackAt is when an agent who is merely off shift starts their next
	// shift (from the roster's hours). The zero time means unknown: an agent
	// Away in Help Scout, or with no hours, is on an absence of unknown
	// length. It tells the away rule whether a customer can wait for their
	// own agent (see doc.go); Plan ignores it on an available agent.
	BackAt time.Time
	// Mailboxes are the mailboxes the agent can open. nil means every
	// mailbox (owners and admins, or access unknown); an empty non-nil list
	// means none. A ticket is only ever handed to an agent who can open its
	// mailbox.
	Mailboxes []int64
	// Escalations lets a HoS receive stuck escalations (roster "escalations").
	Escalations bool
	// RecentAssignments counts the new assignments the agent received in the
	// current window (Policy.AssignmentWindow), counted by the caller.
	RecentAssignments int
}

// Conversation is one Help Scout conversation, reduced to what balancing needs.
type Conversation struct {
	ID        int64
	Number    int64
	MailboxID int64
	Status    Status
	// AssigneeID is the assigned user; 0 means unassigned.
	AssigneeID int64
	// PreviousAssigneeID is the agent who last helped this customer, if
	// known: they get Policy.PreviousAgentBonus on unassigned and away moves.
	PreviousAssigneeID int64
	CreatedAt          time.Time
	// CustomerWaitingSince is when the customer's unanswered message arrived;
	// zero when the customer is not waiting.
	CustomerWaitingSince time.Time
	// WaitingOnUs is true when the last message is the customer's.
	WaitingOnUs bool
	// AgentReplied is true once any agent has replied.
	AgentReplied bool
	// LastAgentActivityAt is the latest reply or note by an agent.
	LastAgentActivityAt time.Time
	// LastMovedAt is when queuewrangler last moved the ticket (cooldown).
	LastMovedAt time.Time
	// AssignedAt is when the current assignee got the ticket; zero when
	// unknown. A customer is stuck with an agent only for the time the
	// agent has had them (stuckWith).
	AssignedAt time.Time
	// Pinned is true when the ticket carries the qw-pin tag.
	Pinned bool
}

// Move assigns one conversation: a hand-out when nobody owned it, a
// reassignment otherwise (design.md section 8).
type Move struct {
	ConversationID int64
	Number         int64
	From           int64 // 0 for an unassigned ticket
	To             int64
	Reason         Reason
	// WaitingFor is how long the customer has been waiting (0 if not waiting).
	WaitingFor time.Duration
	// OwnerWait and TargetWait are the customer's expected wait for a reply
	// with the current owner and with the new one, as Plan estimated them
	// before the move (doc.go, "Expected wait"). OwnerWait is NoEstimate
	// for a hand-out and for an owner away with no known return.
	OwnerWait, TargetWait time.Duration
	// Explanation says why in plain words, for the private note and the page.
	Explanation string
}

// Handout reports whether the move gives a ticket nobody owned to someone
// (the work routing does) rather than taking it from one person for
// another: the two are counted apart everywhere.
func (m Move) Handout() bool { return m.From == 0 }

// Flag is a finding that needs a human rather than a move: a stuck ticket
// that the stuck rule leaves where it is, for the head of support to look
// at (Result.Flags and Result.NoSenior say which kind).
type Flag struct {
	ConversationID int64
	Number         int64
	AgentID        int64 // who holds the ticket
	Reason         Reason
	WaitingFor     time.Duration
	Explanation    string
}

// Result is one plan: the moves in the order to apply them, the flags, and
// the team's figures before and after the moves.
type Result struct {
	Moves []Move
	// Flags are the stuck tickets held by an SST, never moved: the head of
	// support decides.
	Flags []Flag
	// NoSenior are the tickets stuck with their ST owner that the plan
	// leaves with them because nobody they could be escalated to (an SST,
	// or a head of support who takes escalations) can take them: none is
	// available, can open the mailbox, is below MaxOpen and is not about
	// to leave. Not the caps: a senior who has had their share of this
	// run's moves takes the ticket at the next run. Nor a senior whose
	// move would not pay. Kept apart from Flags, whose readers mean an
	// SST's ticket that the head of support decides on.
	NoSenior []Flag
	Before   Stats
	After    Stats
}

// Stats are the fairness figures of a team (doc.go defines each one).
type Stats struct {
	// Imbalance is max utilisation ÷ mean utilisation over available
	// front-line agents; 1.0 is perfect.
	Imbalance float64
	// Jain is Jain's fairness index of those utilisations (1.0 is perfect,
	// 1/n is one person holding everything).
	Jain float64
	// CV is the coefficient of variation of those utilisations (0 is perfect).
	CV float64
	// TotalWork is the work split into fair shares.
	TotalWork float64
	// Agents has one entry per counted agent (front line and HoS), by ID.
	Agents []AgentStats
}

// AgentStats are one agent's figures.
type AgentStats struct {
	ID          int64
	Available   bool
	Open        int // assigned tickets that are active or pending
	Active      int // of which active
	Waiting     int // of which active with the customer waiting on us
	Load        float64
	Utilisation float64
	// FairShare is the load the agent would carry in a perfectly fair team;
	// 0 for an agent outside the split (unavailable, or the HoS).
	FairShare float64
	// LoadRatio is Load ÷ FairShare (equivalently utilisation ÷ the fair
	// utilisation): 1.0 is fair. 0 when FairShare is 0.
	LoadRatio float64
}

// LevelCapacity returns the default capacity weight of a seniority level
// (design.md section 7): juniors carry less, seniors the most, leads and
// principals spend time on projects. It returns 0 for a level outside 1-5,
// which Snapshot.Validate rejects as a capacity.
func LevelCapacity(level int) float64 {
	switch level {
	case 1:
		return 0.5
	case 2:
		return 1.0
	case 3:
		return 1.25
	case 4:
		return 1.0
	case 5:
		return 0.75
	}
	return 0
}

// Validate reports every problem that makes Plan ignore part of the
// snapshot: Plan never fails, it skips what it cannot trust (an agent or
// conversation whose id appears twice, an agent with an unknown role or a
// capacity that is not a positive number), so callers that want to know
// call Validate and log the answer.
func (s Snapshot) Validate() error {
	var errs []error
	if s.Now.IsZero() {
		errs = append(errs, errors.New("now is zero"))
	}
	agents := make(map[int64]int, len(s.Agents))
	for i, a := range s.Agents {
		if a.ID <= 0 {
			errs = append(errs, fmt.Errorf("agent %d (index %d): id must be positive", a.ID, i))
		}
		if n := agents[a.ID]; n == 1 {
			errs = append(errs, fmt.Errorf("agent %d: id appears more than once", a.ID))
		}
		agents[a.ID]++
		switch a.Role {
		case RoleST, RoleSST, RoleHoS, RoleExclude:
		default:
			errs = append(errs, fmt.Errorf("agent %d: unknown role %q", a.ID, a.Role))
		}
		if a.Role != RoleExclude && !validCapacity(a.Capacity) {
			errs = append(errs, fmt.Errorf("agent %d: capacity %g is not a positive number", a.ID, a.Capacity))
		}
		if a.MaxOpen < 0 {
			errs = append(errs, fmt.Errorf("agent %d: max open %d is negative", a.ID, a.MaxOpen))
		}
		if a.RecentAssignments < 0 {
			errs = append(errs, fmt.Errorf("agent %d: recent assignments %d is negative", a.ID, a.RecentAssignments))
		}
	}
	convs := make(map[int64]int, len(s.Conversations))
	for _, c := range s.Conversations {
		if n := convs[c.ID]; n == 1 {
			errs = append(errs, fmt.Errorf("conversation %d: id appears more than once", c.ID))
		}
		convs[c.ID]++
		switch c.Status {
		case StatusActive, StatusPending, StatusClosed, StatusSpam:
		default:
			errs = append(errs, fmt.Errorf("conversation %d: unknown status %q", c.ID, c.Status))
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("validate snapshot: %w", errors.Join(errs...))
}

func validCapacity(c float64) bool {
	return c > 0 && !math.IsInf(c, 1)
}
