package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// newLoggedHookEnv is newHookEnv with the mirror's log kept in log.
func newLoggedHookEnv(t *testing.T, conversations int, log *testkit.LogBuffer) *hookEnv {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(sink.Close)
	e := newEnv(t, helpscouttest.Options{
		Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret},
	}, helpscouttest.GenerateConfig{Seed: 17, Conversations: conversations})
	h := &hookEnv{env: e, m: e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(log, nil))})}
	syncOnce(t, h.m)
	return h
}

// answerConversation has every read of conversation id answered with
// status and body, in the fake's stead.
func answerConversation(e *env, id int64, status int, body string) {
	path := "/v2/conversations/" + strconv.FormatInt(id, 10)
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		if status >= 300 {
			w.Header().Set("Content-Type", "application/vnd.error+json")
		} else {
			w.Header().Set("Content-Type", "application/hal+json")
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
		return true
	})
}

// TestReconcileGoesOnPastAConversationItCannotRead: the hourly reconcile
// ended at the first conversation it could not read, so every one after
// it, a conversation deleted without a webhook and a row still held from
// a webhook among them, waited another hour, for ever if that one never
// answered. A failure of that conversation alone (a 4xx on its id, a
// body that does not decode) is passed over and said once at the end; a
// failure that says Help Scout itself is failing (a 503) still ends the
// reconcile at once, since every later read would fail too.
func TestReconcileGoesOnPastAConversationItCannotRead(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		goesOn bool
	}{
		{"a 4xx on its id", http.StatusUnprocessableEntity, `{"logRef":"5f0c1c2e","message":"Unprocessable"}`, true},
		{"a body that does not decode", http.StatusOK, `{"id": "not a number"}`, true},
		{"Help Scout failing", http.StatusServiceUnavailable, `{"message":"Service Unavailable"}`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log testkit.LogBuffer
			h := newLoggedHookEnv(t, 40, &log)
			ctx := context.Background()
			var active []helpscouttest.Conversation
			for _, c := range h.fake.Conversations() {
				if c.Status == helpscouttest.StatusActive && c.Type == "email" && c.AssigneeID != 0 {
					active = append(active, c)
				}
			}
			slices.SortFunc(active, func(a, b helpscouttest.Conversation) int { return int(a.ID - b.ID) })
			if len(active) < 3 {
				t.Fatalf("%d assigned active conversations; the test needs 3", len(active))
			}
			// The reconcile reads them in order of id: broken first.
			broken, deleted, hinted := active[0], active[1], active[2]

			// hinted: a body within the clock skew naming another assignee,
			// applied as a hint the poll does not replace (as in
			// TestReconcileRereadsWhatOnlyAWebhookSaid).
			h.clock.Advance(time.Minute)
			to := h.acct.Agents[3]
			if hinted.AssigneeID == to {
				to = h.acct.Agents[4]
			}
			if err := h.fake.Assign(hinted.ID, 0, to, time.Time{}); err != nil {
				t.Fatal(err)
			}
			d := h.deliveriesWant(t, 1, "one convo.assigned")[0]
			syncOnce(t, h.m)
			h.clock.Advance(30 * time.Minute)
			syncOnce(t, h.m)
			other := h.acct.Agents[6]
			h.insertRaw(t, edited(t, d, func(b map[string]any) {
				b["userUpdatedAt"] = h.clock.Now().Add(time.Minute).UTC().Format(time.RFC3339)
				b["assignee"] = map[string]any{"id": other, "type": "user"}
			}))
			h.process(t)
			if got, _ := h.stored(t, hinted.ID); got.AssigneeID != other || !got.FromWebhook {
				t.Fatalf("the hint on %d was not applied: assignee %d, from webhook %v", hinted.ID, got.AssigneeID, got.FromWebhook)
			}

			// broken and deleted leave the listings (no webhook says so),
			// so that the reconcile asks for each; broken is answered
			// badly.
			for _, id := range []int64{broken.ID, deleted.ID} {
				if err := h.fake.Delete(id); err != nil {
					t.Fatal(err)
				}
			}
			h.deliveries(t)
			answerConversation(h.env, broken.ID, tc.status, tc.body)

			h.clock.Advance(time.Hour) // the reconcile comes due
			h.log.reset()
			_, err := h.m.SyncOnce(ctx)
			_, _, heldErr := h.db.Conversation(ctx, broken.ID)
			if heldErr != nil {
				t.Errorf("conversation %d, which Help Scout did not answer, is no longer stored: %v", broken.ID, heldErr)
			}
			if !tc.goesOn {
				if err == nil {
					t.Fatal("the reconcile meeting a 503 did not fail the sync")
				}
				for _, id := range []int64{deleted.ID, hinted.ID} {
					if n := h.conversationReads(id); n != 0 {
						t.Errorf("the reconcile went on past a 503 to read conversation %d (%d reads); want it ended at once", id, n)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("the reconcile failed the sync on conversation %d alone: %v", broken.ID, err)
			}
			if _, _, err := h.db.Conversation(ctx, deleted.ID); err == nil {
				t.Errorf("conversation %d, deleted in Help Scout, is still stored: the reconcile stopped at %d", deleted.ID, broken.ID)
			}
			h.wantStoredAsServed(t, hinted.ID, "after the reconcile")
			logged := log.String()
			if !strings.Contains(logged, "level=WARN") || !strings.Contains(logged, strconv.FormatInt(broken.ID, 10)) ||
				!strings.Contains(logged, "count=1") {
				t.Errorf("the log does not say, at WARN, with a count, that conversation %d was passed over:\n%s", broken.ID, logged)
			}

			// Done for the hour: the next poll does not reconcile again.
			h.clock.Advance(2 * time.Minute)
			h.log.reset()
			syncOnce(t, h.m)
			if n := h.conversationReads(broken.ID); n != 0 {
				t.Errorf("the poll after the reconcile read conversation %d again (%d reads); want it left for the next reconcile", broken.ID, n)
			}
		})
	}
}

