package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// conv is an active, unassigned, customer-started conversation in mailbox 10.
func conv(id int64, userUpdated time.Time) Conversation {
	return Conversation{
		ID: id, Number: 1000 + id, MailboxID: 10, Status: StatusActive, State: StatePublished, Type: "email",
		Subject: fmt.Sprintf("subject %d", id), CreatedByType: ByCustomer, CreatedByID: 500 + id,
		CustomerID: 500 + id, CustomerFirst: "Cus", CustomerLast: "Tomer", CustomerEmail: "c@example.com",
		CreatedAt: t0, CustomerWaitingSince: t0, UserUpdatedAt: userUpdated, ThreadCount: 3,
	}
}

// threads returns n threads for conversation convID, ten minutes apart
// from t0+10m: odd ones from the customer, even ones published replies by
// user 7.
func threads(convID int64, n int) []Thread {
	var ts []Thread
	for i := 1; i <= n; i++ {
		t := Thread{ID: convID*100 + int64(i), Type: ThreadCustomer, State: StatePublished, Status: "nochange",
			CreatedByType: ByCustomer, CreatedByID: 500 + convID, CreatedAt: at(time.Duration(i) * 10 * time.Minute)}
		if i%2 == 0 {
			t.Type, t.CreatedByType, t.CreatedByID = ThreadMessage, ByUser, 7
		}
		ts = append(ts, t)
	}
	return ts
}

func apply(t *testing.T, db *DB, u ConversationUpdate) bool {
	t.Helper()
	ok, err := db.ApplyConversation(context.Background(), u)
	if err != nil {
		t.Fatalf("ApplyConversation(%d): %v", u.Conversation.ID, err)
	}
	return ok
}

func read(t *testing.T, db *DB, id int64) (Conversation, []Thread) {
	t.Helper()
	c, ts, err := db.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("Conversation(%d): %v", id, err)
	}
	return c, ts
}

func threadIDs(ts []Thread) []int64 {
	ids := []int64{}
	for _, t := range ts {
		ids = append(ids, t.ID)
	}
	return ids
}

func TestApplyNeverRegresses(t *testing.T) {
	t.Parallel()
	base := func() ConversationUpdate {
		c := conv(1, at(time.Hour))
		c.Subject = "stored"
		return ConversationUpdate{Conversation: c, Threads: threads(1, 3), ThreadsComplete: true}
	}
	tests := []struct {
		name        string
		incoming    func() ConversationUpdate
		wantApplied bool
	}{
		{name: "older user_updated_at is ignored", incoming: func() ConversationUpdate {
			u := base()
			u.Conversation.UserUpdatedAt = at(30 * time.Minute)
			return u
		}},
		{name: "same version is a no-op", incoming: base},
		{name: "same version, different subject, is a no-op", incoming: func() ConversationUpdate {
			u := base()
			u.Conversation.Subject = "other"
			return u
		}},
		{name: "same user_updated_at, older latest thread is ignored", incoming: func() ConversationUpdate {
			u := base()
			u.Threads = threads(1, 2)
			return u
		}},
		{name: "newer user_updated_at applies", wantApplied: true, incoming: func() ConversationUpdate {
			u := base()
			u.Conversation.UserUpdatedAt = at(2 * time.Hour)
			return u
		}},
		{name: "user_updated_at ranks before threads", wantApplied: true, incoming: func() ConversationUpdate {
			u := base()
			u.Conversation.UserUpdatedAt = at(2 * time.Hour)
			u.Threads = threads(1, 1)
			return u
		}},
		{name: "same user_updated_at, newer thread applies", wantApplied: true, incoming: func() ConversationUpdate {
			u := base()
			u.Threads = threads(1, 4)
			u.Conversation.ThreadCount = 4
			return u
		}},
		{name: "same times, higher thread count applies", wantApplied: true, incoming: func() ConversationUpdate {
			u := base()
			u.Conversation.ThreadCount = 4
			return u
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, clk := openTest(t)
			if !apply(t, db, base()) {
				t.Fatal("first apply reported no change")
			}
			before, beforeThreads := read(t, db, 1)

			clk.Set(at(24 * time.Hour)) // a change would move SyncedAt
			in := tt.incoming()
			in.Conversation.Subject = "incoming"
			got := apply(t, db, in)
			if got != tt.wantApplied {
				t.Errorf("applied = %v, want %v", got, tt.wantApplied)
			}
			after, afterThreads := read(t, db, 1)
			if !tt.wantApplied {
				if diff := cmp.Diff(before, after); diff != "" {
					t.Errorf("ignored update changed the row (-before +after):\n%s", diff)
				}
				if diff := cmp.Diff(beforeThreads, afterThreads); diff != "" {
					t.Errorf("ignored update changed the threads (-before +after):\n%s", diff)
				}
				return
			}
			if after.Subject != "incoming" || !after.SyncedAt.Equal(at(24*time.Hour)) {
				t.Errorf("after a newer update: subject %q synced %v, want %q synced %v",
					after.Subject, after.SyncedAt, "incoming", at(24*time.Hour))
			}
		})
	}
}

func TestApplyDuplicateTwiceHasOneEffect(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	u := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: threads(1, 3), ThreadsComplete: true}
	u.Conversation.Tags = []string{"vip"}
	if !apply(t, db, u) {
		t.Fatal("first apply reported no change")
	}
	first, _ := read(t, db, 1)
	clk.Set(at(48 * time.Hour))
	for i := range 2 {
		if apply(t, db, u) {
			t.Errorf("repeat %d reported a change", i+1)
		}
	}
	again, _ := read(t, db, 1)
	if diff := cmp.Diff(first, again); diff != "" {
		t.Errorf("duplicate changed the row (-first +again):\n%s", diff)
	}
}

