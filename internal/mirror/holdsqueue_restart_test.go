package mirror_test

import (
	"context"
	"net/http"
	"strconv"
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
