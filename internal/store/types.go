package store

import (
	"encoding/json"
	"time"
)

// Help Scout values the store's queries depend on. Other values are stored
// as they come.
const (
	// Conversation statuses.
	StatusActive  = "active"
	StatusPending = "pending"
	StatusClosed  = "closed"
	StatusSpam    = "spam"

	// Who created something: a conversation, a thread, the last message.
	ByCustomer = "customer"
	ByUser     = "user"

	// User types: Help Scout lists teams among users.
	UserTypeUser = "user"
	UserTypeTeam = "team"

	// Thread types and states that the derived facts look at.
	ThreadCustomer = "customer"
	ThreadMessage  = "message" // an agent reply, as listed by the API
	ThreadNote     = "note"
	ThreadLineItem = "lineitem"
	ThreadChat     = "chat"
	ThreadPhone    = "phone"

	StatePublished = "published"
	StateDraft     = "draft"
	StateDeleted   = "deleted"

	// What made a thread, when a Help Scout workflow did (Thread.Workflow):
	// one that ran on its own, on the conditions it was given, or one a
	// person ran by hand on the ticket.
	WorkflowAutomatic = "automatic"
	WorkflowManual    = "manual"

	// PinTag keeps the balancer's hands off a conversation.
	PinTag = "qw-pin"
)

// Mailbox is a Help Scout mailbox (an "inbox" in today's UI).
type Mailbox struct {
	ID    int64
	Name  string
	Email string
	Slug  string
}

// User is a Help Scout user, or a team when Type is UserTypeTeam.
type User struct {
	ID        int64
	First     string
	Last      string
	Email     string
	Role      string // owner, admin, user
	Timezone  string // IANA name
	Type      string // UserTypeUser or UserTypeTeam; empty is stored as user
	UpdatedAt time.Time
	// OutOfScope marks a user who can open none of the mirrored mailboxes
	// (QW_MAILBOXES): someone from another inbox's team, who must never be
	// counted or handed this inbox's tickets.
	OutOfScope bool
	// Mailboxes are the mirrored mailboxes the user can open, ascending;
	// nil means all of them (or not known), empty none.
	Mailboxes []int64
}

// Team is a Help Scout team and its members' user ids.
type Team struct {
	ID        int64
	Name      string
	Timezone  string
	UpdatedAt time.Time
	Members   []int64 // sorted ascending on read
}

// UserStatus is a user's Help Scout availability (email channel).
type UserStatus struct {
	UserID    int64
	Status    string // active or away
	UpdatedAt time.Time
	Source    string // ui, api, presence_detection
}

// Conversation is a mirrored Help Scout conversation.
//
// The fields down to LatestReplyFrom come from Help Scout and are written by
// ApplyConversation. The fields after them are set by the store: derived from
// the stored threads on every write, or stamped by it; they are ignored on
// write.
type Conversation struct {
	ID                   int64
	Number               int64
	MailboxID            int64
	Status               string // active, pending, closed, spam
	State                string // published, draft, deleted
	Type                 string // email, chat, phone
	Subject              string
	AssigneeID           int64  // 0 = unassigned
	CreatedByType        string // customer or user
	CreatedByID          int64
	CustomerID           int64 // primary customer
	CustomerFirst        string
	CustomerLast         string
	CustomerEmail        string
	CreatedAt            time.Time
	ClosedAt             time.Time
	ClosedBy             int64 // 0 = none (Help Scout sends closedBy: 0)
	CustomerWaitingSince time.Time
	UserUpdatedAt        time.Time
	ThreadCount          int      // Help Scout's "threads" count, not the stored rows
	Tags                 []string // sorted on read
	// LatestReplyFrom is customerWaitingSince.latestReplyFrom (customer or
	// user) when Help Scout sends it. It is only used for LastMessageBy
	// while no threads are stored.
	LatestReplyFrom string
	// FromWebhook says the conversation came from a webhook body, a hint,
	// rather than from Help Scout's own answer. The store keeps it on the
	// row: Help Scout's answer read by id (ConversationUpdate.ReadByID)
	// replaces a row written from a webhook even when the webhook's
	// version is newer (doc.go, "Never regress").
	FromWebhook bool

	// Set by the store.
	LatestThreadAt          time.Time // newest stored thread
	LastMessageBy           string    // ByCustomer, ByUser, or "" when unknown
	LastCustomerAt          time.Time // newest customer-written thread
	LastAgentActivityAt     time.Time // newest reply or note by a user
	FirstReplyAt            time.Time // first published agent reply by email (the metrics' reply)
	FirstReplyBy            int64     // the user who sent it
	FirstAnswerAt           time.Time // first published agent answer on any channel (email, chat, phone)
	AssignedAt              time.Time // when the current assignee got it; zero if unknown or unassigned
	ReassignedAt            time.Time // when the current assignee got it from another person; zero if not (facts.go)
	ResolvedAt              time.Time // first close at or after FirstReplyAt
	PreviousAssigneeID      int64     // the assignee before the current one, 0 if unknown
	SyncedAt                time.Time // last time an update changed the row
	FirstResponseObservedAt time.Time
	ResolutionObservedAt    time.Time
}

