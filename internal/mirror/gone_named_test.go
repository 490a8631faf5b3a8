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

// TestReconcileGoesOnWithoutARefusedNamedMailbox: while Help Scout refused
// named mailbox b (404 or 403) and the directory listed it, the hourly
// reconcile never ran: the sync stopped at the poll's error, and the
// reconcile failed whole on b besides. A conversation of a deleted
// without a webhook stayed in the open queue for as long. The reconcile
// of a runs now, asks for none of b's conversations on its own, and the
// sync still fails naming b; the next sync does not reconcile again.
func TestReconcileGoesOnWithoutARefusedNamedMailbox(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}, ReconcileEvery: 10 * time.Minute})
			syncOnce(t, m)
			open := func(cv helpscouttest.Conversation) bool { return cv.Status == "active" || cv.Status == "pending" }
			gone := firstIn(t, e, a, open)
			inA := firstIn(t, e, a, func(cv helpscouttest.Conversation) bool { return cv.ID != gone.ID })
			if err := e.fake.Delete(gone.ID); err != nil {
				t.Fatal(err)
			}
			heldB := heldIn(t, e, b)
			refuseListings(e, b, status)
			want := map[int]error{http.StatusNotFound: helpscout.ErrNotFound, http.StatusForbidden: helpscout.ErrForbidden}[status]
			refusedSyncs(t, e, m, 4, inA.ID, b, want) // 8 minutes
			e.clock.Advance(2 * time.Minute)          // the reconcile is due, the directory not yet
			e.fake.ResetStats()
			_, err := m.SyncOnce(ctx)
			if !errors.Is(err, want) || !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
				t.Errorf("the reconcile's sync with mailbox %d refused: %v; want %v naming it", b, err, want)
			}
			if _, _, err := e.db.Conversation(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("conversation %d of mailbox %d, deleted in Help Scout, is still held after the reconcile (%v): the reconcile did not run while %d is refused", gone.ID, a, err, b)
			}
			if n := e.fake.Stats().Requests[helpscouttest.RouteGetConversation]; n != 1 {
				t.Errorf("the reconcile read %d conversations on their own; want 1, the one deleted", n)
			}
			if n := heldIn(t, e, b); n != heldB {
				t.Errorf("mailbox %d held %d conversations before its refusal, %d after the reconcile", b, heldB, n)
			}
			e.clock.Advance(2 * time.Minute)
			e.log.reset()
			if _, err := m.SyncOnce(ctx); !errors.Is(err, want) {
				t.Errorf("the sync after the reconcile: %v; want %v", err, want)
			}
			if got := countRequests(e); got.listings != 1 {
				t.Errorf("the sync after the reconcile made %d conversation listings; want 1, the poll's", got.listings)
			}
		})
	}
}

// requestCounts counts the requests the mirror made since the request log
// was reset, those the test answered in the fake's stead (a refusal)
// included.
type requestCounts struct {
	listings  int // conversation listings, each page one
	mailboxes int // listings of the mailboxes: one per directory refresh
	all       int
}

func countRequests(e *env) requestCounts {
	var c requestCounts
	for _, u := range e.log.URLs() {
		c.all++
		switch u.Path {
		case "/v2/conversations":
			c.listings++
		case "/v2/mailboxes":
			c.mailboxes++
		}
	}
	return c
}
