package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

const webhookSecret = "whsec-0123456789"

// hookEnv is an env whose fake delivers signed webhooks to a sink that
// accepts them, so tests can take the exact signed bodies and feed them to
// the inbox in any order.
type hookEnv struct {
	*env
	m    *mirror.Mirror
	seen int // deliveries already handed out
}

func newHookEnv(t *testing.T, conversations int) *hookEnv {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(sink.Close)
	e := newEnv(t, helpscouttest.Options{
		Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret},
	}, helpscouttest.GenerateConfig{Seed: 17, Conversations: conversations})
	h := &hookEnv{env: e, m: e.mirror(mirror.Options{})}
	syncOnce(t, h.m) // seeding emits no webhooks; start from an equal mirror
	return h
}

// deliveries waits for the fake's worker and returns the deliveries made
// since the last call, checking each signature as the HTTP edge would.
func (h *hookEnv) deliveries(t *testing.T) []helpscouttest.WebhookDelivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := h.fake.WaitWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	all := h.fake.WebhookDeliveries()
	out := all[h.seen:]
	h.seen = len(all)
	for _, d := range out {
		if !d.Delivered {
			t.Fatalf("delivery %d (%s) not delivered: %+v", d.Seq, d.Event, d)
		}
		if !helpscout.ValidateSignature(webhookSecret, d.Body, d.Signature) {
			t.Fatalf("delivery %d (%s) has a bad signature", d.Seq, d.Event)
		}
	}
	return out
}

// deliveriesWant is deliveries, ending the test unless there are exactly n
// of them (what names them for the failure).
func (h *hookEnv) deliveriesWant(t *testing.T, n int, what string) []helpscouttest.WebhookDelivery {
	t.Helper()
	ds := h.deliveries(t)
	if len(ds) != n {
		t.Fatalf("%d deliveries, want %d: %s", len(ds), n, what)
	}
	return ds
}

func (h *hookEnv) store(t *testing.T, d helpscouttest.WebhookDelivery) int64 {
	t.Helper()
	id, _, err := h.db.AddWebhook(context.Background(), d.Event, d.Body, h.clock.Now())
	if err != nil {
		t.Fatalf("store webhook: %v", err)
	}
	return id
}

func (h *hookEnv) process(t *testing.T) int {
	t.Helper()
	n, err := h.m.ProcessInbox(context.Background())
	if err != nil {
		t.Fatalf("ProcessInbox: %v", err)
	}
	return n
}

func (h *hookEnv) stored(t *testing.T, id int64) (store.Conversation, []store.Thread) {
	t.Helper()
	c, threads, err := h.db.Conversation(context.Background(), id)
	if err != nil {
		t.Fatalf("read conversation %d: %v", id, err)
	}
	return c, threads
}

func (h *hookEnv) firstWith(t *testing.T, status string) helpscouttest.Conversation {
	t.Helper()
	for _, c := range h.fake.Conversations() {
		if c.Status == status && c.Type == "email" && c.AssigneeID != 0 {
			return c
		}
	}
	t.Fatalf("no assigned %s email conversation in the seeded account", status)
	return helpscouttest.Conversation{}
}

