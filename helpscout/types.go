package helpscout

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Conversation statuses. StatusAll is a list filter, never a conversation's
// status; StatusOpen appears in Help Scout's validation messages only.
const (
	StatusActive  = "active"
	StatusPending = "pending"
	StatusClosed  = "closed"
	StatusSpam    = "spam"
	StatusOpen    = "open"
	StatusAll     = "all"
)

// Person types, in createdBy, assignee, assignedTo and user lists.
const (
	PersonUser     = "user"
	PersonCustomer = "customer"
	PersonTeam     = "team"
	// PersonSystemUser is how the v3 endpoints mark AI agents; v2 reports
	// them as "user".
	PersonSystemUser = "system_user"
)

// Conversation is the v2 conversation object, as listed, fetched and sent in
// convo.* webhooks. Absent fields stay zero: Assignee.ID == 0 means
// unassigned, ClosedBy == 0 means nobody closed it.
type Conversation struct {
	ID          int64  `json:"id"`
	Number      int64  `json:"number"`
	ThreadCount int    `json:"threads"` // a count; the threads are in Embedded
	Type        string `json:"type"`    // email, chat, phone
	FolderID    int64  `json:"folderId"`
	Status      string `json:"status"` // active, pending, closed, spam
	State       string `json:"state"`  // draft, published, deleted
	Subject     string `json:"subject"`
	Preview     string `json:"preview"`
	MailboxID   int64  `json:"mailboxId"`

	Assignee  Person `json:"assignee,omitzero"` // absent when unassigned
	CreatedBy Person `json:"createdBy,omitzero"`
	CreatedAt Time   `json:"createdAt,omitzero"`

	// ClosedBy is the user id that closed the conversation; Help Scout
	// sends 0 (not an absent field) when nobody did.
	ClosedBy     int64  `json:"closedBy"`
	ClosedByUser Person `json:"closedByUser,omitzero"`
	ClosedAt     Time   `json:"closedAt,omitzero"`

	// UserUpdatedAt is the last change made by a user.
	UserUpdatedAt        Time                 `json:"userUpdatedAt,omitzero"`
	CustomerWaitingSince CustomerWaitingSince `json:"customerWaitingSince,omitzero"`

	Source          Source        `json:"source,omitzero"`
	Tags            []Tag         `json:"tags,omitempty"`
	CC              []string      `json:"cc,omitempty"`
	BCC             []string      `json:"bcc,omitempty"`
	PrimaryCustomer Person        `json:"primaryCustomer,omitzero"`
	CustomFields    []CustomField `json:"customFields,omitempty"`

	// Embedded holds the threads when they were asked for (embed=threads).
	Embedded ConversationEmbedded `json:"_embedded,omitzero"`
}

// ConversationEmbedded is a conversation's HAL _embedded block. Threads is
// nil when threads were not embedded and empty when there were none.
type ConversationEmbedded struct {
	Threads []Thread `json:"threads"`
}

// Threads returns the embedded threads (nil unless fetched with threads).
func (c Conversation) Threads() []Thread { return c.Embedded.Threads }

// Assigned reports whether the conversation has an assignee.
func (c Conversation) Assigned() bool { return c.Assignee.ID != 0 }

// HasTag reports whether the conversation carries the tag name.
func (c Conversation) HasTag(name string) bool {
	for _, t := range c.Tags {
		if t.Name == name {
			return true
		}
	}
	return false
}

// WebURL is the conversation's page in the Help Scout web app.
func (c Conversation) WebURL() string {
	return "https://secure.helpscout.net/conversation/" + strconv.FormatInt(c.ID, 10) + "/" + strconv.FormatInt(c.Number, 10)
}

// Person is the short form of a user, customer or team embedded in
// conversations and threads (assignee, createdBy, customer, ...).
type Person struct {
	ID       int64  `json:"id"`
	Type     string `json:"type,omitempty"` // user, customer, team (v3: system_user)
	First    string `json:"first,omitempty"`
	Last     string `json:"last,omitempty"`
	Email    string `json:"email,omitempty"`
	PhotoURL string `json:"photoUrl,omitempty"`
}

// CustomerWaitingSince says since when the customer has been waiting.
// LatestReplyFrom ("customer" or "user") appears in SDK fixtures only.
type CustomerWaitingSince struct {
	Time            Time   `json:"time,omitzero"`
	Friendly        string `json:"friendly,omitempty"`
	LatestReplyFrom string `json:"latestReplyFrom,omitempty"`
}

// Source is where a conversation or thread came from (type email, api, ...;
// via user or customer).
type Source struct {
	Type string `json:"type,omitempty"`
	Via  string `json:"via,omitempty"`
}

// Tag is a tag as it appears on a conversation.
type Tag struct {
	ID    int64  `json:"id"`
	Color string `json:"color,omitempty"`
	Name  string `json:"tag"`
}

// CustomField is a custom field value on a conversation. For dropdowns Value
// is the option id and Text its label.
type CustomField struct {
	ID    int64  `json:"id"`
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
	Text  string `json:"text,omitempty"`
}

// UnmarshalJSON accepts a value of any JSON type: the docs show strings, but
// one numeric value must not make a whole page undecodable.
func (f *CustomField) UnmarshalJSON(data []byte) error {
	var w struct {
		ID    int64           `json:"id"`
		Name  string          `json:"name"`
		Value json.RawMessage `json:"value"`
		Text  string          `json:"text"`
	}
	if err := json.Unmarshal(data, &w); err != nil {
		return err
	}
	*f = CustomField{ID: w.ID, Name: w.Name, Text: w.Text, Value: looseString(w.Value)}
	return nil
}

// looseString renders a JSON scalar as text: strings unquoted, null as "",
// anything else as its JSON.
func looseString(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	// Raw JSON keeps the input's bytes; keep the text valid UTF-8 so it
	// survives being encoded again.
	return strings.ToValidUTF8(string(raw), "\uFFFD")
}
