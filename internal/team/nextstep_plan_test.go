package team

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestOffShiftNextStepSaysWhatThePlanDoes: for a stuck ticket whose owner
// is off shift with a known return, the page said "waits for Olga, back
// Tue 09:00 UTC" while the balancer's away rule handed the customer on as
// soon as someone on shift would answer clearly sooner (in the demo 23
// minutes later, where the customer would have waited 2d 2h). The next
// step now says the ticket is handed on in the cases the plan moves it,
// and that it waits for its owner alone where the rule leaves it to them:
// an ongoing conversation, unless QW_OFF_SHIFT_HANDOVER=all.
func TestOffShiftNextStepSaysWhatThePlanDoes(t *testing.T) {
	now := time.Date(2026, 3, 2, 20, 0, 0, 0, time.UTC) // a Monday, after Olga's shift
	r, err := roster.Parse([]byte(`{"agents": [{"id": 5, "hours": "Mon-Fri 09:00-17:00", "timezone": "UTC"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	const (
		back    = "waits for Olga Off, back Tue 09:00 UTC"
		handsOn = back + ", unless someone on shift would answer clearly sooner: queuewrangler then hands it on"
		ongoing = back + ": an ongoing conversation stays with the agent who knows it"
	)
	for _, tc := range []struct {
		name         string
		agentReplied bool
		handOverAll  bool
		wantMoved    bool
		wantSay      string
	}{
		{"a new customer", false, false, true, handsOn},
		{"an ongoing conversation", true, false, false, ongoing},
		{"an ongoing conversation, QW_OFF_SHIFT_HANDOVER=all", true, true, true, handsOn},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := balancer.DefaultPolicy()
			p.HandOverOngoing = tc.handOverAll
			stuck := store.OpenConversation{ID: 10, Number: 10, MailboxID: 1, Status: store.StatusActive, AssigneeID: 5,
				LastMessageBy: store.ByCustomer, AgentReplied: tc.agentReplied,
				CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-p.StuckAfter - time.Hour)}
			v := Build(store.Snapshot{TakenAt: now,
				Users: []store.User{
					{ID: 5, First: "Olga", Last: "Off", Timezone: "UTC"},
					{ID: 6, First: "Ben", Last: "On", Timezone: "UTC"}, // no hours: always on shift
				},
				Conversations: []store.OpenConversation{stuck},
			}, r, now)
			moved := false
			for _, m := range balancer.Plan(v.Snapshot, p).Moves {
				if m.ConversationID == stuck.ID {
					moved = true
					if m.Reason != balancer.ReasonAway || m.To != 6 {
						t.Errorf("move %+v, want Olga's customer to Ben as away", m)
					}
				}
			}
			if moved != tc.wantMoved {
				t.Fatalf("the plan moved the ticket: %v, want %v", moved, tc.wantMoved)
			}
			agents, _ := v.Measure(p)
			got := NewNextSteps(agents, nil, "propose", nil, now).Of(stuck)
			if got.Say != tc.wantSay || got.NeedsSomeone {
				t.Errorf("next step %q (needs someone %v), want %q", got.Say, got.NeedsSomeone, tc.wantSay)
			}
			if handedOn := strings.Contains(got.Say, "hands it on"); handedOn != moved {
				t.Errorf("next step %q says it is handed on: %v; the plan moves it: %v", got.Say, handedOn, moved)
			}
		})
	}
}

// TestStuckNextStepUnderTheBacklogSetting is the day-one repro's shape:
// the default QW_BACKLOG=idle, a head of support who takes escalations,
// the SSTs off shift, Ivan Away since yesterday with stuck tickets, and
// Dev on shift with a customer who has waited 20 days, everyone on shift
// with customers waiting. `plan` moved nothing, yet the page said Ivan's
// tickets were "handed on once the grace period has passed" and Dev's
// went "to a senior once stuck", under "Waits for its owner". Now every
// ticket the plan leaves for want of anyone free needs someone and says
// why; under QW_BACKLOG=oldest, which moves them, the words are as before.
func TestStuckNextStepUnderTheBacklogSetting(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC) // a Tuesday afternoon
	r, err := roster.Parse([]byte(`{"agents": [
		{"id": 1, "role": "hos", "escalations": true},
		{"id": 2, "role": "sst", "hours": "Mon-Fri 00:00-06:00", "timezone": "UTC"},
		{"id": 3, "role": "sst", "hours": "Mon-Fri 00:00-06:00", "timezone": "UTC"},
		{"id": 4, "role": "st"},
		{"id": 5, "role": "st"},
		{"id": 6, "role": "st"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	var convs []store.OpenConversation
	waiting := func(id, owner int64, since time.Duration, replied bool) store.OpenConversation {
		c := store.OpenConversation{ID: id, Number: id, MailboxID: 1, Status: store.StatusActive, AssigneeID: owner,
			LastMessageBy: store.ByCustomer, AgentReplied: replied,
			CreatedAt: now.Add(-since - time.Hour), CustomerWaitingSince: now.Add(-since)}
		convs = append(convs, c)
		return c
	}
	ivan1 := waiting(41, 4, 4*24*time.Hour, false) // Ivan's customers, stuck
	ivan2 := waiting(42, 4, 30*time.Hour, true)
	dev := waiting(51, 5, 20*24*time.Hour, true) // Dev's, on shift
	waiting(61, 6, 20*time.Minute, false)        // Eve, on shift, busy too
	waiting(11, 1, 10*time.Minute, false)        // the head of support, busy
	snap := store.Snapshot{TakenAt: now,
		Users: []store.User{
			{ID: 1, First: "Hana", Last: "Head", Timezone: "UTC"},
			{ID: 2, First: "Sara", Last: "Senior", Timezone: "UTC"},
			{ID: 3, First: "Sven", Last: "Senior", Timezone: "UTC"},
			{ID: 4, First: "Ivan", Last: "Away", Timezone: "UTC"},
			{ID: 5, First: "Dev", Last: "On", Timezone: "UTC"},
			{ID: 6, First: "Eve", Last: "On", Timezone: "UTC"},
		},
		Statuses:      []store.UserStatus{{UserID: 4, Status: "away", UpdatedAt: now.Add(-26 * time.Hour)}},
		Conversations: convs,
	}
	stuck := []store.OpenConversation{ivan1, ivan2, dev}

	idle := balancer.DefaultPolicy()
	v := Build(snap, r, now)
	if moves := balancer.Plan(v.Snapshot, idle).Moves; len(moves) != 0 {
		t.Fatalf("under QW_BACKLOG=idle the plan made %d moves, want none (the repro): %+v", len(moves), moves)
	}
	agents, _ := v.Measure(idle)
	steps := NewNextSteps(agents, nil, "propose", nil, now)
	const why = "nobody is free to take it: everyone on shift who could has customers waiting (QW_BACKLOG=idle)"
	for c, want := range map[store.OpenConversation]string{
		ivan1: "Ivan Away is away: " + why,
		ivan2: "Ivan Away is away: " + why,
		dev:   "stays with Dev On: " + why,
	} {
		got := steps.Of(c)
		if got.Say != want || !got.NeedsSomeone {
			t.Errorf("ticket %d: next step %q (needs someone %v), want %q needing someone", c.ID, got.Say, got.NeedsSomeone, want)
		}
	}

	// A duration says how deep a queue the backlog may join.
	two := idle
	two.Backlog = 2 * time.Minute
	agents, _ = v.Measure(two)
	if got, want := NewNextSteps(agents, nil, "propose", nil, now).Of(dev).Say,
		"stays with Dev On: nobody is free to take it: everyone on shift who could has more than 2m of customers waiting (QW_BACKLOG=2m0s)"; got != want {
		t.Errorf("under QW_BACKLOG=2m: %q, want %q", got, want)
	}

	// Under oldest the plan hands them on, and the page says it will.
	oldest := idle
	oldest.Backlog = balancer.BacklogOldest
	moved := map[int64]bool{}
	for _, m := range balancer.Plan(v.Snapshot, oldest).Moves {
		moved[m.ConversationID] = true
	}
	agents, _ = v.Measure(oldest)
	steps = NewNextSteps(agents, nil, "propose", nil, now)
	for _, c := range stuck {
		got := steps.Of(c)
		if got.NeedsSomeone || strings.Contains(got.Say, "nobody is free") {
			t.Errorf("under oldest, ticket %d: %q (needs someone %v), want a hand-over", c.ID, got.Say, got.NeedsSomeone)
		}
	}
	// Ivan has been away for 26 hours: not "once the grace period has
	// passed", which it did long ago.
	if got, want := steps.Of(ivan2).Say, "Ivan Away is away: the balancer hands it on to someone on shift, a few tickets per run"; got != want {
		t.Errorf("under oldest, Ivan's ticket says %q, want %q", got, want)
	}
	if !moved[ivan1.ID] || !moved[dev.ID] {
		t.Errorf("under oldest the plan moved %v, want Ivan's oldest and Dev's among them", moved)
	}
}

// TestRemovedOwnerNextStepSaysWhatThePlanDoes: a stuck ticket of an
// assignee Help Scout no longer lists read "a removed user is not in the
// team: queuewrangler leaves it alone", under Needs someone, while Build
// makes that assignee a front-line agent away for ever and the away rule
// handed the customer to Ben at the next run. The row now says what the
// plan does, in each case the away rule has for someone away: handed on;
// nobody else may open the mailbox; the backlog setting keeps it from
// everyone; a never-move rule holds it. The assignee is named by id, as
// the proposals' receivers are (Receiver): "a removed user is no longer a
// Help Scout user" would tell an SST nothing.
func TestRemovedOwnerNextStepSaysWhatThePlanDoes(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC) // a Tuesday afternoon
	p := balancer.DefaultPolicy()
	const gone = "user 99 is no longer a Help Scout user"
	stuck := store.OpenConversation{ID: 10, Number: 10, MailboxID: 1, Status: store.StatusActive, AssigneeID: 99,
		LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-p.StuckAfter - time.Hour)}
	ben := store.User{ID: 6, First: "Ben", Last: "On", Timezone: "UTC"} // no roster hours: always on shift
	for _, tc := range []struct {
		name      string
		ben       func(*store.User)
		stuck     func(*store.OpenConversation)
		others    []store.OpenConversation // Ben's customers
		wantMoved bool
		want      NextStep
	}{
		{name: "handed on", wantMoved: true,
			want: NextStep{Say: gone + ": the balancer hands it on to someone on shift, a few tickets per run"}},
		{name: "nobody else may open its mailbox", ben: func(u *store.User) { u.Mailboxes = []int64{2} },
			want: NextStep{Say: gone + ", and nobody else in the team can open mailbox 1: nobody will take it", NeedsSomeone: true}},
		{name: "the backlog setting keeps it from everyone",
			others: []store.OpenConversation{{ID: 20, Number: 20, MailboxID: 1, Status: store.StatusActive, AssigneeID: 6,
				LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-time.Hour), CustomerWaitingSince: now.Add(-10 * time.Minute)}},
			want: NextStep{Say: gone + ": nobody is free to take it: everyone on shift who could has customers waiting (QW_BACKLOG=idle)", NeedsSomeone: true}},
		{name: "held by an agent's note", stuck: func(c *store.OpenConversation) { c.LastAgentActivityAt = now.Add(-30 * time.Minute) },
			want: NextStep{Say: "an agent replied or added a note at Tue 13:30 UTC: not moved before Tue 15:30 UTC; " + gone, NeedsSomeone: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, b := stuck, ben
			if tc.stuck != nil {
				tc.stuck(&c)
			}
			if tc.ben != nil {
				tc.ben(&b)
			}
			v := Build(store.Snapshot{TakenAt: now, Users: []store.User{b}, Conversations: append([]store.OpenConversation{c}, tc.others...)}, nil, now)
			moved := false
			for _, m := range balancer.Plan(v.Snapshot, p).Moves {
				if m.ConversationID == c.ID {
					moved = true
					if m.Reason != balancer.ReasonAway || m.To != 6 {
						t.Errorf("move %+v, want the removed user's customer to Ben as away", m)
					}
				}
			}
			if moved != tc.wantMoved {
				t.Fatalf("the plan moved the ticket: %v, want %v", moved, tc.wantMoved)
			}
			agents, _ := v.Measure(p)
			if got := NewNextSteps(agents, nil, "propose", nil, now).Of(c); got != tc.want {
				t.Errorf("next step %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestNoSeniorNextStepSaysWhatThePlanDoes: in a team with no SST (without
// a roster everyone is an ST) an ST's stuck ticket read "stays with Ana:
// the team has no senior (sst) to take it ...", under Needs someone, while
// the stuck rule's tiers are a senior, then a head of support who takes
// escalations, then any other front-line agent: the plan handed the
// customer to Ben, who was free. The row now names the tiers the team
// has, and what happens when none would answer clearly sooner (the plan
// reports the ticket as stuck with no senior to take it, for the head of
// support if there is one); only when nobody but the owner may open the
// mailbox does it say the ticket stays, needing someone. Each case runs
// the plan beside the row.
func TestNoSeniorNextStepSaysWhatThePlanDoes(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC) // a Tuesday afternoon
	const (
		hos       = `{"agents": [{"id": 3, "role": "hos"}]}`
		escalates = `{"agents": [{"id": 3, "role": "hos", "escalations": true}]}`
		toOther   = "to another agent once stuck while Ana Front is on shift, if one would answer clearly sooner; else "
		flagged   = toOther + "flagged for the head of support: the team has no senior (sst) to take it"
		nobody    = toOther + "it stays with Ana Front until someone takes it up: the team has no senior (sst) to take it, nor a head of support to decide"
	)
	p := balancer.DefaultPolicy()
	stuck := store.OpenConversation{ID: 10, Number: 10, MailboxID: 1, Status: store.StatusActive, AssigneeID: 1,
		LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-p.StuckAfter - time.Hour)}
	// buried gives Ben thirty customers who have waited longer than Ana's:
	// a customer joining his queue would wait far longer than with her.
	var buried []store.OpenConversation
	for i := range int64(30) {
		buried = append(buried, store.OpenConversation{ID: 100 + i, Number: 100 + i, MailboxID: 1, Status: store.StatusActive, AssigneeID: 2,
			LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-7 * time.Hour)})
	}
	for _, tc := range []struct {
		name   string
		roster string // "": none, everyone an ST
		ben    []int64
		stuck  func(*store.OpenConversation)
		others []store.OpenConversation
		oldest bool // QW_BACKLOG=oldest
		// wantTo is whom the plan hands the ticket to, 0 for nobody;
		// wantReported whether it lists it in Result.NoSenior.
		wantTo       int64
		wantReported bool
		want         NextStep
	}{
		{name: "no roster: to Ben", wantTo: 2, want: NextStep{Say: nobody}},
		{name: "a head of support: to Ben", roster: hos, wantTo: 2, want: NextStep{Say: flagged}},
		{name: "a head of support who takes escalations: to her first", roster: escalates, wantTo: 3,
			want: NextStep{Say: "to the head of support (who takes escalations), else another agent, once stuck while Ana Front is on shift, if one would answer clearly sooner; " +
				"else it stays with Ana Front, flagged for the head of support when they cannot take it themselves"}},
		{name: "nobody would answer sooner: reported", roster: hos, others: buried, oldest: true, wantReported: true, want: NextStep{Say: flagged}},
		{name: "nobody would answer sooner, no roster: reported", others: buried, oldest: true, wantReported: true, want: NextStep{Say: nobody}},
		{name: "held: reported, not moved", roster: hos, stuck: func(c *store.OpenConversation) { c.LastAgentActivityAt = now.Add(-30 * time.Minute) },
			wantReported: true, want: NextStep{Say: "an agent replied or added a note at Tue 13:30 UTC: not moved before Tue 15:30 UTC"}},
		{name: "nobody else may open the mailbox", roster: hos, ben: []int64{2}, wantReported: true,
			want: NextStep{Say: "stays with Ana Front: the team has no senior (sst) to take it, and nobody else in the team can open mailbox 1: flagged for the head of support", NeedsSomeone: true}},
		{name: "nobody else may open the mailbox, no roster", ben: []int64{2}, wantReported: true,
			want: NextStep{Say: "stays with Ana Front: the team has no senior (sst) to take it, and nobody else in the team can open mailbox 1, nor a head of support to decide, so it waits until someone takes it up", NeedsSomeone: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r *roster.Roster
			if tc.roster != "" {
				var err error
				if r, err = roster.Parse([]byte(tc.roster)); err != nil {
					t.Fatal(err)
				}
			}
			c := stuck
			if tc.stuck != nil {
				tc.stuck(&c)
			}
			users := []store.User{
				{ID: 1, First: "Ana", Last: "Front", Timezone: "UTC"},
				{ID: 2, First: "Ben", Last: "On", Timezone: "UTC", Mailboxes: tc.ben},
			}
			if r != nil { // without a roster she would be one more ST
				users = append(users, store.User{ID: 3, First: "Hana", Last: "Head", Timezone: "UTC", Mailboxes: tc.ben})
			}
			var statuses []store.UserStatus
			for _, u := range users {
				statuses = append(statuses, store.UserStatus{UserID: u.ID, Status: "active", UpdatedAt: now.Add(-48 * time.Hour)})
			}
			v := Build(store.Snapshot{TakenAt: now, Users: users, Statuses: statuses,
				Conversations: append([]store.OpenConversation{c}, tc.others...)}, r, now)
			pol := p
			if tc.oldest {
				pol.Backlog = balancer.BacklogOldest
			}
			res := balancer.Plan(v.Snapshot, pol)
			var to int64
			for _, m := range res.Moves {
				if m.ConversationID == c.ID {
					to = m.To
					if m.Reason != balancer.ReasonStuck {
						t.Errorf("move %+v, want Ana's stuck customer moved as stuck", m)
					}
				}
			}
			reported := slices.ContainsFunc(res.NoSenior, func(f balancer.Flag) bool { return f.ConversationID == c.ID })
			if to != tc.wantTo || reported != tc.wantReported {
				t.Fatalf("the plan moved the ticket to %d and reported it %v, want %d and %v", to, reported, tc.wantTo, tc.wantReported)
			}
			agents, _ := v.Measure(pol)
			if got := NewNextSteps(agents, nil, "propose", nil, now).Of(c); got != tc.want {
				t.Errorf("next step\n%+v, want\n%+v", got, tc.want)
			}
		})
	}
}

// TestSeniorNextStepSaysWhatThePlanDoes: with an SST in the team, an ST's
// stuck ticket read "to a senior once stuck ..., if one would answer
// clearly sooner; else flagged for the head of support", while the stuck
// rule's last tier hands it to any other front-line agent who would
// answer clearly sooner (the plan gave it to Ben with Sam buried), and
// the plan flags nothing for a person while a senior could take it, even
// when no move pays. The row now names every tier, and says when it is
// flagged. Each case runs the plan beside the row.
func TestSeniorNextStepSaysWhatThePlanDoes(t *testing.T) {
	now := time.Date(2026, 3, 3, 14, 0, 0, 0, time.UTC) // a Tuesday afternoon
	p := balancer.DefaultPolicy()
	stuck := store.OpenConversation{ID: 10, Number: 10, MailboxID: 1, Status: store.StatusActive, AssigneeID: 1,
		LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-p.StuckAfter - time.Hour)}
	// buried gives an agent thirty customers who have waited longer than
	// Ana's: one joining their queue would wait far longer than with her.
	buried := func(owner int64) []store.OpenConversation {
		var cs []store.OpenConversation
		for i := range int64(30) {
			id := owner*100 + i
			cs = append(cs, store.OpenConversation{ID: id, Number: id, MailboxID: 1, Status: store.StatusActive, AssigneeID: owner,
				LastMessageBy: store.ByCustomer, CreatedAt: now.Add(-30 * time.Hour), CustomerWaitingSince: now.Add(-7 * time.Hour)})
		}
		return cs
	}
	const (
		onShift = `{"agents": [{"id": 2, "role": "sst"}, {"id": 3, "role": "hos"}]}`
		// Sam's shift is over at 14:00.
		offShift = `{"agents": [{"id": 2, "role": "sst", "hours": "Mon-Fri 06:00-12:00", "timezone": "UTC"}, {"id": 3, "role": "hos"}]}`
		say      = "to a senior, else another agent, once stuck while Ana Front is on shift, if one would answer clearly sooner; " +
			"else it stays with Ana Front, flagged for the head of support when no senior can take it"
	)
	for _, tc := range []struct {
		name         string
		roster       string
		others       []store.OpenConversation
		oldest       bool // QW_BACKLOG=oldest
		wantTo       int64
		wantReported bool
	}{
		{name: "to Sam", roster: onShift, wantTo: 2},
		{name: "Sam buried: to Ben", roster: onShift, others: buried(2), oldest: true, wantTo: 4},
		{name: "both buried: nothing pays, nothing flagged", roster: onShift, others: append(buried(2), buried(4)...), oldest: true},
		{name: "Sam off shift, Ben buried: flagged", roster: offShift, others: buried(4), oldest: true, wantReported: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := roster.Parse([]byte(tc.roster))
			if err != nil {
				t.Fatal(err)
			}
			users := []store.User{
				{ID: 1, First: "Ana", Last: "Front", Timezone: "UTC"},
				{ID: 2, First: "Sam", Last: "Senior", Timezone: "UTC"},
				{ID: 3, First: "Hana", Last: "Head", Timezone: "UTC"},
				{ID: 4, First: "Ben", Last: "On", Timezone: "UTC"},
			}
			var statuses []store.UserStatus
			for _, u := range users {
				statuses = append(statuses, store.UserStatus{UserID: u.ID, Status: "active", UpdatedAt: now.Add(-48 * time.Hour)})
			}
			v := Build(store.Snapshot{TakenAt: now, Users: users, Statuses: statuses,
				Conversations: append([]store.OpenConversation{stuck}, tc.others...)}, r, now)
			pol := p
			if tc.oldest {
				pol.Backlog = balancer.BacklogOldest
			}
			res := balancer.Plan(v.Snapshot, pol)
			var to int64
			for _, m := range res.Moves {
				if m.ConversationID == stuck.ID {
					to = m.To
				}
			}
			reported := slices.ContainsFunc(res.NoSenior, func(f balancer.Flag) bool { return f.ConversationID == stuck.ID })
			if to != tc.wantTo || reported != tc.wantReported {
				t.Fatalf("the plan moved the ticket to %d and reported it %v, want %d and %v", to, reported, tc.wantTo, tc.wantReported)
			}
			agents, _ := v.Measure(pol)
			if got, want := NewNextSteps(agents, nil, "propose", nil, now).Of(stuck), (NextStep{Say: say}); got != want {
				t.Errorf("next step\n%+v, want\n%+v", got, want)
			}
		})
	}
}
