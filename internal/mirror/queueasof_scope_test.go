package mirror_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestQueueAsOfNotInheritedAfterTheScopeCameBack: the mark of a completed
// sync is kept per scope and never removed, so a QW_MAILBOXES that goes
// back to an earlier value finds that scope's old mark. Between the two,
// the other scope deleted the first mailbox's conversations
// (settleScope's leaveMailboxes). A restart on the old scope while Help
// Scout is down then says the queue is whole as of that old mark (the
// page's "whole but stale" banner, the API's queue_as_of) while the
// mirror holds none of that mailbox's tickets.
func TestQueueAsOfNotInheritedAfterTheScopeCameBack(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 30, Mailboxes: 2})
	support, sales := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{support}}))
	e.clock.Advance(time.Hour)
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{sales}}))
	held := func() int {
		n := 0
		for _, r := range storeRows(t, e.db) {
			if r.MailboxID == support {
				n++
			}
		}
		return n
	}
	if n := held(); n != 0 {
		t.Fatalf("after the sync of mailbox %d alone, the mirror holds %d conversations of mailbox %d; the test needs them deleted", sales, n, support)
	}

	// Back to support, with Help Scout down.
	e.clock.Advance(time.Hour)
	m := restartWithHelpScoutDown(t, e, mirror.Options{Mailboxes: []int64{support}})
	if at, inherited := m.QueueAsOf(); !at.IsZero() {
		t.Errorf("mailbox %d back in QW_MAILBOXES, its conversations deleted meanwhile (%d held), Help Scout down: QueueAsOf() = %v, %v; want zero: the mirror does not hold that queue",
			support, held(), at, inherited)
	}
	if ok, _ := m.HoldsQueue(); ok {
		t.Errorf("same: HoldsQueue() = true with %d of mailbox %d's conversations held", held(), support)
	}
}

// TestNoMarkWhileAnAddedMailboxIsUnwalked: the walk of a mailbox added
// to QW_MAILBOXES that keeps shifting past MaxRewalks leaves the scope
// unsettled and its cursor behind, for the next sync to walk again
// (settleScope), yet the sync counts as completed and stores the mark
// of the new scope. A restart while Help Scout is down then says the
// queue is whole as of that sync, while the added mailbox's walk is
// still to finish.
func TestNoMarkWhileAnAddedMailboxIsUnwalked(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 6 * helpscouttest.ConversationPageSize, Mailboxes: 2})
	kept, added := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{kept}}))

	// Every walk of the added mailbox shifts: as its second page is asked
	// for, the conversation it listed first changes, and moves to the end.
	e.clock.Advance(time.Minute)
	touches := 0
	e.log.setBefore(func(r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != "/v2/conversations" || q.Get("mailbox") != strconv.FormatInt(added, 10) || q.Get("page") != "2" {
			return
		}
		var first helpscouttest.Conversation
		for _, c := range e.fake.Conversations() {
			if c.MailboxID == added && (first.ID == 0 || c.ModifiedAt.Before(first.ModifiedAt)) {
				first = c
			}
		}
		touches++
		if err := e.fake.SetSubject(first.ID, "changed during the walk "+strconv.Itoa(touches), e.clock.Now()); err != nil {
			t.Error(err)
		}
	})
	widened := e.mirror(mirror.Options{Mailboxes: []int64{kept, added}, MaxRewalks: 1})
	syncOnce(t, widened)
	e.log.setBefore(nil)
	scope, err := e.db.MirrorScope(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(scope.Mailboxes, added) {
		t.Fatalf("the walk of mailbox %d finished (scope %v, %d changes during it); the test needs it unfinished", added, scope.Mailboxes, touches)
	}
	if mark, err := e.db.Cursor(context.Background(), mirror.CompleteCursor(widened)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("mailbox %d's first walk unfinished: the mark of a completed sync is stored (%v, %v); want none until it is walked", added, mark.Value, err)
	}
	// Ready all the same: it serves what it held before (settleScope).
	if ok, why := widened.Ready(); !ok {
		t.Errorf("after a completed sync with mailbox %d's walk unfinished: Ready() = false, %q; want true", added, why)
	}

	e.clock.Advance(time.Hour)
	m := restartWithHelpScoutDown(t, e, mirror.Options{Mailboxes: []int64{kept, added}})
	if at, inherited := m.QueueAsOf(); !at.IsZero() {
		t.Errorf("mailbox %d's first walk unfinished (not in the stored scope %v), Help Scout down: QueueAsOf() = %v, %v; want zero",
			added, scope.Mailboxes, at, inherited)
	}

	// Help Scout back and the listing still: the walk finishes, and the
	// mark is stored.
	e.fake.SetFaults(helpscouttest.Faults{})
	syncOnce(t, widened)
	if _, err := e.db.Cursor(context.Background(), mirror.CompleteCursor(widened)); err != nil {
		t.Errorf("mailbox %d walked: the mark of a completed sync: %v; want it stored", added, err)
	}
}
