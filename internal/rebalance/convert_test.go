package rebalance

import (
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestSnapshotFromAvailability checks that the conversion tells the balancer
// the difference between someone away in Help Scout (an absence: BackAt
// unknown) and someone off shift (BackAt: their next shift start, from the
// roster's hours in their time zone).
func TestSnapshotFromAvailability(t *testing.T) {
	r, err := roster.Parse([]byte(`{"agents": [
	  {"id": 1, "hours": "Mon-Fri 09:00-17:00", "timezone": "America/New_York"},
	  {"id": 2, "hours": "Mon-Fri 09:00-17:00", "timezone": "America/New_York"},
	  {"id": 3, "hours": "Mon-Fri 09:00-17:00"},
	  {"id": 4}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // Monday 05:00 in New York
	awaySince := now.Add(-2 * time.Hour)
	s := store.Snapshot{
		TakenAt: now,
		Users: []store.User{
			{ID: 1, First: "Off", Timezone: "Europe/Berlin"},
			{ID: 2, First: "Away", Timezone: "Europe/Berlin"},
			{ID: 3, First: "OnInBerlin", Timezone: "Europe/Berlin"},
			{ID: 4, First: "NoHours"},
		},
		Statuses: []store.UserStatus{{UserID: 2, Status: "away", UpdatedAt: awaySince}},
	}
	type avail struct {
		Available        bool
		UnavailableSince time.Time
		BackAt           time.Time
		AvailableSince   time.Time
		AvailableUntil   time.Time
	}
	want := map[int64]avail{
		// Off shift since Friday 17:00 New York (22:00 UTC), back Monday
		// 09:00 New York (14:00 UTC).
		1: {UnavailableSince: time.Date(2026, 2, 27, 22, 0, 0, 0, time.UTC), BackAt: time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)},
		// Away in Help Scout: an absence of unknown length, even though the
		// same hours say when a shift starts.
		2: {UnavailableSince: awaySince},
		// The roster names no zone: the Help Scout user's (Berlin, 11:00).
		3: {Available: true, AvailableSince: time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC), AvailableUntil: time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)},
		4: {Available: true},
	}
	got := map[int64]avail{}
	for _, a := range SnapshotFrom(s, r, now).Agents {
		got[a.ID] = avail{a.Available, a.UnavailableSince, a.BackAt, a.AvailableSince, a.AvailableUntil}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("availability (-want +got):\n%s", diff)
	}
}

// TestSnapshotFromOutOfScope: a user who can open none of the mirrored
// mailboxes is excluded whatever the roster says, so they are never counted
// or handed a ticket, and a ticket of theirs in the mirrored mailbox stays.
func TestSnapshotFromOutOfScope(t *testing.T) {
	r, err := roster.Parse([]byte(`{"agents": [{"id": 2, "role": "sst", "level": 3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := store.Snapshot{
		TakenAt: now,
		Users: []store.User{
			{ID: 1, First: "Support"},
			{ID: 2, First: "Sales", OutOfScope: true, Mailboxes: []int64{}},
			{ID: 3, First: "Billing", Mailboxes: []int64{7}},
		},
		Conversations: []store.OpenConversation{
			{ID: 10, MailboxID: 1, Status: store.StatusActive, AssigneeID: 2, LastMessageBy: store.ByCustomer,
				CreatedAt: now.Add(-time.Hour), CustomerWaitingSince: now.Add(-time.Hour)},
			{ID: 11, MailboxID: 1, Status: store.StatusActive, LastMessageBy: store.ByCustomer,
				CreatedAt: now.Add(-time.Hour), CustomerWaitingSince: now.Add(-time.Hour)},
			// Support already holds one; Billing holds none but cannot open mailbox 1.
			{ID: 12, MailboxID: 1, Status: store.StatusActive, AssigneeID: 1, LastMessageBy: store.ByCustomer,
				CreatedAt: now.Add(-30 * time.Minute), CustomerWaitingSince: now.Add(-30 * time.Minute)},
		},
	}
	snap := SnapshotFrom(s, r, now)
	roles := map[int64]balancer.Role{}
	for _, a := range snap.Agents {
		roles[a.ID] = a.Role
	}
	if diff := cmp.Diff(map[int64]balancer.Role{1: balancer.RoleST, 2: balancer.RoleExclude, 3: balancer.RoleST}, roles); diff != "" {
		t.Errorf("roles (-want +got):\n%s", diff)
	}
	for _, a := range snap.Agents {
		if a.ID == 3 && !slices.Equal(a.Mailboxes, []int64{7}) || a.ID == 1 && a.Mailboxes != nil {
			t.Errorf("agent %d: mailboxes %v", a.ID, a.Mailboxes)
		}
	}
	res := balancer.Plan(snap, balancer.DefaultPolicy())
	for _, m := range res.Moves {
		if m.To == 2 || m.ConversationID == 10 {
			t.Errorf("move %+v involves the other inbox's user", m)
		}
	}
	if len(res.Moves) != 1 || res.Moves[0].ConversationID != 11 || res.Moves[0].To != 1 {
		t.Errorf("moves %+v, want the unassigned ticket to user 1 (3 cannot open its mailbox)", res.Moves)
	}
}
