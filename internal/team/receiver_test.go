package team

import (
	"strconv"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestUnfit covers each reason a plan's receiver may no longer take a
// ticket, from the roster and the mirror as Build reads them and the
// policy as Measure adds it: the apply path's re-check and the page's
// warning both say Unfit's words, so the facts it needs (mailboxes,
// escalations, max_open, the shift's end and the margin before it) must
// come through Build and Measure.
func TestUnfit(t *testing.T) {
	t.Parallel()
	r, err := roster.Parse([]byte(`{"agents": [
	  {"id": 1},
	  {"id": 2, "hours": "Mon-Fri 09:00-17:00", "timezone": "UTC"},
	  {"id": 3, "hours": "Mon-Fri 16:00-17:00", "timezone": "UTC"},
	  {"id": 4},
	  {"id": 5, "role": "exclude"},
	  {"id": 6, "role": "hos"},
	  {"id": 7, "role": "hos", "escalations": true},
	  {"id": 8, "max_open": 2},
	  {"id": 10, "hours": "Mon-Fri 09:00-10:05", "timezone": "UTC"},
	  {"id": 11, "hours": "Mon-Fri 09:00-10:45", "timezone": "UTC"}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC) // a Monday
	v := Build(store.Snapshot{TakenAt: now,
		Users: []store.User{
			{ID: 1, First: "Ana", Mailboxes: []int64{5, 6}},
			{ID: 2, First: "Sam", Mailboxes: []int64{5}},
			{ID: 3, First: "Olga"},
			{ID: 4, First: "Walt"},
			{ID: 5, First: "Xavi"},
			{ID: 6, First: "Hana"},
			{ID: 7, First: "Hugo"},
			{ID: 8, First: "Max"},
			{ID: 9, First: "Otto", OutOfScope: true},
			{ID: 10, First: "Lea"},
			{ID: 11, First: "Lou"},
		},
		Statuses: []store.UserStatus{{UserID: 4, Status: "away", UpdatedAt: now.Add(-time.Hour)}},
	}, r, now)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	agents, _ := v.Measure(balancer.DefaultPolicy()) // ShiftEndMargin 30m
	for _, tt := range []struct {
		name       string
		to         int64
		open       int
		reason     string
		mailbox    int64
		want       string
		wantAbsent bool
	}{
		{"can take it", 1, 0, "overload", 6, "", false},
		{"mailbox unknown", 2, 0, "overload", 0, "", false},
		{"lost the mailbox", 2, 0, "overload", 6, "can no longer open mailbox 6", false},
		{"off shift, back in the page's zone", 3, 0, "overload", 5, "is off shift now (back Mon 17:00 CET)", true},
		{"away", 4, 0, "away", 5, "is away now", true},
		{"no longer a user", 42, 0, "away", 5, "is no longer a Help Scout user", true},
		{"left out", 5, 0, "overload", 5, "is someone the roster leaves out now", false},
		{"another inbox's", 9, 0, "overload", 5, "is someone the roster leaves out now", false},
		{"head of support", 6, 0, "stuck", 5, "is the head of support now, who takes only stuck escalations (and only with escalations in the roster)", false},
		{"head of support taking escalations, not stuck", 7, 0, "overload", 5, "is the head of support now, who takes only stuck escalations (and only with escalations in the roster)", false},
		{"head of support taking escalations, stuck", 7, 0, "stuck", 5, "", false},
		{"below max_open", 8, 1, "overload", 5, "", false},
		{"at max_open", 8, 2, "overload", 5, "holds 2 open tickets, their roster's max_open", false},
		{"shift ends in 5 minutes", 10, 0, "overload", 5, "ends the shift at 11:05 CET, within 30m, too soon to start a new customer", false},
		{"shift ends in 45 minutes", 11, 0, "overload", 5, "", false},
		{"no known shift end", 1, 0, "overload", 5, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := Receiver(agents, tt.to)
			a.Open = tt.open
			got, absent := a.Unfit(tt.mailbox, tt.reason, now, berlin)
			if got != tt.want || absent != tt.wantAbsent {
				t.Errorf("Unfit = %q, %v; want %q, %v", got, absent, tt.want, tt.wantAbsent)
			}
		})
	}
	// The team as read before the shift ended, asked after it (a page
	// rendered from a team read that is minutes old): gone, not going.
	if why, absent := Receiver(agents, 10).Unfit(5, "overload", now.Add(10*time.Minute), berlin); why != "ended the shift at 11:05 CET" || !absent {
		t.Errorf("Unfit after the shift's end = %q, %v; want \"ended the shift at 11:05 CET\", true", why, absent)
	}
	if got := Receiver(v.Agents, 42).Name; got != "user 42" {
		t.Errorf("a receiver the mirror no longer holds is named %q, want user 42", got)
	}
	// Without the margin (Build alone, or a caller who leaves it out, as
	// for own mode's routes to the last on shift), the shift's end is not
	// asked about.
	if why, _ := Receiver(v.Agents, 10).Unfit(5, "overload", now, berlin); why != "" {
		t.Errorf("Unfit without a margin = %q, want \"\"", why)
	}
}

// TestReceiverNamesARemovedUserByID: Build names an assignee Help Scout no
// longer lists "a removed user", which would make Unfit's sentence "a
// removed user is no longer a Help Scout user"; Receiver names them by id,
// whether Build still lists them (holding a ticket) or not.
func TestReceiverNamesARemovedUserByID(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	v := Build(store.Snapshot{TakenAt: now,
		Users:         []store.User{{ID: 1, First: "Ana"}},
		Conversations: []store.OpenConversation{{ID: 100, AssigneeID: 12, Status: "active"}},
	}, nil, now)
	for _, to := range []int64{12, 13} { // 12 holds a ticket, 13 nothing
		a := Receiver(v.Agents, to)
		why, absent := a.Unfit(0, "overload", now, nil)
		want := "user " + strconv.FormatInt(to, 10)
		if a.Name != want || why != "is no longer a Help Scout user" || !absent {
			t.Errorf("Receiver(%d) = %q, Unfit %q absent %v; want %q, no longer a user, absent", to, a.Name, why, absent, want)
		}
	}
}

// TestRoundTheClockIsNotLeaving: hours that run on without a break are one
// shift, so at a quarter to midnight someone on every day's 00:00-24:00,
// and someone whose night is written as 22:00-24:00 and 00:00-06:00, is
// not about to leave: the approval re-check (Unfit), steer's rotation and
// own's routing all still give them work. Someone whose shift does end at
// midnight is leaving, to show the margin is in force. Walt has no hours
// and two customers waiting, so that the two are preferred to him only
// when they are not counted as leaving.
func TestRoundTheClockIsNotLeaving(t *testing.T) {
	t.Parallel()
	r, err := roster.Parse([]byte(`{"agents": [
	  {"id": 1, "hours": "Mon-Sun 00:00-24:00", "timezone": "UTC"},
	  {"id": 2, "hours": "Mon 22:00-24:00; Tue 00:00-06:00", "timezone": "UTC"},
	  {"id": 3, "hours": "Mon 16:00-24:00", "timezone": "UTC"},
	  {"id": 4}
	]}`))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 2, 23, 45, 0, 0, time.UTC) // a Monday, 15 minutes before midnight
	waiting := func(id, assignee int64) store.OpenConversation {
		return store.OpenConversation{ID: id, Number: id, MailboxID: 5, Status: store.StatusActive, AssigneeID: assignee,
			LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-time.Hour), CustomerWaitingSince: now.Add(-time.Hour)}
	}
	v := Build(store.Snapshot{TakenAt: now,
		Users: []store.User{{ID: 1, First: "Ana"}, {ID: 2, First: "Nia"}, {ID: 3, First: "Lou"}, {ID: 4, First: "Walt"}},
		Conversations: []store.OpenConversation{waiting(100, 4), waiting(101, 4),
			{ID: 200, Number: 200, MailboxID: 5, Status: store.StatusActive, LastMessageBy: store.ByCustomer, CreatedAt: now, CustomerWaitingSince: now}},
	}, r, now)
	p := balancer.DefaultPolicy() // ShiftEndMargin 30m
	agents, _ := v.Measure(p)
	for _, tt := range []struct {
		name string
		to   int64
		want string
	}{
		{"24/7", 1, ""},
		{"a night in two rows", 2, ""},
		{"a shift that ends at midnight", 3, "ends the shift at 00:00 UTC, within 30m, too soon to start a new customer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, _ := Receiver(agents, tt.to).Unfit(5, "overload", now, time.UTC); got != tt.want {
				t.Errorf("Unfit = %q, want %q", got, tt.want)
			}
		})
	}
	why := map[int64]balancer.RotationWhy{}
	for _, c := range balancer.RotationChoices(v.Snapshot, p, 5, []int64{1, 2, 3, 4}) {
		why[c.AgentID] = c.Why
	}
	if why[1] != balancer.RotationIn || why[2] != balancer.RotationIn || why[3] != balancer.RotationLeaving {
		t.Errorf("rotation %v: want 1 and 2 in (not leaving), 3 leaving", why)
	}
	moves := balancer.Route(v.Snapshot, p, 200)
	if len(moves) != 1 || (moves[0].To != 1 && moves[0].To != 2) {
		t.Errorf("own routing of a new customer: %+v, want it given to 1 or 2, who stay on", moves)
	}
}
