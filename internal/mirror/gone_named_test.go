package mirror_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// firstIn returns the first conversation the fake serves in mailbox for
// which keep is true (nil: any).
func firstIn(t *testing.T, e *env, mailbox int64, keep func(helpscouttest.Conversation) bool) helpscouttest.Conversation {
	t.Helper()
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID == mailbox && (keep == nil || keep(cv)) {
			return cv
		}
	}
	t.Fatalf("no conversation of mailbox %d to change", mailbox)
	return helpscouttest.Conversation{}
}

// refusedSyncs runs n syncs 2 minutes apart, each after a change to
// conversation inA, each of which must fail with want naming mailbox
// refused: 8 minutes for n = 4, past the poll's overlap (5 minutes), so
// that the shared cursor moves on past what changed before them.
func refusedSyncs(t *testing.T, e *env, m *mirror.Mirror, n int, inA, refused int64, want error) {
	t.Helper()
	for i := range n {
		if err := e.fake.SetSubject(inA, "changed while refused "+strconv.Itoa(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		_, err := m.SyncOnce(context.Background())
		if !errors.Is(err, want) || !strings.Contains(err.Error(), strconv.FormatInt(refused, 10)) {
			t.Fatalf("sync %d with mailbox %d refused: %v; want %v naming it", i+1, refused, err, want)
		}
	}
}

// subjectOf reads the stored subject of conversation id.
func subjectOf(t *testing.T, e *env, id int64) string {
	t.Helper()
	got, _, err := e.db.Conversation(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return got.Subject
}

// TestLeftOutMailboxOutlivesARestart: the cursor the poll is held back to
// for a named mailbox it leaves out (refused while listed) was held in
// memory only: after a restart, the poll that named the mailbox again read
// from the shared cursor, which the poll of the others had moved on, and
// what changed in it while it was left out was never read. It is stored
// now, read at the start, and removed once the mailbox is polled again;
// whether Help Scout serves the mailbox again at the restart or only after
// it (the new process leaving it out again in between).
func TestLeftOutMailboxOutlivesARestart(t *testing.T) {
	for _, later := range []bool{false, true} {
		t.Run(map[bool]string{false: "served again at the restart", true: "served again after the restart"}[later], func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			opts := mirror.Options{Mailboxes: []int64{a, b}}
			m := e.mirror(opts)
			syncOnce(t, m)
			inA, inB := firstIn(t, e, a, nil), firstIn(t, e, b, nil)
			refuseListings(e, b, http.StatusNotFound)
			e.clock.Advance(time.Minute)
			if err := e.fake.SetSubject(inB.ID, "changed while b is left out", time.Time{}); err != nil {
				t.Fatal(err)
			}
			refusedSyncs(t, e, m, 4, inA.ID, b, helpscout.ErrNotFound)

			m = e.mirror(opts) // the restart: a new process on the same file
			if later {
				refusedSyncs(t, e, m, 2, inA.ID, b, helpscout.ErrNotFound)
				e.log.setAnswer(nil)
				e.clock.Advance(16 * time.Minute) // the directory's refresh, which tries b again
			} else {
				e.log.setAnswer(nil)
				e.clock.Advance(2 * time.Minute)
			}
			syncOnce(t, m)
			if got := subjectOf(t, e, inB.ID); got != "changed while b is left out" {
				t.Errorf("conversation %d of mailbox %d, changed while it was left out, has subject %q once it is polled again after a restart", inB.ID, b, got)
			}
			if _, err := e.db.Cursor(ctx, mirror.LeftOutCursor(b)); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("the cursor held back for mailbox %d is still stored once it is polled again: %v", b, err)
			}
			assertMirrorEqual(t, e.db, e.fake)
		})
	}
}

// TestReconcileGoesOnWithoutARefusedNamedMailbox: while Help Scout refused
// named mailbox b (404 or 403) and the directory listed it, the hourly
// reconcile never ran: the sync stopped at the poll's error, and the
// reconcile failed whole on b besides. A conversation of a deleted
// without a webhook stayed in the open queue for as long. The reconcile
// of a runs now, asks for none of b's conversations on its own, and the
// sync still fails naming b; the next sync does not reconcile again.
func TestReconcileGoesOnWithoutARefusedNamedMailbox(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}, ReconcileEvery: 10 * time.Minute})
			syncOnce(t, m)
			open := func(cv helpscouttest.Conversation) bool { return cv.Status == "active" || cv.Status == "pending" }
			gone := firstIn(t, e, a, open)
			inA := firstIn(t, e, a, func(cv helpscouttest.Conversation) bool { return cv.ID != gone.ID })
			if err := e.fake.Delete(gone.ID); err != nil {
				t.Fatal(err)
			}
			heldB := heldIn(t, e, b)
			refuseListings(e, b, status)
			want := map[int]error{http.StatusNotFound: helpscout.ErrNotFound, http.StatusForbidden: helpscout.ErrForbidden}[status]
			refusedSyncs(t, e, m, 4, inA.ID, b, want) // 8 minutes
			e.clock.Advance(2 * time.Minute)          // the reconcile is due, the directory not yet
			e.fake.ResetStats()
			_, err := m.SyncOnce(ctx)
			if !errors.Is(err, want) || !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
				t.Errorf("the reconcile's sync with mailbox %d refused: %v; want %v naming it", b, err, want)
			}
			if _, _, err := e.db.Conversation(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("conversation %d of mailbox %d, deleted in Help Scout, is still held after the reconcile (%v): the reconcile did not run while %d is refused", gone.ID, a, err, b)
			}
			if n := e.fake.Stats().Requests[helpscouttest.RouteGetConversation]; n != 1 {
				t.Errorf("the reconcile read %d conversations on their own; want 1, the one deleted", n)
			}
			if n := heldIn(t, e, b); n != heldB {
				t.Errorf("mailbox %d held %d conversations before its refusal, %d after the reconcile", b, heldB, n)
			}
			e.clock.Advance(2 * time.Minute)
			e.log.reset()
			if _, err := m.SyncOnce(ctx); !errors.Is(err, want) {
				t.Errorf("the sync after the reconcile: %v; want %v", err, want)
			}
			if got := countRequests(e); got.listings != 1 {
				t.Errorf("the sync after the reconcile made %d conversation listings; want 1, the poll's", got.listings)
			}
		})
	}
}

