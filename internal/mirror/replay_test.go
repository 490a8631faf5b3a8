package mirror_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// insertRaw stores a delivery as the store's InsertWebhook does, without
// AddWebhook's replay check: what arrives once the replay window has
// passed, or a stream of distinct captured bodies.
func (h *hookEnv) insertRaw(t *testing.T, d helpscouttest.WebhookDelivery) int64 {
	t.Helper()
	id, err := h.db.InsertWebhook(context.Background(), store.WebhookEvent{Event: d.Event, Body: d.Body, SignatureOK: true})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// doubtful makes a conversation whose next event cannot be trusted on its
// own, as in TestWebhooksOutOfOrderKeepPin: a note and a tag change in one
// second, the tags' event applied first. It returns the note's event: the
// stored version, but the tag set from before.
func (h *hookEnv) doubtful(t *testing.T, id int64, tag string) helpscouttest.WebhookDelivery {
	t.Helper()
	if _, err := h.fake.AddNote(id, helpscouttest.ThreadInput{Body: "looking"}); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.SetTags(id, []string{tag}, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveriesWant(t, 2, "the note's and the tags'")
	h.store(t, ds[1])
	h.process(t)
	return ds[0]
}

// conversationReads counts GET /v2/conversations/{id} and thread listings
// of one conversation.
func (e *env) conversationReads(id int64) int {
	n := 0
	prefix := "/v2/conversations/" + strconv.FormatInt(id, 10)
	for _, u := range e.log.URLs() {
		if u.Path == prefix || strings.HasPrefix(u.Path, prefix+"/") {
			n++
		}
	}
	return n
}

// TestReplaysCostNothing is issue 17 row 5 at the mirror: 200 replays of a
// captured convo.tags body cost about 400 Help Scout calls and emptied the
// budget. A body older than the stored conversation is dropped without a
// call; a doubtful one (the stored version with another tag set) costs one
// re-read however often it comes. The replays are inserted raw, as distinct
// deliveries would be, so that this holds beyond the store's replay window.
func TestReplaysCostNothing(t *testing.T) {
	h := newHookEnv(t, 40)
	c := h.firstWith(t, helpscouttest.StatusActive)

	t.Run("stale body", func(t *testing.T) {
		h.clock.Advance(time.Minute)
		if err := h.fake.SetTags(c.ID, []string{"vip"}, time.Time{}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Minute)
		if _, err := h.fake.AddCustomerThread(c.ID, helpscouttest.ThreadInput{Body: "any news?"}); err != nil {
			t.Fatal(err)
		}
		ds := h.deliveries(t)
		for _, d := range ds {
			h.store(t, d)
		}
		h.process(t)
		captured := ds[0] // the tag change, now older than the stored copy
		if captured.Event != helpscouttest.EventConvoTags {
			t.Fatalf("first delivery is %s, want convo.tags", captured.Event)
		}
		h.log.reset()
		for range 200 {
			h.insertRaw(t, captured)
		}
		if n := h.process(t); n != 200 {
			t.Errorf("processed %d replays, want 200 (acknowledged as done)", n)
		}
		if urls := h.log.URLs(); len(urls) != 0 {
			t.Errorf("200 stale replays cost %d Help Scout calls, want 0: %v ...", len(urls), urls[0])
		}
		assertMirrorEqual(t, h.db, h.fake)
	})

	t.Run("doubtful body", func(t *testing.T) {
		h.clock.Advance(time.Minute)
		note := h.doubtful(t, c.ID, "qw-pin")
		h.log.reset()
		for range 200 {
			h.insertRaw(t, note)
		}
		h.process(t)
		if n := h.conversationReads(c.ID); n != 1 {
			t.Errorf("200 doubtful replays re-read the conversation %d times, want 1", n)
		}
		got, _ := h.stored(t, c.ID)
		if len(got.Tags) != 1 || got.Tags[0] != "qw-pin" {
			t.Errorf("tags = %v, want [qw-pin]", got.Tags)
		}
	})
}

// TestFreshEventsNeverWaitBehindRereads: conversations queued for re-reads
// are read one at a time after the inbox, and an event that arrives
// meanwhile is applied before the next re-read. Before, each re-read ran
// inline in inbox order, so a fresh event behind a burst of doubtful ones
// waited for all of their calls (row 5: applied 80 s late).
func TestFreshEventsNeverWaitBehindRereads(t *testing.T) {
	h := newHookEnv(t, 60)
	var doubted []helpscouttest.WebhookDelivery
	var ids []int64
	for _, c := range h.fake.Conversations() {
		if c.Status == helpscouttest.StatusActive && c.Type == "email" && len(ids) < 6 {
			ids = append(ids, c.ID)
		}
	}
	h.clock.Advance(time.Minute)
	for _, id := range ids[:5] {
		doubted = append(doubted, h.doubtful(t, id, "escalate"))
	}
	fresh, later := ids[5], h.firstWith(t, helpscouttest.StatusPending).ID

	// A burst of doubtful events, then a fresh one behind it.
	h.clock.Advance(time.Minute)
	for _, d := range doubted {
		h.insertRaw(t, d)
	}
	if err := h.fake.SetStatus(fresh, 0, helpscouttest.StatusPending, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := h.fake.SetStatus(later, 0, helpscouttest.StatusActive, time.Time{}); err != nil {
		t.Fatal(err)
	}
	ds := h.deliveriesWant(t, 2, "two status changes")
	h.store(t, ds[0])

	status := func(id int64) string {
		c, _, err := h.db.Conversation(context.Background(), id)
		if err != nil {
			return err.Error()
		}
		return c.Status
	}
	var mu sync.Mutex
	var rereads []string // the two statuses, as seen at each re-read
	h.log.setBefore(func(r *http.Request) {
		if r.Method != http.MethodGet || !isConversationGet(r.URL.Path) {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		rereads = append(rereads, status(fresh)+","+status(later))
		if len(rereads) == 1 {
			// Arrives while the re-reads run.
			if _, _, err := h.db.AddWebhook(context.Background(), ds[1].Event, ds[1].Body, h.clock.Now()); err != nil {
				t.Error(err)
			}
		}
	})
	h.process(t)
	h.log.setBefore(nil)

	if len(rereads) != len(doubted) {
		t.Fatalf("%d re-reads, want %d (one per doubted conversation): %v", len(rereads), len(doubted), rereads)
	}
	if rereads[0] != "pending,pending" {
		t.Errorf("at the first re-read the statuses were %s, want the fresh event applied before any re-read (pending,pending)", rereads[0])
	}
	if rereads[1] != "pending,active" {
		t.Errorf("at the second re-read the statuses were %s, want the event that arrived meanwhile applied (pending,active)", rereads[1])
	}
	assertMirrorEqual(t, h.db, h.fake)
}

func isConversationGet(path string) bool {
	rest, ok := strings.CutPrefix(path, "/v2/conversations/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}
