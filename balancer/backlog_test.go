package balancer

import (
	"maps"
	"slices"
	"testing"
	"time"
)

// TestBacklogKeepsWhatPlanLeaves: the day-one repro's shape. Under the
// default QW_BACKLOG=idle everyone on shift has customers waiting, so
// Plan hands on neither Ivan's customers (Away since yesterday, past the
// grace period) nor Dev's, who has waited 20 days on Dev's shift; the
// queue page said both would move. BacklogKeeps must list exactly the
// tickets the backlog check keeps, and Plan must move none of them; with
// one agent's queue empty, or under QW_BACKLOG=oldest, it lists none and
// Plan moves the tickets it said were kept.
func TestBacklogKeepsWhatPlanLeaves(t *testing.T) {
	t.Parallel()
	sst := func(id int64) Agent { a := st(id); a.Role = RoleSST; return a }
	hos := Agent{ID: 3, Role: RoleHoS, Capacity: 1, Available: true, Escalations: true}
	ivan := st(4)
	ivan.Available, ivan.UnavailableSince = false, t0.Add(-24*time.Hour)
	offSST := sst(5)
	offSST.Available, offSST.UnavailableSince, offSST.BackAt = false, t0.Add(-2*time.Hour), t0.Add(10*time.Hour)
	dev := Conversation{ID: 100, Number: 100, Status: StatusActive, AssigneeID: 1, WaitingOnUs: true, AgentReplied: true,
		CreatedAt: t0.Add(-30 * 24 * time.Hour), CustomerWaitingSince: t0.Add(-20 * 24 * time.Hour)}
	ivans := holding(4, 400, 3)
	for i := range ivans {
		ivans[i].CustomerWaitingSince = t0.Add(-time.Duration(48+i) * time.Hour)
	}
	build := func(boWaiting int) Snapshot {
		convs := append([]Conversation{dev}, holding(2, 200, 2)...) // Ana, the SST on shift
		convs = append(convs, holding(3, 300, 1)...)                // the head of support
		convs = append(convs, ivans...)
		convs = append(convs, holding(6, 600, boWaiting)...) // Bo, an ST on shift
		return Snapshot{Now: t0, Agents: []Agent{st(1), sst(2), hos, ivan, offSST, st(6)}, Conversations: convs}
	}
	moved := func(r Result) map[int64]bool {
		out := map[int64]bool{}
		for _, m := range r.Moves {
			out[m.ConversationID] = true
		}
		return out
	}
	ids := func(m map[int64]bool) []int64 { return slices.Sorted(maps.Keys(m)) }

	idle := DefaultPolicy()
	if idle.Backlog != BacklogIdle {
		t.Fatalf("the default backlog is %v, want idle: the repro's setting", idle.Backlog)
	}
	busy := build(1)
	kept := BacklogKeeps(busy, idle)
	// Dev's and Ivan's customers, and Bo's (an ST's, which the stuck rule
	// would hand on once stuck); never Ana's (an SST's stuck ticket is
	// flagged) nor the head of support's (kept by them).
	if want := []int64{100, 400, 401, 402, 600}; !slices.Equal(ids(kept), want) {
		t.Errorf("BacklogKeeps = %v, want %v", ids(kept), want)
	}
	r := plan(t, busy, idle)
	for id := range moved(r) {
		if kept[id] {
			t.Errorf("Plan moved ticket %d, which BacklogKeeps says the backlog keeps", id)
		}
	}
	if len(r.Moves) != 0 {
		t.Errorf("Plan made %d moves with everyone's customers waiting, want 0: %+v", len(r.Moves), r.Moves)
	}

	oldest := idle
	oldest.Backlog = BacklogOldest
	if k := BacklogKeeps(busy, oldest); len(k) != 0 {
		t.Errorf("BacklogKeeps under oldest = %v, want none", ids(k))
	}
	if m := moved(plan(t, busy, oldest)); !m[100] || !m[402] {
		t.Errorf("under oldest Plan moved %v, want Dev's 100 and Ivan's oldest, 402, among them", ids(m))
	}

	// Bo's queue empty: someone can take a ticket, so the backlog keeps
	// nothing, and Plan hands Bo Ivan's oldest customer, 402.
	free := build(0)
	if k := BacklogKeeps(free, idle); len(k) != 0 {
		t.Errorf("BacklogKeeps with Bo free = %v, want none", ids(k))
	}
	if m := moved(plan(t, free, idle)); !m[402] {
		t.Errorf("with Bo free Plan moved %v, want Ivan's 402", ids(m))
	}

	// Nobody at all could take Ivan's customers (everyone else's mailboxes
	// differ): the backlog is not what keeps them, so they are not listed.
	alone := busy
	alone.Conversations = slices.Clone(busy.Conversations)
	for i := range alone.Conversations {
		if alone.Conversations[i].AssigneeID == 4 {
			alone.Conversations[i].MailboxID = 9
		}
	}
	alone.Agents = slices.Clone(busy.Agents)
	for i := range alone.Agents {
		if alone.Agents[i].ID != 4 {
			alone.Agents[i].Mailboxes = []int64{1}
		}
	}
	if k := BacklogKeeps(alone, idle); k[400] || k[401] || k[402] {
		t.Errorf("BacklogKeeps = %v lists Ivan's tickets, which nobody can open", ids(k))
	}
}

// TestBacklogKeepsAgreesWithPlanOverEverySetting: for every backlog
// allowance, a ticket of someone away that BacklogKeeps does not list is
// one Plan hands on. The previous-agent bonus once broke this: it picked
// Ivan's customer's previous agent, whose queue was too long for the
// allowance, and the away rule then gave up on the ticket where the
// unassigned rule falls back to the best-ranked agent, so the page
// promised a hand-over Plan never made.
func TestBacklogKeepsAgreesWithPlanOverEverySetting(t *testing.T) {
	t.Parallel()
	ivan := st(4)
	ivan.Available, ivan.UnavailableSince = false, t0.Add(-24*time.Hour)
	customer := holding(4, 400, 1)[0]
	customer.PreviousAssigneeID = 1
	customer.CustomerWaitingSince = t0.Add(-48 * time.Hour)
	convs := append([]Conversation{customer}, holding(1, 100, 5)...) // the previous agent: 5 waiting
	convs = append(convs, holding(2, 200, 4)...)                     // 4 waiting
	convs = append(convs, holding(3, 300, 20)...)                    // 20 waiting
	s := Snapshot{Now: t0, Agents: []Agent{st(1), st(2), st(3), ivan}, Conversations: convs}
	for allowance := time.Minute; allowance <= 24*time.Hour; allowance += time.Minute {
		p := DefaultPolicy()
		p.Backlog = allowance
		kept := BacklogKeeps(s, p)[400]
		moved := false
		for _, m := range Plan(s, p).Moves {
			moved = moved || m.ConversationID == 400
		}
		if kept == moved {
			t.Errorf("QW_BACKLOG=%v: BacklogKeeps lists Ivan's customer %v, Plan moves them %v", allowance, kept, moved)
		}
	}
}
