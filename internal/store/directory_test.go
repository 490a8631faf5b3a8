package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestReplaceDirectoryUpsertsAndDeletesMissing(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	must(db.ReplaceMailboxes(ctx, []Mailbox{{ID: 1, Name: "a"}, {ID: 2, Name: "b"}}))
	must(db.ReplaceMailboxes(ctx, []Mailbox{{ID: 2, Name: "b2", Email: "b@example.com", Slug: "bb"}, {ID: 3, Name: "c"}}))
	mbs, err := db.Mailboxes(ctx)
	must(err)
	if diff := cmp.Diff([]Mailbox{{ID: 2, Name: "b2", Email: "b@example.com", Slug: "bb"}, {ID: 3, Name: "c"}}, mbs); diff != "" {
		t.Errorf("mailboxes (-want +got):\n%s", diff)
	}

	must(db.ReplaceUsers(ctx, []User{{ID: 1, First: "A"}, {ID: 2, First: "B"}}))
	must(db.ReplaceUsers(ctx, []User{{ID: 2, First: "B2", UpdatedAt: t0, OutOfScope: true, Mailboxes: []int64{}},
		{ID: 3, First: "C", Mailboxes: []int64{7, 3000000000}}, {ID: 5, First: "Team", Type: UserTypeTeam}}))
	us, err := db.Users(ctx)
	must(err)
	wantUsers := []User{{ID: 2, First: "B2", Type: UserTypeUser, UpdatedAt: t0, OutOfScope: true, Mailboxes: []int64{}},
		{ID: 3, First: "C", Type: UserTypeUser, Mailboxes: []int64{7, 3000000000}}, {ID: 5, First: "Team", Type: UserTypeTeam}}
	if diff := cmp.Diff(wantUsers, us); diff != "" {
		t.Errorf("users (-want +got):\n%s", diff)
	}

	must(db.ReplaceTeams(ctx, []Team{{ID: 5, Name: "t5", Members: []int64{1, 2}}, {ID: 6, Name: "t6", Members: []int64{3}}}))
	must(db.ReplaceTeams(ctx, []Team{{ID: 5, Name: "t5", Timezone: "UTC", Members: []int64{2, 4, 4}}}))
	ts, err := db.Teams(ctx)
	must(err)
	if diff := cmp.Diff([]Team{{ID: 5, Name: "t5", Timezone: "UTC", Members: []int64{2, 4}}}, ts); diff != "" {
		t.Errorf("teams (-want +got):\n%s", diff)
	}
	var orphans int
	must(db.read.QueryRow("SELECT COUNT(*) FROM team_members WHERE team_id = 6").Scan(&orphans))
	if orphans != 0 {
		t.Errorf("members of a deleted team remain: %d", orphans)
	}

	must(db.ReplaceUserStatuses(ctx, []UserStatus{{UserID: 1, Status: "away"}, {UserID: 2, Status: "active"}}))
	must(db.ReplaceUserStatuses(ctx, []UserStatus{{UserID: 2, Status: "away", UpdatedAt: t0, Source: "api"}}))
	ss, err := db.UserStatuses(ctx)
	must(err)
	if diff := cmp.Diff([]UserStatus{{UserID: 2, Status: "away", UpdatedAt: t0, Source: "api"}}, ss); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}

	// An empty list empties the table.
	must(db.ReplaceMailboxes(ctx, nil))
	if mbs, _ := db.Mailboxes(ctx); len(mbs) != 0 {
		t.Errorf("mailboxes after an empty replace = %v", mbs)
	}
}