// TestProcessInboxAppliesEvents feeds every delivery of a burst of changes
// to the inbox, with no poll in between: the store ends equal to the fake.
// The assignment and the tag change land in the same second, so the tag
// event is at the stored version and carries no threads: it must still
// take the new tag set.
func TestProcessInboxAppliesEvents(t *testing.T) {
	h := newHookEnv(t, 60)
	active := h.firstWith(t, helpscouttest.StatusActive)
	pending := h.firstWith(t, helpscouttest.StatusPending)
	closed := h.firstWith(t, helpscouttest.StatusClosed)
	agents := h.acct.Agents
	h.clock.Advance(time.Minute)
	steps := []error{
		h.fake.Assign(active.ID, 0, agents[4], time.Time{}),
		func() error {
			_, err := h.fake.AddAgentReply(pending.ID, helpscouttest.ThreadInput{UserID: agents[2], Body: "done", Status: helpscouttest.StatusClosed})
			return err
		}(),
		func() error {
			_, err := h.fake.AddCustomerThread(closed.ID, helpscouttest.ThreadInput{Body: "reopening"})
			return err
		}(),
		h.fake.SetTags(active.ID, []string{"qw-pin"}, time.Time{}),
		func() error {
			_, err := h.fake.CreateConversation(helpscouttest.NewConversation{
				MailboxID: h.acct.Mailboxes[0], CustomerID: h.acct.Customers[0], Subject: "brand new",
			})
			return err
		}(),
	}
	if err := errors.Join(steps...); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveries(t)
	if len(ds) < len(steps) {
		t.Fatalf("%d deliveries for %d changes", len(ds), len(steps))
	}
	for _, d := range ds {
		h.store(t, d)
	}
	if n := h.process(t); n != len(ds) {
		t.Errorf("ProcessInbox completed %d events, want %d", n, len(ds))
	}
	assertMirrorEqual(t, h.db, h.fake)
	pendingEvents, err := h.db.PendingWebhooks(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(pendingEvents) != 0 {
		t.Errorf("%d events left in the inbox after processing", len(pendingEvents))
	}
}

// TestProcessInboxDuplicateHasOneEffect delivers the same event twice, the
// second time after the replay window: it changes nothing, not even the
// row's synced time.
func TestProcessInboxDuplicateHasOneEffect(t *testing.T) {
	h := newHookEnv(t, 40)
	c := h.firstWith(t, helpscouttest.StatusActive)
	h.clock.Advance(time.Minute)
	if _, err := h.fake.AddNote(c.ID, helpscouttest.ThreadInput{Body: "escalated"}); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveriesWant(t, 1, "a note")
	h.store(t, ds[0])
	h.process(t)
	first, firstThreads := h.stored(t, c.ID)

	// Within store.ReplayWindow the store would not even keep it
	// (TestReplaysCostNothing); past the window it is processed again.
	h.clock.Advance(store.ReplayWindow + time.Minute)
	id, err := h.db.InsertWebhook(context.Background(), store.WebhookEvent{Event: ds[0].Event, Body: ds[0].Body, SignatureOK: true})
	if err != nil {
		t.Fatal(err)
	}
	if n := h.process(t); n != 1 {
		t.Errorf("duplicate: ProcessInbox completed %d events, want 1", n)
	}
	again, againThreads := h.stored(t, c.ID)
	if !again.SyncedAt.Equal(first.SyncedAt) {
		t.Errorf("duplicate rewrote the row: synced at %v, then %v", first.SyncedAt, again.SyncedAt)
	}
	if len(againThreads) != len(firstThreads) || again.ThreadCount != first.ThreadCount {
		t.Errorf("duplicate changed threads: %d stored (count %d), then %d (count %d)",
			len(firstThreads), first.ThreadCount, len(againThreads), again.ThreadCount)
	}
	ev, err := h.db.Webhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.WebhookDone {
		t.Errorf("duplicate event status %q, want done", ev.Status)
	}
	assertMirrorEqual(t, h.db, h.fake)
}

// TestProcessInboxNeverRegresses applies a newer event before an older one
// for the same conversation: the older one leaves the newer state.
func TestProcessInboxNeverRegresses(t *testing.T) {
	h := newHookEnv(t, 40)
	c := h.firstWith(t, helpscouttest.StatusActive)
	agents := h.acct.Agents
	older, newer := agents[5], agents[6]
	if c.AssigneeID == older {
		older, newer = agents[6], agents[5]
	}
	h.clock.Advance(time.Minute)
	if err := h.fake.Assign(c.ID, 0, older, time.Time{}); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(time.Minute)
	if err := h.fake.Assign(c.ID, 0, newer, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveriesWant(t, 2, "two convo.assigned")
	h.store(t, ds[1])
	h.process(t)
	h.store(t, ds[0])
	h.process(t)

	got, _ := h.stored(t, c.ID)
	if got.AssigneeID != newer {
		t.Errorf("assignee after newer-then-older events = %d, want %d (the newer)", got.AssigneeID, newer)
	}
	assertMirrorEqual(t, h.db, h.fake)
}

// TestProcessInboxDeletion applies convo.deleted, and then a late update of
// the same conversation that was sent before the deletion: it stays gone.
func TestProcessInboxDeletion(t *testing.T) {
	h := newHookEnv(t, 40)
	c := h.firstWith(t, helpscouttest.StatusPending)
	h.clock.Advance(time.Minute)
	if err := h.fake.Assign(c.ID, 0, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.Delete(c.ID); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveries(t)
	if len(ds) != 2 || ds[1].Event != helpscouttest.EventConvoDeleted {
		t.Fatalf("want convo.assigned then convo.deleted, got %d deliveries", len(ds))
	}
	h.store(t, ds[1])
	h.process(t)
	h.store(t, ds[0]) // the late, older update
	h.process(t)
	if _, _, err := h.db.Conversation(context.Background(), c.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted conversation after a late update: err %v, want ErrNotFound", err)
	}
	assertMirrorEqual(t, h.db, h.fake)
}

// TestProcessInboxRetriesFailedEvents makes the thread fetch an event needs
// fail with a 500: the event stays in the inbox, failed, with its error, and
// the next pass applies it.
func TestProcessInboxRetriesFailedEvents(t *testing.T) {
	h := newHookEnv(t, 40)
	h.clock.Advance(time.Minute)
	nc, err := h.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: h.acct.Mailboxes[1], CustomerID: h.acct.Customers[1], Subject: "fails once",
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := h.deliveriesWant(t, 1, "one convo.created")
	id := h.store(t, ds[0])

	// The webhook body carries no threads, so applying it needs one thread
	// list request: make that one fail.
	h.fake.SetFaults(helpscouttest.Faults{FailNext: 1, FailStatus: http.StatusInternalServerError})
	if n := h.process(t); n != 0 {
		t.Errorf("first pass completed %d events, want 0", n)
	}
	ev, err := h.db.Webhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.WebhookFailed || ev.Attempts != 1 || !strings.Contains(ev.LastError, "500") {
		t.Errorf("after a failing pass: status %q, attempts %d, error %q; want failed, 1, an error naming the 500",
			ev.Status, ev.Attempts, ev.LastError)
	}
	if _, _, err := h.db.Conversation(context.Background(), nc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conversation stored although its event failed: %v", err)
	}

	h.fake.SetFaults(helpscouttest.Faults{})
	if n := h.process(t); n != 1 {
		t.Errorf("second pass completed %d events, want 1", n)
	}
	ev, err = h.db.Webhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.WebhookDone || ev.LastError != "" {
		t.Errorf("after the retry: status %q, error %q; want done and no error", ev.Status, ev.LastError)
	}
	assertMirrorEqual(t, h.db, h.fake)
}

// TestProcessInboxStopsWhileHelpScoutFails: when applying an event meets a
// 5xx, the events after it are left for the next pass instead of each
// failing in turn after the client's retries, which held the poll (on the
// same goroutine) back for minutes.
func TestProcessInboxStopsWhileHelpScoutFails(t *testing.T) {
	h := newHookEnv(t, 40)
	h.clock.Advance(time.Minute)
	for i := range 2 {
		if _, err := h.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: h.acct.Mailboxes[1], CustomerID: h.acct.Customers[i], Subject: "while it fails",
		}); err != nil {
			t.Fatal(err)
		}
	}
	ds := h.deliveriesWant(t, 2, "two convo.created")
	first, second := h.store(t, ds[0]), h.store(t, ds[1])

	h.fake.SetFaults(helpscouttest.Faults{FailNext: 1, FailStatus: http.StatusServiceUnavailable})
	if n := h.process(t); n != 0 {
		t.Errorf("pass during the failure completed %d events, want 0", n)
	}
	for id, want := range map[int64]int{first: 1, second: 0} {
		ev, err := h.db.Webhook(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Attempts != want {
			t.Errorf("webhook %d: %d attempts, want %d (the pass stops at the first 503)", id, ev.Attempts, want)
		}
	}
	h.fake.SetFaults(helpscouttest.Faults{})
	if n := h.process(t); n != 2 {
		t.Errorf("pass after the failure completed %d events, want 2", n)
	}
	assertMirrorEqual(t, h.db, h.fake)
}

// TestWebhooksOutOfOrderKeepPin: an agent notes a ticket and pins it in
// the same second, and the two events arrive the wrong way round: the
// older, the note's, carries the tag set from before qw-pin at the same
// version. The pin must survive, whether the older event comes at once or
// as Help Scout's retry twenty minutes later, after polls that would not
// heal it: a tag set that differs from the store's is settled by
// re-reading the conversation.
func TestWebhooksOutOfOrderKeepPin(t *testing.T) {
	for _, late := range []bool{false, true} {
		t.Run(map[bool]string{false: "at once", true: "late retry"}[late], func(t *testing.T) {
			h := newHookEnv(t, 40)
			c := h.firstWith(t, helpscouttest.StatusActive)
			h.clock.Advance(time.Minute)
			if _, err := h.fake.AddNote(c.ID, helpscouttest.ThreadInput{Body: "looking"}); err != nil {
				t.Fatal(err)
			}
			if err := h.fake.SetTags(c.ID, []string{"qw-pin"}, time.Time{}); err != nil {
				t.Fatal(err)
			}
			ds := h.deliveriesWant(t, 2, "the note's and the tags'")
			polls := func() {
				for range 3 {
					h.clock.Advance(7 * time.Minute)
					syncOnce(t, h.m)
				}
			}
			h.store(t, ds[1]) // the tags' event first
			h.process(t)
			if late {
				polls()
			}
			h.store(t, ds[0]) // then the note's, sent earlier
			h.process(t)
			if late {
				polls()
			}
			got, _ := h.stored(t, c.ID)
			if len(got.Tags) != 1 || got.Tags[0] != "qw-pin" {
				t.Errorf("tags = %v, want [qw-pin]", got.Tags)
			}
		})
	}
}

// TestMergeWebhookRemovesSource: convo.merged names the survivor; the
// conversation merged into it must leave the mirror at once, not stay open
// until the hourly reconcile (the balancer would count and move it). Also
// when the survivor's tags changed too (that event not processed yet) and
// the merge event is settled by a re-read.
func TestMergeWebhookRemovesSource(t *testing.T) {
	for _, tagsChanged := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "survivor's tags changed"}[tagsChanged], func(t *testing.T) {
			h := newHookEnv(t, 60)
			var active []helpscouttest.Conversation
			for _, c := range h.fake.Conversations() {
				if c.Status == helpscouttest.StatusActive {
					active = append(active, c)
				}
			}
			from, into := active[0], active[1]
			if tagsChanged {
				h.clock.Advance(time.Minute)
				if err := h.fake.SetTags(into.ID, []string{"vip"}, time.Time{}); err != nil {
					t.Fatal(err)
				}
				h.deliveries(t) // that event is not processed
			}
			h.clock.Advance(time.Minute)
			if err := h.fake.Merge(from.ID, into.ID, 0, time.Time{}); err != nil {
				t.Fatal(err)
			}
			for _, d := range h.deliveries(t) {
				h.store(t, d)
			}
			h.process(t)
			if c, _, err := h.db.Conversation(context.Background(), from.ID); err == nil {
				t.Errorf("merged-away conversation %d still stored (%s, assignee %d)", from.ID, c.Status, c.AssigneeID)
			}
			if _, threads := h.stored(t, into.ID); len(threads) < len(from.Threads)+len(into.Threads) {
				t.Errorf("survivor %d holds %d threads, want at least %d", into.ID, len(threads), len(from.Threads)+len(into.Threads))
			}
		})
	}
}

