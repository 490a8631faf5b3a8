package team_test

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// now is when the tests' next steps are asked for. No ticket of theirs
// has a move or an agent's activity, so no hold is on, whatever it is.
var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

// TestNextStepsOf covers every case of what happens next to a stuck
// ticket, in the order Of decides them. The agents' words are written
// out, not taken from the constants, because they are what the API shows.
func TestNextStepsOf(t *testing.T) {
	t.Parallel()
	back := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) // a Wednesday
	agents := []team.Agent{
		{ID: 1, Name: "Ana", Role: "st", Status: "active", Available: true},
		{ID: 2, Name: "Sam", Role: "sst", Status: "active", Available: true},
		{ID: 3, Name: "Hana", Role: "hos", Status: "active", Available: true},
		{ID: 4, Name: "Xavi", Role: "exclude", Status: "active", Available: true},
		{ID: 5, Name: "Olga", Role: "st", Status: "off-shift", BackAt: back},
		{ID: 6, Name: "Omar", Role: "st", Status: "off-shift"},
		{ID: 7, Name: "Walt", Role: "st", Status: "away"},
		{ID: 8, Name: "Uma", Role: "st", Status: "busy"},
		{ID: 9, Name: "a removed user", Role: "st", Status: "removed"},
		// Measured under a policy (View.Measure): the away rule hands on
		// a customer of Oleg's who waited since before back less 4h.
		{ID: 10, Name: "Oleg", Role: "st", Status: "off-shift", BackAt: back, HandOverBefore: back.Add(-4 * time.Hour)},
	}
	// Each ticket is numbered after its case; its owner and its open
	// proposal, if any, say which case it is.
	open := []store.Proposal{
		{ID: 71, ConversationID: 101, FromAgent: 1, ToAgent: 2, Status: store.ProposalPending},
		{ID: 72, ConversationID: 102, FromAgent: 1, ToAgent: 2, Status: store.ProposalApproved},
		{ID: 73, ConversationID: 103, FromAgent: 1, ToAgent: 2, Status: store.ProposalApplying},
		{ID: 74, ConversationID: 104, FromAgent: 1, ToAgent: 99, Status: store.ProposalApproved},
		// Two open proposals for one ticket: the one furthest along
		// speaks, whichever order the store lists them in.
		{ID: 75, ConversationID: 105, FromAgent: 1, ToAgent: 2, Status: store.ProposalApproved},
		{ID: 76, ConversationID: 105, FromAgent: 1, ToAgent: 2, Status: store.ProposalPending},
		// A decided proposal is no next step.
		{ID: 77, ConversationID: 106, FromAgent: 1, ToAgent: 2, Status: store.ProposalRejected},
	}
	ticket := func(id, owner int64, pinned bool) store.OpenConversation {
		return store.OpenConversation{ID: id, AssigneeID: owner, Pinned: pinned, Status: store.StatusActive}
	}
	waitingSince := func(c store.OpenConversation, since time.Time, agentReplied bool) store.OpenConversation {
		c.LastMessageBy, c.CustomerWaitingSince, c.AgentReplied = store.ByCustomer, since, agentReplied
		return c
	}
	const handsOn = ", unless someone on shift would answer clearly sooner: queuewrangler then hands it on"
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		mode string
		loc  *time.Location
		c    store.OpenConversation
		want team.NextStep
	}{
		{"pending proposal", "propose", nil, ticket(101, 1, false),
			team.NextStep{Say: "proposal waiting for approval", Proposal: 71}},
		{"approved proposal", "propose", nil, ticket(102, 1, false),
			team.NextStep{Say: "move to Sam approved: made by the balancer's next run"}},
		{"applying proposal", "apply", nil, ticket(103, 1, false),
			team.NextStep{Say: "being moved to Sam"}},
		{"approved to someone the team does not know", "apply", nil, ticket(104, 1, false),
			team.NextStep{Say: "move to user 99 approved: made by the balancer's next run"}},
		{"the furthest along of two", "propose", nil, ticket(105, 1, false),
			team.NextStep{Say: "move to Sam approved: made by the balancer's next run"}},
		{"approved while the balancer is off", "off", nil, ticket(102, 1, false),
			team.NextStep{Say: "move to Sam approved, but the balancer is off (QW_MODE=off): stays with Ana", NeedsSomeone: true}},
		{"applying while the balancer is off", "off", nil, ticket(103, 1, false),
			team.NextStep{Say: "being moved to Sam"}},
		{"pending while the balancer is off", "off", nil, ticket(101, 1, false),
			team.NextStep{Say: "proposal waiting for approval", Proposal: 71}},
		{"a rejected proposal is ignored", "propose", nil, ticket(106, 1, false),
			team.NextStep{Say: "to a senior, else another agent, once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when no senior can take it"}},
		{"pinned", "propose", nil, ticket(201, 1, true),
			team.NextStep{Say: "pinned (qw-pin): stays with Ana", NeedsSomeone: true}},
		{"balancer off", "off", nil, ticket(202, 1, false),
			team.NextStep{Say: "the balancer is off (QW_MODE=off): stays with Ana", NeedsSomeone: true}},
		// Build lists every assignee of an open ticket: one the team
		// misses was assigned it after the team was read.
		{"owner unknown", "propose", nil, ticket(203, 42, false),
			team.NextStep{Say: "user 42 was not in the team when it was read: what queuewrangler does with it is not known", NeedsSomeone: true}},
		// Build makes them an ST away for ever: the away rule hands on.
		{"owner removed", "propose", nil, ticket(204, 9, false),
			team.NextStep{Say: "user 9 is no longer a Help Scout user: the balancer hands it on to someone on shift, a few tickets per run"}},
		{"head of support", "propose", nil, ticket(205, 3, false),
			team.NextStep{Say: "with the head of support, who keeps their tickets", NeedsSomeone: true}},
		{"excluded", "propose", nil, ticket(206, 4, false),
			team.NextStep{Say: "Xavi is excluded from balancing: stays with them", NeedsSomeone: true}},
		// Olga is not measured under a policy: the away rule may hand her
		// customer on, and the words say so.
		{"off shift, back at a known time (UTC)", "propose", nil, ticket(207, 5, false),
			team.NextStep{Say: "waits for Olga, back Wed 08:00 UTC" + handsOn}},
		{"off shift, back at a known time, said in the zone given", "propose", cet, ticket(207, 5, false),
			team.NextStep{Say: "waits for Olga, back Wed 09:00 CET" + handsOn}},
		{"off shift, back at a known time, a customer due to be handed on", "propose", nil,
			waitingSince(ticket(214, 10, false), back.Add(-30*time.Hour), false),
			team.NextStep{Say: "waits for Oleg, back Wed 08:00 UTC" + handsOn}},
		{"off shift, back at a known time, a customer not due to be handed on", "propose", nil,
			waitingSince(ticket(215, 10, false), back.Add(-time.Hour), false),
			team.NextStep{Say: "waits for Oleg, back Wed 08:00 UTC"}},
		{"off shift, back at a known time, an ongoing conversation", "propose", nil,
			waitingSince(ticket(216, 10, false), back.Add(-30*time.Hour), true),
			team.NextStep{Say: "waits for Oleg, back Wed 08:00 UTC: an ongoing conversation stays with the agent who knows it"}},
		{"off shift, no known return", "propose", nil, ticket(208, 6, false),
			team.NextStep{Say: "waits for Omar, off shift", NeedsSomeone: true}},
		{"away", "propose", nil, ticket(209, 7, false),
			team.NextStep{Say: "Walt is away: handed on once the grace period has passed"}},
		{"not available otherwise", "propose", nil, ticket(210, 8, false),
			team.NextStep{Say: "waits for Uma, not available now", NeedsSomeone: true}},
		{"with an SST: flagged", "propose", nil, ticket(211, 2, false),
			team.NextStep{Say: "flagged for the head of support once stuck while Sam is on shift", NeedsSomeone: true}},
		{"with an ST: escalated", "apply", nil, ticket(212, 1, false),
			team.NextStep{Say: "to a senior, else another agent, once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when no senior can take it"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := team.NewNextSteps(agents, open, tt.mode, tt.loc, now).Of(tt.c)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Of(%d) (-want +got):\n%s", tt.c.ID, diff)
			}
		})
	}
	// Without an sst (Sam is removed here) the stuck rule hands an st's
	// ticket to any other front-line agent who would answer clearly
	// sooner, and reports it for the head of support when nobody would,
	// as `plan` says. With nobody else in the team to take it, it stays,
	// reported, and the page lists it with the tickets that need someone.
	withoutSeniors := []team.Agent{agents[0], agents[2], {ID: 2, Name: "Sam", Role: "sst", Status: "removed"}}
	bo := team.Agent{ID: 12, Name: "Bo", Role: "st", Status: "active", Available: true, Mailboxes: []int64{1}}
	for _, tt := range []struct {
		name   string
		agents []team.Agent
		c      store.OpenConversation
		want   team.NextStep
	}{
		{"Bo may take it", append(withoutSeniors, bo), store.OpenConversation{ID: 213, AssigneeID: 1, MailboxID: 1, Status: store.StatusActive},
			team.NextStep{Say: "to another agent once stuck while Ana is on shift, if one would answer clearly sooner; else flagged for the head of support: the team has no senior (sst) to take it"}},
		{"nobody else may open its mailbox", append(withoutSeniors, bo), store.OpenConversation{ID: 213, AssigneeID: 1, MailboxID: 2, Status: store.StatusActive},
			team.NextStep{Say: "stays with Ana: the team has no senior (sst) to take it, and nobody else in the team can open mailbox 2: flagged for the head of support", NeedsSomeone: true}},
		// A head of support who takes escalations may: the rule's second tier.
		{"the head of support takes escalations", append(withoutSeniors, bo, team.Agent{ID: 14, Name: "Hal", Role: "hos", Status: "active", Available: true, Escalations: true}),
			store.OpenConversation{ID: 213, AssigneeID: 1, MailboxID: 2, Status: store.StatusActive},
			team.NextStep{Say: "to the head of support (who takes escalations) once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when they cannot take it themselves"}},
	} {
		if diff := cmp.Diff(tt.want, team.NewNextSteps(tt.agents, nil, "apply", nil, now).Of(tt.c)); diff != "" {
			t.Errorf("an st's ticket in a team without seniors, %s (-want +got):\n%s", tt.name, diff)
		}
	}
}

