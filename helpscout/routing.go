package helpscout

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
)

// Routing states, assignment methods and the reasons routing gives for
// passing someone over (helpscout-api.md section 15). Help Scout may add
// values; the types keep whatever string was sent.
const (
	RoutingEnabled  = "enabled"
	RoutingDisabled = "disabled"

	RoutingRoundRobin = "round_robin" // one by one in alphabetical order
	RoutingBalanced   = "balanced"    // to whoever has the fewest active conversations

	ReasonAtCapacity    = "at_capacity"     // at or above the assignment limit
	ReasonAway          = "away"            // status Away
	ReasonNotInRotation = "not_in_rotation" // not among UserIDs
)

// Routing limits as documented for PUT.
const (
	MinAssignmentLimit = 1
	MaxAssignmentLimit = 100
)

// RoutingConfig is what an admin sets for an inbox's routing: the body of
// PUT /v2/mailboxes/{id}/routing, and the first four fields of GET.
//
// GET leaves out AssignmentLimit and AssignmentMethod (and may leave out
// UserIDs) when routing is disabled, so those decode to 0, "" and nil.
// PUT needs all four.
type RoutingConfig struct {
	State            string  `json:"state"`
	AssignmentLimit  int     `json:"assignmentLimit"`
	AssignmentMethod string  `json:"assignmentMethod"`
	UserIDs          []int64 `json:"userIds"`
}

// Enabled reports whether routing assigns new conversations.
func (c RoutingConfig) Enabled() bool { return c.State == RoutingEnabled }

// InRotation reports whether userID is among UserIDs.
func (c RoutingConfig) InRotation(userID int64) bool {
	for _, id := range c.UserIDs {
		if id == userID {
			return true
		}
	}
	return false
}

// Routing is an inbox's routing as GET /v2/mailboxes/{id}/routing serves
// it: the configuration and, in Rotation, each relevant user's state now.
type Routing struct {
	RoutingConfig
	Rotation []RotationEntry `json:"rotation"`
}

// Entry returns userID's entry of Rotation.
func (r Routing) Entry(userID int64) (RotationEntry, bool) {
	for _, e := range r.Rotation {
		if e.UserID == userID {
			return e, true
		}
	}
	return RotationEntry{}, false
}

// RotationEntry is one user's state in an inbox's routing.
type RotationEntry struct {
	UserID int64 `json:"userId"`
	// ConversationsCount is the user's active conversations, the figure the
	// assignment limit and Balanced routing compare.
	ConversationsCount int  `json:"conversationsCount"`
	Eligible           bool `json:"eligible"`
	// Reason says why routing would pass the user over now: ReasonAway,
	// ReasonAtCapacity, ReasonNotInRotation, or a value Help Scout added
	// since, kept as sent. It is absent ("") when Eligible.
	Reason string `json:"reason,omitempty"`
}

func routingPath(mailboxID int64) string {
	return "v2/mailboxes/" + strconv.FormatInt(mailboxID, 10) + "/routing"
}

// GetRouting fetches a mailbox's routing configuration and rotation. An app
// whose user lacks the "Inbox: Manage Routing" permission gets a 403
// (errors.Is(err, ErrForbidden)).
func (s *MailboxesService) GetRouting(ctx context.Context, mailboxID int64) (*Routing, *Response, error) {
	if mailboxID <= 0 {
		return nil, nil, fmt.Errorf("get routing: invalid mailbox id %d", mailboxID)
	}
	r := new(Routing)
	resp, err := s.client.get(ctx, routingPath(mailboxID), nil, r)
	if err != nil {
		return nil, resp, fmt.Errorf("get routing of mailbox %d: %w", mailboxID, err)
	}
	return r, resp, nil
}

// UpdateRouting replaces a mailbox's routing configuration (PUT; 204). It
// is a whole replacement with no version check: read with GetRouting, and
// write only what was meant to change, or an admin's edit made in between
// is lost. Like every write it costs 2 of the rate budget.
//
// Arguments that can only be wrong are refused before sending (no state or
// method, a limit below 1, an enabled rotation without users, a user id
// that is not positive); the upper bound of the limit and the enum values
// are left to the server, so a method Help Scout adds later can still be
// written back unchanged. A nil UserIDs is sent as [].
func (s *MailboxesService) UpdateRouting(ctx context.Context, mailboxID int64, cfg RoutingConfig) (*Response, error) {
	if err := cfg.check(mailboxID); err != nil {
		return nil, fmt.Errorf("update routing of mailbox %d: %w", mailboxID, err)
	}
	if cfg.UserIDs == nil {
		cfg.UserIDs = []int64{}
	}
	resp, err := s.client.send(ctx, http.MethodPut, routingPath(mailboxID), cfg)
	if err != nil {
		return resp, fmt.Errorf("update routing of mailbox %d: %w", mailboxID, err)
	}
	return resp, nil
}

func (c RoutingConfig) check(mailboxID int64) error {
	switch {
	case mailboxID <= 0:
		return fmt.Errorf("invalid mailbox id %d", mailboxID)
	case c.State == "":
		return fmt.Errorf("no state (%s or %s)", RoutingEnabled, RoutingDisabled)
	case c.AssignmentMethod == "":
		return fmt.Errorf("no assignment method (%s or %s)", RoutingRoundRobin, RoutingBalanced)
	case c.AssignmentLimit < MinAssignmentLimit:
		return fmt.Errorf("assignment limit %d is below %d", c.AssignmentLimit, MinAssignmentLimit)
	case c.Enabled() && len(c.UserIDs) == 0:
		return fmt.Errorf("enabled routing needs at least one user")
	}
	for _, id := range c.UserIDs {
		if id <= 0 {
			return fmt.Errorf("invalid user id %d", id)
		}
	}
	return nil
}
