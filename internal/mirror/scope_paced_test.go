package mirror_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
)

// pagedListings counts the listings of mailbox (every page, from the
// beginning or from a cursor) since the log was reset.
func pagedListings(e *env, mailbox int64) int {
	n := 0
	for _, u := range e.log.URLs() {
		if u.Path == "/v2/conversations" && u.Query().Get("mailbox") == strconv.FormatInt(mailbox, 10) {
			n++
		}
	}
	return n
}

// TestMidRunWalkOfAListedMailboxYieldsToThePoll: with every mailbox
// mirrored, a mailbox the directory lists only once the daemon runs is
// walked a bounded number of pages per sync (Options.WalkPagesPerSync),
// the poll running after each slice; before, one sync walked its whole
// history under the mirror's lock, no mailbox polled and no webhook
// applied for as long as it took (over an hour for 100,000
// conversations) while the daemon said ready. The walk resumes from its
// cursor at each sync, from the beginning once only, the webhook inbox is
// applied between two of its syncs, it is said once in the log, and it is
// recorded walked only after its last page.
func TestMidRunWalkOfAListedMailboxYieldsToThePoll(t *testing.T) {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(sink.Close)
	e := newEnv(t, helpscouttest.Options{Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret}},
		helpscouttest.GenerateConfig{Seed: 23, Conversations: 80, Mailboxes: 2})
	ctx := context.Background()
	a, b := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	var log bytes.Buffer
	const perSync = 2
	m := e.mirror(mirror.Options{WalkPagesPerSync: perSync, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	h := &hookEnv{env: e, m: m}
	syncOnce(t, m)

	const pages = 5
	c := addOldMailbox(t, e, pages*helpscouttest.ConversationPageSize)
	h.deliveries(t) // the creations' own: the inbox takes only what follows

	// A change in mailbox a while c's walk is to come: the poll of the
	// sync that walks c must read it.
	var inA helpscouttest.Conversation
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID == a {
			inA = cv
			break
		}
	}
	e.clock.Advance(16 * time.Minute) // the directory is due: it lists c
	if err := e.fake.SetSubject(inA.ID, "changed while c waits to be walked", time.Time{}); err != nil {
		t.Fatal(err)
	}
	e.log.reset()
	log.Reset()
	syncOnce(t, m)
	if got := pagedListings(e, c); got > perSync {
		t.Errorf("the sync that found mailbox %d read %d pages of it; want at most %d before the poll", c, got, perSync)
	}
	got, _ := h.stored(t, inA.ID)
	if got.Subject != "changed while c waits to be walked" {
		t.Errorf("conversation %d of mailbox %d after the sync that found mailbox %d: subject %q; the poll did not run after the walk's slice",
			inA.ID, a, c, got.Subject)
	}
	walked, err := e.db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := walked[c]; ok {
		t.Fatalf("mailbox %d recorded walked (finished: %v) after one sync of at most %d of its %d pages", c, walked[c], perSync, pages)
	}
	if ok, why := m.Ready(); !ok {
		t.Errorf("not ready while mailbox %d is walked mid-run: %s", c, why)
	}

	// A webhook between two syncs of the walk is applied.
	var inB helpscouttest.Conversation
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID == b && cv.AssigneeID != 0 && cv.Status != helpscouttest.StatusClosed {
			inB = cv
			break
		}
	}
	if inB.ID == 0 {
		t.Fatalf("no assigned open conversation in mailbox %d", b)
	}
	e.clock.Advance(time.Minute)
	if err := e.fake.Assign(inB.ID, 0, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}
	for _, d := range h.deliveriesWant(t, 1, "the unassignment") {
		h.store(t, d)
	}
	if n := h.process(t); n != 1 {
		t.Errorf("ProcessInbox between two syncs of the walk completed %d events; want 1", n)
	}
	if got, _ := h.stored(t, inB.ID); got.AssigneeID != 0 {
		t.Errorf("conversation %d unassigned by a webhook between two syncs of the walk: stored assignee %d, want none", inB.ID, got.AssigneeID)
	}
	if walked, err = e.db.Walked(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := walked[c]; ok {
		t.Fatalf("mailbox %d recorded walked before the webhook's test could run between its syncs", c)
	}

	syncs := 1
	for ; syncs < 2*pages; syncs++ {
		if walked, err = e.db.Walked(ctx); err != nil {
			t.Fatal(err)
		}
		if walked[c] {
			break
		}
		e.clock.Advance(2 * time.Minute)
		syncOnce(t, m)
	}
	if !walked[c] {
		t.Fatalf("mailbox %d not recorded walked after %d syncs of at most %d pages", c, syncs, perSync)
	}
	if syncs < (pages+perSync-1)/perSync {
		t.Errorf("mailbox %d's %d pages walked in %d syncs of at most %d pages", c, pages, syncs, perSync)
	}
	if got := fullWalks(e); len(got) != 1 || got[0] != strconv.FormatInt(c, 10) {
		t.Errorf("listings from the beginning over the walk's %d syncs: %q; want mailbox %d's, once", syncs, got, c)
	}
	assertMirrorEqual(t, e.db, e.fake)
	if n := strings.Count(log.String(), "walking their whole history"); n != 1 {
		t.Errorf("the log announced the walk %d times over its %d syncs; want once:\n%s", n, syncs, log.String())
	}
	if !strings.Contains(log.String(), "walk of newly visible mailbox paused for the poll") {
		t.Errorf("no progress line while the walk was paced:\n%s", log.String())
	}
	if !strings.Contains(log.String(), "newly visible mailbox mirrored") {
		t.Errorf("the end of the walk is not logged:\n%s", log.String())
	}
	if strings.Contains(log.String(), "added mailbox") {
		t.Errorf("the walk of a mailbox newly visible to the API user is logged as one added to QW_MAILBOXES:\n%s", log.String())
	}
}

