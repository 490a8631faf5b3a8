package mirror_test

import (
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// listLaterEnv is an account of two mailboxes, A and B, mirrored with
// every mailbox (QW_MAILBOXES empty) to the end of a first sync, and a
// third, c, with conversations from a week before that sync, which the
// API user could not see then and can now. The fake has no per-user
// visibility: c is added to it after the first sync, with its history
// dated before, which is what the API shows the mirror when access is
// granted (a mailbox, and conversations modified long before the poll's
// cursor).
func listLaterEnv(t *testing.T, m *mirror.Mirror, e *env) (c int64) {
	t.Helper()
	syncOnce(t, m)
	return addOldMailbox(t, e, 4)
}

// addOldMailbox adds a mailbox with n conversations, half of them closed,
// from a week before the clock's time.
func addOldMailbox(t *testing.T, e *env, n int) (c int64) {
	t.Helper()
	old := e.clock.Now().Add(-7 * 24 * time.Hour)
	mb, err := e.fake.AddMailbox(helpscouttest.Mailbox{Name: "Billing", CreatedAt: old.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		status := helpscouttest.StatusActive
		if i%2 == 1 {
			status = helpscouttest.StatusClosed
		}
		if _, err := e.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: mb.ID, CustomerID: e.acct.Customers[i%len(e.acct.Customers)], Status: status,
			Subject: "from before the first sync " + strconv.Itoa(i), At: old.Add(time.Duration(i) * time.Minute),
		}); err != nil {
			t.Fatal(err)
		}
	}
	return mb.ID
}

// TestEveryMailboxWalksAMailboxListedLater: with every mailbox mirrored,
// a mailbox the API user gains access to after the full walk must have
// its whole history walked, as an added QW_MAILBOXES entry does; the poll
// alone reads only what changed since its cursor, and the mailbox's older
// conversations (closed ones included) would never reach the mirror. It
// is walked once: the next syncs, and a restart, walk nothing again.
func TestEveryMailboxWalksAMailboxListedLater(t *testing.T) {
	for _, restart := range []bool{false, true} {
		name := map[bool]string{false: "same process", true: "after a restart"}[restart]
		t.Run(name, func(t *testing.T) {
			e, _, _, _ := scopeEnv(t)
			var log bytes.Buffer
			opts := mirror.Options{DirectoryEvery: 15 * time.Minute, Logger: slog.New(slog.NewTextHandler(&log, nil))}
			m := e.mirror(opts)
			c := listLaterEnv(t, m, e)
			if restart {
				m = e.mirror(opts)
			}
			e.log.reset()
			// The directory is due again (at once after a restart): the
			// sync lists c and walks it.
			for range 2 {
				e.clock.Advance(10 * time.Minute)
				syncOnce(t, m)
			}
			assertMirrorEqual(t, e.db, e.fake)
			if got, want := fullWalks(e), []string{strconv.FormatInt(c, 10)}; !slices.Equal(got, want) {
				t.Errorf("walked %q from the beginning once mailbox %d was listed; want %q", got, c, want)
			}
			if want := fmt.Sprintf("mailboxes listed that no walk has read (newly visible to the API user): walking their whole history\" mailbox_ids=[%d]", c); !strings.Contains(log.String(), want) {
				t.Errorf("log does not say %s:\n%s", want, log.String())
			}

			e.log.reset()
			e.clock.Advance(20 * time.Minute)
			syncOnce(t, m)
			e.clock.Advance(time.Minute)
			syncOnce(t, e.mirror(opts))
			if got := fullWalks(e); len(got) != 0 {
				t.Errorf("mailbox %d walked, then later syncs and a restart walked %q from the beginning; want nothing", c, got)
			}
		})
	}
}

