package mirror_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// created makes a conversation in the fake a minute on and returns it
// with its convo.created delivery.
func (h *hookEnv) created(t *testing.T, subject string) (helpscouttest.Conversation, helpscouttest.WebhookDelivery) {
	t.Helper()
	h.clock.Advance(time.Minute)
	c, err := h.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: h.acct.Mailboxes[0], CustomerID: h.acct.Customers[0], Subject: subject,
	})
	if err != nil {
		t.Fatal(err)
	}
	return c, h.deliveriesWant(t, 1, "one convo.created")[0]
}

// doubts are the edits that make doubtedBody refuse a convo.* body as
// sent.
var doubts = []struct {
	name string
	edit func(now time.Time) func(map[string]any)
}{
	{"no mailbox", func(time.Time) func(map[string]any) {
		return func(b map[string]any) { delete(b, "mailboxId") }
	}},
	{"dated ahead", func(now time.Time) func(map[string]any) {
		return func(b map[string]any) { b["userUpdatedAt"] = now.Add(time.Hour).UTC().Format(time.RFC3339) }
	}},
	{"a mailbox the directory does not list", func(time.Time) func(map[string]any) {
		return func(b map[string]any) { b["mailboxId"] = 987654 }
	}},
}

// TestDoubtedBodyOfAConversationNotHeldIsRead: a convo.created whose body
// could not be stored as sent (no mailbox, dated ahead, a mailbox the
// directory does not list) was neither applied nor re-read when the store
// did not hold the conversation: it waited for the next poll, up to two
// minutes, and QW_ROUTING=own routed it that much later. It is read from
// Help Scout at once, in the same inbox pass, and stored as Help Scout
// serves it.
func TestDoubtedBodyOfAConversationNotHeldIsRead(t *testing.T) {
	for _, doubt := range doubts {
		t.Run(doubt.name, func(t *testing.T) {
			h := newHookEnv(t, 40)
			c, d := h.created(t, "doubted as it arrives")
			h.log.reset()
			h.store(t, edited(t, d, doubt.edit(h.clock.Now())))
			h.process(t)
			if _, _, err := h.db.Conversation(context.Background(), c.ID); err != nil {
				t.Fatalf("conversation %d, created in Help Scout, is not stored after its doubted convo.created: %v", c.ID, err)
			}
			h.wantAsHelpScoutServes(t, c.ID, "after a doubted convo.created")
			if n := h.conversationReads(c.ID); n != 1 {
				t.Errorf("the doubted convo.created cost %d reads of conversation %d, want 1", n, c.ID)
			}
		})
	}
}

// TestBodyWithoutAMailboxIsReadWithNamedMailboxes: with QW_MAILBOXES set,
// a body naming no mailbox was taken for one of a mailbox not mirrored
// (mailbox 0 is not named), and of a conversation the store does not hold
// it was dropped. Its conversation may well be in a named mailbox: it is
// read, stored when it is, and not when it is in another.
func TestBodyWithoutAMailboxIsReadWithNamedMailboxes(t *testing.T) {
	h, scope, other := scopedHookEnv(t)
	ctx := context.Background()
	for _, mb := range []int64{scope, other} {
		h.clock.Advance(time.Minute)
		c, err := h.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: mb, CustomerID: h.acct.Customers[0], Subject: "no mailbox in its body",
		})
		if err != nil {
			t.Fatal(err)
		}
		d := h.deliveriesWant(t, 1, "one convo.created")[0]
		h.log.reset()
		h.store(t, edited(t, d, func(b map[string]any) { delete(b, "mailboxId") }))
		h.process(t)
		if n := h.conversationReads(c.ID); n != 1 {
			t.Errorf("conversation %d of mailbox %d: the body without a mailbox cost %d reads, want 1", c.ID, mb, n)
		}
		_, _, err = h.db.Conversation(ctx, c.ID)
		if mb == scope && err != nil {
			t.Errorf("conversation %d of named mailbox %d is not stored after a body without a mailbox: %v", c.ID, mb, err)
		}
		if mb == other && !errors.Is(err, store.ErrNotFound) {
			t.Errorf("conversation %d of mailbox %d, not named, is stored after a body without a mailbox: %v", c.ID, mb, err)
		}
	}
}