// TestNextStepsWithoutAHeadOfSupport: with no roster everyone is an ST
// (or a roster names no hos), yet the rows said "flagged for the head of
// support". The balancer still flags, but nobody is asked to decide: the
// words say the ticket stays until someone takes it up, and those that
// only a flag would have decided need someone.
func TestNextStepsWithoutAHeadOfSupport(t *testing.T) {
	t.Parallel()
	ana := team.Agent{ID: 1, Name: "Ana", Role: "st", Status: "active", Available: true}
	sam := team.Agent{ID: 2, Name: "Sam", Role: "sst", Status: "active", Available: true}
	hana := team.Agent{ID: 3, Name: "Hana", Role: "hos", Status: "active", Available: true}
	of := func(agents []team.Agent, owner int64) team.NextStep {
		return team.NewNextSteps(agents, nil, "propose", nil, now).Of(store.OpenConversation{ID: 1, AssigneeID: owner, Status: store.StatusActive})
	}
	for _, tt := range []struct {
		name   string
		agents []team.Agent
		owner  int64
		want   team.NextStep
	}{
		{"an SST's ticket", []team.Agent{ana, sam}, 2, team.NextStep{NeedsSomeone: true,
			Say: "stays with Sam: flagged once stuck while Sam is on shift, but the team has no head of support to decide, so it waits until someone takes it up"}},
		{"an ST's ticket with seniors", []team.Agent{ana, sam}, 1, team.NextStep{
			Say: "to a senior once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana"}},
		// The stuck rule hands it to Bo if he would answer clearly sooner.
		{"an ST's ticket, no roster: everyone an ST", []team.Agent{ana, {ID: 4, Name: "Bo", Role: "st", Status: "active", Available: true}}, 1,
			team.NextStep{Say: "to another agent once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana until someone takes it up: the team has no senior (sst) to take it, nor a head of support to decide"}},
		// With a head of support the words stay as they were.
		{"an SST's ticket, with a head of support", []team.Agent{ana, sam, hana}, 2, team.NextStep{NeedsSomeone: true,
			Say: "flagged for the head of support once stuck while Sam is on shift"}},
		// A head of support who is no longer a Help Scout user decides nothing.
		{"an SST's ticket, the head of support removed", []team.Agent{ana, sam, {ID: 3, Name: "Hana", Role: "hos", Status: team.StatusRemoved}}, 2,
			team.NextStep{NeedsSomeone: true,
				Say: "stays with Sam: flagged once stuck while Sam is on shift, but the team has no head of support to decide, so it waits until someone takes it up"}},
	} {
		if diff := cmp.Diff(tt.want, of(tt.agents, tt.owner)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
		if got := of(tt.agents, tt.owner).Say; (tt.agents[len(tt.agents)-1].Status != "active" || tt.agents[len(tt.agents)-1].Role != "hos") && strings.Contains(got, "head of support once") {
			t.Errorf("%s: %q flags for a head of support the team does not have", tt.name, got)
		}
	}
}

// TestNextStepsSayWhatTheBacklogKeeps: a ticket the backlog setting keeps
// from everyone (Agent.Kept, from balancer.BacklogKeeps) says so for each
// owner the away and stuck rules hand on from; someone off shift with a
// known return is still waited for, the rest need someone.
func TestNextStepsSayWhatTheBacklogKeeps(t *testing.T) {
	t.Parallel()
	back := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC)
	kept := map[int64]bool{1: true}
	agents := []team.Agent{
		{ID: 1, Name: "Ana", Role: "st", Status: "active", Available: true, Kept: kept},
		{ID: 2, Name: "Sam", Role: "sst", Status: "active", Available: true},
		{ID: 3, Name: "Hana", Role: "hos", Status: "active", Available: true},
		{ID: 5, Name: "Olga", Role: "st", Status: "off-shift", BackAt: back, HandOverBefore: back.Add(-4 * time.Hour), Kept: kept},
		{ID: 6, Name: "Omar", Role: "st", Status: "off-shift", Kept: kept},
		{ID: 7, Name: "Walt", Role: "st", Status: "away", Kept: kept},
	}
	const why = "nobody is free to take it: everyone on shift who could has customers waiting (QW_BACKLOG=idle)"
	stuck := store.OpenConversation{ID: 1, Status: store.StatusActive, LastMessageBy: store.ByCustomer,
		CustomerWaitingSince: back.Add(-48 * time.Hour)}
	for owner, want := range map[int64]team.NextStep{
		1: {NeedsSomeone: true, Say: "stays with Ana: " + why},
		5: {Say: "waits for Olga, back Wed 08:00 UTC; " + why},
		6: {NeedsSomeone: true, Say: "waits for Omar, off shift: " + why},
		7: {NeedsSomeone: true, Say: "Walt is away: " + why},
	} {
		c := stuck
		c.AssigneeID = owner
		if diff := cmp.Diff(want, team.NewNextSteps(agents, nil, "propose", nil, now).Of(c)); diff != "" {
			t.Errorf("owner %d (-want +got):\n%s", owner, diff)
		}
		// Another ticket of theirs, not kept, keeps the words it had.
		c.ID = 2
		if got := team.NewNextSteps(agents, nil, "propose", nil, now).Of(c).Say; strings.Contains(got, "nobody is free") {
			t.Errorf("owner %d, a ticket not kept: %q", owner, got)
		}
	}
}