// requestCounts counts the requests the mirror made since the request log
// was reset, those the test answered in the fake's stead (a refusal)
// included.
type requestCounts struct {
	listings  int // conversation listings, each page one
	mailboxes int // listings of the mailboxes: one per directory refresh
	all       int
}

func countRequests(e *env) requestCounts {
	var c requestCounts
	for _, u := range e.log.URLs() {
		c.all++
		switch u.Path {
		case "/v2/conversations":
			c.listings++
		case "/v2/mailboxes":
			c.mailboxes++
		}
	}
	return c
}

// refuseListingsOf answers every conversation listing that names one of
// mailboxes with status, as refuseListings does for one.
func refuseListingsOf(e *env, status int, mailboxes ...int64) {
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		for _, mb := range mailboxes {
			if names(r, mb) {
				w.Header().Set("Content-Type", "application/vnd.error+json")
				w.WriteHeader(status)
				_, _ = w.Write([]byte(`{"message":"Resource not found"}`))
				return true
			}
		}
		return false
	})
}

// threeNamed is an account of three mailboxes, all named by QW_MAILBOXES,
// synced once.
func threeNamed(t *testing.T) (e *env, m *mirror.Mirror, mbs []int64) {
	t.Helper()
	e = newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 29, Conversations: 120, Mailboxes: 3})
	mbs = e.acct.Mailboxes
	m = e.mirror(mirror.Options{Mailboxes: mbs})
	syncOnce(t, m)
	return e, m, mbs
}

