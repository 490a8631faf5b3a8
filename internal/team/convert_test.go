package team

import (
	"slices"
	"strings"
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

// outOfScopeSnapshot is a mirrored mailbox 1 where Support (1) works,
// Sales (2) can open none of the mirrored mailboxes yet holds ticket 10
// there, and Billing (3) can open only mailbox 7.
func outOfScopeSnapshot(now time.Time) store.Snapshot {
	return store.Snapshot{
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
}

// TestSnapshotFromOutOfScope: a user who can open none of the mirrored
// mailboxes is excluded whatever the roster says, so they are never counted
// or handed a ticket, and while they are available a ticket of theirs in the
// mirrored mailbox stays.
func TestSnapshotFromOutOfScope(t *testing.T) {
	r, err := roster.Parse([]byte(`{"agents": [{"id": 2, "role": "sst", "level": 3}]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	s := outOfScopeSnapshot(now)
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
	res := balancer.Plan(snap, oldestFirst())
	for _, m := range res.Moves {
		if m.To == 2 || m.ConversationID == 10 {
			t.Errorf("move %+v involves the other inbox's user", m)
		}
	}
	if len(res.Moves) != 1 || res.Moves[0].ConversationID != 11 || res.Moves[0].To != 1 {
		t.Errorf("moves %+v, want the unassigned ticket to user 1 (3 cannot open its mailbox)", res.Moves)
	}
}

// TestOutOfScopeAwayHandsOn: once the other inbox's user is away beyond the
// grace period, their waiting customer in the mirrored mailbox is handed to
// this team, as a removed user's would be; a roster entry that excludes them
// keeps the ticket where it is.
func TestOutOfScopeAwayHandsOn(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		roster string
		status string
		want   bool // conversation 10 moves to user 1
	}{
		{"available", `{"agents": []}`, "active", false},
		{"away", `{"agents": []}`, "away", true},
		{"away sst", `{"agents": [{"id": 2, "role": "sst", "level": 3}]}`, "away", true},
		{"away but excluded", `{"agents": [{"id": 2, "role": "exclude"}]}`, "away", false},
		{"away hos", `{"agents": [{"id": 2, "role": "hos"}]}`, "away", false},
		// The team's default hours put Sales off shift at 10:00, but they
		// are another team's hours: Sales is working, Support is on shift.
		{"active outside this team's hours",
			`{"defaults": {"hours": "Mon-Fri 12:00-17:00"}, "agents": [{"id": 1, "hours": "Mon-Fri 08:00-17:00"}]}`,
			"active", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := roster.Parse([]byte(tc.roster))
			if err != nil {
				t.Fatal(err)
			}
			s := outOfScopeSnapshot(now)
			s.Statuses = []store.UserStatus{{UserID: 2, Status: tc.status, UpdatedAt: now.Add(-2 * time.Hour)}}
			snap := SnapshotFrom(s, r, now)
			for _, a := range snap.Agents {
				if a.ID == 2 && a.Available == (tc.status == "away") {
					t.Fatalf("user 2 available %v with status %s", a.Available, tc.status)
				}
			}
			moved := false
			for _, m := range balancer.Plan(snap, oldestFirst()).Moves {
				if m.To == 2 {
					t.Errorf("move %+v to the other inbox's user", m)
				}
				if m.ConversationID == 10 {
					moved = true
					if m.To != 1 || m.Reason != balancer.ReasonAway {
						t.Errorf("move %+v, want conversation 10 to user 1 as away", m)
					}
				}
			}
			if moved != tc.want {
				t.Errorf("conversation 10 moved %v, want %v", moved, tc.want)
			}
			agents := Build(s, r, now).Agents
			for _, v := range agents {
				if v.ID == 2 && v.Role != string(roster.RoleExclude) {
					t.Errorf("the page shows the other inbox's user as %q, want exclude", v.Role)
				}
			}
			// What the page and the API say of the ticket is what the plan
			// does with it: handed on, or left with an excluded owner.
			next := NewNextSteps(agents, nil, "propose", nil, now).Of(s.Conversations[0])
			if handedOn := next.Say == "Sales is away: handed on once the grace period has passed"; handedOn != tc.want {
				t.Errorf("next step %q, while the plan moves it: %v", next.Say, tc.want)
			}
		})
	}
}

// Issue 17, row 13: a proposal's note never says the customer waited
// longer than the conversation has existed, whatever the mirror holds
// (here a wait start in year 1, which read "customer waiting 106751d 23h").
func TestNoteWaitIsNeverLongerThanTheConversation(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name                string
		waitingSince, last  time.Time
		wantSince           time.Time
		wantInNote, notNote string
	}{
		{"a wait start in year 1", time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC), time.Time{}, now.Add(-3 * time.Hour), "customer waiting 3h", "106751d"},
		{"no wait start, a last message before creation", time.Time{}, now.Add(-48 * time.Hour), now.Add(-3 * time.Hour), "customer waiting 3h", "2d"},
		{"a plausible wait start", now.Add(-90 * time.Minute), time.Time{}, now.Add(-90 * time.Minute), "customer waiting 1h 30m", "3h"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := store.OpenConversation{ID: 1, Number: 1, Status: store.StatusActive, LastMessageBy: store.ByCustomer,
				CreatedAt: now.Add(-3 * time.Hour), CustomerWaitingSince: tc.waitingSince, LastCustomerAt: tc.last}
			bc := toBalancerConversation(c)
			if !bc.CustomerWaitingSince.Equal(tc.wantSince) {
				t.Errorf("CustomerWaitingSince = %v, want %v", bc.CustomerWaitingSince, tc.wantSince)
			}
			res := balancer.Plan(balancer.Snapshot{Now: now,
				Agents:        []balancer.Agent{{ID: 7, Name: "Ana", Role: balancer.RoleST, Capacity: 1, Available: true, AvailableSince: now.Add(-8 * time.Hour)}},
				Conversations: []balancer.Conversation{bc}}, balancer.DefaultPolicy())
			if len(res.Moves) != 1 {
				t.Fatalf("moves %+v, want the unassigned ticket handed out", res.Moves)
			}
			if note := res.Moves[0].Explanation; !strings.Contains(note, tc.wantInNote) || strings.Contains(note, tc.notNote) {
				t.Errorf("note %q, want it to say %q and not %q", note, tc.wantInNote, tc.notNote)
			}
		})
	}
}

// Issue 17, row 13: an agent's oldest wait, the page's "Oldest wait"
// column, is never older than the conversation it belongs to.
func TestOldestWaitIsNeverLongerThanTheConversation(t *testing.T) {
	now := time.Date(2026, 11, 24, 15, 0, 0, 0, time.UTC)
	v := View{
		Agents: []Agent{{ID: 7, Name: "Ana"}},
		Conversations: []store.OpenConversation{
			{ID: 1, Status: store.StatusActive, LastMessageBy: store.ByCustomer, AssigneeID: 7,
				CreatedAt: now.Add(-3 * time.Hour), CustomerWaitingSince: time.Date(1, 1, 1, 0, 0, 1, 0, time.UTC)},
			{ID: 2, Status: store.StatusActive, LastMessageBy: store.ByCustomer, AssigneeID: 7,
				CreatedAt: now.Add(-2 * time.Hour), CustomerWaitingSince: now.Add(-time.Hour)},
		},
	}
	agents := v.withStats(balancer.Stats{})
	if got, want := agents[0].OldestWait, now.Add(-3*time.Hour); !got.Equal(want) {
		t.Errorf("OldestWait = %v, want %v: the oldest conversation's creation", got, want)
	}
}

// oldestFirst is the default policy with the backlog handed out at once:
// who may take a ticket is under test here, not whether user 1, who has a
// customer waiting, should take it now.
func oldestFirst() balancer.Policy {
	p := balancer.DefaultPolicy()
	p.Backlog = balancer.BacklogOldest
	return p
}

// TestExcludedAgentsShowWhatTheyHold: someone the roster excludes showed
// "open 0, waiting 0" on the page and in /api/v1/agents, with an oldest
// wait set, while helpscout_agent_open_conversations said 4: the balancer
// measures only whom it balances. Their counts are now their tickets', and
// they stay out of the fair split and the imbalance.
func TestExcludedAgentsShowWhatTheyHold(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC)
	r, err := roster.Parse([]byte(`{"agents": [{"id": 7, "role": "exclude"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	conv := func(id, owner int64, status string, customerLast bool) store.OpenConversation {
		c := store.OpenConversation{ID: id, Number: id, MailboxID: 1, Status: status, AssigneeID: owner,
			CreatedAt: now.Add(-time.Duration(id) * time.Hour)}
		if customerLast {
			c.LastMessageBy, c.CustomerWaitingSince = store.ByCustomer, now.Add(-time.Duration(id)*time.Hour)
		} else {
			c.LastMessageBy = store.ByUser
		}
		return c
	}
	p := balancer.DefaultPolicy()
	base := []store.OpenConversation{conv(1, 1, store.StatusActive, true), conv(2, 2, store.StatusActive, true), conv(3, 2, store.StatusActive, true)}
	users := []store.User{{ID: 1, First: "Ana"}, {ID: 2, First: "Ben"}, {ID: 7, First: "Xavi"}}
	_, without := Build(store.Snapshot{TakenAt: now, Users: users, Conversations: base}, r, now).Measure(p)
	xavi := []store.OpenConversation{
		conv(71, 7, store.StatusActive, true), conv(72, 7, store.StatusActive, true),
		conv(73, 7, store.StatusActive, false), conv(74, 7, store.StatusPending, false),
	}
	agents, with := Build(store.Snapshot{TakenAt: now, Users: users, Conversations: append(slices.Clone(base), xavi...)}, r, now).Measure(p)
	var x Agent
	for _, a := range agents {
		if a.ID == 7 {
			x = a
		}
	}
	if x.Role != string(roster.RoleExclude) {
		t.Fatalf("Xavi's role is %q, want exclude", x.Role)
	}
	if x.Open != 4 || x.Waiting != 2 {
		t.Errorf("Xavi shows open %d, waiting %d; he holds 4 open tickets, 2 with the customer waiting", x.Open, x.Waiting)
	}
	if want := now.Add(-72 * time.Hour); !x.OldestWait.Equal(want) {
		t.Errorf("Xavi's oldest wait %v, want %v", x.OldestWait, want)
	}
	if x.Load != 0 || x.FairShare != 0 || x.LoadRatio != 0 {
		t.Errorf("Xavi, excluded, has load %v, fair share %v, ratio %v: want none, he is not balanced", x.Load, x.FairShare, x.LoadRatio)
	}
	if with.Imbalance != without.Imbalance || with.Jain != without.Jain || with.TotalWork != without.TotalWork {
		t.Errorf("Xavi's tickets moved the team's figures: imbalance %v→%v, jain %v→%v, work %v→%v",
			without.Imbalance, with.Imbalance, without.Jain, with.Jain, without.TotalWork, with.TotalWork)
	}
	for _, a := range agents {
		if a.ID == 1 && (a.Open != 1 || a.Waiting != 1) {
			t.Errorf("Ana shows open %d, waiting %d, want 1 and 1", a.Open, a.Waiting)
		}
	}
}