// Thread is one thread of a conversation.
type Thread struct {
	ID             int64
	ConversationID int64  // set by the store from the update
	Type           string // customer, message, note, lineitem, chat, phone, ...
	State          string // published, draft, hidden, review
	Status         string // the conversation status this thread set, or nochange
	CreatedByType  string // customer or user
	CreatedByID    int64
	AssignedToID   int64 // assignee after this thread, 0 if none
	CreatedAt      time.Time
	// Workflow says a Help Scout workflow made the thread (its action
	// names one): WorkflowAutomatic or WorkflowManual; "" when none did.
	Workflow string
}

// ConversationUpdate is one conversation as Help Scout returned it, with the
// threads that came along. ThreadsComplete says the list is all of the
// conversation's threads (so stored threads missing from it are dropped);
// otherwise the threads are merged into what is stored.
type ConversationUpdate struct {
	Conversation    Conversation
	Threads         []Thread
	ThreadsComplete bool
	// ReadByID says the conversation is Help Scout's answer when asked
	// for it by id (a re-read), not a page of a listing: it replaces a row
	// a webhook wrote whatever the webhook's version. A listing page may
	// have been served before the change the webhook told of (how far
	// Help Scout's listings lag is not documented), so it keeps the
	// version order; a row a webhook wrote that no listing settles is
	// re-read by id at the hourly reconcile.
	ReadByID bool
}

// SyncCursor is a named position of an incremental sync.
type SyncCursor struct {
	Name      string
	Value     time.Time
	UpdatedAt time.Time
}

// OpenConversation is an open ticket (active or pending) with the facts the
// balancer, the page and the JSON API need.
type OpenConversation struct {
	ID                   int64
	Number               int64
	MailboxID            int64
	Status               string
	Subject              string
	AssigneeID           int64 // 0 = unassigned
	PreviousAssigneeID   int64
	CustomerID           int64
	CreatedByType        string
	CreatedAt            time.Time
	CustomerWaitingSince time.Time
	LastMessageBy        string // ByCustomer, ByUser or ""
	LastCustomerAt       time.Time
	AgentReplied         bool // an agent has answered on some channel (FirstAnswerAt)
	LastAgentActivityAt  time.Time
	LastMovedAt          time.Time // last queuewrangler move (applied, or failed but made: ownFailedMoveQuery), zero if never
	AssignedAt           time.Time // when the current assignee got it; zero if unknown
	Pinned               bool      // tagged qw-pin
	ThreadCount          int
	// ReassignedAt is when the current assignee got the ticket from another
	// person, zero if they did not (a first assignment) or it is unknown.
	ReassignedAt time.Time
	// ReassignedByUs says that a move of queuewrangler's made that
	// reassignment (OwnMoveMargin): an applied one, or one recorded failed
	// that Help Scout made all the same; otherwise a person did, by hand.
	ReassignedByUs bool
}