// TestNarrowFromEveryMailboxWalksOneListedAfterTheWalk: narrowing from
// every mailbox to A and c, where c was listed only after the walk of
// every mailbox (the start that narrows is the first to see it), must not
// record c as whole: the walks read nothing of it before it was listed.
// It is walked from the beginning as any added mailbox.
func TestNarrowFromEveryMailboxWalksOneListedAfterTheWalk(t *testing.T) {
	e, _, a, _ := scopeEnv(t)
	c := listLaterEnv(t, e.mirror(mirror.Options{}), e)
	e.clock.Advance(10 * time.Minute)
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, c}}))
	if got, want := fullWalks(e), []string{strconv.FormatInt(c, 10)}; !slices.Equal(got, want) {
		t.Errorf("narrowed to %d and %d: walked %q from the beginning; want %q", a, c, got, want)
	}
	for _, id := range []int64{a, c} {
		held, served := mailboxRows(t, e, id)
		diffRows(t, held, served)
	}
	sc, err := e.db.MirrorScope(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{min(a, c), max(a, c)}; sc.All || !slices.Equal(sc.Mailboxes, want) {
		t.Errorf("recorded scope %+v; want mailboxes %v", sc, want)
	}
}

// TestListedMailboxWalkResumes: the walk of a mailbox listed after the
// walk of every mailbox, cut short (a Help Scout failure on its third
// page), leaves the mailbox unwalked and resumes from its own cursor at
// the next start, not from the beginning; only its end records it walked.
func TestListedMailboxWalkResumes(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	ctx := context.Background()
	syncOnce(t, e.mirror(mirror.Options{}))
	c := addOldMailbox(t, e, 3*helpscouttest.ConversationPageSize)
	cs := strconv.FormatInt(c, 10)
	var once sync.Once
	e.log.setBefore(func(r *http.Request) {
		if q := r.URL.Query(); r.URL.Path == "/v2/conversations" && q.Get("mailbox") == cs && cmp.Or(q.Get("page"), "1") == "3" {
			once.Do(func() { e.fake.SetFaults(helpscouttest.Faults{FailNext: 1}) })
		}
	})
	e.clock.Advance(10 * time.Minute)
	if _, err := e.mirror(mirror.Options{}).SyncOnce(ctx); err == nil {
		t.Fatal("the sync succeeded through the injected failure")
	}
	e.log.setBefore(nil)
	held, served := mailboxRows(t, e, c)
	if len(held) == 0 || len(held) >= len(served) {
		t.Fatalf("mailbox %d: %d of %d conversations held after its walk failed at page 3; the test needs part of it", c, len(held), len(served))
	}
	walked, err := e.db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := walked[c]; ok {
		t.Errorf("mailbox %d recorded as walked (finished: %v) with %d of its %d conversations stored", c, walked[c], len(held), len(served))
	}

	e.clock.Advance(time.Minute)
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{}))
	if got := fullWalks(e); len(got) != 0 {
		t.Errorf("the walk of mailbox %d started again from the beginning: %q", c, got)
	}
	resumed := false
	for _, u := range e.log.URLs() {
		q := u.Query()
		resumed = resumed || u.Path == "/v2/conversations" && q.Get("mailbox") == cs && q.Get("modifiedSince") != ""
	}
	if !resumed {
		t.Errorf("no listing of mailbox %d alone resumed from a cursor", c)
	}
	assertMirrorEqual(t, e.db, e.fake)
	if walked, err = e.db.Walked(ctx); err != nil {
		t.Fatal(err)
	}
	if !walked[c] {
		t.Errorf("mailbox %d walked to the end: Walked() = %v, want it finished", c, walked)
	}
}

