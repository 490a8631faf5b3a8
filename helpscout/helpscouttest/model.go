package helpscouttest

import (
	"errors"
	"slices"
	"time"
)

// Conversation statuses as Help Scout spells them.
const (
	StatusActive  = "active"
	StatusPending = "pending"
	StatusClosed  = "closed"
	StatusSpam    = "spam"
)

// Thread types the fake produces (a subset of Help Scout's enum).
const (
	ThreadCustomer = "customer"
	ThreadMessage  = "message"
	ThreadNote     = "note"
	ThreadLineitem = "lineitem"
	ThreadChat     = "chat"
	ThreadPhone    = "phone"
)

// Thread states.
const (
	StatePublished = "published"
	StateDraft     = "draft"
)

// Webhook event names the fake delivers.
const (
	EventConvoCreated       = "convo.created"
	EventConvoCustomerReply = "convo.customer.reply.created"
	EventConvoAgentReply    = "convo.agent.reply.created"
	EventConvoNote          = "convo.note.created"
	EventConvoAssigned      = "convo.assigned"
	EventConvoStatus        = "convo.status"
	EventConvoMoved         = "convo.moved"
	EventConvoTags          = "convo.tags"
	EventConvoDeleted       = "convo.deleted"
	EventConvoMerged        = "convo.merged"
	EventTest               = "helpscout.test"
)

// Person types used in createdBy.
const (
	ByCustomer = "customer"
	ByUser     = "user"
)

// Sentinel errors of the state API.
var (
	// ErrNotFound: the conversation, user, team, mailbox or customer does not exist
	// (or the conversation was deleted or merged away).
	ErrNotFound = errors.New("not found")
	// ErrInvalid: the input would make a state the real API cannot have.
	ErrInvalid = errors.New("invalid input")
)

// Mailbox is an inbox.
type Mailbox struct {
	ID        int64
	Name      string
	Slug      string
	Email     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// User is a Help Scout user (an agent). Status is the email availability
// ("active" or "away") served by /v2/users/status.
type User struct {
	ID              int64
	FirstName       string
	LastName        string
	Email           string
	Role            string // owner, admin, user
	Timezone        string // IANA
	PhotoURL        string // empty = the key is absent, as in the recordings
	CreatedAt       time.Time
	UpdatedAt       time.Time
	Status          string // active, away
	StatusUpdatedAt time.Time
	// Mailboxes are the mailboxes the user can open, for GET
	// /v2/users?mailbox=; nil means every mailbox, as for owners and admins.
	Mailboxes []int64
}

// Team is a Help Scout team. Teams share the id space of users and are listed
// by /v2/users with type "team".
type Team struct {
	ID        int64
	Name      string
	Timezone  string
	MemberIDs []int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Customer is the minimal customer record the conversation payloads embed.
type Customer struct {
	ID       int64
	First    string
	Last     string
	Email    string
	PhotoURL string
}

// Tag is a conversation tag.
type Tag struct {
	ID    int64
	Name  string
	Color string
}

// Conversation is the fake's record of a conversation. Every field the API
// serves is stored here (not computed at render time), so a snapshot can be
// compared field by field with what a client mirrored.
type Conversation struct {
	ID        int64
	Number    int64
	Type      string // email, chat, phone
	Status    string
	State     string // published
	Subject   string
	Preview   string
	MailboxID int64
	FolderID  int64

	AssigneeID    int64  // 0 = unassigned (the "assignee" key is then absent)
	CreatedByType string // customer or user
	CreatedByID   int64
	CustomerID    int64 // primaryCustomer

	CreatedAt            time.Time
	UserUpdatedAt        time.Time
	CustomerWaitingSince time.Time
	ClosedBy             int64     // 0 when never closed; kept after a reopen
	ClosedAt             time.Time // zero unless status is closed

	// ModifiedAt is the fake's internal "last change" time used by the
	// modifiedSince filter and sortField=modifiedAt. The real conversation
	// object has no such field; it is never served.
	ModifiedAt time.Time

	SourceType string
	SourceVia  string
	Tags       []Tag
	CC         []string
	BCC        []string

	// Threads, oldest first (the API serves them newest first).
	Threads []Thread

	Deleted    bool
	MergedInto int64 // non-zero: merged into that conversation (GET answers 301)
}

// Thread is one entry of a conversation's history.
type Thread struct {
	ID    int64
	Type  string
	State string
	// Status is the conversation status right after this thread was added;
	// the recordings show "active" on notes of an active conversation, not
	// the documented "nochange".
	Status        string
	ActionType    string
	ActionText    string // lineitems only
	Body          string
	SourceType    string
	SourceVia     string
	CreatedByType string
	CreatedByID   int64
	CustomerID    int64
	AssignedToID  int64 // assignee after this thread; 0 = none
	CreatedAt     time.Time
	Imported      bool
}

func (c *Conversation) clone() Conversation {
	out := *c
	out.Tags = slices.Clone(c.Tags)
	out.CC = slices.Clone(c.CC)
	out.BCC = slices.Clone(c.BCC)
	out.Threads = slices.Clone(c.Threads)
	return out
}

func (t *Team) clone() Team {
	out := *t
	out.MemberIDs = slices.Clone(t.MemberIDs)
	return out
}

// live reports whether the API still serves the conversation.
func (c *Conversation) live() bool { return !c.Deleted && c.MergedInto == 0 }