// HandMovedAt is when a person moved the ticket to its current assignee
// by hand in Help Scout, zero if nobody did: a reassignment queuewrangler
// did not make. Like an SST's refusal of a move, it is a person's decision
// about where the ticket stays, which the balancer holds for its cooldown.
func (c OpenConversation) HandMovedAt() time.Time {
	if c.ReassignedByUs {
		return time.Time{}
	}
	return c.ReassignedAt
}

// CustomerWaiting reports whether the customer is waiting on us: the ticket
// is active and the last customer-visible message is the customer's.
func (c OpenConversation) CustomerWaiting() bool {
	return c.Status == StatusActive && c.LastMessageBy == ByCustomer
}

// CustomerWaitStart is when the customer began waiting on us: the time
// Help Scout reports, else their last message; zero when they are not
// waiting or neither is known. It is never before the conversation was
// created, so that no page or note shows a wait longer than the
// conversation's age, whatever a bad value in the mirror says.
func (c OpenConversation) CustomerWaitStart() time.Time {
	if !c.CustomerWaiting() {
		return time.Time{}
	}
	since := c.CustomerWaitingSince
	if since.IsZero() {
		since = c.LastCustomerAt
	}
	if !since.IsZero() && since.Before(c.CreatedAt) {
		since = c.CreatedAt
	}
	return since
}

// Assignment selects open conversations by whether they have an assignee.
type Assignment int

const (
	AnyAssignment Assignment = iota
	OnlyAssigned
	OnlyUnassigned
)

// OpenFilter narrows OpenConversations. The zero value selects every open
// conversation.
type OpenFilter struct {
	MailboxID  int64 // 0 = all mailboxes
	AssigneeID int64 // 0 = any assignee
	Assignment Assignment
	// ActiveOnly leaves pending conversations out: the unassigned queue is
	// active tickets. It is applied before Limit, so pending ones never
	// push active ones past it.
	ActiveOnly bool
	// WaitingBefore, when set, keeps only active tickets whose customer is
	// waiting (LastMessageBy customer) since before this time, oldest first:
	// the stuck list is OnlyAssigned with WaitingBefore = now - stuck_after.
	WaitingBefore time.Time
	Limit         int // 0 = no limit
}

// Snapshot is one consistent view of the mirror for a balancer run.
type Snapshot struct {
	TakenAt       time.Time
	Users         []User // users and teams, by id
	Statuses      []UserStatus
	Conversations []OpenConversation // by id
	// RecentAssignments counts queuewrangler moves applied into each agent
	// since SnapshotWindows.AssignedSince.
	RecentAssignments map[int64]int
	// Replies counts each user's agent replies (published email replies,
	// the metrics' rule) from RepliesSince to TakenAt: the history behind
	// an agent's pace. Nil when not read (SnapshotWindows.RepliedSince
	// zero); empty with a zero RepliesSince when the mirror holds no reply.
	Replies      map[int64]int
	RepliesSince time.Time
}

// MailboxStats are the per-mailbox gauges of the metrics collector.
type MailboxStats struct {
	MailboxID int64
	ByStatus  map[string]int // conversations by status
	// Unassigned counts active tickets without an assignee.
	Unassigned int
	// Stuck counts active, assigned tickets whose customer has been waiting
	// since before the stuckBefore time given to MailboxStats.
	Stuck int
	// OldestWaitingSince is the longest current customer wait on an active
	// ticket, as its start; zero when nobody waits.
	OldestWaitingSince time.Time
}

// AgentLoad counts an assignee's open tickets.
type AgentLoad struct {
	AgentID int64
	Active  int // active tickets (helpscout_agent_open_conversations)
	Pending int
	Waiting int // active tickets whose customer wrote last
}

// Observation is a first response or a resolution waiting to be observed into
// its histogram.
type Observation struct {
	ConversationID int64
	MailboxID      int64
	// AgentID is the user who sent the first reply (first responses) or the
	// current assignee (resolutions).
	AgentID   int64
	CreatedAt time.Time // the conversation's creation
	At        time.Time // the first reply, or the resolution
}

// WebhookStatus is the processing state of an inbox entry.
type WebhookStatus string

