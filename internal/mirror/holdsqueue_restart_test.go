package mirror_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestHoldsQueueFalseAfterAFirstSyncCutShort: a restart (a deploy, a
// SIGTERM) during a large account's first sync leaves the cursor of the
// pages committed so far. The next process holds a part of the queue, yet
// HoldsQueue says yes before its own sync has read anything, so the
// collector exports that part as the whole queue.
func TestHoldsQueueFalseAfterAFirstSyncCutShort(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 3 * helpscouttest.ConversationPageSize})
	ctx, cancel := context.WithCancel(context.Background())
	var listings atomic.Int32
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Path == "/v2/conversations" && listings.Add(1) == 2 {
			cancel() // the process stops after the first page was committed
			<-r.Context().Done()
		}
	})
	first := e.mirror(mirror.Options{})
	_ = first.Run(ctx, time.Hour)
	cancel()
	if listings.Load() < 2 {
		t.Fatalf("the first sync listed %d pages; the test needs it cut short at the second", listings.Load())
	}
	if n := len(storeRows(t, e.db)); n == 0 || n >= len(e.acct.Conversations) {
		t.Fatalf("the cut-short sync stored %d of %d conversations; want a part", n, len(e.acct.Conversations))
	}

	atListing := holdsQueueAtListing(t, e, mirror.Options{}, "")
	if atListing {
		t.Error("after a first sync cut short, HoldsQueue() said yes before this process's sync finished: a part of the queue is exported as the whole")
	}
}

// TestHoldsQueueFalseWhileAnAddedMailboxIsWalked: a restart that adds a
// mailbox to QW_MAILBOXES walks its whole history in the first sync
// (settleScope). The conversation cursor is the other mailboxes', yet
// HoldsQueue says yes during that walk, so the pages of the added mailbox
// read so far are exported as its queue (store.MailboxStats lists a
// mailbox with conversations even before the scope records it); and if
// that walk fails part-way, for as long as it does.
func TestHoldsQueueFalseWhileAnAddedMailboxIsWalked(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 30, Mailboxes: 2})
	kept, added := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{kept}}))

	atWalk := holdsQueueAtListing(t, e, mirror.Options{Mailboxes: []int64{kept, added}}, strconv.FormatInt(added, 10))
	if atWalk {
		t.Errorf("while mailbox %d, added to QW_MAILBOXES, was walked for the first time: HoldsQueue() = true; its partial counts are exported as its queue", added)
	}
}

// holdsQueueAtListing runs a new mirror with opts until its first listing
// of conversations (of mailbox, when not empty) and returns what
// HoldsQueue said as that listing was asked for: before this mirror's
// own sync can have finished.
func holdsQueueAtListing(t *testing.T, e *env, opts mirror.Options, mailbox string) bool {
	t.Helper()
	var held, seen atomic.Bool
	var m *mirror.Mirror
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Path == "/v2/conversations" && (mailbox == "" || r.URL.Query().Get("mailbox") == mailbox) && !seen.Swap(true) {
			ok, _ := m.HoldsQueue()
			held.Store(ok)
		}
	})
	m = e.mirror(opts)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	testkit.WaitFor(t, time.Minute, "the mirror's listing", func() (bool, string) { return seen.Load(), "not yet" })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	return held.Load()
}

// TestQueueAsOfAfterARestartWhoseFirstSyncFails: after a restart while
// Help Scout is down, the page and the API show the queue an earlier
// process synced, and must say how old it is. That is when the latest
// completed sync began, not the first one of that process (the mark was
// written once per process), and it stays put while this process's syncs
// fail; once one completes, the queue is as of that one.
func TestQueueAsOfAfterARestartWhoseFirstSyncFails(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})
	earlier := e.mirror(mirror.Options{})
	syncOnce(t, earlier)
	e.clock.Advance(40 * time.Minute)
	lastStart := e.clock.Now()
	syncOnce(t, earlier)
	if at, inherited := earlier.QueueAsOf(); !at.Equal(lastStart) || inherited {
		t.Errorf("after its second sync: QueueAsOf() = %v, %v; want %v, false", at, inherited, lastStart)
	}

	e.clock.Advance(30 * time.Minute)
	m := restartWithHelpScoutDown(t, e, mirror.Options{})
	if ok, _ := m.Ready(); ok {
		t.Fatal("Ready() = true with every Help Scout call failing")
	}
	if at, inherited := m.QueueAsOf(); !at.Equal(lastStart) || !inherited {
		t.Errorf("restarted, first sync failed: QueueAsOf() = %v, %v; want the earlier process's last sync %v, true", at, inherited, lastStart)
	}
	if ok, _ := m.HoldsQueue(); !ok {
		t.Error("restarted, first sync failed: HoldsQueue() = false; the mirror holds the queue as of its last sync")
	}

	e.fake.SetFaults(helpscouttest.Faults{})
	e.clock.Advance(5 * time.Minute)
	recovered := e.clock.Now()
	syncOnce(t, m)
	if at, inherited := m.QueueAsOf(); !at.Equal(recovered) || inherited {
		t.Errorf("after this process's first completed sync: QueueAsOf() = %v, %v; want %v, false", at, inherited, recovered)
	}
}

// TestQueueAsOfZeroOnANewMirrorWhoseFirstSyncFails: a new database holds
// only what its first sync has read, so no time is the queue's yet.
func TestQueueAsOfZeroOnANewMirrorWhoseFirstSyncFails(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 5})
	e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
	m := e.mirror(mirror.Options{})
	if _, err := m.SyncOnce(context.Background()); err == nil {
		t.Fatal("SyncOnce succeeded with every Help Scout call failing")
	}
	if at, inherited := m.QueueAsOf(); !at.IsZero() || inherited {
		t.Errorf("a new mirror whose first sync failed: QueueAsOf() = %v, %v; want zero, false", at, inherited)
	}
}

// restartWithHelpScoutDown has every Help Scout call fail, runs a new
// mirror with opts on e's store until its first sync has failed, and
// returns it; it runs until the test ends.
func restartWithHelpScoutDown(t *testing.T, e *env, opts mirror.Options) *mirror.Mirror {
	t.Helper()
	e.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1})
	m := e.mirror(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	testkit.WaitFor(t, time.Minute, "the restarted mirror's first sync to fail", func() (bool, string) {
		_, why := m.Ready()
		return strings.Contains(why, "last attempt failed"), why
	})
	return m
}
