package mirror_test

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestInterruptedMailboxSwitchResumesTheWalk: going from QW_MAILBOXES=b
// to a deletes b's conversations and its row of the recorded scope before
// a is walked. When a's walk then fails (Help Scout down, the process
// killed) before its first page is stored or halfway through, the
// recorded scope holds no mailbox; it must still read as recorded, so
// that the next start walks a (from its cursor when it has one) instead
// of taking the mirror as built for a, and the restarts between trust no
// mark. Only a finished walk records a in the scope, and only then is the
// mark of a completed sync stored.
func TestInterruptedMailboxSwitchResumesTheWalk(t *testing.T) {
	for _, failedPage := range []string{"1", "3"} {
		t.Run("walk failed at page "+failedPage, func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			as := strconv.FormatInt(a, 10)
			syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{b}}))

			e.clock.Advance(10 * time.Minute)
			var once sync.Once
			e.log.setBefore(func(r *http.Request) {
				q := r.URL.Query()
				if r.URL.Path == "/v2/conversations" && q.Get("mailbox") == as && cmp.Or(q.Get("page"), "1") == failedPage {
					once.Do(func() { e.fake.SetFaults(helpscouttest.Faults{FailNext: 1}) })
				}
			})
			switched := e.mirror(mirror.Options{Mailboxes: []int64{a}})
			if _, err := switched.SyncOnce(ctx); err == nil {
				t.Fatal("the sync succeeded through the injected failure")
			}
			e.log.setBefore(nil)
			for _, r := range storeRows(t, e.db) {
				if r.MailboxID == b {
					t.Fatalf("conversation %d of mailbox %d is still held after the switch to %d; the test needs the switch's first step done", r.ID, b, a)
				}
			}
			held, wanted := mailboxRows(t, e, a)
			if len(held) >= len(wanted) {
				t.Fatalf("mailbox %d: %d of %d conversations held after its walk failed; the test needs it unfinished", a, len(held), len(wanted))
			}

			// A restart with Help Scout down holds no queue of a.
			e.clock.Advance(time.Hour)
			down := restartWithHelpScoutDown(t, e, mirror.Options{Mailboxes: []int64{a}})
			if at, _ := down.QueueAsOf(); !at.IsZero() {
				t.Errorf("mailbox %d's walk unfinished, Help Scout down: QueueAsOf() = %v; want zero", a, at)
			}

			// The next start with Help Scout back walks a to the end, and
			// only then records the scope and the mark.
			e.fake.SetFaults(helpscouttest.Faults{})
			e.log.reset()
			restarted := e.mirror(mirror.Options{Mailboxes: []int64{a}})
			syncOnce(t, restarted)
			held, wanted = mailboxRows(t, e, a)
			diffRows(t, held, wanted)
			resumed, fromStart := false, fullWalks(e)
			for _, u := range e.log.URLs() {
				q := u.Query()
				resumed = resumed || u.Path == "/v2/conversations" && q.Get("mailbox") == as && q.Get("modifiedSince") != "" && q.Get("sortField") == "modifiedAt"
			}
			switch failedPage {
			case "1": // nothing stored, no cursor: from the beginning
				if !slices.Equal(fromStart, []string{as}) {
					t.Errorf("mailbox %d's walk failed on its first page: walked %q from the beginning after the restart, want %q", a, fromStart, as)
				}
			default: // from its own cursor
				if len(fromStart) != 0 || !resumed {
					t.Errorf("mailbox %d's walk failed halfway: after the restart walked %q from the beginning, resumed from its cursor: %v; want resumed only", a, fromStart, resumed)
				}
			}
			scope, err := e.db.MirrorScope(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(scope.Mailboxes, []int64{a}) || scope.All {
				t.Errorf("recorded scope after the resumed walk: %+v; want mailbox %d", scope, a)
			}
			if _, err := e.db.Cursor(ctx, mirror.CompleteCursor(restarted)); err != nil {
				t.Errorf("mailbox %d walked: the mark of a completed sync: %v; want it stored", a, err)
			}
		})
	}
}

// TestRecordedScopeWaitsForTheWalk: between the switch and the end of the
// added mailbox's walk, the store says the scope is recorded and holds no
// mailbox, and no mark of the new scope is stored, whichever step a
// process dies after.
func TestRecordedScopeWaitsForTheWalk(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{b}}))
	e.clock.Advance(10 * time.Minute)
	e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
	// Every try fails at a's first page: each restart finds the same
	// state and must keep it.
	for try := range 3 {
		m := e.mirror(mirror.Options{Mailboxes: []int64{a}})
		if _, err := m.SyncOnce(ctx); err == nil {
			t.Fatalf("try %d: the sync succeeded with Help Scout down", try)
		}
		scope, err := e.db.MirrorScope(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := (store.MirrorScope{Recorded: true}); !scope.Recorded || scope.All || len(scope.Mailboxes) != 0 {
			t.Errorf("try %d: recorded scope %+v, want %+v (recorded, no mailbox whole)", try, scope, want)
		}
		if _, err := e.db.Cursor(ctx, mirror.CompleteCursor(m)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("try %d: a mark of a completed sync of mailbox %d is stored (%v)", try, a, err)
		}
	}
}