func TestApplyEqualVersionAddsMissingThreads(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	all := threads(1, 3) // customer, reply, customer
	partial := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: []Thread{all[0], all[2]}}
	apply(t, db, partial)
	c, _ := read(t, db, 1)
	if !c.FirstReplyAt.IsZero() {
		t.Fatalf("FirstReplyAt = %v before the reply is known", c.FirstReplyAt)
	}

	full := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: all, ThreadsComplete: true}
	if !apply(t, db, full) {
		t.Error("adding a missing thread at the same version reported no change")
	}
	c, ts := read(t, db, 1)
	if diff := cmp.Diff([]int64{101, 102, 103}, threadIDs(ts)); diff != "" {
		t.Errorf("threads (-want +got):\n%s", diff)
	}
	if want := at(20 * time.Minute); !c.FirstReplyAt.Equal(want) || c.FirstReplyBy != 7 {
		t.Errorf("first reply = %v by %d, want %v by 7", c.FirstReplyAt, c.FirstReplyBy, want)
	}
	if apply(t, db, full) {
		t.Error("the same full update again reported a change")
	}
}

func TestApplyEqualVersionTakesTags(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	u := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: threads(1, 3), ThreadsComplete: true}
	apply(t, db, u)
	u.Conversation.Tags = []string{"QW-Pin", "vip", "qw-pin", " "}
	if !apply(t, db, u) {
		t.Error("a new tag set at the same version reported no change")
	}
	c, _ := read(t, db, 1)
	if diff := cmp.Diff([]string{"QW-Pin", "vip"}, c.Tags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
	open, err := db.OpenConversations(context.Background(), OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 1 || !open[0].Pinned {
		t.Errorf("open conversations = %+v, want conversation 1 pinned (tags match case-insensitively)", open)
	}
	if apply(t, db, u) {
		t.Error("the same tags again reported a change")
	}
}

func TestApplyThreadsCompleteReplacesAndPartialMerges(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ts := threads(1, 5)
	apply(t, db, ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: ts[:3], ThreadsComplete: true})

	// A complete list without thread 103 drops it.
	apply(t, db, ConversationUpdate{Conversation: conv(1, at(2*time.Hour)), Threads: []Thread{ts[0], ts[1], ts[3]},
		ThreadsComplete: true})
	_, got := read(t, db, 1)
	if diff := cmp.Diff([]int64{101, 102, 104}, threadIDs(got)); diff != "" {
		t.Errorf("after a complete list (-want +got):\n%s", diff)
	}

	// A partial list only adds.
	apply(t, db, ConversationUpdate{Conversation: conv(1, at(3*time.Hour)), Threads: []Thread{ts[4]}})
	c, got := read(t, db, 1)
	if diff := cmp.Diff([]int64{101, 102, 104, 105}, threadIDs(got)); diff != "" {
		t.Errorf("after a partial list (-want +got):\n%s", diff)
	}
	if want := at(50 * time.Minute); !c.LatestThreadAt.Equal(want) || c.LastMessageBy != ByCustomer {
		t.Errorf("latest thread %v by %q, want %v by customer", c.LatestThreadAt, c.LastMessageBy, want)
	}

	// A thread that changes state (a draft sent) is updated in place.
	sent := ts[3]
	sent.State = StateDraft
	apply(t, db, ConversationUpdate{Conversation: conv(1, at(4*time.Hour)), Threads: []Thread{sent}})
	_, got = read(t, db, 1)
	if got[2].ID != 104 || got[2].State != StateDraft {
		t.Errorf("thread 104 = %+v, want state draft", got[2])
	}
}

func TestApplyTracksPreviousAssignee(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	c := conv(1, at(time.Hour))
	c.AssigneeID = 7
	apply(t, db, ConversationUpdate{Conversation: c})
	c.AssigneeID, c.UserUpdatedAt = 8, at(2*time.Hour)
	apply(t, db, ConversationUpdate{Conversation: c})
	got, _ := read(t, db, 1)
	if got.AssigneeID != 8 || got.PreviousAssigneeID != 7 {
		t.Errorf("assignee %d previous %d, want 8 previous 7", got.AssigneeID, got.PreviousAssigneeID)
	}
	// A later update that keeps the assignee keeps the previous one.
	c.UserUpdatedAt = at(3 * time.Hour)
	apply(t, db, ConversationUpdate{Conversation: c})
	got, _ = read(t, db, 1)
	if got.PreviousAssigneeID != 7 {
		t.Errorf("previous assignee after an unrelated update = %d, want 7", got.PreviousAssigneeID)
	}
}

func TestApplyRejectsInvalidIDs(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	for _, u := range []ConversationUpdate{
		{Conversation: conv(0, t0)},
		{Conversation: conv(1, t0), Threads: []Thread{{ID: 0}}},
	} {
		if _, err := db.ApplyConversation(ctx, u); err == nil {
			t.Errorf("ApplyConversation(%+v) succeeded", u)
		}
	}
	if _, _, err := db.Conversation(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("after rejected updates: Conversation(1) error = %v, want ErrNotFound", err)
	}
}

