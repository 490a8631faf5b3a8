package mirror_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
)

// A webhook is a hint, never the truth over Help Scout's own answer
// (design.md section 2). These tests sign nothing: the inbox holds bodies
// the HTTP edge has verified, so a body edited here is what a payload
// quirk, or anyone holding the secret, would have delivered.

// edited returns d with its JSON body changed by edit.
func edited(t *testing.T, d helpscouttest.WebhookDelivery, edit func(map[string]any)) helpscouttest.WebhookDelivery {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(d.Body, &body); err != nil {
		t.Fatalf("delivery %d (%s): %v", d.Seq, d.Event, err)
	}
	edit(body)
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	d.Body = b
	return d
}

// assignedEvent reassigns an active conversation in the fake a minute on
// and returns it with the convo.assigned delivery that says so.
func (h *hookEnv) assignedEvent(t *testing.T) (helpscouttest.Conversation, helpscouttest.WebhookDelivery) {
	t.Helper()
	c := h.firstWith(t, helpscouttest.StatusActive)
	to := h.acct.Agents[3]
	if c.AssigneeID == to {
		to = h.acct.Agents[4]
	}
	h.clock.Advance(time.Minute)
	if err := h.fake.Assign(c.ID, 0, to, time.Time{}); err != nil {
		t.Fatal(err)
	}
	return c, h.deliveriesWant(t, 1, "one convo.assigned")[0]
}

// wantAsHelpScoutServes ends the test unless the stored conversation id is
// Help Scout's answer (mailbox, status, version, assignee, not a hint's)
// and the whole mirror equals the fake.
func (h *hookEnv) wantAsHelpScoutServes(t *testing.T, id int64, what string) {
	t.Helper()
	got, _ := h.stored(t, id)
	want, ok := h.fake.Conversation(id)
	if !ok {
		t.Fatalf("conversation %d is not in the fake", id)
	}
	if got.MailboxID != want.MailboxID || got.Status != want.Status || got.AssigneeID != want.AssigneeID ||
		!got.UserUpdatedAt.Equal(want.UserUpdatedAt) || got.FromWebhook {
		t.Errorf("%s: stored mailbox %d, status %s, assignee %d, user updated %v, from webhook %v; "+
			"Help Scout serves mailbox %d, %s, %d, %v", what, got.MailboxID, got.Status, got.AssigneeID, got.UserUpdatedAt,
			got.FromWebhook, want.MailboxID, want.Status, want.AssigneeID, want.UserUpdatedAt)
	}
	assertMirrorEqual(t, h.db, h.fake)
}

// TestWebhookWithoutMailboxIsReread: a convo.* body with no mailboxId was
// stored as mailbox 0 (and /metrics showed helpscout_conversations for
// mailbox "0"). It is not applied; the conversation is read from Help
// Scout instead, which also brings the change the event announced.
func TestWebhookWithoutMailboxIsReread(t *testing.T) {
	h := newHookEnv(t, 40)
	c, d := h.assignedEvent(t)
	h.store(t, edited(t, d, func(b map[string]any) { delete(b, "mailboxId") }))
	h.process(t)
	h.wantAsHelpScoutServes(t, c.ID, "after a body without a mailbox")
}

// TestWebhookDatedAheadIsReread: a body dated 2099 (inside ParseWebhook's
// plausible years) was stored, and its version then outranked every poll.
// It is not applied; Help Scout's answer is.
func TestWebhookDatedAheadIsReread(t *testing.T) {
	h := newHookEnv(t, 40)
	c, d := h.assignedEvent(t)
	h.store(t, edited(t, d, func(b map[string]any) {
		b["userUpdatedAt"] = "2099-01-01T00:00:00Z"
		b["status"] = "closed"
	}))
	h.process(t)
	h.wantAsHelpScoutServes(t, c.ID, "after a body dated 2099")

	// Help Scout then closes it: the poll brings that in.
	h.clock.Advance(time.Minute)
	if err := h.fake.SetStatus(c.ID, 0, helpscouttest.StatusClosed, time.Time{}); err != nil {
		t.Fatal(err)
	}
	syncOnce(t, h.m)
	h.wantAsHelpScoutServes(t, c.ID, "after Help Scout closed it")
}