// TestRefusedNamedMailboxRequests measures what a refusal of one of three
// named mailboxes costs: the first sync lists the three once (refused
// whole), refreshes the directory once, lists each mailbox on its own
// once to find the refused one, and polls the other two; each later sync
// is the poll's one listing; the directory's own refresh, 15 minutes on (the ninth sync),
// looks at the refused mailbox again on its own (one listing), and is
// not followed by a second refresh for the poll that named it again and
// was refused whole, as it was when the refresh forgot the refusal.
func TestRefusedNamedMailboxRequests(t *testing.T) {
	e, m, mbs := threeNamed(t)
	ctx := context.Background()
	a, b := mbs[0], mbs[1]
	inA := firstIn(t, e, a, nil)
	refuseListingsOf(e, http.StatusNotFound, b)
	type want struct{ listings, mailboxes int }
	for i, w := range []want{
		{listings: 1 + 3 + 1, mailboxes: 1}, // refused whole, each alone, the poll of the others
		{listings: 1},
		{listings: 1},
		{listings: 1},
		{listings: 1},
		{listings: 1},
		{listings: 1},
		{listings: 1},
		{listings: 1 + 1, mailboxes: 1}, // 15 minutes after the first: the directory's refresh, b alone, the poll
		{listings: 1},
	} {
		if err := e.fake.SetSubject(inA.ID, "sync "+strconv.Itoa(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		e.log.reset()
		_, err := m.SyncOnce(ctx)
		if !errors.Is(err, helpscout.ErrNotFound) || !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
			t.Errorf("sync %d: %v; want the 404 naming mailbox %d", i+1, err, b)
		}
		if i == 0 {
			t.Logf("sync 1's error: %v", err)
		}
		got := countRequests(e)
		t.Logf("sync %d with 1 of 3 named mailboxes refused: %d conversation listings, %d directory refreshes, %d requests in all", i+1, got.listings, got.mailboxes, got.all)
		if got.listings != w.listings || got.mailboxes != w.mailboxes {
			t.Errorf("sync %d: %d conversation listings and %d directory refreshes; want %d and %d", i+1, got.listings, got.mailboxes, w.listings, w.mailboxes)
		}
		if got := subjectOf(t, e, inA.ID); got != "sync "+strconv.Itoa(i) {
			t.Errorf("sync %d: conversation %d of mailbox %d has subject %q: not polled", i+1, inA.ID, a, got)
		}
	}
}

// TestSecondRefusedNamedMailboxKeepsTheFirstOut: with b of three named
// mailboxes left out, c refused too had the directory refreshed, which
// forgot b's refusal: the poll retried named b again and was refused
// whole, and the next sync's refresh forgot c's in turn, so that a was
// never polled again while both lasted. Each refresh now looks at b again
// on its own, and a is polled at every sync, each failing naming b and c.
func TestSecondRefusedNamedMailboxKeepsTheFirstOut(t *testing.T) {
	e, m, mbs := threeNamed(t)
	ctx := context.Background()
	a, b, c := mbs[0], mbs[1], mbs[2]
	inA := firstIn(t, e, a, nil)
	refuseListingsOf(e, http.StatusNotFound, b)
	for i := range 4 {
		if i == 1 {
			refuseListingsOf(e, http.StatusNotFound, b, c)
		}
		if err := e.fake.SetSubject(inA.ID, "sync "+strconv.Itoa(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		_, err := m.SyncOnce(ctx)
		refused := []int64{b}
		if i > 0 {
			refused = append(refused, c)
		}
		for _, id := range refused {
			if !errors.Is(err, helpscout.ErrNotFound) || !strings.Contains(err.Error(), strconv.FormatInt(id, 10)) {
				t.Errorf("sync %d: %v; want the 404 naming mailbox %d", i+1, err, id)
			}
		}
		if got := subjectOf(t, e, inA.ID); got != "sync "+strconv.Itoa(i) {
			t.Errorf("sync %d: conversation %d of mailbox %d has subject %q: not polled while %v are refused", i+1, inA.ID, a, got, refused)
		}
	}
}

// TestRefusedNamedMailboxWhileTheDirectoryFails: while the directory's
// refresh failed (a 500 on the listing of mailboxes), a named mailbox
// refused (404) stopped the poll of the others at every sync: the refusal
// stood as it was, the refreshes backing off, and its error, Help Scout's
// of a listing of them all, named no mailbox. The refused one is found on
// its own and left out meanwhile, the others polled, and the error names
// it; once the directory is served again, its refresh finds the mailbox
// still listed and refused, and it stays out.
func TestRefusedNamedMailboxWhileTheDirectoryFails(t *testing.T) {
	e, m, mbs := threeNamed(t)
	ctx := context.Background()
	a, b := mbs[0], mbs[1]
	inA := firstIn(t, e, a, nil)
	var directoryFails atomic.Bool
	directoryFails.Store(true)
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		switch {
		case names(r, b):
			w.Header().Set("Content-Type", "application/vnd.error+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Resource not found"}`))
			return true
		case directoryFails.Load() && r.URL.Path == "/v2/mailboxes":
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	for i := range 4 {
		if i == 3 {
			directoryFails.Store(false)
			e.clock.Advance(15 * time.Minute)
		}
		if err := e.fake.SetSubject(inA.ID, "sync "+strconv.Itoa(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(2 * time.Minute)
		_, err := m.SyncOnce(ctx)
		if !errors.Is(err, helpscout.ErrNotFound) || !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
			t.Errorf("sync %d: %v; want the 404 naming mailbox %d", i+1, err, b)
		}
		if got := subjectOf(t, e, inA.ID); got != "sync "+strconv.Itoa(i) {
			t.Errorf("sync %d: conversation %d of mailbox %d has subject %q: not polled while %d is refused and the directory fails", i+1, inA.ID, a, got, b)
		}
	}
}

// TestMailboxRefusedAtTheReconcileIsNamed: with b of three named
// mailboxes left out, c refused from the reconcile's listing on (after
// the poll of the same sync) is found by the reconcile and left out as
// well; the sync's error named only b, the poll's, and so said nothing of
// c until the next sync. It names both now.
func TestMailboxRefusedAtTheReconcileIsNamed(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 29, Conversations: 120, Mailboxes: 3})
	mbs := e.acct.Mailboxes
	b, c := mbs[1], mbs[2]
	m := e.mirror(mirror.Options{Mailboxes: mbs, ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	var reconciling atomic.Bool // c is refused from the reconcile's first listing on
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Query().Get("status") == "active" {
			reconciling.Store(true)
		}
		if names(r, b) || reconciling.Load() && names(r, c) {
			w.Header().Set("Content-Type", "application/vnd.error+json")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"message":"Resource not found"}`))
			return true
		}
		return false
	})
	e.clock.Advance(2 * time.Minute)
	if _, err := m.SyncOnce(context.Background()); !errors.Is(err, helpscout.ErrNotFound) {
		t.Fatalf("the sync that leaves b out: %v", err)
	}
	e.clock.Advance(9 * time.Minute) // the reconcile is due
	_, err := m.SyncOnce(context.Background())
	if !reconciling.Load() {
		t.Fatal("no reconcile in the second sync")
	}
	for _, id := range []int64{b, c} {
		if err == nil || !strings.Contains(err.Error(), strconv.FormatInt(id, 10)) {
			t.Errorf("the reconcile's sync: %v; want the 404 naming mailbox %d", err, id)
		}
	}
}