// TestRefusedRereadOfAConversationNotHeldIsDropped: a re-read of a
// conversation the store does not hold that Help Scout refuses (404: no
// such conversation; 403: a mailbox gone) has nothing to fix: it is
// dropped at once, without a retry, a warning, or holding up the
// re-reads behind it (one that fails stopped the pass's re-reads).
func TestRefusedRereadOfAConversationNotHeldIsDropped(t *testing.T) {
	for _, status := range []int{404, 403} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			var log testkit.LogBuffer
			h := newLoggedHookEnv(t, 40, &log)
			ctx := context.Background()
			c, d := h.created(t, "after a refused one")
			const refused = 99999999
			if status == 403 {
				refuseConversation(h.env, refused)
			}
			noMailbox := func(b map[string]any) { delete(b, "mailboxId") }
			h.store(t, edited(t, d, func(b map[string]any) {
				noMailbox(b)
				b["id"], b["number"] = refused, refused
			}))
			h.store(t, edited(t, d, noMailbox))
			h.log.reset()
			h.process(t)
			if _, _, err := h.db.Conversation(ctx, c.ID); err != nil {
				t.Errorf("conversation %d, queued behind a refused re-read, is not stored: %v", c.ID, err)
			}
			if _, _, err := h.db.Conversation(ctx, refused); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("conversation %d, refused, is stored: %v", refused, err)
			}
			if n := h.conversationReads(refused); n != 1 {
				t.Errorf("conversation %d cost %d reads, want 1", refused, n)
			}
			h.log.reset()
			h.process(t)
			if n := h.conversationReads(refused); n != 0 {
				t.Errorf("the next pass read conversation %d again (%d reads); want it dropped", refused, n)
			}
			if strings.Contains(log.String(), "re-read failed") {
				t.Errorf("a refused re-read of a conversation not held was logged as a failure:\n%s", log.String())
			}
		})
	}
}

// TestRereadsOfConversationsNotHeldAreBounded: anyone holding the
// webhook secret can sign bodies of random ids; each doubted one of a
// conversation not held costs a read now, so they are bounded per hour
// of the mirror's clock, said once in the log; beyond that the poll
// brings in whatever Help Scout lists. The next hour has a fresh budget.
func TestRereadsOfConversationsNotHeldAreBounded(t *testing.T) {
	var log testkit.LogBuffer
	h := newLoggedHookEnv(t, 40, &log)
	_, d := h.created(t, "template")
	forged := func(id int64) helpscouttest.WebhookDelivery {
		return edited(t, d, func(b map[string]any) {
			delete(b, "mailboxId")
			b["id"], b["number"] = id, id
		})
	}
	h.log.reset()
	for i := range 500 {
		h.insertRaw(t, forged(int64(90000000+i)))
	}
	h.process(t)
	reads := 0
	for _, u := range h.log.URLs() {
		if isConversationGet(u.Path) {
			reads++
		}
	}
	if reads == 0 || reads > 60 {
		t.Errorf("500 forged bodies of conversations not held cost %d reads; want some, and at most 60", reads)
	}
	if n := strings.Count(log.String(), "re-read budget"); n != 1 {
		t.Errorf("the spent budget was said %d times, want once", n)
	}
	if n := strings.Count(log.String(), "webhook body not applied"); n > 60 {
		t.Errorf("the forged bodies made %d warnings; want at most one per read", n)
	}

	h.clock.Advance(time.Hour)
	c, d2 := h.created(t, "an hour later")
	h.log.reset()
	h.store(t, edited(t, d2, func(b map[string]any) { delete(b, "mailboxId") }))
	h.process(t)
	if _, _, err := h.db.Conversation(context.Background(), c.ID); err != nil {
		t.Errorf("an hour later, conversation %d of a doubted convo.created is not read: %v", c.ID, err)
	}
}

// TestDoubtedMergeRemovesTheMergedAway: a convo.merged names the
// survivor, and applied from its body the conversations merged into it
// are found by the threads they still hold (TestMergeWebhookRemovesSource).
// A body that cannot be stored as sent has the survivor re-read instead,
// and the merged-away conversation stayed open in the mirror until the
// hourly reconcile. The re-read finds it the same way, by the survivor's
// threads as Help Scout serves them, and has it read again: gone, it is
// removed in the same pass.
func TestDoubtedMergeRemovesTheMergedAway(t *testing.T) {
	for _, doubt := range doubts {
		t.Run(doubt.name, func(t *testing.T) {
			h := newHookEnv(t, 60)
			var active []helpscouttest.Conversation
			for _, c := range h.fake.Conversations() {
				if c.Status == helpscouttest.StatusActive {
					active = append(active, c)
				}
			}
			from, into := active[0], active[1]
			h.clock.Advance(time.Minute)
			if err := h.fake.Merge(from.ID, into.ID, 0, time.Time{}); err != nil {
				t.Fatal(err)
			}
			d := h.deliveriesWant(t, 1, "one convo.merged")[0]
			if d.Event != helpscouttest.EventConvoMerged {
				t.Fatalf("the merge's delivery is %s, want convo.merged", d.Event)
			}
			h.store(t, edited(t, d, doubt.edit(h.clock.Now())))
			h.process(t)
			if c, _, err := h.db.Conversation(context.Background(), from.ID); err == nil {
				t.Errorf("merged-away conversation %d still stored (%s, assignee %d) after a doubted convo.merged", from.ID, c.Status, c.AssigneeID)
			}
			h.wantAsHelpScoutServes(t, into.ID, "the survivor of a doubted convo.merged")
		})
	}
}

