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
	want1, _ := read(t, db, 1)
	want2, _ := read(t, db, 2)
	if want1.FirstReplyAt.IsZero() || want1.ResolvedAt.IsZero() {
		t.Fatalf("the current rules give the chat no reply or resolution: %+v", want1)
	}

	// What revision 1 stored: no first reply, so no resolution either; and a
	// previous assignee known from a reassignment seen between syncs, which
	// a thread assigned to user 5 must not override.
	for _, q := range []string{
		"UPDATE conversations SET first_reply_at = NULL, first_reply_by = NULL, resolved_at = NULL, previous_assignee_id = 42 WHERE id = 1",
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
	if len(obs) != 2 {
		t.Errorf("unobserved first responses %+v, want both conversations (the chat's now found)", obs)
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
	exec("UPDATE conversations SET first_reply_at = NULL, resolved_at = NULL WHERE id % 100 = 0")

	exec("UPDATE facts_revision SET revision = ?", factsRevision+1)
	if n, err := rederiveFacts(ctx, db.write); err != nil || n != 0 {
		t.Errorf("a newer binary's file: changed %d (err %v), want 0", n, err)
	}
	exec("UPDATE facts_revision SET revision = 1")
	n, err := rederiveFacts(ctx, db.write)
	if err != nil {
		t.Fatal(err)
	}
	if n != 5 {
		t.Errorf("changed %d rows, want the 5 chats (ids 100..500)", n)
	}
	for _, id := range []int64{100, 500} {
		if c, _ := read(t, db, id); c.FirstReplyAt.IsZero() {
			t.Errorf("conversation %d still has no first reply", id)
		}
	}
}
