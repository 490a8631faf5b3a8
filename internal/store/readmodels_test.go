package store

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// seedTeam writes a small account:
//
//	mailbox 10: 1 active, assigned 7, customer waiting since t0 (stuck after 30m)
//	            2 active, assigned 7, agent replied last; moved by queuewrangler at t0+1h
//	            3 active, unassigned, customer waiting since t0+1h
//	mailbox 20: 4 pending, assigned 8, pinned, started by an agent
//	            5 closed, assigned 8, replied and resolved
//	            6 spam
//	            7 active, assigned 99 (not a known user), customer waiting since t0+2h
//	mailbox 30: empty
func seedTeam(t *testing.T) (*DB, *clock) {
	t.Helper()
	db, clk := openTest(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(db.ReplaceMailboxes(ctx, []Mailbox{{ID: 10, Name: "Support"}, {ID: 20, Name: "Billing"}, {ID: 30, Name: "Empty"}}))
	must(db.ReplaceUsers(ctx, []User{
		{ID: 7, First: "Ana", Last: "A", Email: "ana@example.com", Role: "user", Timezone: "UTC", UpdatedAt: t0},
		{ID: 8, First: "Ben", Last: "B", Email: "ben@example.com", Role: "admin", Timezone: "Europe/Berlin"},
		{ID: 9, First: "Tier 2", Type: UserTypeTeam},
	}))
	must(db.ReplaceUserStatuses(ctx, []UserStatus{
		{UserID: 7, Status: "active", UpdatedAt: t0, Source: "ui"},
		{UserID: 8, Status: "away", UpdatedAt: t0, Source: "api"},
	}))

	var us []ConversationUpdate
	add := func(c Conversation, ts []Thread) {
		us = append(us, ConversationUpdate{Conversation: c, Threads: ts, ThreadsComplete: true})
	}
	c1 := conv(1, at(time.Hour))
	c1.AssigneeID = 7
	add(c1, threads(1, 3))

	c2 := conv(2, at(time.Hour))
	c2.AssigneeID = 7
	add(c2, threads(2, 2))

	c3 := conv(3, at(time.Hour))
	c3.CustomerWaitingSince = at(time.Hour)
	add(c3, threads(3, 1))

	c4 := conv(4, at(time.Hour))
	c4.MailboxID, c4.Status, c4.AssigneeID, c4.CreatedByType, c4.CreatedByID = 20, StatusPending, 8, ByUser, 8
	c4.Tags = []string{PinTag, "vip"}
	add(c4, threads(4, 2)[1:]) // the agent's opening message only

	c5 := conv(5, at(time.Hour))
	c5.MailboxID, c5.Status, c5.AssigneeID, c5.ClosedAt, c5.ClosedBy = 20, StatusClosed, 8, at(30*time.Minute), 8
	add(c5, threads(5, 2))

	c6 := conv(6, at(time.Hour))
	c6.MailboxID, c6.Status = 20, StatusSpam
	add(c6, threads(6, 2))

	c7 := conv(7, at(time.Hour))
	c7.MailboxID, c7.AssigneeID, c7.CustomerWaitingSince = 20, 99, at(2*time.Hour)
	add(c7, threads(7, 1))

	if _, err := db.ApplyConversations(ctx, us); err != nil {
		t.Fatal(err)
	}

	clk.Set(at(time.Hour))
	p := insert(t, db, proposal(2, 8, 7))[0]
	for _, step := range []func() (Proposal, error){
		func() (Proposal, error) { return db.ApproveProposal(ctx, p.ID, "sst") },
		func() (Proposal, error) { return db.ClaimProposal(ctx, p.ID) },
		func() (Proposal, error) { return db.MarkProposalApplied(ctx, p.ID) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	return db, clk
}

func TestConversationReadsBackWhatWasWritten(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	got, ts := read(t, db, 5)
	want := conv(5, at(time.Hour))
	want.MailboxID, want.Status, want.AssigneeID, want.ClosedAt, want.ClosedBy = 20, StatusClosed, 8, at(30*time.Minute), 8
	want.Tags = nil
	want.LatestThreadAt = at(20 * time.Minute)
	want.LastMessageBy = ByUser
	want.LastCustomerAt = at(10 * time.Minute)
	want.LastAgentActivityAt = at(20 * time.Minute)
	want.FirstReplyAt, want.FirstReplyBy, want.FirstAnswerAt = at(20*time.Minute), 7, at(20*time.Minute)
	want.ResolvedAt = at(30 * time.Minute)
	want.PreviousAssigneeID = 0
	want.SyncedAt = t0
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Conversation(5) (-want +got):\n%s", diff)
	}
	wantThreads := threads(5, 2)
	for i := range wantThreads {
		wantThreads[i].ConversationID = 5
	}
	if diff := cmp.Diff(wantThreads, ts); diff != "" {
		t.Errorf("threads (-want +got):\n%s", diff)
	}
}

func TestOpenConversations(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	ctx := context.Background()

	all, err := db.OpenConversations(ctx, OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]OpenConversation{}
	var ids []int64
	for _, c := range all {
		byID[c.ID] = c
		ids = append(ids, c.ID)
	}
	if diff := cmp.Diff([]int64{1, 2, 3, 4, 7}, ids); diff != "" {
		t.Fatalf("open ids (-want +got):\n%s", diff)
	}
	want1 := OpenConversation{ID: 1, Number: 1001, MailboxID: 10, Status: StatusActive, Subject: "subject 1",
		AssigneeID: 7, CustomerID: 501, CreatedByType: ByCustomer, CreatedAt: t0, CustomerWaitingSince: t0,
		LastMessageBy: ByCustomer, LastCustomerAt: at(30 * time.Minute), AgentReplied: true,
		LastAgentActivityAt: at(20 * time.Minute), ThreadCount: 3}
	if diff := cmp.Diff(want1, byID[1]); diff != "" {
		t.Errorf("conversation 1 (-want +got):\n%s", diff)
	}
	if !byID[1].CustomerWaiting() || byID[2].CustomerWaiting() || byID[4].CustomerWaiting() {
		t.Errorf("CustomerWaiting: 1=%v 2=%v 4=%v, want true false false",
			byID[1].CustomerWaiting(), byID[2].CustomerWaiting(), byID[4].CustomerWaiting())
	}
	if !byID[2].LastMovedAt.Equal(at(time.Hour)) || !byID[1].LastMovedAt.IsZero() {
		t.Errorf("LastMovedAt: 2=%v 1=%v, want %v and zero", byID[2].LastMovedAt, byID[1].LastMovedAt, at(time.Hour))
	}
	if !byID[4].Pinned || byID[1].Pinned {
		t.Errorf("Pinned: 4=%v 1=%v, want true false", byID[4].Pinned, byID[1].Pinned)
	}

	// total is what CountOpenConversations says: the matches before
	// the limit.
	tests := []struct {
		name  string
		f     OpenFilter
		want  []int64
		total int
	}{
		{"unassigned", OpenFilter{Assignment: OnlyUnassigned}, []int64{3}, 1},
		{"assigned", OpenFilter{Assignment: OnlyAssigned}, []int64{1, 2, 4, 7}, 4},
		{"one agent", OpenFilter{AssigneeID: 7}, []int64{1, 2}, 2},
		{"one mailbox", OpenFilter{MailboxID: 20}, []int64{4, 7}, 2},
		{"stuck: assigned, waiting since before t0+30m", OpenFilter{Assignment: OnlyAssigned, WaitingBefore: at(30 * time.Minute)}, []int64{1}, 1},
		{"waiting longest first", OpenFilter{WaitingBefore: at(3 * time.Hour)}, []int64{1, 3, 7}, 3},
		{"limit", OpenFilter{Limit: 2}, []int64{1, 2}, 5},
		{"active only", OpenFilter{ActiveOnly: true}, []int64{1, 2, 3, 7}, 4},
		// Pending 4 comes before active 7 by id, and must not take the
		// one place.
		{"active only, before the limit", OpenFilter{MailboxID: 20, ActiveOnly: true, Limit: 1}, []int64{7}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.OpenConversations(ctx, tt.f)
			if err != nil {
				t.Fatal(err)
			}
			ids := []int64{}
			for _, c := range got {
				ids = append(ids, c.ID)
			}
			if diff := cmp.Diff(tt.want, ids); diff != "" {
				t.Errorf("ids (-want +got):\n%s", diff)
			}
			if n, err := db.CountOpenConversations(ctx, tt.f); err != nil || n != tt.total {
				t.Errorf("CountOpenConversations = %d, %v; want %d", n, err, tt.total)
			}
		})
	}
}

func TestSnapshot(t *testing.T) {
	t.Parallel()
	db, clk := seedTeam(t)
	clk.Set(at(10 * time.Hour))
	s, err := db.Snapshot(context.Background(), SnapshotWindows{AssignedSince: at(30 * time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	if !s.TakenAt.Equal(at(10 * time.Hour)) {
		t.Errorf("TakenAt = %v", s.TakenAt)
	}
	if len(s.Users) != 3 || len(s.Statuses) != 2 || len(s.Conversations) != 5 {
		t.Errorf("snapshot has %d users, %d statuses, %d conversations; want 3, 2, 5",
			len(s.Users), len(s.Statuses), len(s.Conversations))
	}
	if diff := cmp.Diff(map[int64]int{7: 1}, s.RecentAssignments); diff != "" {
		t.Errorf("RecentAssignments (-want +got):\n%s", diff)
	}
	later, err := db.Snapshot(context.Background(), SnapshotWindows{AssignedSince: at(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(later.RecentAssignments) != 0 {
		t.Errorf("RecentAssignments after the move's window = %v, want none", later.RecentAssignments)
	}
}

// TestSnapshotReplies: a snapshot counts each agent's replies as the
// metrics define them (published email replies by a user: no notes,
// drafts, chats or customer messages) from the window start, or from the
// mirror's first reply when the mirror is younger than the window.
func TestSnapshotReplies(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	empty, err := db.Snapshot(ctx, SnapshotWindows{RepliedSince: t0})
	if err != nil {
		t.Fatal(err)
	}
	if empty.Replies == nil || len(empty.Replies) != 0 || !empty.RepliesSince.IsZero() {
		t.Errorf("no replies stored: Replies %v since %v, want empty since zero", empty.Replies, empty.RepliesSince)
	}

	// Conversation 1's threads from t0+10m, ten minutes apart.
	kinds := []struct {
		typ, by, state string
		user           int64
	}{
		{ThreadCustomer, ByCustomer, StatePublished, 0},
		{ThreadMessage, ByUser, StatePublished, 7}, // t0+20m: a reply by 7
		{ThreadMessage, ByUser, StatePublished, 8}, // t0+30m: a reply by 8
		{ThreadNote, ByUser, StatePublished, 7},
		{ThreadMessage, ByUser, StateDraft, 7},
		{ThreadChat, ByUser, StatePublished, 7},
		{ThreadMessage, ByUser, StatePublished, 7}, // t0+70m: a reply by 7
	}
	var ts []Thread
	for i, k := range kinds {
		ts = append(ts, Thread{ID: 100 + int64(i), Type: k.typ, State: k.state, Status: "nochange",
			CreatedByType: k.by, CreatedByID: k.user, CreatedAt: at(time.Duration(i+1) * 10 * time.Minute)})
	}
	c := conv(1, at(2*time.Hour))
	c.AssigneeID = 7
	apply(t, db, ConversationUpdate{Conversation: c, Threads: ts, ThreadsComplete: true})

	tests := []struct {
		name  string
		since time.Time
		want  map[int64]int
		from  time.Time
	}{
		{"window before the mirror's first reply", t0.Add(-14 * 24 * time.Hour), map[int64]int{7: 2, 8: 1}, at(20 * time.Minute)},
		{"window after the first reply", at(25 * time.Minute), map[int64]int{7: 1, 8: 1}, at(25 * time.Minute)},
		{"window after the last reply", at(2 * time.Hour), map[int64]int{}, at(2 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := db.Snapshot(ctx, SnapshotWindows{RepliedSince: tt.since})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, s.Replies); diff != "" {
				t.Errorf("Replies (-want +got):\n%s", diff)
			}
			if !s.RepliesSince.Equal(tt.from) {
				t.Errorf("RepliesSince = %v, want %v", s.RepliesSince, tt.from)
			}
		})
	}
	if s, err := db.Snapshot(ctx, SnapshotWindows{}); err != nil || s.Replies != nil {
		t.Errorf("without a reply window: Replies %v, %v; want nil (not read)", s.Replies, err)
	}
}

func TestMailboxStats(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	got, err := db.MailboxStats(context.Background(), at(30*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	want := []MailboxStats{
		{MailboxID: 10, ByStatus: map[string]int{StatusActive: 3}, Unassigned: 1, Stuck: 1, OldestWaitingSince: t0},
		{MailboxID: 20, ByStatus: map[string]int{StatusActive: 1, StatusPending: 1, StatusClosed: 1, StatusSpam: 1},
			OldestWaitingSince: at(2 * time.Hour)},
		{MailboxID: 30, ByStatus: map[string]int{}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("MailboxStats (-want +got):\n%s", diff)
	}
}

func TestAgentReadModels(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	ctx := context.Background()
	loads, err := db.AgentLoads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wantLoads := []AgentLoad{
		{AgentID: 7, Active: 2, Waiting: 1},
		{AgentID: 8, Pending: 1},
		{AgentID: 99, Active: 1, Waiting: 1},
	}
	if diff := cmp.Diff(wantLoads, loads); diff != "" {
		t.Errorf("AgentLoads (-want +got):\n%s", diff)
	}

}

func TestUnobservedObservations(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	ctx := context.Background()
	fr, err := db.UnobservedFirstResponses(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	// 4 is agent-started and 6 is spam: neither has a first response.
	reply := at(20 * time.Minute)
	wantFR := []Observation{
		{ConversationID: 1, MailboxID: 10, AgentID: 7, CreatedAt: t0, At: reply},
		{ConversationID: 2, MailboxID: 10, AgentID: 7, CreatedAt: t0, At: reply},
		{ConversationID: 5, MailboxID: 20, AgentID: 7, CreatedAt: t0, At: reply},
	}
	if diff := cmp.Diff(wantFR, fr); diff != "" {
		t.Errorf("UnobservedFirstResponses (-want +got):\n%s", diff)
	}
	res, err := db.UnobservedResolutions(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	wantRes := []Observation{{ConversationID: 5, MailboxID: 20, AgentID: 8, CreatedAt: t0, At: at(30 * time.Minute)}}
	if diff := cmp.Diff(wantRes, res); diff != "" {
		t.Errorf("UnobservedResolutions (-want +got):\n%s", diff)
	}

	if _, err := db.MarkFirstResponseObserved(ctx, 1, at(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MarkResolutionObserved(ctx, 5, at(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	fr, _ = db.UnobservedFirstResponses(ctx, 1)
	if len(fr) != 1 || fr[0].ConversationID != 2 {
		t.Errorf("after marking 1, limit 1: %+v, want conversation 2", fr)
	}
	if res, _ := db.UnobservedResolutions(ctx, 0); len(res) != 0 {
		t.Errorf("after marking 5: %+v, want none", res)
	}
}

func TestConversationIDs(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		statuses []string
		want     []int64
	}{
		{"every status", nil, []int64{1, 2, 3, 4, 5, 6, 7}},
		{"active", []string{StatusActive}, []int64{1, 2, 3, 7}},
		{"active and pending", []string{StatusActive, StatusPending}, []int64{1, 2, 3, 4, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.ConversationIDs(ctx, tt.statuses...)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ConversationIDs(%v) (-want +got):\n%s", tt.statuses, diff)
			}
		})
	}
}

// TestWaitingBefore: per assignee, the waiting tickets whose customer has
// waited since before that assignee's cutoff. Ana (7) holds conversation 1,
// waiting since t0 after her reply, and 2, answered; the removed user 99
// holds 7, unanswered and waiting since t0+2h.
func TestWaitingBefore(t *testing.T) {
	t.Parallel()
	db, _ := seedTeam(t)
	ctx := context.Background()
	now := at(time.Hour)
	tests := []struct {
		name       string
		before     map[int64]time.Time
		unanswered bool
		want       map[int64]int
	}{
		{"both", map[int64]time.Time{7: at(time.Hour), 99: at(3 * time.Hour)}, false, map[int64]int{7: 1, 99: 1}},
		{"unanswered only", map[int64]time.Time{7: at(time.Hour), 99: at(3 * time.Hour)}, true, map[int64]int{99: 1}},
		{"strictly before", map[int64]time.Time{99: at(2 * time.Hour)}, false, map[int64]int{}},
		{"agent not asked", map[int64]time.Time{8: at(5 * time.Hour)}, false, map[int64]int{}},
		{"none", nil, false, map[int64]int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.WaitingBefore(ctx, now, tt.before, tt.unanswered)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("WaitingBefore (-want +got):\n%s", diff)
			}
		})
	}

	// A wait with no known start counts from now.
	if _, err := db.write.ExecContext(ctx, "UPDATE conversations SET customer_waiting_since = NULL, last_customer_at = NULL WHERE id = 7"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		now  time.Time
		want map[int64]int
	}{{at(time.Hour), map[int64]int{99: 1}}, {at(4 * time.Hour), map[int64]int{}}} {
		got, err := db.WaitingBefore(ctx, tc.now, map[int64]time.Time{99: at(3 * time.Hour)}, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("unknown wait start, now %v (-want +got):\n%s", tc.now, diff)
		}
	}
}

// TestAnsweredByChatIsAnsweredForTheBalancer: an open chat an agent has
// answered is an ongoing conversation for the balancer (AgentReplied), and
// the unanswered-only count skips it, though the metrics see no email
// reply.
func TestAnsweredByChatIsAnsweredForTheBalancer(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	u := chatConversation(1)
	u.Conversation.Status, u.Conversation.ClosedAt, u.Threads[1].Status = StatusActive, time.Time{}, "nochange"
	u.Threads = append(u.Threads, Thread{ID: 103, Type: ThreadChat, State: StatePublished, CreatedByType: ByCustomer,
		CreatedByID: 501, CreatedAt: at(30 * time.Minute)}) // the customer writes again
	apply(t, db, u)
	open, err := db.OpenConversations(ctx, OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || !open[0].AgentReplied || !open[0].CustomerWaiting() {
		t.Fatalf("open conversations %+v, want the chat, answered and waiting", open)
	}
	if c, _ := read(t, db, 1); !c.FirstReplyAt.IsZero() {
		t.Errorf("a chat answer is the metrics' first reply at %v; the metrics count email replies only", c.FirstReplyAt)
	}
	got, err := db.WaitingBefore(ctx, at(time.Hour), map[int64]time.Time{7: at(2 * time.Hour)}, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 0 {
		t.Errorf("unanswered waiting counts %v, want none: the chat was answered", got)
	}
}

// TestCountInMailboxes: a long walk's scope is counted by mailbox, or
// whole when it names none.
func TestCountInMailboxes(t *testing.T) {
	db, _ := openTest(t)
	for id, mb := range map[int64]int64{1: 10, 2: 10, 3: 20, 4: 30} {
		c := conv(id, t0)
		c.MailboxID = mb
		apply(t, db, ConversationUpdate{Conversation: c, Threads: threads(id, 1)})
	}
	for _, tc := range []struct {
		mailboxes []int64
		want      int
	}{{nil, 4}, {[]int64{10}, 2}, {[]int64{10, 30}, 3}, {[]int64{99}, 0}} {
		n, err := db.CountInMailboxes(context.Background(), tc.mailboxes)
		if err != nil {
			t.Fatal(err)
		}
		if n != tc.want {
			t.Errorf("CountInMailboxes(%v) = %d, want %d", tc.mailboxes, n, tc.want)
		}
	}
}

// TestOpenConversationsTellHandMovesFromOurs: a ticket that went from one
// person to another is queuewrangler's own move when an applied move gave
// it to the current assignee within OwnMoveMargin of the reassignment (Help
// Scout dates its line item before our applied_at; a poll that saw the
// change first dates it after), and a person's move by hand otherwise. A
// first assignment is no reassignment at all.
func TestOpenConversationsTellHandMovesFromOurs(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	movedAt := at(time.Hour) // the line item: 7 -> 8
	// handed is a conversation routed to first, then given to 8 at movedAt.
	handed := func(id, first int64) ConversationUpdate {
		c := conv(id, at(2*time.Hour))
		c.AssigneeID = 8
		return ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: []Thread{
			{ID: id*100 + 1, Type: ThreadCustomer, State: StatePublished, CreatedByType: ByCustomer, AssignedToID: first, CreatedAt: at(10 * time.Minute)},
			{ID: id*100 + 2, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, CreatedByID: 1, AssignedToID: 8, CreatedAt: movedAt},
		}}
	}
	tests := []struct {
		name    string
		id      int64
		first   int64         // the assignee before 8; 0 = nobody
		to      int64         // an applied move's target; 0 = no move
		applied time.Duration // the move's applied_at, after movedAt
		byUs    bool
	}{
		{"moved by hand, no move of ours", 1, 7, 0, 0, false},
		{"our move, applied as its line item was dated", 2, 7, 8, 20 * time.Second, true},
		{"our move, the reassignment seen by a later poll", 3, 7, 8, -OwnMoveMargin + time.Second, true},
		{"our move to 8 long before, moved back to 8 by hand", 4, 7, 8, -2 * time.Hour, false},
		{"our move at that moment to someone else", 5, 7, 9, 20 * time.Second, false},
		{"our move too long after it to be its cause", 6, 7, 8, OwnMoveMargin + time.Second, false},
		{"a first assignment", 7, 0, 0, 0, false},
	}
	for _, tc := range tests {
		if _, err := db.ApplyConversation(ctx, handed(tc.id, tc.first)); err != nil {
			t.Fatal(err)
		}
		if tc.to == 0 {
			continue
		}
		p := insert(t, db, proposal(tc.id, 7, tc.to))[0]
		if _, err := db.ApproveProposal(ctx, p.ID, "sst"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		clk.Set(movedAt.Add(tc.applied))
		if _, err := db.MarkProposalApplied(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	all, err := db.OpenConversations(ctx, OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]OpenConversation{}
	for _, c := range all {
		byID[c.ID] = c
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := byID[tc.id]
			wantAt, wantHand := movedAt, movedAt
			if tc.first == 0 {
				wantAt, wantHand = time.Time{}, time.Time{}
			}
			if tc.byUs {
				wantHand = time.Time{}
			}
			if !c.ReassignedAt.Equal(wantAt) || c.ReassignedByUs != tc.byUs || !c.HandMovedAt().Equal(wantHand) {
				t.Errorf("ReassignedAt %v, ReassignedByUs %v, HandMovedAt %v; want %v, %v, %v",
					c.ReassignedAt, c.ReassignedByUs, c.HandMovedAt(), wantAt, tc.byUs, wantHand)
			}
		})
	}
}

// TestFailedMoveHelpScoutMadeIsOurs: a move whose PATCH timed out or was
// answered with an error is recorded failed, yet Help Scout may have made
// it. The reassignment it made is queuewrangler's, as an applied move's
// is: within OwnMoveMargin of the time the failure was recorded (the
// proposal's updated_at, just after the PATCH, as applied_at is; a failed
// proposal has no applied_at, and its decided_at may be far older), to
// the move's target. It was taken for a hand move, and held as a person's
// decision. Being ours, the cooldown holds it from our attempt instead,
// as it holds an applied move: otherwise nothing would hold it, and the
// next run could move the ticket straight on.
//
// Only a failure whose PATCH may have been made counts
// (MarkProposalFailedMaybeMade). One that failed before it (the re-read
// answered 503), one Help Scout refused, and one recovery found not made
// never reached Help Scout: an SST who then makes the same move by hand,
// minutes later, made a hand move, held as a person's decision (which
// lifts when the owner goes away), not by our cooldown (which the away
// rule honours too). They were all taken for ours.
func TestFailedMoveHelpScoutMadeIsOurs(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	movedAt := at(time.Hour) // the line item: 7 -> 8
	for id := int64(1); id <= 7; id++ {
		c := conv(id, at(2*time.Hour))
		c.AssigneeID = 8
		if _, err := db.ApplyConversation(ctx, ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: []Thread{
			{ID: id*100 + 1, Type: ThreadCustomer, State: StatePublished, CreatedByType: ByCustomer, AssignedToID: 7, CreatedAt: at(10 * time.Minute)},
			{ID: id*100 + 2, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, CreatedByID: 1, AssignedToID: 8, CreatedAt: movedAt},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	const timeout = "assign: context deadline exceeded"
	tests := []struct {
		name      string
		id        int64
		to        int64
		failed    time.Duration // when the failure was recorded, after movedAt
		why       string
		maybeMade bool
		byUs      bool
	}{
		{"our move failed on a timeout, made by Help Scout", 1, 8, 25 * time.Second, timeout, true, true},
		{"our failed move to someone else at that moment", 2, 9, 25 * time.Second, timeout, true, false},
		{"our failed move to 8 hours before, moved to 8 by hand", 3, 8, -3 * time.Hour, timeout, true, false},
		{"no move of ours", 4, 0, 0, "", false, false},
		{"our move failed at its re-read, made by hand 4 minutes later", 5, 8, -4 * time.Minute,
			"re-read before apply: 503 Service Unavailable", false, false},
		{"recovery found our move not made, made by hand 4 minutes later", 6, 8, -4 * time.Minute,
			"interrupted before the assignment was written; the next plan decides afresh", false, false},
		{"Help Scout refused our move, made by hand 4 minutes later", 7, 8, -4 * time.Minute,
			"assign: PATCH /v2/conversations/7: 422 Unprocessable Entity", false, false},
	}
	for _, tc := range tests {
		if tc.to == 0 {
			continue
		}
		clk.Set(movedAt.Add(-5 * time.Hour)) // approved long before: decided_at is no guide
		p := insert(t, db, proposal(tc.id, 7, tc.to))[0]
		if _, err := db.ApproveProposal(ctx, p.ID, "sst"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		clk.Set(movedAt.Add(tc.failed))
		mark := db.MarkProposalFailed
		if tc.maybeMade {
			mark = db.MarkProposalFailedMaybeMade
		}
		if f, err := mark(ctx, p.ID, tc.why); err != nil || f.MaybeMade != tc.maybeMade {
			t.Fatalf("mark failed: MaybeMade %v, %v; want %v", f.MaybeMade, err, tc.maybeMade)
		}
	}
	all, err := db.OpenConversations(ctx, OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[int64]OpenConversation{}
	for _, c := range all {
		byID[c.ID] = c
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := byID[tc.id]
			wantHand, wantMoved := movedAt, time.Time{}
			if tc.byUs {
				wantHand, wantMoved = time.Time{}, movedAt.Add(tc.failed)
			}
			if c.ReassignedByUs != tc.byUs || !c.HandMovedAt().Equal(wantHand) || !c.LastMovedAt.Equal(wantMoved) {
				t.Errorf("ReassignedByUs %v, HandMovedAt %v, LastMovedAt %v; want %v, %v, %v",
					c.ReassignedByUs, c.HandMovedAt(), c.LastMovedAt, tc.byUs, wantHand, wantMoved)
			}
		})
	}
}

// TestFailedHandOutMadeHoldsTheCooldown: a hand-out (out of the
// Unassigned folder) whose PATCH timed out after Help Scout made it holds
// the ticket for the cooldown, as an applied one does: ownFailedMoveQuery
// matched only reassignments, so nothing held it from the next run. One
// that failed before its PATCH is no move of ours, and holds nothing.
func TestFailedHandOutMadeHoldsTheCooldown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		outcome string
		want    bool
	}{{"applied", true}, {"failed, may have been made", true}, {"failed, not made", false}} {
		t.Run(tc.outcome, func(t *testing.T) {
			db, clk := openTest(t)
			ctx := context.Background()
			clk.Set(at(time.Hour))
			c := conv(1, at(2*time.Hour))
			c.AssigneeID = 8
			if _, err := db.ApplyConversation(ctx, ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: []Thread{
				{ID: 101, Type: ThreadCustomer, State: StatePublished, CreatedByType: ByCustomer, CreatedAt: at(10 * time.Minute)},
				{ID: 102, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, AssignedToID: 8, CreatedAt: at(time.Hour)},
			}}); err != nil {
				t.Fatal(err)
			}
			p := proposal(1, 0, 8)
			p.Reason = "unassigned"
			p = insert(t, db, p)[0]
			if _, err := db.ApproveProposal(ctx, p.ID, "sst"); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
				t.Fatal(err)
			}
			clk.Set(at(time.Hour + 25*time.Second))
			var err error
			switch tc.outcome {
			case "applied":
				_, err = db.MarkProposalApplied(ctx, p.ID)
			case "failed, may have been made":
				_, err = db.MarkProposalFailedMaybeMade(ctx, p.ID, "assign: context deadline exceeded")
			default:
				_, err = db.MarkProposalFailed(ctx, p.ID, "re-read before apply: 503 Service Unavailable")
			}
			if err != nil {
				t.Fatal(err)
			}
			all, err := db.OpenConversations(ctx, OpenFilter{})
			if err != nil || len(all) != 1 {
				t.Fatalf("open conversations: %d, %v", len(all), err)
			}
			got := all[0]
			if !got.LastMovedAt.IsZero() != tc.want || !got.HandMovedAt().IsZero() {
				t.Errorf("LastMovedAt %v, HandMovedAt %v; want a move of ours %v, no hand move", got.LastMovedAt, got.HandMovedAt(), tc.want)
			}
		})
	}
}
