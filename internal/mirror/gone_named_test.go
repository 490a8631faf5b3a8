package mirror_test

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// firstIn returns the first conversation the fake serves in mailbox for
// which keep is true (nil: any).
func firstIn(t *testing.T, e *env, mailbox int64, keep func(helpscouttest.Conversation) bool) helpscouttest.Conversation {
	t.Helper()
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID == mailbox && (keep == nil || keep(cv)) {
			return cv
		}
	}
	t.Fatalf("no conversation of mailbox %d to change", mailbox)
	return helpscouttest.Conversation{}
}

// refusedSyncs runs n syncs 2 minutes apart, each after a change to
// conversation inA, each of which must fail with want naming mailbox
// refused: 8 minutes for n = 4, past the poll's overlap (5 minutes), so
// that the shared cursor moves on past what changed before them.
func refusedSyncs(t *testing.T, e *env, m *mirror.Mirror, n int, inA, refused int64, want error) {
	t.Helper()
	for i := range n {
		if err := e.fake.SetSubject(inA, "changed while refused "+strconv.Itoa(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		_, err := m.SyncOnce(context.Background())
		if !errors.Is(err, want) || !strings.Contains(err.Error(), strconv.FormatInt(refused, 10)) {
			t.Fatalf("sync %d with mailbox %d refused: %v; want %v naming it", i+1, refused, err, want)
		}
	}
}

// subjectOf reads the stored subject of conversation id.
func subjectOf(t *testing.T, e *env, id int64) string {
	t.Helper()
	got, _, err := e.db.Conversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got.Subject
}

// TestLeftOutMailboxOutlivesARestart: the cursor the poll is held back to
// for a named mailbox it leaves out (refused while listed) was held in
// memory only: after a restart, the poll that named the mailbox again read
// from the shared cursor, which the poll of the others had moved on, and
// what changed in it while it was left out was never read. It is stored
// now, read at the start, and removed once the mailbox is polled again;
// whether Help Scout serves the mailbox again at the restart or only after
// it (the new process leaving it out again in between).
func TestLeftOutMailboxOutlivesARestart(t *testing.T) {
	for _, later := range []bool{false, true} {
		t.Run(map[bool]string{false: "served again at the restart", true: "served again after the restart"}[later], func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			opts := mirror.Options{Mailboxes: []int64{a, b}}
			m := e.mirror(opts)
			syncOnce(t, m)
			inA, inB := firstIn(t, e, a, nil), firstIn(t, e, b, nil)
			refuseListings(e, b, http.StatusNotFound)
			e.clock.Advance(time.Minute)
			if err := e.fake.SetSubject(inB.ID, "changed while b is left out", time.Time{}); err != nil {
				t.Fatal(err)
			}
			refusedSyncs(t, e, m, 4, inA.ID, b, helpscout.ErrNotFound)

			m = e.mirror(opts) // the restart: a new process on the same file
			if later {
				refusedSyncs(t, e, m, 2, inA.ID, b, helpscout.ErrNotFound)
				e.log.setAnswer(nil)
				e.clock.Advance(16 * time.Minute) // the directory's refresh, which tries b again
			} else {
				e.log.setAnswer(nil)
				e.clock.Advance(2 * time.Minute)
			}
			syncOnce(t, m)
			if got := subjectOf(t, e, inB.ID); got != "changed while b is left out" {
				t.Errorf("conversation %d of mailbox %d, changed while it was left out, has subject %q once it is polled again after a restart", inB.ID, b, got)
			}
			if _, err := e.db.Cursor(ctx, mirror.LeftOutCursor(b)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the cursor held back for mailbox %d is still stored once it is polled again: %v", b, err)
			}
			assertMirrorEqual(t, e.db, e.fake)
		})
	}
}
