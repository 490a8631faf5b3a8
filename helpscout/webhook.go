package helpscout

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Webhook request headers.
const (
	HeaderSignature = "X-HelpScout-Signature"
	HeaderEvent     = "X-HelpScout-Event"
)

// Webhook event names (the API's enum, plus the test ping).
const (
	EventConvoAssigned             = "convo.assigned"
	EventConvoCreated              = "convo.created"
	EventConvoDeleted              = "convo.deleted"
	EventConvoMerged               = "convo.merged"
	EventConvoMoved                = "convo.moved"
	EventConvoStatus               = "convo.status"
	EventConvoTags                 = "convo.tags"
	EventConvoCustomFields         = "convo.custom-fields"
	EventConvoCustomerReplyCreated = "convo.customer.reply.created"
	EventConvoAgentReplyCreated    = "convo.agent.reply.created"
	EventConvoNoteCreated          = "convo.note.created"
	EventCustomerCreated           = "customer.created"
	EventCustomerUpdated           = "customer.updated"
	EventCustomerDeleted           = "customer.deleted"
	EventSatisfactionRatings       = "satisfaction.ratings"
	EventBeaconChatCreated         = "beacon.chat.created"
	EventBeaconChatCustomerReply   = "beacon.chat.customer.replied"
	EventTagCreated                = "tag.created"
	EventTagUpdated                = "tag.updated"
	EventTagDeleted                = "tag.deleted"
	EventSurveyResponseReceived    = "message.survey.response.received"
	// EventTest is the ping sent when a webhook is saved; its body shape is
	// undocumented.
	EventTest = "helpscout.test"
)

// events is every event above, in their order: the one list of the events
// queuewrangler knows (a test checks that no constant is missing from it).
var events = []string{
	EventConvoAssigned, EventConvoCreated, EventConvoDeleted, EventConvoMerged, EventConvoMoved,
	EventConvoStatus, EventConvoTags, EventConvoCustomFields, EventConvoCustomerReplyCreated,
	EventConvoAgentReplyCreated, EventConvoNoteCreated, EventCustomerCreated, EventCustomerUpdated,
	EventCustomerDeleted, EventSatisfactionRatings, EventBeaconChatCreated, EventBeaconChatCustomerReply,
	EventTagCreated, EventTagUpdated, EventTagDeleted, EventSurveyResponseReceived, EventTest,
}

var knownEvents = func() map[string]bool {
	m := make(map[string]bool, len(events))
	for _, e := range events {
		m[e] = true
	}
	return m
}()

// Events returns every webhook event name this package knows, the test
// ping included. The slice is the caller's.
func Events() []string { return slices.Clone(events) }

// KnownEvent reports whether name is one of Events, exactly as Help Scout
// spells it.
func KnownEvent(name string) bool { return knownEvents[name] }

// Sign returns base64(HMAC-SHA1(secret, body)), the X-HelpScout-Signature
// value for body. The fake uses it to sign deliveries.
func Sign(secret string, body []byte) string {
	mac := hmac.New(sha1.New, []byte(secret))
	mac.Write(body)
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// ValidateSignature reports whether signatureHeader is the signature of the
// raw body bytes (as received, before any decoding) under secret. Whitespace
// around the header value is ignored; the comparison is constant-time. An
// empty secret or an empty header never validates: a daemon without a
// configured secret must not accept anything.
func ValidateSignature(secret string, body []byte, signatureHeader string) bool {
	got := strings.TrimSpace(signatureHeader)
	if secret == "" || got == "" {
		return false
	}
	return hmac.Equal([]byte(Sign(secret, body)), []byte(got))
}

// ErrMalformedPayload is wrapped by ParseWebhook when a body that should
// hold JSON of a known shape does not. The delivery was authentic (the
// caller checked the signature first) but cannot be used: answer 400.
var ErrMalformedPayload = errors.New("helpscout: malformed webhook payload")

// ErrMissingEvent is returned by ParseWebhook for an empty event name.
var ErrMissingEvent = errors.New("helpscout: webhook has no event name")

// WebhookKind says which fields of a WebhookEvent are set.
type WebhookKind int

// Webhook kinds.
const (
	// WebhookOther is any event that is not about a conversation
	// (customer.*, tag.*, satisfaction.ratings, ...) or that this package
	// does not know; Body holds the payload.
	WebhookOther WebhookKind = iota
	// WebhookConversation is a convo.* event other than convo.deleted:
	// Conversation holds the conversation as it is now.
	WebhookConversation
	// WebhookConversationDeleted is convo.deleted: DeletedID is set.
	WebhookConversationDeleted
	// WebhookTest is helpscout.test.
	WebhookTest
)

func (k WebhookKind) String() string {
	switch k {
	case WebhookConversation:
		return "conversation"
	case WebhookConversationDeleted:
		return "conversation_deleted"
	case WebhookTest:
		return "test"
	}
	return "other"
}

// WebhookEvent is a parsed delivery.
type WebhookEvent struct {
	Name         string // the X-HelpScout-Event value, trimmed and lowercased
	Kind         WebhookKind
	Conversation *Conversation // WebhookConversation only
	DeletedID    int64         // WebhookConversationDeleted only
	Body         []byte        // the payload as given (not copied)
}

// ConversationID is the id of the conversation the event is about, or 0.
func (e *WebhookEvent) ConversationID() int64 {
	switch {
	case e.Conversation != nil:
		return e.Conversation.ID
	default:
		return e.DeletedID
	}
}

// The dates a webhook may carry: anything outside them is a forgery or a
// bug, and stored as sent it would show a customer waiting for 292 years.
var (
	earliestPlausible = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	latestPlausible   = time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC) // exclusive: 2100 is in
)