// TestPendingWalkOfRefusedNamedMailboxWaits is review finding 2: b is
// added to QW_MAILBOXES (its own walk pending) while Help Scout refuses it
// and the directory lists it. settleScope walked b at every sync, to be
// refused, and that refusal joined to the poll's leftOutError stopped the
// sync before the reconcile: a conversation of a deleted in Help Scout was
// still held after 16 minutes with ReconcileEvery 10m, and each error
// said "(refused for mailbox b, ...)" twice. b's walk now waits, as its
// poll does, for the refresh of the directory that finds it served again.
func TestPendingWalkOfRefusedNamedMailboxWaits(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{Mailboxes: []int64{a}, ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	open := func(cv helpscouttest.Conversation) bool { return cv.Status == "active" || cv.Status == "pending" }
	gone := firstIn(t, e, a, open)
	if err := e.fake.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	refuseListings(e, b, http.StatusNotFound)
	m = e.mirror(mirror.Options{Mailboxes: []int64{a, b}, ReconcileEvery: 10 * time.Minute}) // restart naming b
	note := fmt.Sprintf("refused for mailbox %d", b)
	for i := range 8 {
		e.clock.Advance(2 * time.Minute)
		_, err := m.SyncOnce(ctx)
		if err == nil || !errors.Is(err, helpscout.ErrNotFound) {
			t.Fatalf("sync %d with b refused: %v, want its 404", i+1, err)
		}
		// Once per work that left b out (the poll's line, and the
		// reconcile's when it runs), not twice on one line.
		lines := strings.Split(err.Error(), "\n")
		for _, line := range lines {
			if n := strings.Count(line, note); n > 1 {
				t.Errorf("sync %d: a line of the error says %q %d times, want once: %s", i+1, note, n, line)
			}
		}
		// The first sync's walk of b, refused, has b left out of its
		// poll, run again (TestFirstSyncAfterARestartGoesOnPastARefused-
		// NamedMailbox): its error is the later syncs', whose line
		// naming b says why.
		if i == 0 && !strings.Contains(lines[0], note) {
			t.Errorf("sync 1: the error's line %q does not say %q", lines[0], note)
		}
	}
	if _, _, err := e.db.Conversation(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conversation %d of a, deleted in Help Scout, still held after 16 minutes of syncs with ReconcileEvery 10m while b (walk pending) is refused: %v", gone.ID, err)
	}
	if n := heldIn(t, e, b); n != 0 {
		t.Fatalf("b, refused, holds %d conversations", n)
	}

	// Served again: the directory's next refresh (15 minutes) finds it
	// so, and its walk, waiting until then, reads it whole.
	e.log.setAnswer(nil)
	e.clock.Advance(15 * time.Minute)
	syncOnce(t, m)
	want := 0
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID == b {
			want++
		}
	}
	if n := heldIn(t, e, b); n != want || n == 0 {
		t.Errorf("b served again holds %d conversations after the directory's refresh, want its %d", n, want)
	}
}

