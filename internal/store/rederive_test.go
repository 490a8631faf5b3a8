package store

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// chatConversation is a closed chat: the customer wrote at t0+10m, and user
// 7 answered by chat and closed it at t0+20m.
func chatConversation(id int64) ConversationUpdate {
	c := conv(id, at(time.Hour))
	c.Type, c.Status, c.ClosedAt, c.AssigneeID = ThreadChat, StatusClosed, at(20*time.Minute), 7
	ts := threads(id, 2)
	ts[0].Type, ts[1].Type, ts[1].Status = ThreadChat, ThreadChat, StatusClosed
	return ConversationUpdate{Conversation: c, Threads: ts, ThreadsComplete: true}
}

// TestOpenRederivesOldFacts: a file written under the first rules is
// corrected when a newer binary opens it, even though its conversations
// never change again; what the rules do not derive from threads stays as
// stored. Under revision 1 there was no first_answer_at, and for a while a
// chat answer counted as the metrics' first reply.
func TestOpenRederivesOldFacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, path)
	apply(t, db, chatConversation(1))
	apply(t, db, ConversationUpdate{Conversation: conv(2, at(time.Hour)), Threads: threads(2, 3), ThreadsComplete: true})
	// An email answered at t0+20m and closed at t0+40m, the close known only
	// from the conversation, not from a thread.
	email := conv(3, at(time.Hour))
	email.Status, email.ClosedAt = StatusClosed, at(40*time.Minute)
	apply(t, db, ConversationUpdate{Conversation: email, Threads: threads(3, 2), ThreadsComplete: true})
	want1, _ := read(t, db, 1)
	want2, _ := read(t, db, 2)
	want3, _ := read(t, db, 3)
	if !want1.FirstReplyAt.IsZero() || !want1.ResolvedAt.IsZero() || !want1.FirstAnswerAt.Equal(at(20*time.Minute)) {
		t.Fatalf("the current rules: chat first reply %v, resolved %v, answered %v; want none, none, t0+20m",
			want1.FirstReplyAt, want1.ResolvedAt, want1.FirstAnswerAt)
	}
	if !want3.ResolvedAt.Equal(at(40 * time.Minute)) {
		t.Fatalf("the current rules resolve the email at %v, want its close at t0+40m", want3.ResolvedAt)
	}
	// Threads a merge took away: the stored latest thread is later than any
	// thread left, and as part of the version it must not go back.
	want1.LatestThreadAt = want1.LatestThreadAt.Add(time.Hour)

	// What revision 1 stored: no first answer anywhere; the chat's answer
	// as its first reply and resolution; the email without its resolution;
	// and for the chat a previous assignee known from a reassignment seen
	// between syncs, which a thread assigned to user 5 must not override.
	for _, q := range []string{
		"UPDATE conversations SET first_answer_at = NULL",
		`UPDATE conversations SET first_reply_at = closed_at, first_reply_by = 7, resolved_at = closed_at,
			previous_assignee_id = 42, latest_thread_at = latest_thread_at + 3600000 WHERE id = 1`,
		"UPDATE conversations SET resolved_at = NULL WHERE id = 3",
		"UPDATE threads SET assigned_to_id = 5 WHERE id = 101",
		"UPDATE facts_revision SET revision = 1",
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2, _ := openAt(t, path)
	got1, _ := read(t, db2, 1)
	want1.PreviousAssigneeID = 42
	for id, want := range map[int64]Conversation{1: want1, 2: want2, 3: want3} {
		got, _ := read(t, db2, id)
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("conversation %d after reopen (-want +got):\n%s", id, diff)
		}
	}
	if !got1.SyncedAt.Equal(want1.SyncedAt) {
		t.Errorf("synced_at moved from %v to %v though nothing was read from Help Scout", want1.SyncedAt, got1.SyncedAt)
	}

	var rev int
	if err := db2.write.QueryRowContext(ctx, "SELECT revision FROM facts_revision").Scan(&rev); err != nil {
		t.Fatal(err)
	}
	if rev != factsRevision {
		t.Errorf("revision %d after open, want %d", rev, factsRevision)
	}
	if n, err := rederiveFacts(ctx, db2.write); err != nil || n != 0 {
		t.Errorf("second re-derive changed %d rows (err %v), want none: the file is current", n, err)
	}
}

