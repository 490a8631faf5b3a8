package team

import "time"

// Routing is how new conversations get their first owner (QW_ROUTING,
// design.md section 8), as the queue page and /api/v1/agents show it.
type Routing struct {
	// Mode is QW_ROUTING as configured: helpscout, steer or own.
	Mode string `json:"mode"`
	// Running is the mode in effect: helpscout while steer has fallen back
	// for want of the Manage Routing permission, else Mode.
	Running string `json:"running"`
	// Notice says, in plain words, why Running differs from Mode; "" when
	// it does not.
	Notice string `json:"notice,omitempty"`
	// Inboxes are the steered inboxes, by mailbox id (steer only).
	Inboxes []RoutingInbox `json:"inboxes,omitempty"`
}

// RoutingInbox is one inbox's rotation as steer mode last left it.
type RoutingInbox struct {
	MailboxID int64  `json:"mailbox_id"`
	Name      string `json:"name"`
	// Enabled is whether Help Scout's routing is on in the inbox; when it
	// is off there is nothing to steer.
	Enabled bool `json:"enabled"`
	// Note says what was done or not done and why, when that is not just
	// the list of people: routing off, nobody available.
	Note      string    `json:"note,omitempty"`
	CheckedAt time.Time `json:"checked_at,omitzero"`
	// People are the admin's set (the ceiling), in id order: who is in the
	// rotation and, for everyone, why.
	People []RotationPerson `json:"people,omitempty"`
}

// RotationPerson is one person of the admin's set of a steered inbox.
type RotationPerson struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	InRotation bool   `json:"in_rotation"`
	// Why is the reason in plain words: "away", "off shift until Tue
	// 09:00", "above their fair share", ...
	Why string `json:"why"`
}