// TestNextStepsSpeakTheirCallersWords ties the words NextSteps matches
// on to those its callers pass and its agents carry: QW_MODE=off as
// rebalance names it, the roster's roles and statuses, and team's own
// removed status. A renamed constant breaks this test, not the page.
func TestNextStepsSpeakTheirCallersWords(t *testing.T) {
	t.Parallel()
	agents := []team.Agent{
		{ID: 1, Name: "Ana", Role: string(roster.RoleST), Status: roster.StatusActive, Available: true},
		{ID: 2, Name: "Sam", Role: string(roster.RoleSST), Status: roster.StatusActive, Available: true},
		{ID: 3, Name: "Hana", Role: string(roster.RoleHoS), Status: roster.StatusActive, Available: true},
		{ID: 4, Name: "Xavi", Role: string(roster.RoleExclude), Status: roster.StatusActive, Available: true},
		{ID: 5, Name: "Olga", Role: string(roster.RoleST), Status: roster.StatusOffShift},
		{ID: 7, Name: "Walt", Role: string(roster.RoleST), Status: roster.StatusAway},
		{ID: 9, Name: "Rita", Role: string(roster.RoleST), Status: team.StatusRemoved},
	}
	say := func(mode string, owner int64) string {
		return team.NewNextSteps(agents, nil, mode, nil, now).Of(store.OpenConversation{ID: 1, AssigneeID: owner}).Say
	}
	for _, tt := range []struct {
		name string
		got  string
		want string
	}{
		{"ModeOff", say(string(rebalance.ModeOff), 1), "the balancer is off (QW_MODE=off): stays with Ana"},
		{"ModePropose", say(string(rebalance.ModePropose), 1), "to a senior, else another agent, once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when no senior can take it"},
		{"RoleSST", say("propose", 2), "flagged for the head of support once stuck while Sam is on shift"},
		{"RoleHoS", say("propose", 3), "with the head of support, who keeps their tickets"},
		{"RoleExclude", say("propose", 4), "Xavi is excluded from balancing: stays with them"},
		{"StatusOffShift", say("propose", 5), "waits for Olga, off shift"},
		{"StatusAway", say("propose", 7), "Walt is away: handed on once the grace period has passed"},
		{"StatusRemoved", say("propose", 9), "Rita is no longer a Help Scout user: the balancer hands it on to someone on shift, a few tickets per run"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: says %q, want %q", tt.name, tt.got, tt.want)
		}
	}
}