func TestCommitPageStoresCursorOnlyWithItsPage(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	// A trigger fails the insert of conversation 666 inside the transaction,
	// after conversation 1 of the same page was written.
	if _, err := db.write.Exec(`CREATE TRIGGER boom BEFORE INSERT ON conversations WHEN NEW.id = 666
		BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	page := func(ids ...int64) []ConversationUpdate {
		var us []ConversationUpdate
		for _, id := range ids {
			us = append(us, ConversationUpdate{Conversation: conv(id, at(time.Hour)), Threads: threads(id, 3), ThreadsComplete: true})
		}
		return us
	}

	if _, err := db.CommitPage(ctx, page(1, 666), "conversations", at(time.Hour)); err == nil {
		t.Fatal("CommitPage with a failing conversation succeeded")
	}
	if _, err := db.Cursor(ctx, "conversations"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cursor after a failed first page: err = %v, want ErrNotFound", err)
	}
	if ids, _ := db.ConversationIDs(ctx); len(ids) != 0 {
		t.Errorf("conversations after a failed page = %v, want none", ids)
	}

	n, err := db.CommitPage(ctx, page(1, 2), "conversations", at(time.Hour))
	if err != nil || n != 2 {
		t.Fatalf("CommitPage = %d, %v; want 2, nil", n, err)
	}
	if _, err := db.CommitPage(ctx, page(3, 666), "conversations", at(2*time.Hour)); err == nil {
		t.Fatal("second failing page succeeded")
	}
	cur, err := db.Cursor(ctx, "conversations")
	if err != nil {
		t.Fatal(err)
	}
	if !cur.Value.Equal(at(time.Hour)) {
		t.Errorf("cursor after a failed later page = %v, want the last committed %v", cur.Value, at(time.Hour))
	}
	ids, err := db.ConversationIDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{1, 2}, ids); diff != "" {
		t.Errorf("conversation ids (-want +got):\n%s", diff)
	}
}

func TestDeleteConversation(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	u := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: threads(1, 3), ThreadsComplete: true}
	u.Conversation.Tags = []string{"vip"}
	apply(t, db, u)
	if _, err := db.MarkFirstResponseObserved(ctx, 1, at(time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteConversation(ctx, 1); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"conversations", "threads", "conversation_tags"} {
		var n int
		if err := db.read.QueryRow("SELECT COUNT(*) FROM " + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%s has %d rows after delete, want 0", table, n)
		}
	}
	if err := db.DeleteConversation(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("second delete: %v, want ErrNotFound", err)
	}

	// A late update at the deleted version must not bring it back...
	if apply(t, db, u) {
		t.Error("a late update at the deleted version restored the conversation")
	}
	// ...a newer one (Help Scout restored it) does, keeping its marks.
	clk.Set(at(5 * time.Hour))
	u.Conversation.UserUpdatedAt = at(2 * time.Hour)
	if !apply(t, db, u) {
		t.Fatal("a newer update after delete was ignored")
	}
	c, _ := read(t, db, 1)
	if !c.FirstResponseObservedAt.Equal(at(time.Hour)) {
		t.Errorf("restored FirstResponseObservedAt = %v, want %v", c.FirstResponseObservedAt, at(time.Hour))
	}
	if first, err := db.MarkFirstResponseObserved(ctx, 1, at(6*time.Hour), true); err != nil || first {
		t.Errorf("mark after restore = %v, %v; want false, nil", first, err)
	}
}

func TestObservationMarksAreOnceOnly(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/qw.db"
	db, _ := openAt(t, path)
	ctx := context.Background()
	c := conv(1, at(time.Hour))
	c.Status, c.ClosedAt = StatusClosed, at(40*time.Minute)
	apply(t, db, ConversationUpdate{Conversation: c, Threads: threads(1, 3), ThreadsComplete: true})

	type mark func(context.Context, int64, time.Time, bool) (bool, error)
	for name, m := range map[string]mark{"first response": db.MarkFirstResponseObserved, "resolution": db.MarkResolutionObserved} {
		// Concurrent observers (a poll and a webhook): exactly one wins.
		var wg sync.WaitGroup
		wins := make(chan bool, 8)
		for range 8 {
			wg.Go(func() {
				ok, err := m(ctx, 1, at(time.Hour), true)
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
				wins <- ok
			})
		}
		wg.Wait()
		close(wins)
		n := 0
		for ok := range wins {
			if ok {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d concurrent marks won, want 1", name, n)
		}
		if _, err := m(ctx, 99, t0, true); !errors.Is(err, ErrNotFound) {
			t.Errorf("%s of an unknown conversation: %v, want ErrNotFound", name, err)
		}
	}
	db.Close()

	db2, _ := openAt(t, path)
	for name, m := range map[string]mark{"first response": db2.MarkFirstResponseObserved, "resolution": db2.MarkResolutionObserved} {
		if first, err := m(ctx, 1, at(2*time.Hour), true); err != nil || first {
			t.Errorf("%s after reopen = %v, %v; want false, nil", name, first, err)
		}
	}
	got, _ := read(t, db2, 1)
	if !got.FirstResponseObservedAt.Equal(at(time.Hour)) || !got.ResolutionObservedAt.Equal(at(time.Hour)) {
		t.Errorf("marks = %v, %v; want both %v", got.FirstResponseObservedAt, got.ResolutionObservedAt, at(time.Hour))
	}
	// A sync after the marks must not clear them.
	c.UserUpdatedAt = at(3 * time.Hour)
	apply(t, db2, ConversationUpdate{Conversation: c, Threads: threads(1, 3), ThreadsComplete: true})
	got, _ = read(t, db2, 1)
	if got.FirstResponseObservedAt.IsZero() || got.ResolutionObservedAt.IsZero() {
		t.Errorf("a newer sync cleared the marks: %+v", got)
	}
}

func TestDeriveFacts(t *testing.T) {
	t.Parallel()
	min := func(m int) time.Time { return at(time.Duration(m) * time.Minute) }
	ms := func(m int) int64 { return min(m).UnixMilli() }
	cust := func(id int64, m int) Thread {
		return Thread{ID: id, Type: ThreadCustomer, State: StatePublished, CreatedByType: ByCustomer, CreatedAt: min(m)}
	}
	reply := func(id int64, m int, by int64) Thread {
		return Thread{ID: id, Type: ThreadMessage, State: StatePublished, CreatedByType: ByUser, CreatedByID: by,
			AssignedToID: by, CreatedAt: min(m)}
	}
	with := func(t Thread, f func(*Thread)) Thread { f(&t); return t }

	tests := []struct {
		name    string
		in      factsInput
		threads []Thread
		want    facts
	}{
		{name: "no threads uses the hint", in: factsInput{latestReplyFrom: ByCustomer},
			want: facts{lastMessageBy: ByCustomer}},
		{name: "customer waiting after a reply",
			threads: []Thread{cust(1, 0), reply(2, 5, 7), cust(3, 9)},
			want: facts{latestThreadAt: ms(9), lastMessageBy: ByCustomer, lastCustomerAt: ms(9),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), previousAssigneeID: 7}},
		{name: "a note is activity, not a reply, and not the last message",
			in:      factsInput{assigneeID: 7},
			threads: []Thread{cust(1, 0), with(reply(2, 5, 7), func(t *Thread) { t.Type = ThreadNote })},
			want: facts{latestThreadAt: ms(5), lastMessageBy: ByCustomer, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(5), assignedAt: ms(5)}},
		{name: "a draft is neither reply nor activity",
			threads: []Thread{cust(1, 0), with(reply(2, 5, 7), func(t *Thread) { t.State = StateDraft })},
			want:    facts{latestThreadAt: ms(5), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), previousAssigneeID: 7}},
		{name: "line items are ignored for the last message",
			in: factsInput{assigneeID: 8},
			threads: []Thread{cust(1, 0), reply(2, 5, 7),
				{ID: 3, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(6), AssignedToID: 8}},
			want: facts{latestThreadAt: ms(6), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), assignedAt: ms(6),
				reassignedAt: ms(6), previousAssigneeID: 7}},
		{name: "resolved by the first close after the reply, not the reopen's close",
			in: factsInput{status: StatusClosed, closedAt: ms(30)},
			threads: []Thread{
				with(cust(1, 0), func(t *Thread) { t.Status = StatusClosed }), // closed before any reply
				reply(2, 5, 7),
				{ID: 3, Type: ThreadLineItem, Status: StatusClosed, CreatedAt: min(10)},
				{ID: 4, Type: ThreadLineItem, Status: StatusActive, CreatedAt: min(20)},
				{ID: 5, Type: ThreadLineItem, Status: StatusClosed, CreatedAt: min(30)},
			},
			want: facts{latestThreadAt: ms(30), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), resolvedAt: ms(10), previousAssigneeID: 7}},
		{name: "send and close on one thread",
			threads: []Thread{cust(1, 0), with(reply(2, 5, 7), func(t *Thread) { t.Status = StatusClosed })},
			want: facts{latestThreadAt: ms(5), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), resolvedAt: ms(5), previousAssigneeID: 7}},
		{name: "closed without a status thread uses closedAt",
			in:      factsInput{status: StatusClosed, closedAt: ms(15), assigneeID: 7},
			threads: []Thread{cust(1, 0), reply(2, 5, 7)},
			want: facts{latestThreadAt: ms(5), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), resolvedAt: ms(15), assignedAt: ms(5)}},
		{name: "closed without a reply is not resolved",
			in:      factsInput{status: StatusClosed, closedAt: ms(15)},
			threads: []Thread{cust(1, 0)},
			want:    facts{latestThreadAt: ms(0), lastMessageBy: ByCustomer, lastCustomerAt: ms(0)}},
		{name: "an observed reassignment beats the threads",
			in:      factsInput{assigneeID: 9, changedFrom: 8},
			threads: []Thread{cust(1, 0), reply(2, 5, 7)},
			want: facts{latestThreadAt: ms(5), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), previousAssigneeID: 8}},
		{name: "an agent's chat message answers the customer but is not the metrics' reply",
			in: factsInput{status: StatusClosed, closedAt: ms(6)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.Type = ThreadChat }),
				with(reply(2, 3, 7), func(t *Thread) { t.Type = ThreadChat })},
			want: facts{latestThreadAt: ms(3), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(3), firstAnswerAt: ms(3), previousAssigneeID: 7}},
		{name: "a call logged by an agent answers, and a later email is the first reply",
			threads: []Thread{cust(1, 0), with(reply(2, 4, 7), func(t *Thread) { t.Type = ThreadPhone }), reply(3, 8, 9)},
			want: facts{latestThreadAt: ms(8), lastMessageBy: ByUser, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(8), firstReplyAt: ms(8), firstReplyBy: 9, firstAnswerAt: ms(4), previousAssigneeID: 9}},
		{name: "a customer's chat message and an unsent chat reply are not responses",
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.Type = ThreadChat }),
				with(reply(2, 3, 7), func(t *Thread) { t.Type, t.State = ThreadChat, "review" })},
			want: facts{latestThreadAt: ms(3), lastMessageBy: ByCustomer, lastCustomerAt: ms(0),
				lastAgentActivityAt: ms(3), previousAssigneeID: 7}},
		{name: "assigned at the first thread of the current assignee's last run",
			in: factsInput{assigneeID: 7},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }), // routed on arrival
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8},
				{ID: 3, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(20), AssignedToID: 7}, // handed back
				with(cust(4, 30), func(t *Thread) { t.AssignedToID = 7 })},
			want: facts{latestThreadAt: ms(30), lastMessageBy: ByCustomer, lastCustomerAt: ms(30), assignedAt: ms(20),
				reassignedAt: ms(20), previousAssigneeID: 8}},
		{name: "an assignment no thread shows yet is dated by the write that sees it",
			in:      factsInput{assigneeID: 9, assigneeChanged: true, storedAssignedAt: ms(1), now: ms(40)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 })},
			want:    facts{latestThreadAt: ms(0), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(40), previousAssigneeID: 7}},
		{name: "an unchanged assignee no thread shows keeps its stored time",
			in:      factsInput{assigneeID: 9, storedAssignedAt: ms(1), now: ms(40)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 })},
			want:    facts{latestThreadAt: ms(0), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(1), previousAssigneeID: 7}},
		// Reassignments: when the current assignee got the ticket from
		// another person, which the balancer holds as a person's decision.
		{name: "a reassignment from one person to another is dated by its thread",
			in: factsInput{assigneeID: 8},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10),
				reassignedAt: ms(10), previousAssigneeID: 7}},
		{name: "a first assignment out of the folder is not a reassignment",
			in: factsInput{assigneeID: 8, assigneeChanged: true, now: ms(40)},
			threads: []Thread{cust(1, 0),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10)}},
		{name: "unassigned by a line item, then taken from the folder, is not a reassignment",
			// The mirror missed the time in the folder and saw 7 -> 8; the
			// threads know better.
			in: factsInput{assigneeID: 8, changedFrom: 7, assigneeChanged: true, storedReassignedAt: ms(1), now: ms(40)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(5)},
				{ID: 3, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10),
				previousAssigneeID: 7}},
		{name: "a reassignment observed before any thread shows it is dated by the write",
			in:   factsInput{assigneeID: 9, changedFrom: 8, assigneeChanged: true, now: ms(40)},
			want: facts{assignedAt: ms(40), reassignedAt: ms(40), previousAssigneeID: 8}},
		{name: "threads behind an observed reassignment do not date it by an older owner's",
			in: factsInput{assigneeID: 9, changedFrom: 8, assigneeChanged: true, now: ms(40)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(40),
				reassignedAt: ms(40), previousAssigneeID: 8}},
		{name: "an automatic workflow's reassignment is none, even one this write observes",
			// A rule moved it, as routing gives a ticket out: nobody
			// decided where it stays.
			in: factsInput{assigneeID: 8, changedFrom: 7, assigneeChanged: true, storedReassignedAt: ms(1), now: ms(40)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8, Workflow: WorkflowAutomatic}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10),
				previousAssigneeID: 7}},
		{name: "an automatic workflow's move before the threads named anyone is none",
			in: factsInput{assigneeID: 8},
			threads: []Thread{cust(1, 0),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8, Workflow: WorkflowAutomatic}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10)}},
		{name: "an automatic workflow's move from an owner no thread names, which this write observes, is none",
			// The threads name no owner before the workflow's line item,
			// so only the write says 7 -> 8: without the workflow's
			// `told = true` in reassignedAt the write's evidence made it a
			// hand move (review-hand: no test failed without that line).
			in: factsInput{assigneeID: 8, changedFrom: 7, assigneeChanged: true, now: ms(11)},
			threads: []Thread{cust(1, 0),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8, Workflow: WorkflowAutomatic}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10),
				previousAssigneeID: 7}},
		{name: "a workflow a person ran by hand reassigns as a person does",
			in: factsInput{assigneeID: 8},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8, Workflow: WorkflowManual}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10),
				reassignedAt: ms(10), previousAssigneeID: 7}},
		{name: "a person's move after an automatic workflow's is a reassignment",
			in: factsInput{assigneeID: 9},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8, Workflow: WorkflowAutomatic},
				{ID: 3, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(20), AssignedToID: 9}},
			want: facts{latestThreadAt: ms(20), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(20),
				reassignedAt: ms(20), previousAssigneeID: 8}},
		{name: "an automatic workflow's thread that keeps the owner changes nothing",
			in: factsInput{assigneeID: 8},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8},
				{ID: 3, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(20), AssignedToID: 8, Workflow: WorkflowAutomatic}},
			want: facts{latestThreadAt: ms(20), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), assignedAt: ms(10),
				reassignedAt: ms(10), previousAssigneeID: 7}},
		{name: "a thread without assignedTo is no unassignment",
			in:      factsInput{assigneeID: 8},
			threads: []Thread{reply(1, 0, 7), cust(2, 5), reply(3, 10, 8)},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByUser, lastCustomerAt: ms(5), lastAgentActivityAt: ms(10),
				firstReplyAt: ms(0), firstReplyBy: 7, firstAnswerAt: ms(0), assignedAt: ms(10), reassignedAt: ms(10),
				previousAssigneeID: 7}},
		{name: "threads that name no owner keep the stored reassignment",
			in:      factsInput{assigneeID: 8, storedAssignedAt: ms(3), storedReassignedAt: ms(3)},
			threads: []Thread{cust(1, 0), cust(2, 5)},
			want: facts{latestThreadAt: ms(5), lastMessageBy: ByCustomer, lastCustomerAt: ms(5), assignedAt: ms(3),
				reassignedAt: ms(3)}},
		{name: "an unassigned ticket has no reassignment",
			in: factsInput{storedReassignedAt: ms(3)},
			threads: []Thread{with(cust(1, 0), func(t *Thread) { t.AssignedToID = 7 }),
				{ID: 2, Type: ThreadLineItem, CreatedByType: ByUser, CreatedAt: min(10), AssignedToID: 8}},
			want: facts{latestThreadAt: ms(10), lastMessageBy: ByCustomer, lastCustomerAt: ms(0), previousAssigneeID: 8}},
		{name: "ties in time break by id",
			threads: []Thread{reply(2, 5, 7), cust(1, 5)},
			want: facts{latestThreadAt: ms(5), lastMessageBy: ByUser, lastCustomerAt: ms(5),
				lastAgentActivityAt: ms(5), firstReplyAt: ms(5), firstReplyBy: 7, firstAnswerAt: ms(5), previousAssigneeID: 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := deriveFacts(tt.in, tt.threads)
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(facts{})); diff != "" {
				t.Errorf("deriveFacts (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCursorsByPrefix: Cursors finds the cursors under a prefix and no
// other (the poll's, a name that only shares its first letters), values
// included, the zero time as zero; DeleteCursor removes one, and removing
// it again is no error.
func TestCursorsByPrefix(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	for name, value := range map[string]time.Time{
		"conversations":            at(time.Hour),
		"conversations@left-out:1": at(2 * time.Hour),
		"conversations@left-out:2": {},
		"conversations@left-ou":    at(3 * time.Hour),
	} {
		if err := db.SetCursor(ctx, name, value); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.Cursors(ctx, "conversations@left-out:")
	if err != nil {
		t.Fatal(err)
	}
	want := []SyncCursor{{Name: "conversations@left-out:1", Value: at(2 * time.Hour)}, {Name: "conversations@left-out:2"}}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(SyncCursor{}, "UpdatedAt")); diff != "" {
		t.Errorf("Cursors (-want +got):\n%s", diff)
	}
	for range 2 {
		if err := db.DeleteCursor(ctx, "conversations@left-out:1"); err != nil {
			t.Fatalf("DeleteCursor: %v", err)
		}
	}
	if _, err := db.Cursor(ctx, "conversations@left-out:1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("cursor after DeleteCursor: %v; want ErrNotFound", err)
	}
	if cur, err := db.Cursor(ctx, "conversations"); err != nil || !cur.Value.Equal(at(time.Hour)) {
		t.Errorf("the poll's cursor after DeleteCursor of another: %v, %v", cur.Value, err)
	}
	if _, err := db.Cursors(ctx, ""); err == nil {
		t.Error("Cursors with an empty prefix succeeded; it would read every cursor")
	}
}

// TestHelpScoutReplacesWhatAWebhookWrote is the never-regress rule's one
// exception: a row written from a webhook body (a hint) is replaced by
// Help Scout's own answer even when the answer's version is older, so that
// a webhook dated ahead of Help Scout (a quirk, or a forged body) cannot
// hold the row against every later poll and re-read. Between hints, and
// between Help Scout's answers, the version order holds as before.
func TestHelpScoutReplacesWhatAWebhookWrote(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	fromHS := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: threads(1, 3), ThreadsComplete: true}
	apply(t, db, fromHS)

	// A hint dated far ahead, naming another mailbox and fewer threads.
	hint := conv(1, time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC))
	hint.MailboxID, hint.Status, hint.ThreadCount, hint.FromWebhook = 0, StatusClosed, 1, true
	if !apply(t, db, ConversationUpdate{Conversation: hint}) {
		t.Fatal("a newer hint over Help Scout's row was not applied")
	}
	if got, _ := read(t, db, 1); !got.FromWebhook || got.MailboxID != 0 {
		t.Fatalf("after the hint: from webhook %v, mailbox %d; want true, 0", got.FromWebhook, got.MailboxID)
	}

	// An older hint still loses to the hint's row.
	older := hint
	older.UserUpdatedAt, older.MailboxID = at(2*time.Hour), 20
	if apply(t, db, ConversationUpdate{Conversation: older}) {
		t.Error("an older hint replaced a newer hint's row")
	}

	// A listing page below the hint's version does not: it may have been
	// served before the change the webhook told of.
	page := fromHS
	page.Conversation.UserUpdatedAt = at(90 * time.Minute)
	if apply(t, db, page) {
		t.Error("a listing page older than the hint replaced the row a webhook wrote")
	}

	// Help Scout's answer read by id, at a version far below the hint's,
	// replaces it.
	answer := fromHS
	answer.ReadByID = true
	answer.Conversation.UserUpdatedAt = at(90 * time.Minute)
	answer.Conversation.Status = StatusPending
	if !apply(t, db, answer) {
		t.Fatal("Help Scout's answer did not replace the row a webhook wrote")
	}
	got, ts := read(t, db, 1)
	if got.FromWebhook || got.MailboxID != 10 || got.Status != StatusPending || !got.UserUpdatedAt.Equal(at(90*time.Minute)) ||
		got.ThreadCount != 3 || len(ts) != 3 {
		t.Errorf("after Help Scout's answer: from webhook %v, mailbox %d, status %s, user updated %v, %d threads (count %d); "+
			"want false, 10, pending, %v, 3 (3)", got.FromWebhook, got.MailboxID, got.Status, got.UserUpdatedAt, len(ts), got.ThreadCount,
			at(90*time.Minute))
	}

	// Once Help Scout's, the row follows the version order again: an older
	// answer (a late listing page) does not replace it.
	stale := fromHS
	stale.Conversation.Status = StatusClosed
	if apply(t, db, stale) {
		t.Error("an older answer from Help Scout replaced a newer one")
	}
}

// TestMigrationMarksWhatOnlyAWebhookWrote: a file from before from_webhook
// may hold rows a webhook body wrote that no answer of Help Scout's could
// (mailbox 0, a date in 2099). The upgrade marks them, so that the next
// poll or re-read replaces them; every other row stays Help Scout's.
func TestMigrationMarksWhatOnlyAWebhookWrote(t *testing.T) {
	t.Parallel()
	const before = 16 // the last schema without from_webhook
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, before)
	future := time.Date(2099, 1, 1, 0, 0, 0, 0, time.UTC).UnixMilli()
	for _, stmt := range []string{
		fmt.Sprintf("INSERT INTO conversations (id, mailbox_id, user_updated_at, synced_at) VALUES (1, 10, %d, 1)", t0.UnixMilli()),
		fmt.Sprintf("INSERT INTO conversations (id, mailbox_id, user_updated_at, synced_at) VALUES (2, 0, %d, 1)", t0.UnixMilli()),
		fmt.Sprintf("INSERT INTO conversations (id, mailbox_id, user_updated_at, synced_at) VALUES (3, 10, %d, 1)", future),
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	raw.Close()
	db, _ := openAt(t, path)
	for id, want := range map[int64]bool{1: false, 2: true, 3: true} {
		if got, _ := read(t, db, id); got.FromWebhook != want {
			t.Errorf("conversation %d after the upgrade: from webhook %v, want %v", id, got.FromWebhook, want)
		}
	}
	// And Help Scout's answer, read by id (the hourly reconcile re-reads
	// every marked row), then replaces the 2099 row.
	if !apply(t, db, ConversationUpdate{Conversation: conv(3, at(time.Hour)), Threads: threads(3, 3), ThreadsComplete: true, ReadByID: true}) {
		t.Error("Help Scout's answer did not replace a row dated 2099 from before the upgrade")
	}
}

// TestContradictedHintLeavesNoHandMove: a webhook naming an owner Help
// Scout does not (Ben for Ana's ticket) was observed as Ana -> Ben, and
// Help Scout's answer putting Ana back as Ben -> Ana: a hand move nobody
// made, which would hold the ticket for the cooldown and give Ben the
// previous-agent bonus. The hint's word is no evidence once Help Scout
// contradicts it; a hint Help Scout confirms keeps its reassignment.
func TestContradictedHintLeavesNoHandMove(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	const ana, ben = 7, 8
	for _, tc := range []struct {
		name     string
		answered int64 // the owner Help Scout's answer names
		moved    bool  // a hand move is on the row after it
	}{
		{"Help Scout names Ana: the webhook was wrong", ana, false},
		{"Help Scout names Ben: the webhook was right", ben, true},
	} {
		id := int64(40 + tc.answered)
		c := conv(id, at(time.Hour))
		c.AssigneeID = ana
		apply(t, db, ConversationUpdate{Conversation: c})

		hint := conv(id, at(2*time.Hour))
		hint.AssigneeID, hint.FromWebhook = ben, true
		apply(t, db, ConversationUpdate{Conversation: hint})

		answer := conv(id, at(2*time.Hour))
		answer.AssigneeID = tc.answered
		if !apply(t, db, ConversationUpdate{Conversation: answer, ReadByID: true}) {
			t.Fatalf("%s: Help Scout's answer was not applied", tc.name)
		}
		open, err := db.OpenConversations(ctx, OpenFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range open {
			if o.ID != id {
				continue
			}
			if moved := !o.HandMovedAt().IsZero(); moved != tc.moved {
				t.Errorf("%s: hand move at %v (previous assignee %d); want a hand move: %v", tc.name, o.HandMovedAt(), o.PreviousAssigneeID, tc.moved)
			}
			if !tc.moved && o.PreviousAssigneeID == ben {
				t.Errorf("%s: previous assignee is Ben, who never had the ticket", tc.name)
			}
		}
	}
}

// TestHintContradictedByAThirdOwnerKeepsTheHandMove: the webhook named Ben for Ana's ticket, and Help Scout's answer
// at the hint's version names Cal. Ana no longer has it: someone moved it
// from Ana (to Ben, then Cal, or straight to Cal), a hand move either way.
func TestHintContradictedByAThirdOwnerKeepsTheHandMove(t *testing.T) {
	db, _ := openTest(t)
	ctx := context.Background()
	const ana, ben, cal = 7, 8, 9
	for _, readByID := range []bool{false, true} {
		id := int64(60)
		if readByID {
			id = 61
		}
		c := conv(id, at(time.Hour))
		c.AssigneeID = ana
		apply(t, db, ConversationUpdate{Conversation: c})
		hint := conv(id, at(2*time.Hour))
		hint.AssigneeID, hint.FromWebhook = ben, true
		apply(t, db, ConversationUpdate{Conversation: hint})
		answer := conv(id, at(2*time.Hour))
		answer.AssigneeID = cal
		if !apply(t, db, ConversationUpdate{Conversation: answer, ReadByID: readByID}) {
			t.Fatal("answer not applied")
		}
		open, err := db.OpenConversations(ctx, OpenFilter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range open {
			if o.ID == id {
				if o.HandMovedAt().IsZero() {
					t.Errorf("readByID=%v: Ana -> Cal lost: no hand move on the row", readByID)
				}
			}
		}
	}
}

// TestApplyEqualVersionTakesTheWorkflowMark: a workflow's move stored
// before migration 0018 has no mark, and reads as a hand move. A read of
// its conversation at the stored version (the hourly reconcile, a listing
// page) went through applyEqual, whose INSERT ... DO NOTHING left the
// stored thread unmarked: the move stayed a hand move until the
// conversation changed in Help Scout. The mark is taken and the facts are
// derived again; a mark already stored is not taken back by a read that
// brings none.
func TestApplyEqualVersionTakesTheWorkflowMark(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	c := conv(1, at(time.Hour))
	c.AssigneeID = 8
	ts := []Thread{
		{ID: 101, Type: ThreadCustomer, State: StatePublished, CreatedByType: ByCustomer, AssignedToID: 7, CreatedAt: at(10 * time.Minute)},
		{ID: 102, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, AssignedToID: 8, CreatedAt: at(20 * time.Minute)},
	}
	apply(t, db, ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: ts}) // as stored before 0018
	if got, _ := read(t, db, 1); !got.ReassignedAt.Equal(at(20 * time.Minute)) {
		t.Fatalf("unmarked 7 -> 8: reassigned at %v; want its line item's t0+20m", got.ReassignedAt)
	}
	ts[1].Workflow = WorkflowAutomatic
	if !apply(t, db, ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: ts}) {
		t.Error("a workflow mark taken at the same version reported no change")
	}
	got, stored := read(t, db, 1)
	if stored[1].Workflow != WorkflowAutomatic || !got.ReassignedAt.IsZero() {
		t.Errorf("after a same-version re-read: stored workflow %q, reassigned at %v; want %q, none",
			stored[1].Workflow, got.ReassignedAt, WorkflowAutomatic)
	}
	ts[1].Workflow = ""
	if apply(t, db, ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: ts}) {
		t.Error("a read without the mark at the same version reported a change")
	}
	if _, stored = read(t, db, 1); stored[1].Workflow != WorkflowAutomatic {
		t.Errorf("a read without the mark took it back: stored workflow %q", stored[1].Workflow)
	}

}

// TestLaggingThreadsDoNotExcuseAHandMoveBack: an automatic workflow moved
// the ticket 7 -> 8; a person moved it back to 7, then to 8 again, and
// the mirror saw both changes before their line items were listed (a
// poll, a webhook). At the last write the threads still end with the
// workflow's line item naming 8, the current owner: reassignedAt took it
// for the current run's start and said no reassignment, though this very
// write observed one from 7 by a person, so that a balancer run could
// move the ticket straight on. Without the workflow mark the same threads
// dated the hand move by the old line item, hours too early, and
// assignedAt by it too. The write dates both.
func TestLaggingThreadsDoNotExcuseAHandMoveBack(t *testing.T) {
	t.Parallel()
	for _, wf := range []string{"", WorkflowAutomatic} {
		t.Run("workflow="+wf, func(t *testing.T) {
			db, clk := openTest(t)
			c := conv(1, at(time.Hour))
			c.AssigneeID = 8
			clk.Set(at(time.Hour))
			apply(t, db, ConversationUpdate{Conversation: c, ThreadsComplete: true, Threads: []Thread{
				{ID: 101, Type: ThreadCustomer, State: StatePublished, CreatedByType: ByCustomer, AssignedToID: 7, CreatedAt: at(10 * time.Minute)},
				{ID: 102, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, AssignedToID: 8, CreatedAt: at(20 * time.Minute), Workflow: wf},
			}})
			// A person gives it back to 7: seen before its line item.
			c.AssigneeID, c.UserUpdatedAt = 7, at(2*time.Hour)
			clk.Set(at(2 * time.Hour))
			apply(t, db, ConversationUpdate{Conversation: c})
			// And to 8 again, by hand: seen before its line item too.
			c.AssigneeID, c.UserUpdatedAt = 8, at(3*time.Hour)
			clk.Set(at(3 * time.Hour))
			apply(t, db, ConversationUpdate{Conversation: c})
			got, _ := read(t, db, 1)
			if want := at(3 * time.Hour); !got.ReassignedAt.Equal(want) || !got.AssignedAt.Equal(want) || got.PreviousAssigneeID != 7 {
				t.Errorf("7 -> 8 by a person, observed at t0+3h: reassigned at %v, assigned at %v, previous %d; want %v, %v, 7",
					got.ReassignedAt, got.AssignedAt, got.PreviousAssigneeID, want, want)
			}
			// The line items land: they date it.
			c.UserUpdatedAt = at(3*time.Hour + time.Minute)
			clk.Set(at(3*time.Hour + 2*time.Minute))
			apply(t, db, ConversationUpdate{Conversation: c, Threads: []Thread{
				{ID: 103, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, AssignedToID: 7, CreatedAt: at(2 * time.Hour)},
				{ID: 104, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, AssignedToID: 8, CreatedAt: at(3 * time.Hour)},
			}})
			if got, _ = read(t, db, 1); !got.ReassignedAt.Equal(at(3*time.Hour)) || got.PreviousAssigneeID != 7 {
				t.Errorf("with the line items: reassigned at %v, previous %d; want t0+3h, 7", got.ReassignedAt, got.PreviousAssigneeID)
			}
		})
	}
}

// TestThreadWorkflowIsStored: a thread's workflow mark is stored and read
// back, a later copy of the thread replaces it as it replaces the other
// columns, and a value the schema does not know is refused by name
// before it reaches the column's CHECK.
func TestThreadWorkflowIsStored(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	c := conv(1, at(time.Hour))
	c.AssigneeID = 8
	ts := threads(1, 1)
	ts[0].AssignedToID = 7
	item := Thread{ID: 150, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, CreatedByID: 1,
		AssignedToID: 8, CreatedAt: at(30 * time.Minute), Workflow: WorkflowAutomatic}
	apply(t, db, ConversationUpdate{Conversation: c, Threads: append(ts, item), ThreadsComplete: true})
	got, stored := read(t, db, 1)
	if len(stored) != 2 || stored[1].Workflow != WorkflowAutomatic {
		t.Fatalf("stored threads %+v; want the line item's workflow %q", stored, WorkflowAutomatic)
	}
	if !got.ReassignedAt.IsZero() || got.PreviousAssigneeID != 7 {
		t.Errorf("an automatic workflow's 7 -> 8: reassigned at %v, previous %d; want none, 7", got.ReassignedAt, got.PreviousAssigneeID)
	}

	// Help Scout's later copy says a person ran it: the row follows.
	item.Workflow = WorkflowManual
	c.UserUpdatedAt = at(2 * time.Hour)
	apply(t, db, ConversationUpdate{Conversation: c, Threads: []Thread{item}})
	got, stored = read(t, db, 1)
	if len(stored) != 2 || stored[1].Workflow != WorkflowManual {
		t.Fatalf("stored threads %+v; want the line item's workflow %q", stored, WorkflowManual)
	}
	if !got.ReassignedAt.Equal(at(30 * time.Minute)) {
		t.Errorf("a manual workflow's 7 -> 8: reassigned at %v; want its line item's t0+30m", got.ReassignedAt)
	}

	item.Workflow = "sometimes"
	c.UserUpdatedAt = at(3 * time.Hour)
	_, err := db.ApplyConversation(ctx, ConversationUpdate{Conversation: c, Threads: []Thread{item}})
	if err == nil || !strings.Contains(err.Error(), `invalid workflow "sometimes"`) {
		t.Errorf("a thread with workflow %q: %v; want it refused by name", item.Workflow, err)
	}
}