// TestHalfWalkedMailboxRemovedLeavesTheMirror: a mailbox added to
// QW_MAILBOXES whose walk failed halfway, then removed before it was
// resumed, must leave the mirror as one walked to the end does: it is in
// no recorded scope, yet the mirror holds what its walk read (the open
// list, the metrics and the balancer would show it), and its walk's
// cursor, if kept, would skip all that when the mailbox comes back.
func TestHalfWalkedMailboxRemovedLeavesTheMirror(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}}))
	e.clock.Advance(10 * time.Minute)
	bs := strconv.FormatInt(b, 10)
	var once sync.Once
	e.log.setBefore(func(r *http.Request) {
		if q := r.URL.Query(); r.URL.Path == "/v2/conversations" && q.Get("mailbox") == bs && cmp.Or(q.Get("page"), "1") == "3" {
			once.Do(func() { e.fake.SetFaults(helpscouttest.Faults{FailNext: 1}) })
		}
	})
	if _, err := e.mirror(mirror.Options{Mailboxes: []int64{a, b}}).SyncOnce(ctx); err == nil {
		t.Fatal("the sync succeeded through the injected failure")
	}
	e.log.setBefore(nil)
	if held, _ := mailboxRows(t, e, b); len(held) == 0 {
		t.Fatalf("mailbox %d: nothing held after its walk failed at page 3; the test needs part of it", b)
	}
	e.clock.Advance(10 * time.Minute)
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}}))
	if held, _ := mailboxRows(t, e, b); len(held) != 0 {
		t.Errorf("mailbox %d removed from QW_MAILBOXES halfway through its walk: %d of its conversations are still held", b, len(held))
	}

	// Added again, it is walked from the beginning: its old cursor would
	// skip what the removal deleted.
	e.clock.Advance(10 * time.Minute)
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, b}}))
	if got := fullWalks(e); !slices.Equal(got, []string{bs}) {
		t.Errorf("mailbox %d added again: walked %q from the beginning, want %q", b, got, bs)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// mailboxRows reads the conversations of mailbox the store holds and the
// ones the fake serves.
func mailboxRows(t *testing.T, e *env, mailbox int64) (held, served []row) {
	t.Helper()
	for _, r := range storeRows(t, e.db) {
		if r.MailboxID == mailbox {
			held = append(held, r)
		}
	}
	for _, c := range e.fake.Conversations() {
		if c.MailboxID == mailbox {
			served = append(served, fakeRow(c))
		}
	}
	return held, served
}

// TestNarrowedToUnlistedMailboxWalksItOnceListed: narrowing QW_MAILBOXES
// from every mailbox to a and b, while the account does not list b yet
// (the API user cannot see it, or it is being set up), must not record b
// as whole: nothing of it was walked. Once b appears, with conversations
// older than the poll's cursor, its whole history is walked, as any added
// mailbox's.
func TestNarrowedToUnlistedMailboxWalksItOnceListed(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 29, Conversations: 30, Mailboxes: 1})
	ctx := context.Background()
	a := e.acct.Mailboxes[0]
	b := a + 1000 // no mailbox of the account yet
	restart := func(mailboxes ...int64) {
		t.Helper()
		e.clock.Advance(10 * time.Minute)
		e.log.reset()
		syncOnce(t, e.mirror(mirror.Options{Mailboxes: mailboxes}))
	}
	restart()
	restart(a, b)
	sc, err := e.db.MirrorScope(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(sc.Mailboxes, b) {
		t.Errorf("recorded scope %v holds mailbox %d, which the account did not list", sc.Mailboxes, b)
	}

	// b appears with history the poll's cursor is past.
	old := e.clock.Now().Add(-7 * 24 * time.Hour)
	if _, err := e.fake.AddMailbox(helpscouttest.Mailbox{ID: b, CreatedAt: old.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := e.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: b, CustomerID: e.acct.Customers[i%len(e.acct.Customers)],
			Subject: "from before " + strconv.Itoa(i), At: old.Add(time.Duration(i) * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
	}
	restart(a, b)
	if got := fullWalks(e); !slices.Equal(got, []string{strconv.FormatInt(b, 10)}) {
		t.Errorf("once mailbox %d is listed, walked %q from the beginning; want only it", b, got)
	}
	assertMirrorEqual(t, e.db, e.fake)
}
