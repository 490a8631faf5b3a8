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

// TestOpenRederivesOldFacts: a file written under the first rules, where a
// chat answer was no reply, is corrected when a newer binary opens it, even
// though the conversation never changes again; what the rules do not
// derive from threads stays as stored.
func TestOpenRederivesOldFacts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, path)
	apply(t, db, chatConversation(1))
	apply(t, db, ConversationUpdate{Conversation: conv(2, at(time.Hour)), Threads: threads(2, 3), ThreadsComplete: true})
	// A chat whose close is known only from the conversation, not a thread.
	chat3 := chatConversation(3)
	chat3.Conversation.ClosedAt, chat3.Threads[1].Status = at(40*time.Minute), "nochange"
	apply(t, db, chat3)
	want1, _ := read(t, db, 1)
	want2, _ := read(t, db, 2)
	if want1.FirstReplyAt.IsZero() || want1.ResolvedAt.IsZero() {
		t.Fatalf("the current rules give the chat no reply or resolution: %+v", want1)
	}
	// Threads a merge took away: the stored latest thread is later than any
	// thread left, and as part of the version it must not go back.
	want1.LatestThreadAt = want1.LatestThreadAt.Add(time.Hour)

	// What revision 1 stored: no first reply, so no resolution either; and a
	// previous assignee known from a reassignment seen between syncs, which
	// a thread assigned to user 5 must not override.
	for _, q := range []string{
		"UPDATE conversations SET first_reply_at = NULL, first_reply_by = NULL, resolved_at = NULL, previous_assignee_id = 42, latest_thread_at = latest_thread_at + 3600000 WHERE id = 1",
		"UPDATE conversations SET first_reply_at = NULL, first_reply_by = NULL, resolved_at = NULL WHERE id = 3",
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
	got2, _ := read(t, db2, 2)
	if !got1.FirstReplyAt.Equal(want1.FirstReplyAt) || got1.FirstReplyBy != 7 || !got1.ResolvedAt.Equal(want1.ResolvedAt) {
		t.Errorf("after reopen: first reply %v by %d, resolved %v; want %v by 7, resolved %v",
			got1.FirstReplyAt, got1.FirstReplyBy, got1.ResolvedAt, want1.FirstReplyAt, want1.ResolvedAt)
	}
	if got3, _ := read(t, db2, 3); !got3.ResolvedAt.Equal(at(40 * time.Minute)) {
		t.Errorf("chat closed at t0+40m: resolved %v, want the conversation's close", got3.ResolvedAt)
	}
	if !got1.LatestThreadAt.Equal(want1.LatestThreadAt) {
		t.Errorf("latest thread %v, want the stored %v kept (it is the row's version)", got1.LatestThreadAt, want1.LatestThreadAt)
	}
	if got1.PreviousAssigneeID != 42 {
		t.Errorf("previous assignee %d, want the stored 42 kept", got1.PreviousAssigneeID)
	}
	if !got1.SyncedAt.Equal(want1.SyncedAt) {
		t.Errorf("synced_at moved from %v to %v though nothing was read from Help Scout", want1.SyncedAt, got1.SyncedAt)
	}
	if diff := cmp.Diff(want2, got2); diff != "" {
		t.Errorf("an already-correct row changed (-want +got):\n%s", diff)
	}
	obs, err := db2.UnobservedFirstResponses(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(obs) != 3 {
		t.Errorf("unobserved first responses %+v, want all three conversations (the chats' now found)", obs)
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
// rewritten, and a file derived by a newer binary is left alone.
func TestRederiveCountsOnlyChangedRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db, _ := openTest(t)
	for id := int64(1); id <= rederiveBatch+3; id++ { // more than one batch
		u := ConversationUpdate{Conversation: conv(id, at(time.Hour)), Threads: threads(id, 3), ThreadsComplete: true}
		if id%100 == 0 || id == rederiveBatch+3 { // the last in the second batch
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
	exec("UPDATE conversations SET first_reply_at = NULL, resolved_at = NULL WHERE id % 100 = 0 OR id = ?", rederiveBatch+3)

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
	if n != 6 {
		t.Errorf("changed %d rows, want the 6 chats (ids 100..500 and %d)", n, rederiveBatch+3)
	}
	if rev := revision(); rev != factsRevision {
		t.Errorf("revision %d after re-derive, want %d", rev, factsRevision)
	}
	for _, id := range []int64{100, 500, rederiveBatch + 3} {
		if c, _ := read(t, db, id); c.FirstReplyAt.IsZero() {
			t.Errorf("conversation %d still has no first reply", id)
		}
	}
}