// TestNextStepWhenNobodyElseCanOpenTheMailbox: the away rule hands an
// absent owner's customer only to someone who may open its mailbox; when
// nobody else may, no run will move it, and the row said "the balancer
// hands it on" all the same, under Waits for its owner.
func TestNextStepWhenNobodyElseCanOpenTheMailbox(t *testing.T) {
	t.Parallel()
	olga := team.Agent{ID: 1, Name: "Olga", Role: "st", Status: "away", PastGrace: true, Mailboxes: []int64{1, 2}}
	ben := team.Agent{ID: 2, Name: "Ben", Role: "st", Status: "active", Available: true, Mailboxes: []int64{1}}
	hana := team.Agent{ID: 3, Name: "Hana", Role: "hos", Status: "active", Available: true} // keeps her own; takes no hand-overs
	steps := team.NewNextSteps([]team.Agent{olga, ben, hana}, nil, "propose", nil, now)
	got := steps.Of(store.OpenConversation{ID: 9, AssigneeID: 1, MailboxID: 2, Status: store.StatusActive})
	want := team.NextStep{NeedsSomeone: true, Say: "Olga is away, and nobody else in the team can open mailbox 2: nobody will take it"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("mailbox 2 (-want +got):\n%s", diff)
	}
	// Ben may open mailbox 1: the away rule hands that one on.
	if got := steps.Of(store.OpenConversation{ID: 8, AssigneeID: 1, MailboxID: 1, Status: store.StatusActive}); got.NeedsSomeone {
		t.Errorf("mailbox 1, which Ben can open: %+v, want it handed on", got)
	}
}