const (
	WebhookPending WebhookStatus = "pending"
	WebhookDone    WebhookStatus = "done"
	WebhookFailed  WebhookStatus = "failed" // retriable
	// WebhookRejected marks a signed event that could not be parsed: kept
	// for an operator to see, never processed.
	WebhookRejected WebhookStatus = "rejected"
)

// WebhookEvent is one stored webhook delivery.
type WebhookEvent struct {
	ID          int64
	ReceivedAt  time.Time
	Event       string // X-HelpScout-Event
	Body        []byte // the raw body, exactly as received
	SignatureOK bool
	Status      WebhookStatus
	Attempts    int
	LastError   string
	ProcessedAt time.Time
}

// ProposalStatus is where a proposal is in its life.
//
//	pending  --approve--> approved --claim--> applying --> applied | stale | failed
//	pending  --reject---> rejected
//	pending | approved --> stale          (superseded or expired before apply)
//	approved           --> failed
//
// In apply mode the rebalancer inserts proposals already approved. Claiming
// is the step that makes a double apply impossible: only one caller can move
// a proposal from approved to applying.
type ProposalStatus string

const (
	ProposalPending  ProposalStatus = "pending"
	ProposalApproved ProposalStatus = "approved"
	ProposalApplying ProposalStatus = "applying"
	ProposalApplied  ProposalStatus = "applied"
	ProposalRejected ProposalStatus = "rejected"
	ProposalStale    ProposalStatus = "stale"
	ProposalFailed   ProposalStatus = "failed"
)

// ProposalSnapshot holds the facts of the conversation when the move was
// planned; apply compares them with a fresh read to detect a stale move.
type ProposalSnapshot struct {
	AssigneeID           int64
	Status               string
	CustomerWaitingSince time.Time
	LastCustomerAt       time.Time
}

// Proposal is one move in the balancer's audit log.
type Proposal struct {
	ID                 int64 // set by InsertProposals
	CreatedAt          time.Time
	UpdatedAt          time.Time // last transition
	ConversationID     int64
	ConversationNumber int64
	MailboxID          int64
	FromAgent          int64 // 0 = unassigned
	ToAgent            int64 // 0 = nobody (a flag for a human, not a move)
	Reason             string
	Explanation        string
	ImbalanceBefore    float64
	ImbalanceAfter     float64
	JainBefore         float64
	JainAfter          float64
	// Figures is any further plan figures (loads, fair shares) as a JSON
	// object; the store keeps it verbatim. Empty is stored as {}.
	Figures   json.RawMessage
	Status    ProposalStatus
	DecidedBy string // who approved or rejected
	DecidedAt time.Time
	AppliedAt time.Time
	Error     string // why it failed or went stale
	Snapshot  ProposalSnapshot
	// Note is where an applied move's private note is; NoteAt when it was
	// written or given up (zero while due, and for moves applied before
	// the store kept it); NoteTries recovery's failed tries at it.
	Note      NoteState
	NoteAt    time.Time
	NoteTries int
	// MaybeMade says of a failed move that its write reached Help Scout,
	// or may have, with no answer saying it was not made
	// (MarkProposalFailedMaybeMade); false for every other proposal.
	MaybeMade bool
}

// NoteState is where an applied move's private note is. The note is
// written after the move is recorded applied, so a crash or a failed POST
// in between leaves it due, for recovery to write.
type NoteState string

const (
	NoteUnset   NoteState = ""         // the proposal was never applied
	NoteDue     NoteState = "due"      // applied, its note not written yet
	NoteWritten NoteState = "written"  // applied, its note is on the ticket
	NoteNone    NoteState = "none"     // applied, needing none (own mode's first assignment)
	NoteGivenUp NoteState = "given_up" // applied, its note failed too often to try again
)

// Handout reports whether the proposal gives a ticket nobody owned to
// someone (balancer.Move.Handout) rather than taking it from one person
// for another: the two are counted and shown apart.
func (p Proposal) Handout() bool { return p.FromAgent == 0 }

// ProposalFilter narrows ListProposals.
type ProposalFilter struct {
	Statuses       []ProposalStatus // empty = all
	ConversationID int64            // 0 = all
	DecidedSince   time.Time        // zero = all; else decided at or after it
	Limit          int              // 0 = no limit
}
