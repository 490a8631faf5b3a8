package helpscout

import (
	"encoding/json"
	"strconv"
)

// Thread types (D-threads). Replies are created with POST .../reply but
// listed with type "message".
const (
	ThreadTypeCustomer      = "customer"
	ThreadTypeMessage       = "message"
	ThreadTypeNote          = "note"
	ThreadTypeLineItem      = "lineitem"
	ThreadTypeChat          = "chat"
	ThreadTypePhone         = "phone"
	ThreadTypeBeaconChat    = "beaconchat"
	ThreadTypeForwardParent = "forwardparent"
	ThreadTypeForwardChild  = "forwardchild"
)

// Thread states. "review" (also written "underreview") is a reply held by
// collision detection; "hidden" was removed from customer-facing email.
const (
	ThreadStatePublished = "published"
	ThreadStateDraft     = "draft"
	ThreadStateHidden    = "hidden"
	ThreadStateReview    = "review"
)

// Thread is one entry of a conversation's history: a customer message, an
// agent reply, a note, or a line item (a system event such as an assignment).
type Thread struct {
	ID int64 `json:"id"`
	// Type is customer, message, note, lineitem, chat, phone, beaconchat,
	// forwardparent or forwardchild.
	Type string `json:"type"`
	// Status is the conversation status this thread set, or "nochange".
	Status string `json:"status,omitempty"`
	// State is published, draft, hidden or review.
	State  string `json:"state,omitempty"`
	Action Action `json:"action,omitzero"`
	Body   string `json:"body,omitempty"`
	Source Source `json:"source,omitzero"`
	// Customer is the conversation's customer (message) or the author
	// (customer).
	Customer  Person `json:"customer,omitzero"`
	CreatedBy Person `json:"createdBy,omitzero"`
	// AssignedTo is the assignee after this thread; Type may be "team".
	AssignedTo   Person   `json:"assignedTo,omitzero"`
	SavedReplyID int64    `json:"savedReplyId,omitempty"`
	To           []string `json:"to,omitempty"`
	CC           []string `json:"cc,omitempty"`
	BCC          []string `json:"bcc,omitempty"`
	CreatedAt    Time     `json:"createdAt,omitzero"`
	// OpenedAt is when the customer viewed a message thread.
	OpenedAt Time `json:"openedAt,omitzero"`
	// Imported threads were written without notifying anyone.
	Imported bool `json:"imported,omitempty"`
}

// Action describes a line item (and carries "default" on other threads).
// Help Scout does not enumerate Type for v2.
type Action struct {
	Type string `json:"type,omitempty"`
	Text string `json:"text,omitempty"`
	// AssociatedEntities maps entity names (user, workflow, mailbox,
	// originalConversation) to ids.
	AssociatedEntities EntityIDs `json:"associatedEntities,omitempty"`
}

// EntityIDs is Action.associatedEntities: the values that are ids
// (numbers, or strings holding numbers). Any other value (null, "",
// false, 0.5, an object, a list) names no id and is dropped, so that a
// caller reads only ids, and nothing in it fails to decode: the field is
// undocumented and must not make a whole page undecodable. A number is
// kept as written, 0 and negatives included: what an id must look like is
// the caller's to judge.
type EntityIDs map[string]int64

// UnmarshalJSON implements json.Unmarshaler.
func (e *EntityIDs) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return err
	}
	out := make(EntityIDs, len(raw))
	for k, v := range raw {
		if id, err := strconv.ParseInt(looseString(v), 10, 64); err == nil {
			out[k] = id
		}
	}
	*e = out
	return nil
}

// ThreadKind is what a thread means for response metrics.
type ThreadKind int

// Thread kinds, see Thread.Kind.
const (
	ThreadOther ThreadKind = iota
	ThreadCustomerMessage
	ThreadAgentReply
	ThreadNote
	ThreadLineItem
	ThreadDraft
)

var threadKindNames = [...]string{
	ThreadOther:           "other",
	ThreadCustomerMessage: "customer_message",
	ThreadAgentReply:      "agent_reply",
	ThreadNote:            "note",
	ThreadLineItem:        "line_item",
	ThreadDraft:           "draft",
}

func (k ThreadKind) String() string {
	if k >= 0 && int(k) < len(threadKindNames) {
		return threadKindNames[k]
	}
	return "ThreadKind(" + strconv.Itoa(int(k)) + ")"
}

// Kind classifies the thread for first-response and resolution metrics,
// following helpscout-api.md section 6 and Help Scout's report definitions.
// The rules, first match wins:
//
//  1. state "draft": ThreadDraft, whatever the type. A draft never counts.
//  2. type "customer": ThreadCustomerMessage. The type says the text is the
//     customer's even when an agent logged it (createdBy is then a user).
//  3. type "chat", "phone" or "beaconchat" created by a customer:
//     ThreadCustomerMessage.
//  4. type "message", "chat" or "phone", created by a person of type "user",
//     state "published": ThreadAgentReply, the customer-facing reply. Hidden
//     or held ("review") replies, replies with no state, and v3
//     "system_user" (AI) authors are not replies: ThreadOther.
//  5. type "note": ThreadNote (internal, never a response).
//  6. type "lineitem": ThreadLineItem (assignment, status change, move,
//     merge, workflow run).
//  7. anything else (forwards, unknown types): ThreadOther.
func (t Thread) Kind() ThreadKind {
	if t.State == ThreadStateDraft {
		return ThreadDraft
	}
	switch t.Type {
	case ThreadTypeCustomer:
		return ThreadCustomerMessage
	case ThreadTypeChat, ThreadTypePhone, ThreadTypeBeaconChat:
		if t.CreatedBy.Type == PersonCustomer {
			return ThreadCustomerMessage
		}
	case ThreadTypeNote:
		return ThreadNote
	case ThreadTypeLineItem:
		return ThreadLineItem
	}
	switch t.Type {
	case ThreadTypeMessage, ThreadTypeChat, ThreadTypePhone:
		if t.CreatedBy.Type == PersonUser && t.State == ThreadStatePublished {
			return ThreadAgentReply
		}
	}
	return ThreadOther
}

// IsAgentReply reports whether the thread is a published reply by a user,
// the event that ends a customer's wait.
func (t Thread) IsAgentReply() bool { return t.Kind() == ThreadAgentReply }

// IsAgentWork reports whether the thread shows an agent working the
// ticket: a reply, note, chat, call, Beacon chat or forward created by a
// user, unless it is a draft. It is what "a ticket an agent replied to or
// noted" means for the balancer's never-move rule (the store applies the
// same rule to its mirrored threads).
func (t Thread) IsAgentWork() bool {
	if t.CreatedBy.Type != PersonUser || t.State == ThreadStateDraft {
		return false
	}
	switch t.Type {
	case ThreadTypeMessage, ThreadTypeNote, ThreadTypeChat, ThreadTypePhone, ThreadTypeBeaconChat, ThreadTypeForwardParent:
		return true
	}
	return false
}

// IsCustomerMessage reports whether the thread is the customer writing,
// the event that starts (or restarts) a wait.
func (t Thread) IsCustomerMessage() bool { return t.Kind() == ThreadCustomerMessage }