// TestNextStepsSayTheHolds: a ticket held by a never-move rule (moved or
// refused a move within the cooldown, an agent's reply or note within
// RecentActivity) said what the rules would do without it. Each case is
// asked at now, Tuesday 12:00 UTC, of agents measured under the default
// policy's windows (24 h, 2 h).
func TestNextStepsSayTheHolds(t *testing.T) {
	t.Parallel()
	back := time.Date(2026, 11, 25, 8, 0, 0, 0, time.UTC) // Wednesday
	windows := func(a team.Agent) team.Agent {
		a.Cooldown, a.RecentActivity = 24*time.Hour, 2*time.Hour
		return a
	}
	agents := []team.Agent{
		windows(team.Agent{ID: 1, Name: "Ana", Role: "st", Status: "active", Available: true}),
		windows(team.Agent{ID: 2, Name: "Sam", Role: "sst", Status: "active", Available: true}),
		windows(team.Agent{ID: 3, Name: "Hana", Role: "hos", Status: "active", Available: true}),
		windows(team.Agent{ID: 7, Name: "Walt", Role: "st", Status: "away", Unavailable: now.Add(-5 * time.Hour), PastGrace: true}),
		windows(team.Agent{ID: 5, Name: "Olga", Role: "st", Status: "off-shift", BackAt: back}),
		windows(team.Agent{ID: 6, Name: "Omar", Role: "st", Status: "off-shift"}),
		windows(team.Agent{ID: 8, Name: "Uma", Role: "st", Status: "busy"}),
		// Measured: her customer who has had an answer waits for her.
		windows(team.Agent{ID: 10, Name: "Oleg", Role: "st", Status: "off-shift", BackAt: back, HandOverBefore: back.Add(-4 * time.Hour)}),
		{ID: 11, Name: "Una", Role: "st", Status: "active", Available: true}, // not measured: no windows
	}
	const (
		escalated = "to a senior, else another agent, once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when no senior can take it"
		rejected  = "a move was rejected at Tue 10:00 UTC: left with Ana until Wed 10:00 UTC, or until Ana is away or off shift"
	)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name    string
		c       store.OpenConversation
		refused []time.Time // when an SST rejected a move of c
		pending bool        // c has a proposal waiting for approval
		loc     *time.Location
		want    team.NextStep
	}{
		{"moved within the cooldown", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(22 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: "moved by queuewrangler at Mon 14:00 UTC: not moved again before Tue 14:00 UTC (cooldown)"}},
		{"moved within the cooldown, said in the zone given", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(22 * time.Hour)}, nil, false, cet,
			team.NextStep{Say: "moved by queuewrangler at Mon 15:00 CET: not moved again before Tue 15:00 CET (cooldown)"}},
		{"moved before the cooldown", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(25 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: escalated}},
		{"an agent's note within RecentActivity", store.OpenConversation{AssigneeID: 1, LastAgentActivityAt: ago(20 * time.Minute)}, nil, false, nil,
			team.NextStep{Say: "an agent replied or added a note at Tue 11:40 UTC: not moved before Tue 13:40 UTC"}},
		{"an agent's reply RecentActivity ago", store.OpenConversation{AssigneeID: 1, LastAgentActivityAt: ago(2 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: escalated}},
		{"an agent's note in the future (clock skew) holds, as in the balancer", store.OpenConversation{AssigneeID: 1, LastAgentActivityAt: now.Add(time.Hour)}, nil, false, nil,
			team.NextStep{Say: "an agent replied or added a note at Tue 13:00 UTC: not moved before Tue 15:00 UTC"}},
		{"both, the note's hold ends last", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(23*time.Hour + 30*time.Minute), LastAgentActivityAt: ago(10 * time.Minute)}, nil, false, nil,
			team.NextStep{Say: "an agent replied or added a note at Tue 11:50 UTC: not moved before Tue 13:50 UTC"}},
		{"both, the cooldown ends last", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(time.Hour), LastAgentActivityAt: ago(10 * time.Minute)}, nil, false, nil,
			team.NextStep{Say: "moved by queuewrangler at Tue 11:00 UTC: not moved again before Wed 11:00 UTC (cooldown)"}},
		{"a move rejected within the cooldown", store.OpenConversation{AssigneeID: 1}, []time.Time{ago(2 * time.Hour)}, false, nil,
			team.NextStep{Say: rejected}},
		{"the latest of two refusals", store.OpenConversation{AssigneeID: 1}, []time.Time{ago(5 * time.Hour), ago(2 * time.Hour)}, false, nil,
			team.NextStep{Say: rejected}},
		{"a refusal before the last move: the move's cooldown", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(time.Hour)}, []time.Time{ago(3 * time.Hour)}, false, nil,
			team.NextStep{Say: "moved by queuewrangler at Tue 11:00 UTC: not moved again before Wed 11:00 UTC (cooldown)"}},
		{"a refusal after the last move", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(3 * time.Hour)}, []time.Time{ago(2 * time.Hour)}, false, nil,
			team.NextStep{Say: rejected}},
		{"a refusal before the cooldown", store.OpenConversation{AssigneeID: 1}, []time.Time{ago(25 * time.Hour)}, false, nil,
			team.NextStep{Say: escalated}},
		{"moved to Ana by hand within the cooldown", store.OpenConversation{AssigneeID: 1, ReassignedAt: ago(3 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: "moved to Ana by hand at Tue 09:00 UTC: left with Ana until Wed 09:00 UTC, or until Ana is away or off shift"}},
		{"moved to Ana by queuewrangler: the cooldown, not a hand move", store.OpenConversation{AssigneeID: 1, ReassignedAt: ago(3 * time.Hour), ReassignedByUs: true, LastMovedAt: ago(3 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: "moved by queuewrangler at Tue 09:00 UTC: not moved again before Wed 09:00 UTC (cooldown)"}},
		{"moved by hand before the cooldown", store.OpenConversation{AssigneeID: 1, ReassignedAt: ago(25 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: escalated}},
		{"a refusal after a hand move", store.OpenConversation{AssigneeID: 1, ReassignedAt: ago(5 * time.Hour)}, []time.Time{ago(2 * time.Hour)}, false, nil,
			team.NextStep{Say: rejected}},
		{"moved by hand, the owner gone since", store.OpenConversation{AssigneeID: 7, ReassignedAt: ago(6 * time.Hour)}, nil, false, nil,
			team.NextStep{Say: "Walt is away: the balancer hands it on to someone on shift, a few tickets per run"}},
		{"a refusal, the owner gone since", store.OpenConversation{AssigneeID: 7}, []time.Time{ago(6 * time.Hour)}, false, nil,
			team.NextStep{Say: "Walt is away: the balancer hands it on to someone on shift, a few tickets per run"}},
		{"a refusal while the owner was gone already", store.OpenConversation{AssigneeID: 7}, []time.Time{ago(time.Hour)}, false, nil,
			team.NextStep{Say: "a move was rejected at Tue 11:00 UTC: left with Walt until Wed 11:00 UTC; Walt is away", NeedsSomeone: true}},
		{"held, the owner away", store.OpenConversation{AssigneeID: 7, LastMovedAt: ago(time.Hour)}, nil, false, nil,
			team.NextStep{Say: "moved by queuewrangler at Tue 11:00 UTC: not moved again before Wed 11:00 UTC (cooldown); Walt is away", NeedsSomeone: true}},
		{"held, the owner off shift and back at a known time", store.OpenConversation{AssigneeID: 5, LastAgentActivityAt: ago(20 * time.Minute)}, nil, false, nil,
			team.NextStep{Say: "an agent replied or added a note at Tue 11:40 UTC: not moved before Tue 13:40 UTC; Olga is off shift, back Wed 08:00 UTC"}},
		{"held, the owner off shift with no known return", store.OpenConversation{AssigneeID: 6, LastAgentActivityAt: ago(20 * time.Minute)}, nil, false, nil,
			team.NextStep{Say: "an agent replied or added a note at Tue 11:40 UTC: not moved before Tue 13:40 UTC; Omar is off shift", NeedsSomeone: true}},
		{"held, the owner not available otherwise", store.OpenConversation{AssigneeID: 8, LastMovedAt: ago(time.Hour)}, nil, false, nil,
			team.NextStep{Say: "moved by queuewrangler at Tue 11:00 UTC: not moved again before Wed 11:00 UTC (cooldown); Uma is not available now", NeedsSomeone: true}},
		// The away rule leaves an ongoing conversation to Oleg until he
		// is back, held or not.
		{"held, an ongoing conversation of someone off shift", store.OpenConversation{AssigneeID: 10, AgentReplied: true, LastAgentActivityAt: ago(20 * time.Minute)}, nil, false, nil,
			team.NextStep{Say: "waits for Oleg, back Wed 08:00 UTC: an ongoing conversation stays with the agent who knows it"}},
		// The stuck rule flags an SST's stuck ticket before it looks at
		// the holds: the flag is still what happens.
		{"held, an SST on shift", store.OpenConversation{AssigneeID: 2, LastMovedAt: ago(time.Hour)}, nil, false, nil,
			team.NextStep{Say: "flagged for the head of support once stuck while Sam is on shift", NeedsSomeone: true}},
		{"held, the head of support", store.OpenConversation{AssigneeID: 3, LastMovedAt: ago(time.Hour)}, nil, false, nil,
			team.NextStep{Say: "with the head of support, who keeps their tickets", NeedsSomeone: true}},
		{"held and pinned", store.OpenConversation{AssigneeID: 1, Pinned: true, LastMovedAt: ago(time.Hour)}, nil, false, nil,
			team.NextStep{Say: "pinned (qw-pin): stays with Ana", NeedsSomeone: true}},
		{"held, with a proposal waiting", store.OpenConversation{AssigneeID: 1, LastMovedAt: ago(time.Hour)}, nil, true, nil,
			team.NextStep{Say: "proposal waiting for approval", Proposal: 70}},
		{"an agent not measured under a policy has no windows", store.OpenConversation{AssigneeID: 11, LastMovedAt: ago(time.Hour)}, []time.Time{ago(time.Hour)}, false, nil,
			team.NextStep{Say: "to a senior, else another agent, once stuck while Una is on shift, if one would answer clearly sooner; else it stays with Una, flagged for the head of support when no senior can take it"}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := tt.c
			c.ID, c.Status = int64(300+i), store.StatusActive
			var ps []store.Proposal
			for _, at := range tt.refused {
				ps = append(ps, store.Proposal{ConversationID: c.ID, FromAgent: c.AssigneeID, ToAgent: 2, Status: store.ProposalRejected, DecidedAt: at})
				// Another ticket's refusal holds nothing of this one.
				ps = append(ps, store.Proposal{ConversationID: c.ID + 1000, Status: store.ProposalRejected, DecidedAt: now})
			}
			if tt.pending {
				ps = append(ps, store.Proposal{ID: 70, ConversationID: c.ID, FromAgent: c.AssigneeID, ToAgent: 2, Status: store.ProposalPending})
			}
			got := team.NewNextSteps(agents, ps, "propose", tt.loc, now).Of(c)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Of (-want +got):\n%s", diff)
			}
		})
	}
	// In a team with no senior the stuck rule hands an ST's stuck ticket
	// to another front-line agent, which a hold stops as it stops a
	// senior; with nobody else to take it, it stays with them and is
	// reported to a person, held or not.
	held := store.OpenConversation{ID: 1, AssigneeID: 1, LastMovedAt: ago(time.Hour)}
	noSenior := []team.Agent{agents[0], agents[2]}
	got := team.NewNextSteps(noSenior, nil, "propose", nil, now).Of(held)
	want := team.NextStep{Say: "stays with Ana: the team has no senior (sst) to take it, and nobody else in the team can open mailbox 0: flagged for the head of support", NeedsSomeone: true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("held, in a team with no senior nor anyone else (-want +got):\n%s", diff)
	}
	got = team.NewNextSteps(append(noSenior, agents[3], agents[8]), nil, "propose", nil, now).Of(held)
	want = team.NextStep{Say: "moved by queuewrangler at Tue 11:00 UTC: not moved again before Wed 11:00 UTC (cooldown)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("held, in a team with no senior (-want +got):\n%s", diff)
	}
}