// wantStoredAsServed ends the test unless the stored conversation id is
// what Help Scout serves (mailbox, status, version, assignee), not a
// hint's.
func (h *hookEnv) wantStoredAsServed(t *testing.T, id int64, what string) {
	t.Helper()
	got, _ := h.stored(t, id)
	want, ok := h.fake.Conversation(id)
	if !ok {
		t.Fatalf("conversation %d is not in the fake", id)
	}
	if got.MailboxID != want.MailboxID || got.Status != want.Status || got.AssigneeID != want.AssigneeID ||
		!got.UserUpdatedAt.Equal(want.UserUpdatedAt) || got.FromWebhook {
		t.Errorf("%s: conversation %d stored in mailbox %d, status %s, assignee %d, user updated %v, from webhook %v; "+
			"Help Scout serves mailbox %d, %s, %d, %v", what, id, got.MailboxID, got.Status, got.AssigneeID, got.UserUpdatedAt,
			got.FromWebhook, want.MailboxID, want.Status, want.AssigneeID, want.UserUpdatedAt)
	}
}

// TestReconcileGoesOnPastAMailboxRefused: a 403 on a conversation of a
// mailbox the directory lists may be the mailbox taken from the API
// user, and dropGone asks the directory (TestConversationRefusedIn-
// AListedMailboxStaysAnError); but the reconcile ended there, and the
// other mailboxes' conversations after it waited another hour. The rest
// of the refused mailbox's conversations are passed over without a
// request (a mailbox gone would refuse each alike), the other mailbox's
// are reconciled, and the sync fails with the refusal, naming the
// mailbox.
func TestReconcileGoesOnPastAMailboxRefused(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	byMailbox := map[int64][]int64{}
	for _, c := range e.fake.Conversations() {
		if c.Status == helpscouttest.StatusActive {
			byMailbox[c.MailboxID] = append(byMailbox[c.MailboxID], c.ID)
		}
	}
	for _, ids := range byMailbox {
		slices.Sort(ids)
	}
	if len(byMailbox[a]) < 2 || len(byMailbox[b]) < 1 {
		t.Fatalf("active conversations by mailbox: %v; the test needs 2 in %d and 1 in %d", byMailbox, a, b)
	}
	// The reconcile reads in order of id: the refused one first.
	refused, inA := byMailbox[a][0], byMailbox[a][1]
	var inB int64
	for _, id := range byMailbox[b] {
		if id > refused {
			inB = id
			break
		}
	}
	if inB == 0 {
		t.Fatalf("no active conversation of mailbox %d after %d", b, refused)
	}
	// Gone from the listings without a webhook, so that the reconcile
	// asks for each; the first is refused.
	for _, id := range []int64{refused, inA, inB} {
		if err := e.fake.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	refuseConversation(e, refused)
	e.clock.Advance(11 * time.Minute)
	e.log.reset()
	_, err := m.SyncOnce(ctx)
	if !errors.Is(err, helpscout.ErrForbidden) || !strings.Contains(err.Error(), strconv.FormatInt(a, 10)) {
		t.Errorf("the reconcile meeting a 403 on conversation %d of listed mailbox %d: %v; want the 403, naming the mailbox", refused, a, err)
	}
	if _, _, err := e.db.Conversation(ctx, inB); err == nil {
		t.Errorf("conversation %d of mailbox %d, deleted in Help Scout, is still stored: the reconcile stopped at mailbox %d's refusal", inB, b, a)
	}
	if n := e.conversationReads(inA); n != 0 {
		t.Errorf("the reconcile read conversation %d of the refused mailbox %d (%d reads); want it passed over", inA, a, n)
	}
	if _, _, err := e.db.Conversation(ctx, refused); err != nil {
		t.Errorf("conversation %d, refused in a listed mailbox, no longer stored: %v", refused, err)
	}
}

// conversationByID matches a read of one conversation by id.
var conversationByID = regexp.MustCompile(`^/v2/conversations/[0-9]+$`)

// TestReconcileEndsWhenEveryReadFails: a failure every read meets alike is
// no conversation's own. A 400 is Help Scout refusing our request as
// malformed (a parameter it no longer takes), and a proxy's page served as
// 200 decodes for none; conversationFault took both for the conversation's
// fault, so that each conversation the reconcile asked for was passed
// over, hour after hour, conversations deleted without a webhook stayed
// open, and the sync reported success. The 400 ends the reconcile at once
// (helpScoutFailing), the undecodable body after maxFaultsInARow
// conversations in a row (5), with no read served between.
func TestReconcileEndsWhenEveryReadFails(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		ctype    string
		body     string
		maxReads int
	}{
		{"a 400", http.StatusBadRequest, "application/vnd.error+json",
			`{"logRef":"ab12","message":"Bad Request","_embedded":{"errors":[{"path":"embed","message":"is not a valid value"}]}}`, 1},
		{"a page no body decodes", http.StatusOK, "text/html", `<html><body>Proxy sign-in</body></html>`, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var log testkit.LogBuffer
			h := newLoggedHookEnv(t, 40, &log)
			ctx := context.Background()
			var gone []int64
			for _, c := range h.fake.Conversations() {
				if c.Status == helpscouttest.StatusActive && len(gone) < 7 {
					gone = append(gone, c.ID)
				}
			}
			if len(gone) < 7 {
				t.Fatalf("%d active conversations; the test needs 7", len(gone))
			}
			for _, id := range gone {
				if err := h.fake.Delete(id); err != nil {
					t.Fatal(err)
				}
			}
			h.deliveries(t) // no webhook reaches the mirror: only the reconcile can find them
			h.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
				if !conversationByID.MatchString(r.URL.Path) {
					return false
				}
				w.Header().Set("Content-Type", tc.ctype)
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
				return true
			})
			for hour := 1; hour <= 2; hour++ {
				h.clock.Advance(time.Hour)
				h.log.reset()
				_, err := h.m.SyncOnce(ctx)
				reads := 0
				for _, id := range gone {
					reads += h.conversationReads(id)
				}
				if err == nil {
					t.Fatalf("hour %d: every read failed alike, and the sync reports success", hour)
				}
				if reads > tc.maxReads {
					t.Errorf("hour %d: %d reads of the deleted conversations; want the reconcile ended after %d", hour, reads, tc.maxReads)
				}
			}
		})
	}
}