// TestRederiveCountsOnlyChangedRows: rows the rules agree with are not
// rewritten, the batches cover every row, a failed run records nothing, and
// a file derived by a newer binary is left alone but marked for it.
func TestRederiveCountsOnlyChangedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openTest(t)
	for id := int64(1); id <= rederiveBatch+3; id++ { // more than one batch
		u := ConversationUpdate{Conversation: conv(id, at(time.Hour)), Threads: threads(id, 3), ThreadsComplete: true}
		if id%100 == 0 {
			u = chatConversation(id)
		}
		apply(t, db, u)
	}
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := db.write.ExecContext(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	revision := func() int {
		t.Helper()
		var rev int
		if err := db.write.QueryRowContext(ctx, "SELECT revision FROM facts_revision").Scan(&rev); err != nil {
			t.Fatal(err)
		}
		return rev
	}
	stale := []int64{100, 200, 300, 400, 500, rederiveBatch + 3} // the last in the second batch
	for _, id := range stale {
		exec("UPDATE conversations SET first_answer_at = NULL WHERE id = ?", id)
	}

	// A newer binary's file: nothing re-derived, but the mark comes down so
	// that the newer binary re-derives what this one writes.
	exec("UPDATE facts_revision SET revision = ?", factsRevision+1)
	if n, err := rederiveFacts(ctx, db.write); err != nil || n != 0 {
		t.Errorf("a newer binary's file: changed %d (err %v), want 0", n, err)
	}
	if rev := revision(); rev != factsRevision {
		t.Errorf("a newer binary's mark is %d, want it lowered to %d", rev, factsRevision)
	}

	exec("UPDATE facts_revision SET revision = 1")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := rederiveFacts(cancelled, db.write); err == nil {
		t.Error("re-derive with a cancelled context succeeded")
	}
	if rev := revision(); rev != 1 {
		t.Errorf("a failed re-derive recorded revision %d, want 1 kept so the next Open retries", rev)
	}

	n, err := rederiveFacts(ctx, db.write)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(stale) {
		t.Errorf("changed %d rows, want the %d made stale", n, len(stale))
	}
	if rev := revision(); rev != factsRevision {
		t.Errorf("revision %d after re-derive, want %d", rev, factsRevision)
	}
	for _, id := range stale {
		if c, _ := read(t, db, id); c.FirstAnswerAt.IsZero() {
			t.Errorf("conversation %d still has no first answer", id)
		}
	}
}

