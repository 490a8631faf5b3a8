package team_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/rebalance"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestStuckRowsSayTheHoldsTheRunKeeps: the balancer never moves a ticket
// moved within the cooldown, one an agent replied to or noted lately, nor
// one whose move an SST rejected within the cooldown (until its owner has
// gone since), yet the stuck rows promised those tickets "to a senior once
// stuck", or the away rule's hand-over. Each held row now says which rule
// holds the ticket and until when, in the page's words, read as the page
// reads them (the rebalancer's team, the open proposals, the refusals),
// and agrees with what a balancer run over the same mirror does; a ticket
// past every hold reads as before.
func TestStuckRowsSayTheHoldsTheRunKeeps(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC) // a Tuesday
	clock := now
	db := testkit.OpenStore(t)
	db.Now = func() time.Time { return clock }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.ReplaceMailboxes(ctx, []store.Mailbox{{ID: 11, Name: "Support"}}))
	must(db.ReplaceUsers(ctx, []store.User{
		{ID: 1, First: "Ana", Email: "ana@example.com", Timezone: "UTC", Type: store.UserTypeUser},
		{ID: 2, First: "Sam", Email: "sam@example.com", Timezone: "UTC", Type: store.UserTypeUser},
		{ID: 3, First: "Hana", Email: "hana@example.com", Timezone: "UTC", Type: store.UserTypeUser},
	}))
	status := func(anaStatus string, anaSince time.Time) {
		t.Helper()
		must(db.ReplaceUserStatuses(ctx, []store.UserStatus{
			{UserID: 1, Status: anaStatus, UpdatedAt: anaSince},
			{UserID: 2, Status: "active", UpdatedAt: now.Add(-48 * time.Hour)},
			{UserID: 3, Status: "active", UpdatedAt: now.Add(-48 * time.Hour)},
		}))
	}
	status("active", now.Add(-48*time.Hour))
	// Five customers of Ana's, waiting for six hours since she got them.
	waitingSince := now.Add(-6 * time.Hour)
	var updates []store.ConversationUpdate
	for id := int64(201); id <= 205; id++ {
		c := store.Conversation{ID: id, Number: id, MailboxID: 11, Status: store.StatusActive, State: store.StatePublished,
			Type: "email", Subject: "help", AssigneeID: 1, CreatedByType: store.ByCustomer, CreatedByID: 9000 + id,
			CustomerID: 9000 + id, CreatedAt: waitingSince, CustomerWaitingSince: waitingSince, UserUpdatedAt: waitingSince, ThreadCount: 1}
		threads := []store.Thread{{ID: id * 10, Type: store.ThreadCustomer, State: store.StatePublished, Status: store.StatusActive,
			CreatedByType: store.ByCustomer, CreatedByID: c.CustomerID, CreatedAt: waitingSince, AssignedToID: 1}}
		if id == 202 {
			// Ana noted it half an hour ago: the customer still waits.
			threads = append(threads, store.Thread{ID: id*10 + 1, Type: store.ThreadNote, State: store.StatePublished,
				Status: store.StatusActive, CreatedByType: store.ByUser, CreatedByID: 1, CreatedAt: now.Add(-30 * time.Minute), AssignedToID: 1})
			c.ThreadCount = 2
		}
		updates = append(updates, store.ConversationUpdate{Conversation: c, Threads: threads, ThreadsComplete: true})
	}
	_, err := db.ApplyConversations(ctx, updates)
	must(err)
	// 203 was moved to Ana at 07:00; a move of 204 was refused at 11:00.
	clock = now.Add(-5 * time.Hour)
	ps, err := db.InsertProposals(ctx, []store.Proposal{{ConversationID: 203, FromAgent: 2, ToAgent: 1, Reason: "overload",
		Status: store.ProposalApproved, DecidedBy: "apply"}})
	must(err)
	_, err = db.ClaimProposal(ctx, ps[0].ID)
	must(err)
	_, err = db.MarkProposalApplied(ctx, ps[0].ID)
	must(err)
	clock = now.Add(-time.Hour)
	refuse := func(id int64) {
		t.Helper()
		ps, err := db.InsertProposals(ctx, []store.Proposal{{ConversationID: id, FromAgent: 1, ToAgent: 2, Reason: "stuck"}})
		must(err)
		_, err = db.RejectProposal(ctx, ps[0].ID, "sst@example.com")
		must(err)
	}
	refuse(204)

	r, err := roster.Parse([]byte(`{"agents": [{"id": 2, "role": "sst"}, {"id": 3, "role": "hos"}]}`))
	must(err)
	p := balancer.DefaultPolicy()
	p.MaxMovesPerAgent, p.MaxMovesPerRun = 10, 10 // only the holds keep a ticket
	p.Backlog = balancer.BacklogOldest
	reb := rebalance.New(db, nil, rebalance.Options{Mode: rebalance.ModePropose, Policy: p, Roster: r, Now: func() time.Time { return clock }})

	// check runs the plan and reads the rows as the page does at clock.
	check := func(when string, wantMoved map[int64]bool, want map[int64]team.NextStep) {
		t.Helper()
		res, _, err := reb.DryRun(ctx)
		must(err)
		moved := map[int64]bool{}
		for _, m := range res.Moves {
			moved[m.ConversationID] = true
		}
		if diff := cmp.Diff(wantMoved, moved); diff != "" {
			t.Errorf("%s: the run moved (-want +got):\n%s", when, diff)
		}
		agents, _, err := reb.Agents(ctx)
		must(err)
		open, err := db.ListProposals(ctx, store.ProposalFilter{Statuses: team.OpenProposalStatuses()})
		must(err)
		refused, err := db.ListProposals(ctx, team.RefusalsFilter(agents, clock))
		must(err)
		steps := team.NewNextSteps(agents, append(open, refused...), "propose", nil, clock)
		stuck, err := db.OpenConversations(ctx, store.OpenFilter{Assignment: store.OnlyAssigned, WaitingBefore: clock.Add(-p.StuckAfter)})
		must(err)
		got := map[int64]team.NextStep{}
		for _, c := range stuck {
			got[c.ID] = steps.Of(c)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s: the stuck rows (-want +got):\n%s", when, diff)
		}
	}

	clock = now
	check("Ana on shift", map[int64]bool{201: true, 205: true}, map[int64]team.NextStep{
		201: {Say: "to a senior once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when no senior can take it"},
		202: {Say: "an agent replied or added a note at Tue 11:30 UTC: not moved before Tue 13:30 UTC"},
		203: {Say: "moved by queuewrangler at Tue 07:00 UTC: not moved again before Wed 07:00 UTC (cooldown)"},
		204: {Say: "a move was rejected at Tue 11:00 UTC: left with Ana until Wed 11:00 UTC, or until Ana is away or off shift"},
		205: {Say: "to a senior once stuck while Ana is on shift, if one would answer clearly sooner; else it stays with Ana, flagged for the head of support when no senior can take it"},
	})

	// Ana goes away at 12:10, and a move of 205 is refused at 12:30, while
	// she is away. At 13:00 the refusal of 204 no longer holds it (she
	// left after it), that of 205 does; the others still hold, and each
	// of their customers waits on someone who cannot answer.
	status("away", now.Add(10*time.Minute))
	clock = now.Add(30 * time.Minute)
	refuse(205)
	clock = now.Add(time.Hour)
	const handedOn = "Ana is away: the balancer hands it on to someone on shift, a few tickets per run"
	check("Ana away", map[int64]bool{201: true, 204: true}, map[int64]team.NextStep{
		201: {Say: handedOn},
		202: {Say: "an agent replied or added a note at Tue 11:30 UTC: not moved before Tue 13:30 UTC; Ana is away", NeedsSomeone: true},
		203: {Say: "moved by queuewrangler at Tue 07:00 UTC: not moved again before Wed 07:00 UTC (cooldown); Ana is away", NeedsSomeone: true},
		204: {Say: handedOn},
		205: {Say: "a move was rejected at Tue 12:30 UTC: left with Ana until Wed 12:30 UTC; Ana is away", NeedsSomeone: true},
	})

	// Past every hold, the rows read as the rules say again, and the run
	// hands every customer on.
	clock = now.Add(36 * time.Hour)
	all := map[int64]team.NextStep{}
	for id := int64(201); id <= 205; id++ {
		all[id] = team.NextStep{Say: handedOn}
	}
	check("past every hold", map[int64]bool{201: true, 202: true, 203: true, 204: true, 205: true}, all)
}
