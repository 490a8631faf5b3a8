package team

import "time"

// Agent is one person as the queue page, the JSON API (/api/v1/agents,
// whose keys are its JSON names), the metrics and the simulation see them:
// the roster's facts, Help Scout's status, and the balancer's figures.
type Agent struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"` // "First Last", else the email: never a metrics label as is
	Role      string `json:"role"` // st, sst, hos, exclude (another inbox's user too)
	Level     int    `json:"level"`
	Status    string `json:"status"` // roster.StatusActive, roster.StatusAway, roster.StatusOffShift or StatusRemoved
	Available bool   `json:"available"`
	// Open, Waiting, Load, FairShare and LoadRatio are the balancer's
	// figures (balancer.AgentStats), filled in by View.Measure: zero in a
	// View before it.
	Open      int     `json:"open"`
	Waiting   int     `json:"waiting"`
	Load      float64 `json:"weighted_load"`
	Capacity  float64 `json:"capacity"`
	Pace      float64 `json:"pace_replies_per_hour"` // measured replies per working hour (balancer.Agent's Pace); 0 = unknown
	FairShare float64 `json:"fair_share"`
	LoadRatio float64 `json:"load_ratio"`
	// OldestWait is when the longest-waiting customer of the agent's
	// started waiting; zero when nobody waits on them.
	OldestWait  time.Time `json:"oldest_wait,omitzero"`
	Unavailable time.Time `json:"unavailable_since,omitzero"`
	// BackAt is when someone off shift starts their next shift; zero for
	// the available, the away (no known return) and those without hours.
	BackAt time.Time `json:"back_at,omitzero"`

	// RulesRole is the role the balancer's rules treat the person by when
	// it is not Role, else "": another inbox's ST or SST shows as excluded
	// (not this team), but once Away in Help Scout the away rule hands
	// their waiting customers on (outOfScopeRole). Not in the API: the
	// stuck tickets' next step (NextSteps) says what it means.
	RulesRole string `json:"-"`

	// HandOverBefore, for someone off shift with a known return, is when
	// a customer of theirs must have started waiting to be due to be
	// handed on by the balancer's away rule (BackAt less StuckAfter,
	// balancer/measure.go handOver); HandOverOngoing is whether the rule
	// hands on their ongoing conversations too. View.Measure sets them,
	// under the policy. Not in the API: the stuck tickets' next step
	// (NextSteps) says what they mean.
	HandOverBefore  time.Time `json:"-"`
	HandOverOngoing bool      `json:"-"`

	// Kept are the agent's waiting tickets (by conversation id; nil for
	// none) that the backlog setting keeps from everyone who could take
	// them, so the away or stuck rule leaves them with the agent
	// (balancer.BacklogKeeps), and Backlog is that setting (QW_BACKLOG).
	// View.Measure sets both, under the policy. Not in the API: the stuck
	// tickets' next step (NextSteps) says what they mean.
	Kept    map[int64]bool `json:"-"`
	Backlog time.Duration  `json:"-"`
	// Cooldown and RecentActivity are the policy's never-move windows
	// (balancer.Policy): the balancer moves no ticket moved, or refused a
	// move, or moved by hand in Help Scout (rebalance's heldByDecisions),
	// within Cooldown, nor one an
	// agent replied to or noted within RecentActivity. View.Measure sets
	// them, under the policy, on every agent: what the page and the API
	// read is the agents, not the policy. Not in the API: the stuck
	// tickets' next step (NextSteps) says when such a hold ends.
	Cooldown       time.Duration `json:"-"`
	RecentActivity time.Duration `json:"-"`
	// PastGrace, for someone unavailable, is whether they had been so for
	// the policy's AwayGrace or longer when View.Measure measured them: the
	// away rule hands on their customers from then. Not in the API.
	PastGrace bool `json:"-"`

	// Mailboxes (nil: unknown, so any), Escalations and MaxOpen (0: no
	// cap) are the balancer's facts of whom it may give a ticket to, kept
	// for Unfit. Not in the API.
	Mailboxes   []int64 `json:"-"`
	Escalations bool    `json:"-"`
	MaxOpen     int     `json:"-"`

	// AvailableUntil, for someone available, is when their shift ends
	// (the roster's hours; zero when open-ended), and ShiftEndMargin the
	// policy's margin before it in which the balancer hands them nothing
	// (View.Measure sets it, under the policy; zero: no margin). Unfit
	// needs both: a move approved at 16:55 to someone leaving at 17:00
	// would hand them a customer they cannot start. Not in the API.
	AvailableUntil time.Time     `json:"-"`
	ShiftEndMargin time.Duration `json:"-"`
}

// StatusRemoved is the Status of an assignee whom Help Scout's user list no
// longer has: known only by their tickets. The other statuses are the
// roster's (roster.Availability).
const StatusRemoved = "removed"

// Figures are the team-wide fairness figures of balancer.Stats.
type Figures struct {
	Imbalance float64 `json:"imbalance_ratio"`
	Jain      float64 `json:"jain"`
	CV        float64 `json:"cv"` // coefficient of variation of the utilisations: 0 is even
}