// TestOpenRederivesReassignments: revision 3 adds reassigned_at. A file of
// revision 2 has none, and its tickets that went from one person to
// another long ago, and never changed since, would never get one: reopened
// by this binary, they are dated from their threads. A reassignment the
// threads cannot tell (the mirror saw it between two syncs) keeps what the
// row knew, and a first assignment stays none.
func TestOpenRederivesReassignments(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, clk := openAt(t, path)
	lineItem := func(id, to int64, d time.Duration) Thread {
		return Thread{ID: id, Type: ThreadLineItem, State: StatePublished, CreatedByType: ByUser, CreatedByID: 1,
			AssignedToID: to, CreatedAt: at(d)}
	}
	// 1: routed to 7, moved by hand to 8 at t0+40m.
	c1 := conv(1, at(time.Hour))
	c1.AssigneeID = 8
	apply(t, db, ConversationUpdate{Conversation: c1, ThreadsComplete: true,
		Threads: append(threads(1, 2), lineItem(110, 7, 5*time.Minute), lineItem(111, 8, 40*time.Minute))})
	// 2: 7 -> 9 seen by a sync at t0+2h, before any thread showed it.
	c2 := conv(2, at(time.Hour))
	c2.AssigneeID = 7
	apply(t, db, ConversationUpdate{Conversation: c2, Threads: threads(2, 1), ThreadsComplete: true})
	clk.Set(at(2 * time.Hour))
	c2.AssigneeID, c2.UserUpdatedAt = 9, at(2*time.Hour)
	apply(t, db, ConversationUpdate{Conversation: c2, Threads: threads(2, 1), ThreadsComplete: true})
	// 3: taken from the folder by 8 at t0+20m.
	c3 := conv(3, at(time.Hour))
	c3.AssigneeID = 8
	apply(t, db, ConversationUpdate{Conversation: c3, ThreadsComplete: true,
		Threads: append(threads(3, 1), lineItem(310, 8, 20*time.Minute))})
	want := map[int64]time.Time{1: at(40 * time.Minute), 2: at(2 * time.Hour), 3: {}}
	for id, w := range want {
		if got, _ := read(t, db, id); !got.ReassignedAt.Equal(w) {
			t.Fatalf("the current rules: conversation %d reassigned at %v, want %v", id, got.ReassignedAt, w)
		}
	}

	// What revision 2 stored: no reassigned_at (the column was added empty),
	// but for 2 the reassignment the current binary saw. Revision 2 files
	// have none of those; one is kept here to show the re-derive keeps it.
	for _, q := range []string{
		"UPDATE conversations SET reassigned_at = NULL WHERE id <> 2",
		"UPDATE facts_revision SET revision = 2",
	} {
		if _, err := db.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := read(t, db, 1); !got.ReassignedAt.IsZero() {
		t.Fatalf("revision 2's row still says reassigned at %v", got.ReassignedAt)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2, _ := openAt(t, path)
	for id, w := range want {
		if got, _ := read(t, db2, id); !got.ReassignedAt.Equal(w) {
			t.Errorf("after reopen: conversation %d reassigned at %v, want %v", id, got.ReassignedAt, w)
		}
	}
}

// TestUpgradeForgetsTeamsAsAssignees: builds before the mirror stored a
// thread assigned to a team as assigned to nobody (mirror, convert.go)
// stored the team's id, and read a person taking a team's ticket as a
// reassignment from another person: a hand move, held from the balancer
// for the cooldown, with the team as the previous assignee. The store
// knows its teams (the teams table, and teams Help Scout lists among
// users), so the upgrade rewrites those threads as the mirror writes them
// now, and the re-derive dates the ticket as taken from the folder. A
// reassignment from a person is kept, and so is an id that names a person
// too.
func TestUpgradeForgetsTeamsAsAssignees(t *testing.T) {
	t.Parallel()
	const before = 17 // the last schema before 0018
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, before)
	const team, teamUser, both = 1234, 1300, 1400
	exec := func(q string, args ...any) {
		t.Helper()
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	exec("INSERT INTO teams (id, name) VALUES (?, 'Tier 2'), (?, 'Both')", team, both)
	exec("INSERT INTO users (id, type) VALUES (7, 'user'), (8, 'user'), (?, 'team'), (?, 'user')", teamUser, both)
	// conv stores conversation id, with Ana (8) its owner since t0+10m, as
	// the old build derived it from its threads: each thread's owner
	// after it, 0 for none (a line item at t0+5m when owners has three).
	conv := func(id int64, reassigned time.Duration, previous int64, owners ...int64) {
		t.Helper()
		var re any
		if reassigned != 0 {
			re = at(reassigned).UnixMilli()
		}
		exec(`INSERT INTO conversations (id, number, mailbox_id, status, state, assignee_id, created_by_type, created_at,
			user_updated_at, latest_thread_at, synced_at, assigned_at, reassigned_at, previous_assignee_id)
			VALUES (?, ?, 10, 'active', 'published', 8, 'customer', ?, ?, ?, 1, ?, ?, ?)`,
			id, id, t0.UnixMilli(), at(time.Hour).UnixMilli(), at(10*time.Minute).UnixMilli(),
			at(10*time.Minute).UnixMilli(), re, previous)
		exec(`INSERT INTO threads (id, conversation_id, type, state, status, created_by_type, assigned_to_id, created_at)
			VALUES (?, ?, 'customer', 'published', 'active', 'customer', ?, ?)`, id*100+1, id, owners[0], t0.UnixMilli())
		if len(owners) == 3 {
			exec(`INSERT INTO threads (id, conversation_id, type, state, status, created_by_type, assigned_to_id, created_at)
				VALUES (?, ?, 'lineitem', 'published', 'nochange', 'user', ?, ?)`, id*100+2, id, owners[1], at(5*time.Minute).UnixMilli())
		}
		exec(`INSERT INTO threads (id, conversation_id, type, state, status, created_by_type, assigned_to_id, created_at)
			VALUES (?, ?, 'lineitem', 'published', 'nochange', 'user', 8, ?)`, id*100+3, id, at(10*time.Minute).UnixMilli())
	}
	ten := 10 * time.Minute
	conv(1, ten, team, team, 8)         // routed to a team, taken by Ana
	conv(2, ten, teamUser, teamUser, 8) // the same, the team listed among users
	conv(3, ten, 7, 7, 8)               // moved from Ben to Ana by hand
	conv(4, ten, team, 7, team, 8)      // Ben gave it to the team, Ana took it
	conv(5, ten, both, both, 8)         // an id of a team and of a person: a person's, as stored
	exec("UPDATE facts_revision SET revision = 3")
	raw.Close()

	db, _ := openAt(t, path)
	tests := []struct {
		id         int64
		reassigned time.Time
		previous   int64
		firstOwner int64 // the customer's thread's owner after the upgrade
	}{
		{1, time.Time{}, 0, 0},
		{2, time.Time{}, 0, 0},
		{3, at(ten), 7, 7},
		{4, time.Time{}, 0, 7},
		{5, at(ten), both, both},
	}
	for _, tc := range tests {
		got, ts := read(t, db, tc.id)
		if !got.ReassignedAt.Equal(tc.reassigned) || got.PreviousAssigneeID != tc.previous {
			t.Errorf("conversation %d after the upgrade: reassigned at %v, previous %d; want %v, %d",
				tc.id, got.ReassignedAt, got.PreviousAssigneeID, tc.reassigned, tc.previous)
		}
		if len(ts) == 0 || ts[0].AssignedToID != tc.firstOwner || ts[0].Workflow != "" {
			t.Errorf("conversation %d's threads after the upgrade: %+v; want the first owned by %d, no workflow", tc.id, ts, tc.firstOwner)
		}
	}
}