// TestEveryWebhookEventHasAHandler stores one delivery of each event
// helpscout knows and processes it: a conversation event brings the
// conversation up to date, convo.deleted removes it, and the test ping and
// events about other resources complete without touching the mirror. An
// event of a kind the mirror has no handler for stays failed in the inbox
// and fails the test.
func TestEveryWebhookEventHasAHandler(t *testing.T) {
	h := newHookEnv(t, 80)
	var open []helpscouttest.Conversation // a fresh one for each event
	for _, c := range h.fake.Conversations() {
		if c.Status != helpscouttest.StatusClosed && c.AssigneeID != 0 {
			open = append(open, c)
		}
	}
	agents := h.acct.Agents
	for _, event := range helpscout.Events() {
		t.Run(event, func(t *testing.T) {
			h.clock.Advance(time.Minute)
			ev, err := helpscout.ParseWebhook(event, []byte(`{"id":1}`))
			if err != nil {
				t.Fatal(err)
			}
			var check func()
			body := []byte(`{"id":1}`)
			if ev.Kind == helpscout.WebhookConversation || ev.Kind == helpscout.WebhookConversationDeleted {
				if len(open) == 0 {
					t.Fatal("the seeded account has too few open conversations")
				}
				c := open[0]
				open = open[1:]
				if ev.Kind == helpscout.WebhookConversationDeleted {
					if err := h.fake.Delete(c.ID); err != nil {
						t.Fatal(err)
					}
					body = []byte(fmt.Sprintf(`{"id":%d}`, c.ID))
					check = func() {
						if _, _, err := h.db.Conversation(context.Background(), c.ID); !errors.Is(err, store.ErrNotFound) {
							t.Errorf("conversation %d after %s: err %v, want ErrNotFound", c.ID, event, err)
						}
					}
				} else {
					to := agents[0]
					if to == c.AssigneeID {
						to = agents[1]
					}
					if err := h.fake.Assign(c.ID, 0, to, time.Time{}); err != nil {
						t.Fatal(err)
					}
					ds := h.deliveries(t)
					body = ds[len(ds)-1].Body // the conversation as Help Scout sends it
					check = func() {
						if got, _ := h.stored(t, c.ID); got.AssigneeID != to {
							t.Errorf("conversation %d after %s: assignee %d, want %d", c.ID, event, got.AssigneeID, to)
						}
					}
				}
			} else if ev.Kind != helpscout.WebhookTest && ev.Kind != helpscout.WebhookOther {
				t.Fatalf("%s is a %s event, which this test does not know", event, ev.Kind)
			}
			h.deliveries(t) // none left over for the next event
			if _, _, err := h.db.AddWebhook(context.Background(), event, body, h.clock.Now()); err != nil {
				t.Fatal(err)
			}
			if n := h.process(t); n != 1 {
				failed, _ := h.db.PendingWebhooks(context.Background(), 0, 0)
				t.Fatalf("ProcessInbox completed %d events, want 1; left in the inbox: %+v", n, failed)
			}
			if check != nil {
				check()
			}
			assertMirrorEqual(t, h.db, h.fake)
		})
	}
}