// TestInterruptedFirstWalkResumesForItsMailboxes: the first walk of every
// mailbox, cut short, is resumed by the poll from its cursor for the
// mailboxes it was reading, none of them walked on its own; a mailbox
// listed between the two starts was not among them and is. Each counts
// as walked once the poll's walk has reached its end.
func TestInterruptedFirstWalkResumesForItsMailboxes(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	var once sync.Once
	e.log.setBefore(func(r *http.Request) {
		if q := r.URL.Query(); r.URL.Path == "/v2/conversations" && q.Get("mailbox") == "" && cmp.Or(q.Get("page"), "1") == "3" {
			once.Do(func() { e.fake.SetFaults(helpscouttest.Faults{FailNext: 1}) })
		}
	})
	if _, err := e.mirror(mirror.Options{}).SyncOnce(ctx); err == nil {
		t.Fatal("the first sync succeeded through the injected failure")
	}
	e.log.setBefore(nil)
	walked, err := e.db.Walked(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(map[int64]bool{a: false, b: false}, walked); diff != "" {
		t.Errorf("first walk cut short: Walked() (-want +got):\n%s", diff)
	}

	c := addOldMailbox(t, e, 4)
	e.clock.Advance(10 * time.Minute)
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{}))
	if got, want := fullWalks(e), []string{strconv.FormatInt(c, 10)}; !slices.Equal(got, want) {
		t.Errorf("after the first walk was cut short and mailbox %d listed: walked %q from the beginning, want %q", c, got, want)
	}
	assertMirrorEqual(t, e.db, e.fake)
	if walked, err = e.db.Walked(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff(map[int64]bool{a: true, b: true, c: true}, walked); diff != "" {
		t.Errorf("after the resumed walk: Walked() (-want +got):\n%s", diff)
	}
}

// TestNamedBeforeListedOnANewFileWalksItOnceListed: QW_MAILBOXES naming
// a mailbox the account does not list yet, on a new file's first start,
// records it in the scope with the others, yet nothing of it was read.
// Once the account lists it, with history older than the poll's cursor,
// its whole history is walked, as that of a mailbox narrowed to from
// every mailbox is (TestNarrowedToUnlistedMailboxWalksItOnceListed).
func TestNamedBeforeListedOnANewFileWalksItOnceListed(t *testing.T) {
	e, _, a, _ := scopeEnv(t)
	c := a + 1000 // no mailbox of the account yet
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, c}}))
	e.clock.Advance(10 * time.Minute)
	old := e.clock.Now().Add(-7 * 24 * time.Hour)
	if _, err := e.fake.AddMailbox(helpscouttest.Mailbox{ID: c, CreatedAt: old.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := e.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: c, CustomerID: e.acct.Customers[i%len(e.acct.Customers)],
			Subject: "from before " + strconv.Itoa(i), At: old.Add(time.Duration(i) * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
	}
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, c}}))
	if got, want := fullWalks(e), []string{strconv.FormatInt(c, 10)}; !slices.Equal(got, want) {
		t.Errorf("once mailbox %d is listed, walked %q from the beginning; want %q", c, got, want)
	}
	for _, id := range []int64{a, c} {
		held, served := mailboxRows(t, e, id)
		diffRows(t, held, served)
	}
}

// TestFirstStartScopeAndFirstWalkRecordedTogether: a new file's first
// start records the scope it is built for and the mailboxes the poll's
// walk from the beginning is to read. With every mailbox, the scope
// recorded without those mailboxes (the second write failed: a full
// disk, say) is a file whose listed mailboxes no walk has read, and the
// next sync walked each on its own, the poll's own walk from the
// beginning reading them all again: the account's whole history twice,
// logged as mailboxes newly visible to the API user. Whichever of the
// two writes fails, the next sync must start the one walk from the
// beginning, as a first start does.
func TestFirstStartScopeAndFirstWalkRecordedTogether(t *testing.T) {
	for _, table := range []string{"walked_mailboxes", "mirror_scope"} {
		t.Run(table+" refused", func(t *testing.T) {
			e, path, _, _ := scopeEnv(t)
			ctx := context.Background()
			// Another connection to the file, as testkit.DamagePage opens
			// one: the trigger is part of the schema, so the store's meets
			// it too.
			raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { raw.Close() })
			if _, err := raw.Exec("CREATE TRIGGER full_disk BEFORE INSERT ON " + table +
				" BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"); err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			if _, err := m.SyncOnce(ctx); err == nil {
				t.Fatalf("first sync with %s refusing writes succeeded; want its failure", table)
			}
			if _, err := raw.Exec("DROP TRIGGER full_disk"); err != nil {
				t.Fatal(err)
			}
			e.log.reset()
			syncOnce(t, m)
			if got, want := fullWalks(e), []string{""}; !slices.Equal(got, want) {
				t.Errorf("after a first start that failed to write %s, the next sync walked %q from the beginning; want %q (the poll's walk of every mailbox alone)", table, got, want)
			}
			if strings.Contains(log.String(), "newly visible") {
				t.Errorf("a new file's first walk logged as mailboxes newly visible to the API user:\n%s", log.String())
			}
			assertMirrorEqual(t, e.db, e.fake)
			// And the mailboxes are walked: the next directory refresh
			// walks none.
			e.log.reset()
			e.clock.Advance(20 * time.Minute)
			syncOnce(t, m)
			if got := fullWalks(e); len(got) != 0 {
				t.Errorf("the sync after the first walked %q from the beginning; want nothing", got)
			}
		})
	}
}