// TestRefusalsFilter reads the refusals a balancer run reads: rejected,
// within the cooldown the agents were measured under.
func TestRefusalsFilter(t *testing.T) {
	t.Parallel()
	agents := []team.Agent{{ID: 1, Cooldown: 24 * time.Hour}, {ID: 2, Cooldown: 24 * time.Hour}}
	want := store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalRejected}, DecidedSince: now.Add(-24 * time.Hour)}
	if diff := cmp.Diff(want, team.RefusalsFilter(agents, now)); diff != "" {
		t.Errorf("RefusalsFilter (-want +got):\n%s", diff)
	}
}

// TestDecisionHolds is rebalance's TestRejectionHoldsUntilTheOwnerLeaves
// for the rule the stuck rows share with it: a refusal holds its ticket,
// unless the owner it is with has gone since; one already gone, or gone
// at a time nobody knows, keeps the hold; a refusal no later than the
// last move adds nothing.
func TestDecisionHolds(t *testing.T) {
	t.Parallel()
	refusedAt := now.Add(-time.Hour)
	for _, tc := range []struct {
		name      string
		lastMoved time.Time
		available bool
		goneAt    time.Time
		want      bool
	}{
		{"owner still there", time.Time{}, true, time.Time{}, true},
		{"owner gone since the refusal", time.Time{}, false, refusedAt.Add(30 * time.Minute), false},
		{"owner gone a minute after it", time.Time{}, false, refusedAt.Add(time.Minute), false},
		{"owner already gone when the SST said no", time.Time{}, false, refusedAt.Add(-10 * time.Minute), true},
		{"owner gone at the very time of the refusal", time.Time{}, false, refusedAt, true},
		{"owner gone at a time nobody knows", time.Time{}, false, time.Time{}, true},
		{"moved after the refusal", refusedAt.Add(time.Minute), true, time.Time{}, false},
		{"moved at the very time of the refusal", refusedAt, true, time.Time{}, false},
		{"moved before the refusal", refusedAt.Add(-time.Minute), true, time.Time{}, true},
	} {
		if got := team.DecisionHolds(refusedAt, tc.lastMoved, tc.available, tc.goneAt); got != tc.want {
			t.Errorf("%s: holds = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestStuckSTNextStepNamesTheTiers: the stuck rule hands an ST's stuck
// ticket to a senior, else to a head of support who takes escalations,
// else to another front-line agent, and flags it for the head of support
// only when nobody it could be escalated to can take it. The row names
// the tiers the team has for the ticket's mailbox, and when it is
// flagged; TestSeniorNextStepSaysWhatThePlanDoes and
// TestNoSeniorNextStepSaysWhatThePlanDoes run the plan beside some.
func TestStuckSTNextStepNamesTheTiers(t *testing.T) {
	t.Parallel()
	ana := team.Agent{ID: 1, Name: "Ana", Role: "st", Status: "active", Available: true}
	sam := team.Agent{ID: 2, Name: "Sam", Role: "sst", Status: "active", Available: true}
	hana := team.Agent{ID: 3, Name: "Hana", Role: "hos", Status: "active", Available: true}
	hal := team.Agent{ID: 4, Name: "Hal", Role: "hos", Status: "active", Available: true, Escalations: true}
	bo := team.Agent{ID: 5, Name: "Bo", Role: "st", Status: "off-shift"} // off shift now: a tier all the same
	only1 := func(a team.Agent) team.Agent { a.Mailboxes = []int64{1}; return a }
	const once = " once stuck while Ana is on shift, if one would answer clearly sooner; else "
	for _, tt := range []struct {
		name   string
		agents []team.Agent
		want   string
	}{
		{"every tier", []team.Agent{ana, sam, hal, bo},
			"to a senior, else the head of support (who takes escalations), else another agent," + once +
				"it stays with Ana, flagged for the head of support when neither a senior nor the head of support can take it"},
		{"a senior and another agent", []team.Agent{ana, sam, hana, bo},
			"to a senior, else another agent," + once + "it stays with Ana, flagged for the head of support when no senior can take it"},
		{"a senior alone", []team.Agent{ana, sam, hana},
			"to a senior" + once + "it stays with Ana, flagged for the head of support when no senior can take it"},
		{"a senior, no head of support", []team.Agent{ana, sam, bo},
			"to a senior, else another agent," + once + "it stays with Ana"},
		// Neither Bo nor Hal may open mailbox 2.
		{"a senior, nobody else may open the mailbox", []team.Agent{ana, sam, only1(hal), only1(bo)},
			"to a senior" + once + "it stays with Ana, flagged for the head of support when no senior can take it"},
	} {
		got := team.NewNextSteps(tt.agents, nil, "propose", nil, now).Of(store.OpenConversation{ID: 9, AssigneeID: 1, MailboxID: 2, Status: store.StatusActive})
		if diff := cmp.Diff(team.NextStep{Say: tt.want}, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.name, diff)
		}
	}
}
