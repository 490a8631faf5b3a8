package mirror_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
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
	e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
	m := e.mirror(mirror.Options{Mailboxes: []int64{support}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	testkit.WaitFor(t, time.Minute, "the restarted mirror's first sync to fail", func() (bool, string) {
		_, why := m.Ready()
		return strings.Contains(why, "last attempt failed"), why
	})
	if at, inherited := m.QueueAsOf(); !at.IsZero() {
		t.Errorf("mailbox %d back in QW_MAILBOXES, its conversations deleted meanwhile (%d held), Help Scout down: QueueAsOf() = %v, %v; want zero: the mirror does not hold that queue",
			support, held(), at, inherited)
	}
	if ok, _ := m.HoldsQueue(); ok {
		t.Errorf("same: HoldsQueue() = true with %d of mailbox %d's conversations held", held(), support)
	}
}
