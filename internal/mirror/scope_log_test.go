package mirror_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestDroppedMailboxesLogSaysWhatHappened: at start the mirror drops the
// conversations it holds in mailboxes QW_MAILBOXES does not name, and
// said "mailboxes removed from QW_MAILBOXES" whatever put them there. A
// conversation held in a mailbox QW_MAILBOXES never named (moved there in
// Help Scout; here the store is given it directly) is dropped the same
// way with QW_MAILBOXES unchanged, and an operator was told of an edit
// nobody made. The line now says what is true in both cases, at INFO
// (nothing is lost: Help Scout keeps it, and the mirror holds what
// QW_MAILBOXES asks for), once: the next start finds nothing to drop.
func TestDroppedMailboxesLogSaysWhatHappened(t *testing.T) {
	const msg = `level=INFO msg="dropped the conversations held in mailboxes outside QW_MAILBOXES"`
	for _, tt := range []struct {
		name string
		// held prepares the store of a mirror built for mailbox a, and
		// returns how many conversations of mailbox b it holds.
		held func(t *testing.T, e *env, a, b int64) int
	}{
		{"QW_MAILBOXES narrowed", func(t *testing.T, e *env, a, b int64) int {
			syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, b}}))
			n, _ := mailboxRows(t, e, b)
			return len(n)
		}},
		{"conversation moved in Help Scout", func(t *testing.T, e *env, a, b int64) int {
			syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}}))
			moveStored(t, e.db, a, b)
			return 1
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			n := tt.held(t, e, a, b)
			var log testkit.LogBuffer
			logger := slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{ReplaceAttr: dropTime}))
			for range 2 { // the second start has nothing to drop
				e.clock.Advance(10 * time.Minute)
				syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}, Logger: logger}))
			}
			want := fmt.Sprintf("%s conversations=%d mailbox_ids=[%d]", msg, n, b)
			if got := linesWith(log.String(), "QW_MAILBOXES"); len(got) != 1 || got[0] != want {
				t.Errorf("log lines about QW_MAILBOXES:\n%s\nwant once:\n%s", strings.Join(got, "\n"), want)
			}
			if held, _ := mailboxRows(t, e, b); len(held) != 0 {
				t.Errorf("%d conversations of mailbox %d are still held", len(held), b)
			}
		})
	}
}

// moveStored stores one conversation of mailbox from as held in mailbox
// to, at a newer version: as a listing of from stores a conversation Help
// Scout has just moved.
func moveStored(t *testing.T, db *store.DB, from, to int64) {
	t.Helper()
	ctx := context.Background()
	for _, r := range storeRows(t, db) {
		if r.MailboxID != from {
			continue
		}
		c, threads, err := db.Conversation(ctx, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		c.MailboxID, c.UserUpdatedAt = to, c.UserUpdatedAt.Add(time.Second)
		if applied, err := db.ApplyConversation(ctx, store.ConversationUpdate{Conversation: c, Threads: threads, ThreadsComplete: true}); err != nil || !applied {
			t.Fatalf("move conversation %d to mailbox %d: applied %v, %v", c.ID, to, applied, err)
		}
		return
	}
	t.Fatalf("no conversation of mailbox %d held", from)
}

// linesWith returns the lines of log that contain part.
func linesWith(log, part string) []string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, part) {
			out = append(out, l)
		}
	}
	return out
}