// implausible names the first value in c that no Help Scout account can
// hold (a date outside 2000-2100, a negative count or id), or "". Only
// webhooks are checked: their bodies come from whoever holds the secret,
// while the API's answers are Help Scout's own.
func implausible(c *Conversation) string {
	type namedTime struct {
		name string
		t    Time
	}
	dates := []namedTime{
		{"createdAt", c.CreatedAt}, {"closedAt", c.ClosedAt}, {"userUpdatedAt", c.UserUpdatedAt},
		{"customerWaitingSince.time", c.CustomerWaitingSince.Time},
	}
	for _, th := range c.Embedded.Threads {
		dates = append(dates, namedTime{"thread createdAt", th.CreatedAt}, namedTime{"thread openedAt", th.OpenedAt})
	}
	for _, d := range dates {
		if !d.t.IsZero() && (d.t.Before(earliestPlausible) || !d.t.Before(latestPlausible)) {
			return fmt.Sprintf("%s %s is outside 2000-2100", d.name, d.t.Format(TimeLayout))
		}
	}
	numbers := []struct {
		name string
		n    int64
	}{
		{"number", c.Number}, {"threads", int64(c.ThreadCount)}, {"folderId", c.FolderID}, {"mailboxId", c.MailboxID},
		{"assignee id", c.Assignee.ID}, {"createdBy id", c.CreatedBy.ID}, {"closedBy", c.ClosedBy},
		{"closedByUser id", c.ClosedByUser.ID}, {"primaryCustomer id", c.PrimaryCustomer.ID},
	}
	for _, n := range numbers {
		if n.n < 0 {
			return fmt.Sprintf("%s is negative (%d)", n.name, n.n)
		}
	}
	return ""
}

// ParseWebhook decodes a delivery whose signature was already checked, routed
// on the X-HelpScout-Event header value:
//
//   - convo.deleted: {"id": N} gives DeletedID.
//   - any other convo.* event: the body is a Conversation (threads are
//     usually absent; re-fetch them).
//   - helpscout.test: no body shape is required.
//   - anything else: WebhookOther, not an error, as long as the body is JSON.
//
// A body that is not JSON, a conversation event without a positive id, or
// one with an implausible value (a date outside 2000-2100, a negative
// count or id) gives an error wrapping ErrMalformedPayload.
func ParseWebhook(event string, body []byte) (*WebhookEvent, error) {
	name := strings.ToLower(strings.TrimSpace(event))
	if name == "" {
		return nil, ErrMissingEvent
	}
	ev := &WebhookEvent{Name: name, Body: body}
	switch {
	case name == EventTest:
		ev.Kind = WebhookTest
	case name == EventConvoDeleted:
		var p struct {
			ID int64 `json:"id"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformedPayload, name, err)
		}
		if p.ID <= 0 {
			return nil, fmt.Errorf("%w: %s: no conversation id", ErrMalformedPayload, name)
		}
		ev.Kind, ev.DeletedID = WebhookConversationDeleted, p.ID
	case strings.HasPrefix(name, "convo."):
		conv := new(Conversation)
		if err := json.Unmarshal(body, conv); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrMalformedPayload, name, err)
		}
		if conv.ID <= 0 {
			return nil, fmt.Errorf("%w: %s: no conversation id", ErrMalformedPayload, name)
		}
		if problem := implausible(conv); problem != "" {
			return nil, fmt.Errorf("%w: %s: %s", ErrMalformedPayload, name, problem)
		}
		ev.Kind, ev.Conversation = WebhookConversation, conv
	default:
		if !json.Valid(body) {
			return nil, fmt.Errorf("%w: %s: not JSON", ErrMalformedPayload, name)
		}
		ev.Kind = WebhookOther
	}
	return ev, nil
}