// TestWebhookOfUnlistedMailboxIsReread: with every mailbox mirrored
// (QW_MAILBOXES empty), a body naming a mailbox the directory does not list
// was stored in it. Such a body is re-read, as one of a mailbox outside
// QW_MAILBOXES is; so is one of a conversation the store does not hold
// (TestDoubtedBodyOfAConversationNotHeldIsRead), which is not stored when
// Help Scout does not serve it.
func TestWebhookOfUnlistedMailboxIsReread(t *testing.T) {
	h := newHookEnv(t, 40)
	c, d := h.assignedEvent(t)
	const unlisted = 987654
	h.store(t, edited(t, d, func(b map[string]any) { b["mailboxId"] = unlisted }))
	h.process(t)
	h.wantAsHelpScoutServes(t, c.ID, "after a body naming an unlisted mailbox")

	h.log.reset()
	h.store(t, edited(t, d, func(b map[string]any) {
		b["id"], b["number"], b["mailboxId"] = 99999999, 99999999, unlisted
	}))
	h.process(t)
	if n := h.conversationReads(99999999); n != 1 {
		t.Errorf("a body of an unknown conversation in an unlisted mailbox cost %d reads, want 1", n)
	}
	if _, _, err := h.db.Conversation(context.Background(), 99999999); err == nil {
		t.Error("a body of an unknown conversation in an unlisted mailbox was stored")
	}
}