// TestUpgradedListNamedBeforeListedRecipe: under schema 13 or older, a
// mailbox QW_MAILBOXES named on a file's first start, before the account
// listed it, was recorded unread and only polled once listed; migration
// 0014 cannot tell it from one the first walk read, and counts it walked
// (a row, unfinished). The README's way to have its history walked with a
// list: one start with the list without it, then one with it again.
func TestUpgradedListNamedBeforeListedRecipe(t *testing.T) {
	e, path, a, _ := scopeEnv(t)
	c := a + 1000 // no mailbox of the account yet
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, c}}))
	e.clock.Advance(10 * time.Minute)
	old := e.clock.Now().Add(-7 * 24 * time.Hour)
	if _, err := e.fake.AddMailbox(helpscouttest.Mailbox{ID: c, CreatedAt: old.Add(-time.Hour)}); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := e.fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: c, CustomerID: e.acct.Customers[i%len(e.acct.Customers)],
			Subject: "from before " + strconv.Itoa(i), At: old.Add(time.Duration(i) * time.Hour),
		}); err != nil {
			t.Fatal(err)
		}
	}
	// What the upgrade leaves of a file the old version ran on since c
	// was listed: c counted walked by the poll's first walk.
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	if _, err := raw.Exec("INSERT INTO walked_mailboxes (mailbox_id, finished) VALUES (?, 0)", c); err != nil {
		t.Fatal(err)
	}
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, c}}))
	if held, served := mailboxRows(t, e, c); len(held) == len(served) {
		t.Fatalf("mailbox %d counted walked holds all %d of its conversations; the setup needs it to miss its history", c, len(served))
	}

	e.clock.Advance(10 * time.Minute)
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}}))
	e.clock.Advance(10 * time.Minute)
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, c}}))
	if got, want := fullWalks(e), []string{strconv.FormatInt(c, 10)}; !slices.Equal(got, want) {
		t.Errorf("started without %d, then with it again: walked %q from the beginning; want %q", c, got, want)
	}
	for _, id := range []int64{a, c} {
		held, served := mailboxRows(t, e, id)
		diffRows(t, held, served)
	}
}