// TestPendingWalkOfRefusedListedMailboxWaits is review finding 2 with
// every mailbox mirrored: c, newly listed, is refused while the directory
// lists it. Its walk, refused at every sync, failed the sync before the
// reconcile (the poll names no mailbox, so nothing was left out), and a
// conversation of a deleted in Help Scout stayed held. Its walk waits now
// for the directory's next refresh, and the sync still fails naming c.
func TestPendingWalkOfRefusedListedMailboxWaits(t *testing.T) {
	e, _, a, _ := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	open := func(cv helpscouttest.Conversation) bool { return cv.Status == "active" || cv.Status == "pending" }
	gone := firstIn(t, e, a, open)
	if err := e.fake.Delete(gone.ID); err != nil {
		t.Fatal(err)
	}
	c := addOldMailbox(t, e, 3)
	refuseListings(e, c, http.StatusNotFound)
	e.clock.Advance(16 * time.Minute) // the directory lists c: its walk is due
	note := fmt.Sprintf("refused for mailbox %d", c)
	for i := range 8 {
		e.clock.Advance(2 * time.Minute)
		_, err := m.SyncOnce(ctx)
		if err == nil || !strings.Contains(err.Error(), note) {
			t.Fatalf("sync %d with c's walk refused: %v, want an error saying it is %s", i+1, err, note)
		}
	}
	if _, _, err := e.db.Conversation(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conversation %d of a, deleted in Help Scout, still held after 16 minutes of syncs with ReconcileEvery 10m while c's walk is refused: %v", gone.ID, err)
	}
}