// TestHelpScoutReplacesAWebhooksRow: a body dated a minute ahead of Help
// Scout (inside the clock skew allowed) with a status and thread count Help
// Scout never served is applied, as a hint. Help Scout's own answer, older
// by version, replaces it: the read by id (Refresh), and the poll once
// Help Scout changes the conversation. Before, both lost to the hint's
// version, and the mirror kept the body's state until the conversation
// changed in Help Scout after the body's date.
func TestHelpScoutReplacesAWebhooksRow(t *testing.T) {
	h := newHookEnv(t, 40)
	ctx := context.Background()
	c, d := h.assignedEvent(t)
	ahead := func(d helpscouttest.WebhookDelivery) helpscouttest.WebhookDelivery {
		return edited(t, d, func(b map[string]any) {
			b["userUpdatedAt"] = h.clock.Now().Add(time.Minute).UTC().Format(time.RFC3339)
			b["status"] = "pending"
			b["threads"] = 1
		})
	}
	h.store(t, ahead(d))
	h.process(t)
	if got, _ := h.stored(t, c.ID); got.Status != "pending" || !got.FromWebhook {
		t.Fatalf("the hint was not applied: status %s, from webhook %v", got.Status, got.FromWebhook)
	}
	if err := h.m.Refresh(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	h.wantAsHelpScoutServes(t, c.ID, "after the read by id")

	// Again, then a change in Help Scout, older than the hint, for the poll.
	h.insertRaw(t, ahead(d))
	h.process(t)
	if got, _ := h.stored(t, c.ID); got.Status != "pending" {
		t.Fatalf("the second hint was not applied: status %s", got.Status)
	}
	h.clock.Advance(10 * time.Second) // still before the hint's date
	if err := h.fake.SetStatus(c.ID, 0, helpscouttest.StatusClosed, time.Time{}); err != nil {
		t.Fatal(err)
	}
	h.deliveries(t) // its convo.status is not fed: the poll and the reconcile must do
	syncOnce(t, h.m)
	// A listing page older than the hint does not overrule it (it may
	// have been served before the change the webhook told of); the row
	// stays marked, and the hourly reconcile reads it by id.
	if got, _ := h.stored(t, c.ID); got.Status != "pending" || !got.FromWebhook {
		t.Errorf("after the poll: status %s, from webhook %v; want the hint's row, pending, still marked", got.Status, got.FromWebhook)
	}
	h.clock.Advance(time.Hour + time.Minute)
	syncOnce(t, h.m)
	h.wantAsHelpScoutServes(t, c.ID, "after the hourly reconcile")
}

// TestDeletedEventIsConfirmed: a signed {"id": X} convo.deleted removed a
// conversation Help Scout still serves, and nothing brought it back until
// it changed in Help Scout. The event is now a hint too: the conversation
// is read by id, kept (and refreshed) while Help Scout serves it, removed
// on Help Scout's 404 (TestProcessInboxDeletion), and one the store does
// not hold costs no request.
func TestDeletedEventIsConfirmed(t *testing.T) {
	h := newHookEnv(t, 40)
	c, _ := h.assignedEvent(t) // the change is not fed: the re-read brings it
	h.log.reset()
	h.store(t, helpscouttest.WebhookDelivery{Event: helpscouttest.EventConvoDeleted, Body: fmt.Appendf(nil, `{"id": %d}`, c.ID)})
	h.process(t)
	if _, _, err := h.db.Conversation(context.Background(), c.ID); err != nil {
		t.Fatalf("conversation %d, still served by Help Scout, after a convo.deleted: %v", c.ID, err)
	}
	h.wantAsHelpScoutServes(t, c.ID, "after a convo.deleted Help Scout does not confirm")
	if n := h.conversationReads(c.ID); n != 1 {
		t.Errorf("confirming the deletion cost %d reads of the conversation, want 1", n)
	}

	h.log.reset()
	h.store(t, helpscouttest.WebhookDelivery{Event: helpscouttest.EventConvoDeleted, Body: []byte(`{"id": 99999999}`)})
	h.process(t)
	if n := h.conversationReads(99999999); n != 0 {
		t.Errorf("a convo.deleted of a conversation not stored cost %d reads, want 0", n)
	}
}

// TestWebhookWithinTheSkewIsApplied keeps the clock check from refusing
// Help Scout's own events: one dated up to a few minutes ahead of the
// mirror's clock (the two clocks disagree) is applied from its body,
// without a re-read.
func TestWebhookWithinTheSkewIsApplied(t *testing.T) {
	h := newHookEnv(t, 40)
	c, d := h.assignedEvent(t)
	want := h.clock.Now().Add(4 * time.Minute).UTC().Truncate(time.Second)
	h.log.reset()
	h.store(t, edited(t, d, func(b map[string]any) { b["userUpdatedAt"] = want.Format(time.RFC3339) }))
	h.process(t)
	got, _ := h.stored(t, c.ID)
	if !got.UserUpdatedAt.Equal(want) || !got.FromWebhook {
		t.Errorf("a body 4 minutes ahead: stored user updated %v, from webhook %v; want %v, true", got.UserUpdatedAt, got.FromWebhook, want)
	}
	for _, u := range h.log.URLs() {
		if u.Path == fmt.Sprintf("/v2/conversations/%d", c.ID) {
			t.Errorf("a body within the skew was re-read: %s", u)
		}
	}
}

// TestReconcileRereadsWhatOnlyAWebhookSaid: a body within the clock skew,
// about a conversation that has not changed since the last poll, is
// applied as a hint, and the poll, which lists only what changed, never
// replaces it: here it names another assignee, which the open set's
// comparison (ids only) cannot see. The hourly reconcile reads each row
// still held from a webhook from Help Scout.
func TestReconcileRereadsWhatOnlyAWebhookSaid(t *testing.T) {
	h := newHookEnv(t, 40)
	c, d := h.assignedEvent(t)
	syncOnce(t, h.m) // the poll brings the assignment in
	h.clock.Advance(30 * time.Minute)
	syncOnce(t, h.m) // and its overlap now starts after it
	other := h.acct.Agents[6]
	h.insertRaw(t, edited(t, d, func(b map[string]any) {
		b["userUpdatedAt"] = h.clock.Now().Add(time.Minute).UTC().Format(time.RFC3339)
		b["assignee"] = map[string]any{"id": other, "type": "user"}
	}))
	h.process(t)
	syncOnce(t, h.m)
	if got, _ := h.stored(t, c.ID); got.AssigneeID != other || !got.FromWebhook {
		t.Fatalf("after the hint and a poll: assignee %d, from webhook %v; want %d, true (the poll does not list it)",
			got.AssigneeID, got.FromWebhook, other)
	}
	h.clock.Advance(time.Hour) // the reconcile comes due
	syncOnce(t, h.m)
	h.wantAsHelpScoutServes(t, c.ID, "after the reconcile")
}

// TestPollClearsTheHintsItConfirms: a webhook Help Scout sent as it is
// marks its row; the poll's listing of the same version confirms it and
// clears the mark. Without that, the hourly reconcile would re-read by id
// every conversation a webhook touched (hundreds in a busy account).
func TestPollClearsTheHintsItConfirms(t *testing.T) {
	h := newHookEnv(t, 40)
	c, d := h.assignedEvent(t)
	h.store(t, d)
	h.process(t)
	if got, _ := h.stored(t, c.ID); !got.FromWebhook {
		t.Fatal("the webhook's row is not marked as a hint")
	}
	syncOnce(t, h.m)
	if got, _ := h.stored(t, c.ID); got.FromWebhook {
		t.Error("the poll listed the conversation at the webhook's version and left it marked: the reconcile would re-read it every hour")
	}
	h.wantAsHelpScoutServes(t, c.ID, "after the poll")
}