// TestListedAtTheRestartSaysNoSyncSinceIt: a mailbox the API user is
// given access to while the daemon is down is listed by the restart's
// directory refresh, after Run found the mark of a completed sync of
// every mailbox: the mirror holds the whole queue as of then (QueueAsOf),
// the poll has yet to catch up, and the mailbox is walked first. /readyz
// said "first sync: walking added mailbox 7: 50 of 150 conversations" at
// every page of that walk: a first sync, where the README says a restart
// on a synced mirror reads "no sync has completed since the restart", and
// an added mailbox, with QW_MAILBOXES empty.
func TestListedAtTheRestartSaysNoSyncSinceIt(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	syncOnce(t, e.mirror(mirror.Options{}))
	c := addOldMailbox(t, e, 3*helpscouttest.ConversationPageSize)
	e.clock.Advance(10 * time.Minute)

	m := e.mirror(mirror.Options{})
	var slow slowListing
	slow.install(e, m, time.Second, func(r *http.Request) bool {
		q := r.URL.Query()
		return q.Get("mailbox") == strconv.FormatInt(c, 10) && q.Get("modifiedSince") == ""
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx, time.Hour) }()
	testkit.WaitFor(t, time.Minute, "the restarted mirror's first sync", func() (bool, string) { return m.Ready() })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	if _, inherited := m.QueueAsOf(); inherited {
		t.Errorf("QueueAsOf still inherited after this process's sync")
	}
	reasons := slow.seen()
	if len(reasons) < 3 {
		t.Fatalf("the walk of mailbox %d listed %d pages; the test needs 3", c, len(reasons))
	}
	for p, why := range reasons {
		want := "no sync has completed since the restart"
		if p > 0 {
			want = fmt.Sprintf("no sync has completed since the restart; under way: walking mailbox %d: %d of %d conversations",
				c, p*helpscouttest.ConversationPageSize, 3*helpscouttest.ConversationPageSize)
		}
		if why != want {
			t.Errorf("reason as page %d of mailbox %d's walk was asked for: %q, want %q", p+1, c, why, want)
		}
	}
}

// TestRestartMidWalkOfAListedMailboxKeepsTheQueue: with every mailbox
// mirrored, the daemon that lists a mailbox the API user was given access
// to stays ready while it walks it, serving the queue as of its last
// completed sync. Restarted before that walk ended (a deploy), it found
// the mark of that sync but not the store holding the whole scope, and
// said "the first sync has not finished": the page counting only what a
// first sync has read, the balancer and POST /api/v1/plan off, until the
// walk of that one mailbox (an hour at 100,000 conversations) was done.
// The mailbox was in the scope the mark is of (every mailbox), not one
// QW_MAILBOXES added: the restart keeps the queue as of that sync, as
// the process before it did.
func TestRestartMidWalkOfAListedMailboxKeepsTheQueue(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{})
	syncOnce(t, m)
	c := addOldMailbox(t, e, 3*helpscouttest.ConversationPageSize)
	cs := strconv.FormatInt(c, 10)
	var once sync.Once
	e.log.setBefore(func(r *http.Request) {
		if q := r.URL.Query(); r.URL.Path == "/v2/conversations" && q.Get("mailbox") == cs && cmp.Or(q.Get("page"), "1") == "3" {
			once.Do(func() { e.fake.SetFaults(helpscouttest.Faults{FailNext: 1}) })
		}
	})
	e.clock.Advance(20 * time.Minute)
	if _, err := m.SyncOnce(ctx); err == nil {
		t.Fatal("the sync succeeded through the injected failure")
	}
	if ok, why := m.Ready(); !ok {
		t.Fatalf("the process that lists mailbox %d: not ready while walking it (%q); the test compares a restart with it", c, why)
	}
	asOf, _ := m.QueueAsOf()

	e.clock.Advance(time.Minute)
	m = e.mirror(mirror.Options{})
	var slow slowListing
	slow.install(e, m, time.Second, func(r *http.Request) bool { return r.URL.Query().Get("mailbox") == cs })
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- m.Run(runCtx, time.Hour) }()
	testkit.WaitFor(t, time.Minute, "the restarted mirror's first sync", func() (bool, string) { return m.Ready() })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	reasons := slow.seen()
	if len(reasons) == 0 {
		t.Fatalf("the restart did not resume the walk of mailbox %d", c)
	}
	for p, why := range reasons {
		if !strings.HasPrefix(why, "no sync has completed since the restart") {
			t.Errorf("reason as page %d of mailbox %d's resumed walk was asked for: %q, want it to begin %q (the queue as of %s)",
				p+1, c, why, "no sync has completed since the restart", asOf)
		}
	}
	assertMirrorEqual(t, e.db, e.fake)
}