// TestOwnModeHearsOfADoubtedNewConversation: own mode's routing reads the
// store when Run calls Updated after an inbox pass. A new conversation
// whose convo.created was doubted is stored by the pass the webhook wakes,
// before that call, not by the poll up to two minutes later.
func TestOwnModeHearsOfADoubtedNewConversation(t *testing.T) {
	h := newHookEnv(t, 20)
	passes := make(chan struct{}, 10)
	m := h.mirror(mirror.Options{Updated: func() { passes <- struct{}{} }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	defer func() {
		cancel()
		<-done
	}()
	wait := func(what string) {
		t.Helper()
		select {
		case <-passes:
		case err := <-done:
			t.Fatalf("Run returned %s: %v", what, err)
		case <-time.After(time.Minute):
			t.Fatalf("Updated was not called %s", what)
		}
	}
	wait("after the first sync")
	c, d := h.created(t, "routed by own mode")
	h.store(t, edited(t, d, func(b map[string]any) { delete(b, "mailboxId") }))
	m.Wake()
	wait("after the webhook's inbox pass")
	if _, _, err := h.db.Conversation(context.Background(), c.ID); err != nil {
		t.Errorf("conversation %d of a doubted convo.created is not stored when Updated is called after the pass: %v", c.ID, err)
	}
}

// TestAGoneMailboxSpendsNoImmediateReads: Help Scout goes on sending the
// webhooks of a mailbox taken from the API user (they are the account's).
// With QW_MAILBOXES empty each convo.* body of it names a mailbox the
// directory no longer lists, is doubted, and its conversation, not held,
// was read at once and refused: ordinary traffic of one busy mailbox spent
// the 60 an hour, and a real doubted convo.created of a mirrored mailbox
// waited for the poll. A mailbox the directory stopped listing is read
// for no more, and given back it is again.
func TestAGoneMailboxSpendsNoImmediateReads(t *testing.T) {
	var log testkit.LogBuffer
	h := newLoggedHookEnv(t, 40, &log)
	ctx := context.Background()
	gone := h.acct.Mailboxes[1]
	if err := h.fake.RevokeMailbox(gone); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(16 * time.Minute) // the directory's refresh drops it
	syncOnce(t, h.m)
	if listed, err := h.db.Mailboxes(ctx); err != nil || slices.ContainsFunc(listed, func(mb store.Mailbox) bool { return mb.ID == gone }) {
		t.Fatalf("mailbox %d still listed by the directory after its refresh (err %v)", gone, err)
	}
	c, d := h.created(t, "a real new conversation")
	h.log.reset()
	for i := range 60 {
		h.insertRaw(t, edited(t, d, func(b map[string]any) {
			b["mailboxId"] = gone
			b["id"], b["number"] = 80000000+i, 80000000+i
		}))
	}
	h.insertRaw(t, edited(t, d, func(b map[string]any) { delete(b, "mailboxId") }))
	h.process(t)
	wasted := 0
	for i := range 60 {
		wasted += h.conversationReads(int64(80000000 + i))
	}
	if wasted > 0 {
		t.Errorf("%d reads of conversations of mailbox %d, which the directory no longer lists", wasted, gone)
	}
	if h.conversationReads(c.ID) == 0 {
		t.Errorf("the doubted convo.created of %d was not read: the gone mailbox's events spent the budget", c.ID)
	}
	if strings.Contains(log.String(), "budget is spent") {
		t.Errorf("the budget was said spent: %s", log.String())
	}

	// Given back, a doubted body (dated ahead) of a conversation of it
	// not held is read at once again.
	if err := h.fake.GrantMailbox(gone); err != nil {
		t.Fatal(err)
	}
	h.clock.Advance(16 * time.Minute)
	syncOnce(t, h.m)
	h.log.reset()
	h.insertRaw(t, edited(t, d, func(b map[string]any) {
		b["mailboxId"] = gone
		b["id"], b["number"] = 80000100, 80000100
		b["userUpdatedAt"] = h.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	}))
	h.process(t)
	if n := h.conversationReads(80000100); n == 0 {
		t.Errorf("a doubted body of mailbox %d, listed again, was not read at once", gone)
	}
}

// TestARefusedRereadOfAHeldConversationIsKept pins ProcessInbox's guard
// on dropping a refused re-read (conversationFault): only a conversation
// the store does not hold (holds) is dropped. Without it a held
// conversation's re-read meeting a 422 was dropped at DEBUG, and its
// row, doubted, waited for the reconcile.
func TestARefusedRereadOfAHeldConversationIsKept(t *testing.T) {
	var log testkit.LogBuffer
	h := newLoggedHookEnv(t, 40, &log)
	c, d := h.created(t, "held, then doubted")
	syncOnce(t, h.m) // the poll brings it in: held
	if _, _, err := h.db.Conversation(context.Background(), c.ID); err != nil {
		t.Fatalf("conversation %d not held after the poll: %v", c.ID, err)
	}
	h.insertRaw(t, edited(t, d, func(b map[string]any) {
		b["userUpdatedAt"] = h.clock.Now().Add(time.Hour).UTC().Format(time.RFC3339) // dated ahead
	}))
	answerConversation(h.env, c.ID, http.StatusUnprocessableEntity, `{"logRef":"x","message":"Unprocessable"}`)
	h.log.reset()
	h.process(t)
	h.process(t)
	if n := h.conversationReads(c.ID); n < 2 {
		t.Errorf("the refused re-read of held conversation %d was tried %d times over two passes; want it kept and tried again", c.ID, n)
	}
}

// TestABodyOfAConversationAwaitingItsReadSpendsNoBudget: a doubted body of
// a conversation not held whose re-read is already queued (rereads.waiting)
// adds no read, and so takes nothing of the 60 an hour: each conversation
// of a burst sent twice (a convo.created and a convo.assigned, say) would
// otherwise count twice, and a real new conversation wait for the poll.
func TestABodyOfAConversationAwaitingItsReadSpendsNoBudget(t *testing.T) {
	var log testkit.LogBuffer
	h := newLoggedHookEnv(t, 40, &log)
	c, d := h.created(t, "a real new conversation")
	h.log.reset()
	for i := range 60 {
		id := 80000000 + i/2 // 30 conversations, two bodies each
		h.insertRaw(t, edited(t, d, func(b map[string]any) {
			b["mailboxId"] = 987654 // never listed: doubted, read at once
			b["id"], b["number"] = id, id
		}))
	}
	h.insertRaw(t, edited(t, d, func(b map[string]any) { delete(b, "mailboxId") }))
	h.process(t)
	reads := 0
	for i := range 30 {
		reads += h.conversationReads(int64(80000000 + i))
	}
	if reads != 30 {
		t.Errorf("%d reads of the 30 conversations sent twice; want one each", reads)
	}
	if h.conversationReads(c.ID) == 0 {
		t.Errorf("the doubted convo.created of %d was not read: bodies of conversations already queued spent the budget", c.ID)
	}
}

// TestAThreadListRefusedIsTheConversationsFault: the thread list of a
// conversation failing with a 4xx is Help Scout's answer for that
// conversation (threads wraps it in a readError), as its read by id is:
// the re-read of a conversation not held, asked for by a doubted body, is
// dropped rather than retried at every pass with a WARN each, holding up
// the re-reads behind it. Help Scout embeds threads in the read by id;
// the answer here leaves them out, so that they are listed on their own.
func TestAThreadListRefusedIsTheConversationsFault(t *testing.T) {
	var log testkit.LogBuffer
	h := newLoggedHookEnv(t, 40, &log)
	c, d := h.created(t, "its threads refused")
	path := "/v2/conversations/" + strconv.FormatInt(c.ID, 10)
	h.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		switch r.URL.Path {
		case path:
			rec := httptest.NewRecorder()
			h.fake.ServeHTTP(rec, r)
			var body map[string]any
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Errorf("the fake's answer for %s: %v", path, err)
				return false
			}
			delete(body, "_embedded")
			w.Header().Set("Content-Type", "application/hal+json")
			w.WriteHeader(rec.Code)
			_ = json.NewEncoder(w).Encode(body)
			return true
		case path + "/threads":
			w.Header().Set("Content-Type", "application/vnd.error+json")
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"logRef":"x","message":"Unprocessable"}`)
			return true
		}
		return false
	})
	h.log.reset()
	h.insertRaw(t, edited(t, d, func(b map[string]any) { delete(b, "mailboxId") }))
	h.process(t)
	h.process(t)
	threads := 0
	for _, u := range h.log.URLs() {
		if u.Path == path+"/threads" {
			threads++
		}
	}
	if threads != 1 {
		t.Errorf("the thread list of %d, refused, asked for %d times over two passes; want once, the re-read dropped", c.ID, threads)
	}
	if strings.Contains(log.String(), "re-read failed") {
		t.Errorf("the refused re-read was retried with a WARN: %s", log.String())
	}
}