// TestReturningNamedMailboxIsReadOnItsOwn is review finding 3: once a
// mailbox left out (refused while listed) was served again, the poll's
// one listing of every named mailbox read from where it first left that
// one out, so everything the others changed meanwhile (days, for a
// refusal of days) was read again in that poll. The returning mailbox
// is now read on its own from there, and the others from the shared
// cursor: the poll that names b again lists b's changes, not a's and c's.
func TestReturningNamedMailboxIsReadOnItsOwn(t *testing.T) {
	e, m, mbs := threeNamed(t)
	ctx := context.Background()
	a, b, c := mbs[0], mbs[1], mbs[2]
	refuseListingsOf(e, http.StatusNotFound, b)
	e.clock.Advance(2 * time.Minute)
	if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrNotFound) {
		t.Fatalf("the sync with b refused: %v, want its 404", err)
	}
	// While b is left out, every conversation of a and c changes, a few a
	// minute, polled every 10 minutes: the shared cursor moves past them.
	others := 0
	for i, cv := range e.fake.Conversations() {
		if cv.MailboxID != a && cv.MailboxID != c {
			continue
		}
		others++
		if err := e.fake.SetSubject(cv.ID, "changed while b is left out "+strconv.Itoa(i), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if others%10 == 0 {
			if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrNotFound) {
				t.Fatalf("a sync with b left out: %v, want its 404", err)
			}
		}
	}
	inB := firstIn(t, e, b, nil)
	if err := e.fake.SetSubject(inB.ID, "changed while b is left out", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrNotFound) {
		t.Fatalf("the last sync with b left out: %v, want its 404", err)
	}

	e.log.setAnswer(nil)
	e.clock.Advance(16 * time.Minute) // the directory's refresh finds b served
	e.log.reset()
	st := syncOnce(t, m)
	t.Logf("the poll naming b again, after %d changes to a and c: %d pages, %d conversations listed", others, st.Pages, st.Conversations)
	if got := subjectOf(t, e, inB.ID); got != "changed while b is left out" {
		t.Errorf("conversation %d of b, changed while it was left out, has subject %q once it is polled again", inB.ID, got)
	}
	// b's one change, and what the shared poll's overlap (5 minutes, a
	// change a minute) reads again of a and c: not all their changes
	// while b was left out. Measured: 11 conversations in 2 pages; 83 in
	// 4 when the one listing read from where b was left out.
	if st.Conversations >= others/4 || st.Pages > 2 {
		t.Errorf("the poll naming b again listed %d conversations in %d pages; want b's 1 change and the overlap's, not the %d a and c made while it was left out", st.Conversations, st.Pages, others)
	}
	if _, err := e.db.Cursor(ctx, mirror.LeftOutCursor(b)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the point b was left out at is still stored once it is read again: %v", err)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestReturningNamedMailboxCutShortResumes: the listing that reads a
// mailbox on its own from where the poll left it out commits its pages
// with that mailbox's own cursor, so that one cut short (a 500 on its
// second page) is read again by the next poll from where it got to, not
// from where the mailbox was first left out, and the point is forgotten
// only once it is read to its end.
func TestReturningNamedMailboxCutShortResumes(t *testing.T) {
	e, m, mbs := threeNamed(t)
	ctx := context.Background()
	b := mbs[1]
	refuseListingsOf(e, http.StatusNotFound, b)
	e.clock.Advance(2 * time.Minute)
	if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrNotFound) {
		t.Fatalf("the sync with b refused: %v, want its 404", err)
	}
	changed := 0
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID != b {
			continue
		}
		changed++
		if err := e.fake.SetSubject(cv.ID, "changed while b is left out "+strconv.Itoa(changed), time.Time{}); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
	}
	if changed <= helpscouttest.ConversationPageSize {
		t.Fatalf("b has %d conversations: the catch-up needs a second page", changed)
	}
	if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrNotFound) {
		t.Fatalf("a sync with b left out: %v, want its 404", err)
	}

	// b served again, but for the second page of its catch-up, once.
	catchUp := func(u *url.URL) bool {
		q := u.Query()
		return u.Path == "/v2/conversations" && q.Get("mailbox") == strconv.FormatInt(b, 10) && q.Get("sortField") == "modifiedAt" && q.Get("modifiedSince") != ""
	}
	var failed atomic.Bool
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if catchUp(r.URL) && r.URL.Query().Get("page") == "2" && failed.CompareAndSwap(false, true) {
			w.WriteHeader(http.StatusInternalServerError)
			return true
		}
		return false
	})
	e.clock.Advance(16 * time.Minute) // the directory's refresh finds b served
	e.log.reset()
	if _, err := m.SyncOnce(ctx); err == nil || !failed.Load() {
		t.Fatalf("the sync whose catch-up of b failed on its second page: %v (failed: %v)", err, failed.Load())
	}
	since := func() (first time.Time) {
		for _, u := range e.log.URLs() {
			if catchUp(u) {
				at, err := time.Parse(time.RFC3339, u.Query().Get("modifiedSince"))
				if err != nil {
					t.Fatal(err)
				}
				return at
			}
		}
		t.Fatal("no listing of b alone from where it was left out")
		return time.Time{}
	}
	before := since()
	e.clock.Advance(2 * time.Minute)
	e.log.reset()
	syncOnce(t, m)
	if after := since(); !after.After(before) {
		t.Errorf("the catch-up of b after one cut short read from %v, where the first did from %v: want from where that one got to", after, before)
	}
	if _, err := e.db.Cursor(ctx, mirror.LeftOutCursor(b)); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the point b was left out at is still stored once it is read to its end: %v", err)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestFirstSyncAfterARestartGoesOnPastARefusedNamedMailbox: b is named