// TestWalkBeforeTheFirstSyncIsNotPaced: a mailbox listed that no walk has
// read, found by a restart's first sync, is walked to its end in that
// sync, as before: the daemon is not ready until then, and pacing would
// only keep it unready longer.
func TestWalkBeforeTheFirstSyncIsNotPaced(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	ctx := context.Background()
	syncOnce(t, e.mirror(mirror.Options{}))
	c := addOldMailbox(t, e, 5*helpscouttest.ConversationPageSize)
	e.clock.Advance(time.Minute)
	syncOnce(t, e.mirror(mirror.Options{WalkPagesPerSync: 2}))
	walked, err := e.db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !walked[c] {
		t.Errorf("mailbox %d found by a restart's first sync: Walked() = %v, want it walked in that sync", c, walked)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestPausedWalkKeepsAShiftBeforeThePause: conversations deleted behind a
// paced walk, within the slice it reads in one sync, slide the first of
// the next page onto a page already read. The walk sees the listing
// shrink, and the pause leaves its cursor at the shift, as a failed walk
// does, so the next sync reads them; with a cursor past them (and an
// overlap too short to reach back), they would never be mirrored.
func TestPausedWalkKeepsAShiftBeforeThePause(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{WalkPagesPerSync: 2, Overlap: time.Second})
	syncOnce(t, m)
	c := addOldMailbox(t, e, 5*helpscouttest.ConversationPageSize)
	var inC []helpscouttest.Conversation
	for _, cv := range walkOrder(e.fake) {
		if cv.MailboxID == c {
			inC = append(inC, cv)
		}
	}
	cs := strconv.FormatInt(c, 10)
	listed := 0
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Path != "/v2/conversations" || r.URL.Query().Get("mailbox") != cs {
			return
		}
		if listed++; listed == 2 {
			// Before the slice's second page: two of the first page go.
			for _, i := range []int{3, 10} {
				if err := e.fake.Delete(inC[i].ID); err != nil {
					t.Error(err)
				}
			}
		}
	})
	e.clock.Advance(16 * time.Minute)
	for range 6 {
		syncOnce(t, m)
		e.clock.Advance(2 * time.Minute)
	}
	e.log.setBefore(nil)
	walked, err := e.db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !walked[c] {
		t.Fatalf("mailbox %d not walked after 6 syncs of 2 pages: Walked() = %v", c, walked)
	}
	// Those deleted after the walk read them stay stored: removing them
	// is the reconcile's part, not the walk's.
	held, served := mailboxRows(t, e, c)
	have := map[int64]bool{}
	for _, r := range held {
		have[r.ID] = true
	}
	for i, r := range served {
		if !have[r.ID] {
			t.Errorf("conversation %d of mailbox %d (#%d of its walk) never mirrored", r.ID, c, i)
		}
	}
}