// TestUpkeepPrunesWebhooksByTheMirrorsClock: the store stamps processed_at
// with its injected clock (the demo's simulated one; here months before
// the wall clock), so the upkeep measures the retention on that clock, and
// an event that used up its attempts goes with the processed ones.
func TestUpkeepPrunesWebhooksByTheMirrorsClock(t *testing.T) {
	// Tokens expire by the wall clock, as in the demo.
	e := newEnv(t, helpscouttest.Options{WallClock: time.Now}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 2})
	ctx := context.Background()
	addEvent := func(failures int, done bool) int64 {
		t.Helper()
		id, _, err := e.db.AddWebhook(ctx, "convo.created", fmt.Appendf(nil, `{"id":%d,"failures":%d}`, failures, failures), time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		for range failures {
			if err := e.db.MarkWebhookFailed(ctx, id, "helpscout: 503"); err != nil {
				t.Fatal(err)
			}
		}
		if done {
			if err := e.db.MarkWebhookDone(ctx, id); err != nil {
				t.Fatal(err)
			}
		}
		return id
	}
	processed, gaveUp, retrying := addEvent(0, true), addEvent(10, false), addEvent(3, false)

	for _, tc := range []struct {
		name  string
		after time.Duration // since the events were processed, on the store's clock
		kept  map[int64]bool
	}{
		{"a day later", 24 * time.Hour, map[int64]bool{processed: true, gaveUp: true, retrying: true}},
		{"past the retention", 8 * 24 * time.Hour, map[int64]bool{processed: false, gaveUp: false, retrying: true}},
	} {
		e.clock.Set(t0.Add(tc.after))
		runCtx, stop := context.WithCancel(ctx)
		// Run calls Updated after the first sync and its upkeep.
		var logs testkit.LogBuffer
		if err := e.mirror(mirror.Options{Updated: stop, Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Run(runCtx, time.Hour); err != nil {
			t.Fatalf("%s: Run: %v", tc.name, err)
		}
		stop()
		for id, want := range tc.kept {
			_, err := e.db.Webhook(ctx, id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
			if kept := err == nil; kept != want {
				t.Errorf("%s: event %d kept = %v, want %v\n%s", tc.name, id, kept, want, logs.String())
			}
		}
	}
}

// TestUpkeepFollowsTheMirrorsClock: the upkeep ran on a real 6-hour
// ticker, so under a simulated clock (the demo, the soaks) it ran once at
// start and never again, however many simulated days passed, and a test
// could not see it run. It now comes due on the mirror's clock and is
// checked at every poll: once per upkeepEvery of that clock, not at every
// poll, and each run says what it did in one line, at DEBUG when it
// removed nothing.
func TestUpkeepFollowsTheMirrorsClock(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{WallClock: time.Now}, helpscouttest.GenerateConfig{Seed: 3, Conversations: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	polls := make(chan struct{})
	var logs testkit.LogBuffer
	m := e.mirror(mirror.Options{
		Logger:  slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Updated: func() { polls <- struct{}{} },
	})
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Millisecond) }()
	wait := func(n int) {
		t.Helper()
		for range n {
			select {
			case <-polls:
			case err := <-done:
				t.Fatalf("Run returned early: %v", err)
			}
		}
	}
	upkeeps := func() []string {
		var out []string
		for l := range strings.Lines(logs.String()) {
			if strings.Contains(l, `msg="upkeep done"`) {
				out = append(out, strings.TrimSpace(l))
			}
		}
		return out
	}

	wait(1) // the first sync and the upkeep after it
	id, _, err := e.db.AddWebhook(context.Background(), "convo.created", []byte(`{"id":1}`), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.db.MarkWebhookDone(context.Background(), id); err != nil {
		t.Fatal(err)
	}
	wait(20) // polls within one upkeep period of the mirror's clock
	if got := upkeeps(); len(got) != 1 || !strings.Contains(got[0], "level=DEBUG") || !strings.Contains(got[0], "pruned_webhooks=0") {
		t.Errorf("before the mirror's clock moved, the upkeep lines are %q; want the first run's alone, at DEBUG, pruning nothing", got)
	}

	e.clock.Advance(8 * 24 * time.Hour) // past the upkeep period and the retention
	wait(2)                             // a whole poll after the clock moved
	got := upkeeps()
	if len(got) != 2 {
		t.Fatalf("after 8 days of the mirror's clock, %d upkeep lines, want 2:\n%s", len(got), logs.String())
	}
	if !strings.Contains(got[1], "level=INFO") || !strings.Contains(got[1], "pruned_webhooks=1") || !strings.Contains(got[1], "took=") {
		t.Errorf("the upkeep that pruned the processed webhook logged %q; want INFO with pruned_webhooks=1 and took", got[1])
	}
	if _, err := e.db.Webhook(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the processed webhook, 8 days old on the mirror's clock: Webhook = %v, want pruned (not found)", err)
	}
	wait(20)
	if n := len(upkeeps()); n != 2 {
		t.Errorf("%d upkeep lines after 20 more polls within the period, want still 2", n)
	}
	cancel()
	for {
		select {
		case <-polls:
			continue
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		break
	}
}

// Events stored but not applied when the previous process stopped are
// applied at start, right after the first sync, not a whole poll interval
// later (an hour here): nothing else wakes the inbox until a new webhook
// comes.
func TestRunAppliesTheInboxLeftFromBeforeAStart(t *testing.T) {
	h := newHookEnv(t, 20)
	active := h.firstWith(t, helpscouttest.StatusActive)
	h.clock.Advance(time.Minute)
	if err := h.fake.Assign(active.ID, 0, h.acct.Agents[3], time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range h.deliveriesWant(t, 1, "one assignment") {
		h.store(t, d) // and the process stops before its inbox pass
	}
	passes := make(chan struct{}, 10)
	restarted := h.mirror(mirror.Options{Updated: func() { passes <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- restarted.Run(ctx, time.Hour) }()
	defer func() {
		cancel()
		<-done
	}()
	select {
	case <-passes:
	case err := <-done:
		t.Fatalf("Run returned early: %v", err)
	}
	left, err := h.db.PendingWebhooks(context.Background(), 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 0 {
		t.Errorf("%d events left in the inbox after the first sync of a start, want none", len(left))
	}
}

// TestEventOfAMailboxGoneIsDone: webhooks are the account's, so events of
// a mailbox taken from the API user go on arriving; Help Scout refuses
// their conversations (403), and each event was retried, a warning at
// every pass, until its attempts ran out. With the mailbox gone from the
// directory there is nothing to apply: the event is done at once.
func TestEventOfAMailboxGoneIsDone(t *testing.T) {
	h := newHookEnv(t, 40)
	gone := h.acct.Mailboxes[1]
	h.clock.Advance(time.Minute)
	nc, err := h.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: gone, CustomerID: h.acct.Customers[1], Subject: "written as the mailbox goes",
	})
	if err != nil {
		t.Fatal(err)
	}
	ds := h.deliveriesWant(t, 1, "one convo.created")
	if err := h.fake.RevokeMailbox(gone); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(16 * time.Minute) // the directory's refresh drops the mailbox
	syncOnce(t, h.m)
	id := h.store(t, ds[0])
	if n := h.process(t); n != 1 {
		t.Errorf("the pass completed %d events, want the one of the mailbox gone", n)
	}
	ev, err := h.db.Webhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.WebhookDone || ev.LastError != "" {
		t.Errorf("event of a mailbox gone: status %q, attempts %d, error %q; want done, no error", ev.Status, ev.Attempts, ev.LastError)
	}
	if _, _, err := h.db.Conversation(context.Background(), nc.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conversation %d of the mailbox gone was stored: %v", nc.ID, err)
	}

	// A refusal in a mailbox the directory still lists stays an error.
	h.clock.Advance(time.Minute)
	kept := h.acct.Mailboxes[0]
	nk, err := h.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: kept, CustomerID: h.acct.Customers[1], Subject: "refused while listed",
	})
	if err != nil {
		t.Fatal(err)
	}
	ds = h.deliveriesWant(t, 1, "one convo.created")
	h.fake.SetFaults(helpscouttest.Faults{FailNext: 1, FailStatus: http.StatusForbidden})
	id = h.store(t, ds[0])
	h.process(t)
	ev, err = h.db.Webhook(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if ev.Status != store.WebhookFailed || !strings.Contains(ev.LastError, "403") {
		t.Errorf("event refused in a listed mailbox (conversation %d): status %q, error %q; want failed, naming the 403", nk.ID, ev.Status, ev.LastError)
	}
}