// by QW_MAILBOXES at a restart (its own walk pending, or walked before)
// while Help Scout refuses it and the directory lists it. Later syncs
// leave b out and do the others' work, but the first one, finding the
// refusal, failed before it: its walk of b was refused, then its poll,
// one listing naming a and b, refused whole, so a was not polled, and the
// sync returned before the reconcile's clock started and before the
// observations. The first sync now polls a too, and the reconcile comes
// ReconcileEvery after it; the sync still fails naming b.
func TestFirstSyncAfterARestartGoesOnPastARefusedNamedMailbox(t *testing.T) {
	for _, pending := range []bool{true, false} {
		t.Run(map[bool]string{true: "walk pending", false: "walked before"}[pending], func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			before := []int64{a, b}
			if pending {
				before = []int64{a}
			}
			syncOnce(t, e.mirror(mirror.Options{Mailboxes: before}))
			open := func(cv helpscouttest.Conversation) bool { return cv.Status == "active" || cv.Status == "pending" }
			gone := firstIn(t, e, a, open)
			inA := firstIn(t, e, a, func(cv helpscouttest.Conversation) bool { return cv.ID != gone.ID })
			if err := e.fake.Delete(gone.ID); err != nil {
				t.Fatal(err)
			}
			refuseListings(e, b, http.StatusNotFound)
			m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}, ReconcileEvery: 10 * time.Minute}) // the restart
			e.clock.Advance(time.Minute)
			if err := e.fake.SetSubject(inA.ID, "changed before the restart's first sync", time.Time{}); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(time.Minute)
			_, err := m.SyncOnce(ctx)
			if !errors.Is(err, helpscout.ErrNotFound) || !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
				t.Fatalf("the first sync with b refused: %v; want its 404 naming it", err)
			}
			if got := subjectOf(t, e, inA.ID); got != "changed before the restart's first sync" {
				t.Errorf("conversation %d of a has subject %q after the first sync: a was not polled while b is refused", inA.ID, got)
			}
			e.clock.Advance(10 * time.Minute) // ReconcileEvery after the first sync
			if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrNotFound) {
				t.Fatalf("the sync a reconcile after the first: %v; want b's 404", err)
			}
			if _, _, err := e.db.Conversation(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("conversation %d of a, deleted in Help Scout, still held ReconcileEvery after the first sync (%v): the reconcile's clock did not start at it", gone.ID, err)
			}
			if n := heldIn(t, e, b); pending && n != 0 {
				t.Errorf("b, refused, holds %d conversations", n)
			}
		})
	}
}