// TestReplaceMailboxesLeavingForgetsTheMailboxesGone: a mailbox the
// directory no longer lists leaves the store whole, in the transaction
// that drops it: its conversations, with tombstones that block no later
// copy (a mailbox given back and walked again brings each one back,
// unchanged since or not), its walk, and the cursor of its unfinished
// walk, which a returning mailbox would otherwise resume from, skipping
// what came before it. Before, the conversations stayed for the
// reconcile to read one by one, and the mirror reset the cursor in a
// transaction of its own, after this one: a failure between the two (a
// full disk) left the stale cursor for good.
func TestReplaceMailboxesLeavingForgetsTheMailboxesGone(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	const prefix = "conversations@mailbox:"
	if err := db.ReplaceMailboxes(ctx, []Mailbox{{ID: 10}, {ID: 20}, {ID: 30}}); err != nil {
		t.Fatal(err)
	}
	var updates []ConversationUpdate
	for id, mailbox := range map[int64]int64{1: 10, 2: 20, 3: 20, 4: 30} {
		c := conv(id, at(time.Hour))
		c.MailboxID = mailbox
		updates = append(updates, ConversationUpdate{Conversation: c, Threads: threads(id, 3), ThreadsComplete: true})
	}
	if _, err := db.ApplyConversations(ctx, updates); err != nil {
		t.Fatal(err)
	}
	if _, err := db.MarkFirstResponseObserved(ctx, 2, at(2*time.Hour), true); err != nil {
		t.Fatal(err)
	}
	if err := db.BeginPollWalk(ctx, []int64{10, 20, 30}); err != nil {
		t.Fatal(err)
	}
	cursors := []string{"conversations", prefix + "10", prefix + "20", prefix + "30"}
	for _, name := range cursors {
		if err := db.SetCursor(ctx, name, at(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}

	removed, err := db.ReplaceMailboxesLeaving(ctx, []Mailbox{{ID: 10}, {ID: 30}, {ID: 40}}, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]int{20: 2}, removed); diff != "" {
		t.Errorf("conversations removed by mailbox (-want +got):\n%s", diff)
	}
	held, err := db.HeldMailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]int64{10, 30}, held); diff != "" {
		t.Errorf("mailboxes held (-want +got):\n%s", diff)
	}
	var kept []string
	for _, name := range cursors {
		switch _, err := db.Cursor(ctx, name); {
		case err == nil:
			kept = append(kept, name)
		case !errors.Is(err, ErrNotFound):
			t.Fatal(err)
		}
	}
	if diff := cmp.Diff([]string{"conversations", prefix + "10", prefix + "30"}, kept); diff != "" {
		t.Errorf("cursors kept (-want +got):\n%s", diff)
	}
	walked, err := db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]bool{10: false, 30: false}, walked); diff != "" {
		t.Errorf("walked mailboxes (-want +got):\n%s", diff)
	}

	// Listed again and walked: the same versions come back, with the mark.
	if _, err := db.ReplaceMailboxesLeaving(ctx, []Mailbox{{ID: 10}, {ID: 20}, {ID: 30}}, prefix); err != nil {
		t.Fatal(err)
	}
	for _, u := range updates {
		if u.Conversation.MailboxID != 20 {
			continue
		}
		if applied, err := db.ApplyConversation(ctx, u); err != nil || !applied {
			t.Errorf("conversation %d walked again at the version forgotten: applied %v, %v; want it back", u.Conversation.ID, applied, err)
		}
	}
	if first, err := db.MarkFirstResponseObserved(ctx, 2, at(3*time.Hour), true); err != nil || first {
		t.Errorf("conversation 2's first response, observed before its mailbox went, observed again once back: %v, %v", first, err)
	}
}

// TestForgetConversationBlocksNoCopy: the removal of one conversation of
// a mailbox refused to the app (a 403) is ReplaceMailboxesLeaving's, not
// a deletion's: the same version, served again once the mailbox is given
// back, is stored again. A deletion's tombstone blocked it, and a mailbox
// given back brought back 0 of its 90 conversations.
func TestForgetConversationBlocksNoCopy(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	u := ConversationUpdate{Conversation: conv(1, at(time.Hour)), Threads: threads(1, 3), ThreadsComplete: true}
	if _, err := db.ApplyConversation(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := db.ForgetConversation(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, _, err := db.Conversation(ctx, 1); !errors.Is(err, ErrNotFound) {
		t.Errorf("conversation 1 forgotten: %v; want ErrNotFound", err)
	}
	if applied, err := db.ApplyConversation(ctx, u); err != nil || !applied {
		t.Errorf("conversation 1 served again at the version forgotten: applied %v, %v; want it back", applied, err)
	}
	if err := db.ForgetConversation(ctx, 2); !errors.Is(err, ErrNotFound) {
		t.Errorf("ForgetConversation of a conversation not stored: %v; want ErrNotFound", err)
	}
}