// TestReconcileAsksOnceForAConversationPassedOver: a conversation passed
// over by the open set (deleted from the listings, its read answered 422)
// was met again by the deletion walk and read a second time in the same
// reconcile, only to fail again.
func TestReconcileAsksOnceForAConversationPassedOver(t *testing.T) {
	var log testkit.LogBuffer
	h := newLoggedHookEnv(t, 40, &log)
	var broken int64
	for _, c := range h.fake.Conversations() {
		if c.Status == helpscouttest.StatusActive {
			broken = c.ID
			break
		}
	}
	if err := h.fake.Delete(broken); err != nil { // gone from the listings: the reconcile asks for it
		t.Fatal(err)
	}
	h.deliveries(t)
	answerConversation(h.env, broken, http.StatusUnprocessableEntity, `{"logRef":"x","message":"Unprocessable"}`)
	h.clock.Advance(time.Hour)
	h.log.reset()
	if _, err := h.m.SyncOnce(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
	if n := h.conversationReads(broken); n != 1 {
		t.Errorf("conversation %d, passed over, read %d times in one reconcile; want 1", broken, n)
	}
	if !strings.Contains(log.String(), "passed over") {
		t.Errorf("no WARN names the conversation passed over; log:\n%s", log.String())
	}
}

// TestReconcileRunsOnceWithTwoMailboxesRefused: the reconcile goes on
// past a held conversation refused (403) in a listed mailbox and joins
// the refusals, one per mailbox. dropGone records the first; refusedOf
// asked for a rerun when the error named another refused mailbox not
// recorded (othersRefusedWith, meant for the poll's listing of several),
// so that with two mailboxes refused the whole reconcile ran again, its
// listings and the second mailbox's read again, to end in the same
// error. A refusal of one mailbox asks for no rerun.
func TestReconcileRunsOnceWithTwoMailboxesRefused(t *testing.T) {
	for _, both := range []bool{false, true} {
		t.Run(fmt.Sprintf("both=%v", both), func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
			syncOnce(t, m)
			first := map[int64]int64{}
			for _, c := range e.fake.Conversations() {
				if c.Status == helpscouttest.StatusActive && first[c.MailboxID] == 0 {
					first[c.MailboxID] = c.ID
				}
			}
			refused := []int64{first[a]}
			if both {
				refused = append(refused, first[b])
			}
			paths := map[string]bool{}
			for _, id := range refused {
				if err := e.fake.Delete(id); err != nil { // gone from the listing: the reconcile asks for it
					t.Fatal(err)
				}
				paths["/v2/conversations/"+strconv.FormatInt(id, 10)] = true
			}
			e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
				if !paths[r.URL.Path] {
					return false
				}
				w.Header().Set("Content-Type", "application/vnd.error+json")
				w.WriteHeader(http.StatusForbidden)
				fmt.Fprint(w, `{"logRef":"x","message":"Access denied"}`)
				return true
			})
			e.clock.Advance(11 * time.Minute)
			e.log.reset()
			_, err := m.SyncOnce(ctx)
			if err == nil {
				t.Fatal("the sync succeeded with held conversations refused in listed mailboxes")
			}
			for _, id := range refused {
				if !strings.Contains(err.Error(), strconv.FormatInt(id, 10)) {
					t.Errorf("the sync's error does not name refused conversation %d: %v", id, err)
				}
				if n := e.conversationReads(id); n != 1 {
					t.Errorf("conversation %d read %d times in one reconcile; want 1 (the reconcile ran again)", id, n)
				}
			}
		})
	}
}
