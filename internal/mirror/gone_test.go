package mirror_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// names reports whether a conversation listing names mailbox in its
// filter.
func names(r *http.Request, mailbox int64) bool {
	return r.URL.Path == "/v2/conversations" &&
		slices.Contains(strings.Split(r.URL.Query().Get("mailbox"), ","), strconv.FormatInt(mailbox, 10))
}

// refuseListings answers every conversation listing that names mailbox
// with status, in Help Scout's error shape, in the fake's stead: what the
// fake does not model, a 403, or a 404 for a mailbox it still lists.
func refuseListings(e *env, mailbox int64, status int) {
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if !names(r, mailbox) {
			return false
		}
		w.Header().Set("Content-Type", "application/vnd.error+json")
		w.WriteHeader(status)
		msg := map[int]string{http.StatusForbidden: "Access denied", http.StatusNotFound: "Resource not found"}[status]
		fmt.Fprintf(w, `{"logRef":"5f0c1c2e-0a92-11e8-ba89-0ed5f89f718b","message":%q,"_links":{"about":{"href":"http://developer.helpscout.net/mailbox-api/overview/errors"}}}`, msg)
		return true
	})
}

// heldIn counts the stored conversations of mailbox.
func heldIn(t *testing.T, e *env, mailbox int64) int {
	t.Helper()
	held, _ := mailboxRows(t, e, mailbox)
	return len(held)
}

// goneLine is the start of the log line that says a mailbox left the
// directory, with every mailbox; namedGoneLine with QW_MAILBOXES naming it.
const (
	goneLine      = "mailboxes no longer listed"
	namedGoneLine = "QW_MAILBOXES names mailboxes Help Scout no longer lists"
)

// TestMailboxGoneMidWalkLeavesThePollRunning: with every mailbox mirrored,
// a mailbox deleted (404) or taken from the API user (403, and no longer
// listed) while its paced walk is under way failed that walk's listing,
// and with it every sync, until the directory's next refresh up to 15
// minutes later: no mailbox was polled meanwhile, and each sync counted as
// failed. The refusal makes the mirror refresh the directory at once; the
// mailbox it no longer lists is dropped from the sync, said once in the
// log with its id, and the sync polls the others and succeeds. What was
// stored of it leaves the mirror with it (noteGone), and listed again,
// it is walked again from the beginning, not resumed
// from the cursor of the walk it left: what came before that cursor may
// be gone from the mirror by then. A mailbox that goes between two syncs
// of its walk, found gone by the directory's own refresh (status 0), is
// dropped the same way, without a refused listing.
func TestMailboxGoneMidWalkLeavesThePollRunning(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden, 0} {
		name := map[int]string{0: "at the directory's refresh"}[status]
		if status != 0 {
			name = strconv.Itoa(status) + " mid-walk"
		}
		t.Run(name, func(t *testing.T) {
			e, _, a, _ := scopeEnv(t)
			ctx := context.Background()
			var log bytes.Buffer
			m := e.mirror(mirror.Options{WalkPagesPerSync: 2, Logger: slog.New(slog.NewTextHandler(&log, nil))})
			syncOnce(t, m)
			c := addOldMailbox(t, e, 5*helpscouttest.ConversationPageSize)
			e.clock.Advance(16 * time.Minute) // the directory is due: it lists c
			syncOnce(t, m)                    // two pages of c's walk, then the poll
			held := heldIn(t, e, c)
			if held == 0 {
				t.Fatalf("the first sync of mailbox %d's paced walk stored none of it", c)
			}

			var inA helpscouttest.Conversation
			for _, cv := range e.fake.Conversations() {
				if cv.MailboxID == a {
					inA = cv
					break
				}
			}
			e.clock.Advance(2 * time.Minute)
			if err := e.fake.SetSubject(inA.ID, "changed while c goes", time.Time{}); err != nil {
				t.Fatal(err)
			}
			switch status {
			case 0:
				// c goes before a sync that refreshes the directory first.
				e.clock.Advance(15 * time.Minute)
				if err := e.fake.RemoveMailbox(c); err != nil {
					t.Fatal(err)
				}
			default:
				// c goes as the next sync lists it to resume its walk.
				e.log.setBefore(func(r *http.Request) {
					if names(r, c) {
						if err := e.fake.RemoveMailbox(c); err != nil && !errors.Is(err, helpscouttest.ErrNotFound) {
							t.Error(err)
						}
					}
				})
			}
			if status == http.StatusForbidden {
				refuseListings(e, c, status)
			}
			log.Reset()
			if _, err := m.SyncOnce(ctx); err != nil {
				t.Fatalf("the sync whose walk of mailbox %d met a %d failed: %v", c, status, err)
			}
			got, _, err := e.db.Conversation(ctx, inA.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != "changed while c goes" {
				t.Errorf("conversation %d of mailbox %d: subject %q; the poll did not run after mailbox %d went", inA.ID, a, got.Subject, c)
			}
			if ok, why := m.Ready(); !ok {
				t.Errorf("not ready after mailbox %d went: %s", c, why)
			}
			if n := strings.Count(log.String(), goneLine); n != 1 {
				t.Errorf("the log says %d times that a mailbox went; want once:\n%s", n, log.String())
			}
			if want := fmt.Sprintf("mailbox_ids=[%d]", c); !strings.Contains(log.String(), want) {
				t.Errorf("the log does not name mailbox %d (%s):\n%s", c, want, log.String())
			}
			if n := heldIn(t, e, c); n != 0 {
				t.Errorf("mailbox %d held %d conversations before it went, %d after; want them gone with it", c, held, n)
			}
			walked, err := e.db.Walked(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := walked[c]; ok {
				t.Errorf("mailbox %d recorded walked (finished: %v) after it went mid-walk", c, walked[c])
			}

			e.log.setBefore(nil)
			e.log.setAnswer(nil)
			e.log.reset()
			log.Reset()
			e.clock.Advance(2 * time.Minute)
			syncOnce(t, m)
			if n := pagedListings(e, c); n != 0 {
				t.Errorf("the sync after mailbox %d went listed it %d times", c, n)
			}
			if strings.Contains(log.String(), goneLine) {
				t.Errorf("the sync after mailbox %d went says so again:\n%s", c, log.String())
			}

			// Listed again, with a history of its own: it is walked from
			// the beginning, all of it mirrored.
			if _, err := e.fake.AddMailbox(helpscouttest.Mailbox{ID: c, Name: "Billing again"}); err != nil {
				t.Fatal(err)
			}
			old := e.clock.Now().Add(-30 * 24 * time.Hour)
			for i := range 3 {
				if _, err := e.fake.CreateConversation(helpscouttest.NewConversation{
					MailboxID: c, CustomerID: e.acct.Customers[0], Status: helpscouttest.StatusClosed,
					Subject: "from before the walk's cursor " + strconv.Itoa(i), At: old.Add(time.Duration(i) * time.Minute),
				}); err != nil {
					t.Fatal(err)
				}
			}
			e.log.reset()
			e.clock.Advance(16 * time.Minute)
			syncOnce(t, m)
			if got := fullWalks(e); !slices.Contains(got, strconv.FormatInt(c, 10)) {
				t.Errorf("mailbox %d listed again: walks from the beginning %q; want one of it", c, got)
			}
			heldNow, served := mailboxRows(t, e, c)
			have := map[int64]bool{}
			for _, r := range heldNow {
				have[r.ID] = true
			}
			for _, r := range served {
				if !have[r.ID] {
					t.Errorf("conversation %d of mailbox %d, listed again, never mirrored", r.ID, c)
				}
			}
		})
	}
}

// TestNamedMailboxGoneKeepsThePollRunning: with QW_MAILBOXES naming two
// mailboxes, the poll lists both in one listing, and once one is deleted
// Help Scout answers that listing 404: the poll of the other failed at
// every sync, for good, since the listing kept naming it after the
// directory had dropped it. The mirror refreshes the directory at once,
// polls the mailboxes it still lists, says in the log which named one
// went, and the page's notice names it; what was stored of it leaves the
// mirror with it.
func TestNamedMailboxGoneKeepsThePollRunning(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	var log bytes.Buffer
	m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}, ReconcileEvery: 10 * time.Minute, Logger: slog.New(slog.NewTextHandler(&log, nil))})
	syncOnce(t, m)
	held := heldIn(t, e, b)
	if held == 0 {
		t.Fatalf("mailbox %d holds nothing after the first sync", b)
	}
	var inA helpscouttest.Conversation
	for _, cv := range e.fake.Conversations() {
		if cv.MailboxID == a {
			inA = cv
			break
		}
	}
	e.clock.Advance(2 * time.Minute)
	if err := e.fake.SetSubject(inA.ID, "changed after b went", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := e.fake.RemoveMailbox(b); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	for i := range 2 {
		if _, err := m.SyncOnce(ctx); err != nil {
			t.Fatalf("sync %d after mailbox %d (named by QW_MAILBOXES) went: %v", i+1, b, err)
		}
		e.clock.Advance(2 * time.Minute)
	}
	got, _, err := e.db.Conversation(ctx, inA.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != "changed after b went" {
		t.Errorf("conversation %d of mailbox %d: subject %q; the poll did not run after mailbox %d went", inA.ID, a, got.Subject, b)
	}
	if n := strings.Count(log.String(), namedGoneLine); n != 1 {
		t.Errorf("the log says %d times that a named mailbox went; want once:\n%s", n, log.String())
	}
	if want := fmt.Sprintf("level=WARN msg=\"%s", namedGoneLine); !strings.Contains(log.String(), want) {
		t.Errorf("the log does not warn %q:\n%s", want, log.String())
	}
	if want := fmt.Sprintf("mailbox_ids=[%d]", b); !strings.Contains(log.String(), want) {
		t.Errorf("the log does not name mailbox %d (%s):\n%s", b, want, log.String())
	}
	if n := heldIn(t, e, b); n != 0 {
		t.Errorf("mailbox %d held %d conversations before it went, %d after; want them gone with it", b, held, n)
	}
	notes, err := team.Setup{DB: e.db, Roster: &roster.Roster{}, Ready: m.Ready, Mailboxes: []int64{a, b}}.Notices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(notes, func(n string) bool {
		return strings.HasPrefix(n, "QW_MAILBOXES names mailboxes this account does not have") && strings.Contains(n, "("+strconv.FormatInt(b, 10)+")")
	}) {
		t.Errorf("the page's notices do not name mailbox %d: %q", b, notes)
	}

	// The reconcile's own listings, which name only the mailboxes the
	// directory lists, succeed, and it has nothing of b to ask for.
	e.clock.Advance(10 * time.Minute)
	e.fake.ResetStats()
	syncOnce(t, m)
	if n := e.fake.Stats().Requests[helpscouttest.RouteGetConversation]; n != 0 {
		t.Errorf("the reconcile after mailbox %d went read %d conversations on their own; want none", b, n)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestRefusedListingOfAListedMailboxStaysAnError: a mailbox whose listing
// is refused (404 or 403) while the directory, refreshed at once, still
// lists it is not skipped: Help Scout says it exists, and its queue would
// go quietly stale. The sync fails, naming it; the next sync does not
// refresh the directory again for it (each refresh lists every mailbox,
// user and team), until the directory's own cadence.
func TestRefusedListingOfAListedMailboxStaysAnError(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}})
			syncOnce(t, m)
			refuseListings(e, b, status)
			want := map[int]error{http.StatusNotFound: helpscout.ErrNotFound, http.StatusForbidden: helpscout.ErrForbidden}[status]
			for i, refreshes := range []bool{true, false} {
				e.clock.Advance(2 * time.Minute)
				e.fake.ResetStats()
				_, err := m.SyncOnce(ctx)
				if !errors.Is(err, want) {
					t.Fatalf("sync %d with mailbox %d listed and its listing refused: %v; want the %d", i+1, b, err, status)
				}
				if !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
					t.Errorf("sync %d: the error does not name mailbox %d: %v", i+1, b, err)
				}
				n := e.fake.Stats().Requests[helpscouttest.RouteListMailboxes]
				if refreshes && n != 1 || !refreshes && n != 0 {
					t.Errorf("sync %d listed the mailboxes %d times; want %d", i+1, n, map[bool]int{true: 1}[refreshes])
				}
			}
			mbs, err := e.db.Mailboxes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(mbs, func(mb store.Mailbox) bool { return mb.ID == b }) {
				t.Errorf("mailbox %d dropped from the directory while Help Scout lists it", b)
			}
		})
	}
}

// TestRefusedNamedMailboxLeavesThePollOfTheOthers: with QW_MAILBOXES
// naming a and b, the poll is one listing naming both, and while Help
// Scout refused b (404 or 403) and the directory still listed it, that
// listing was refused whole at every sync: a change in a was never
// stored until the refusal ended. The poll leaves b out now and polls a;
// each sync still fails naming b, without a refresh of the directory of
// its own after the first. Once b is served again (at the directory's
// next refresh), what changed in it meanwhile, behind the cursor the poll
// of a moved on, is read too.
func TestRefusedNamedMailboxLeavesThePollOfTheOthers(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusForbidden} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}})
			syncOnce(t, m)
			var inA, inB helpscouttest.Conversation
			for _, cv := range e.fake.Conversations() {
				switch {
				case cv.MailboxID == a && inA.ID == 0:
					inA = cv
				case cv.MailboxID == b && inB.ID == 0:
					inB = cv
				}
			}
			refuseListings(e, b, status)
			want := map[int]error{http.StatusNotFound: helpscout.ErrNotFound, http.StatusForbidden: helpscout.ErrForbidden}[status]
			e.clock.Advance(time.Minute)
			if err := e.fake.SetSubject(inB.ID, "changed while b is refused", time.Time{}); err != nil {
				t.Fatal(err)
			}
			// Four polls, 8 minutes: the cursor moves on with a's changes,
			// past b's by more than the poll's overlap (5 minutes).
			for i := range 4 {
				subject := "changed while b is refused " + strconv.Itoa(i)
				if err := e.fake.SetSubject(inA.ID, subject, time.Time{}); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(2 * time.Minute)
				e.fake.ResetStats()
				_, err := m.SyncOnce(ctx)
				if !errors.Is(err, want) || !strings.Contains(err.Error(), strconv.FormatInt(b, 10)) {
					t.Errorf("sync %d with mailbox %d listed and its listing refused: %v; want the %d naming it", i+1, b, err, status)
				}
				if n := e.fake.Stats().Requests[helpscouttest.RouteListMailboxes]; i > 0 && n != 0 {
					t.Errorf("sync %d listed the mailboxes %d times; want none after the first", i+1, n)
				}
				got, _, err := e.db.Conversation(ctx, inA.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Subject != subject {
					t.Errorf("sync %d: conversation %d of mailbox %d has subject %q; want %q: a not polled while %d is refused", i+1, inA.ID, a, got.Subject, subject, b)
				}
			}
			e.log.setAnswer(nil) // b is served again
			e.clock.Advance(16 * time.Minute)
			syncOnce(t, m) // the directory's refresh: b is polled again
			got, _, err := e.db.Conversation(ctx, inB.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != "changed while b is refused" {
				t.Errorf("conversation %d of mailbox %d, changed while it was refused: subject %q once it is served again", inB.ID, b, got.Subject)
			}
			assertMirrorEqual(t, e.db, e.fake)
		})
	}
}

// TestEveryNamedMailboxGoneListsNothing: with every mailbox QW_MAILBOXES
// names gone, there is nothing to poll, and a listing without a filter
// would read every mailbox of the account into the mirror: the syncs
// succeed without any. The mailbox's conversations leave the mirror with
// it, closed ones too: the deletion walk, with no mailbox to list, never
// looked at them, and they stayed for good (90 held, 46 after five
// reconciles).
func TestEveryNamedMailboxGoneListsNothing(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{Mailboxes: []int64{b}, ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	if err := e.fake.RemoveMailbox(b); err != nil {
		t.Fatal(err)
	}
	e.log.reset()
	for i := range 2 {
		e.clock.Advance(2 * time.Minute)
		if _, err := m.SyncOnce(ctx); err != nil {
			t.Fatalf("sync %d after the only mailbox QW_MAILBOXES names went: %v", i+1, err)
		}
	}
	e.clock.Advance(10 * time.Minute)
	syncOnce(t, m) // the reconcile's
	for _, u := range e.log.URLs() {
		if u.Path == "/v2/conversations" && u.Query().Get("mailbox") == "" {
			t.Errorf("listed conversations without a mailbox filter: %s", u)
		}
	}
	if n := heldIn(t, e, a); n != 0 {
		t.Errorf("mailbox %d, which QW_MAILBOXES does not name, holds %d conversations", a, n)
	}
	open, err := e.db.ConversationIDs(ctx, store.StatusActive, store.StatusPending)
	if err != nil {
		t.Fatal(err)
	}
	if len(open) != 0 {
		t.Errorf("after the reconcile, %d open conversations of the deleted mailbox %d are held: %v", len(open), b, open)
	}
	for range 4 {
		e.clock.Advance(10 * time.Minute)
		syncOnce(t, m)
	}
	if n := heldIn(t, e, b); n != 0 {
		t.Errorf("after five reconciles, the deleted mailbox %d holds %d conversations; want none", b, n)
	}
}

// usersOf reports whether r is the directory's listing of the users of
// mailbox.
func usersOf(r *http.Request, mailbox int64) bool {
	return r.URL.Path == "/v2/users" && r.URL.Query().Get("mailbox") == strconv.FormatInt(mailbox, 10)
}

// TestMailboxGoneMidDirectoryRefresh: the directory's refresh lists the
// mailboxes, then the users of each; a mailbox deleted (404) or taken from
// the API user (403) between the two made its users request fail, and with
// it the whole refresh, which then backed off (its users, teams and
// statuses kept stale, the mailbox still taken for listed), and the first
// refresh, without which nothing syncs, failed the sync. The mailbox is
// now dropped from that refresh as if it had not been listed: the refresh
// succeeds, says the mailbox went with the line any refresh gives for a
// mailbox no longer listed (none at the first refresh, which had never
// listed it), and a user who could open only that mailbox counts as
// outside the mirrored ones.
func TestMailboxGoneMidDirectoryRefresh(t *testing.T) {
	type take func(*helpscouttest.Server, int64) error
	remove := take((*helpscouttest.Server).RemoveMailbox)
	revoke := take((*helpscouttest.Server).RevokeMailbox)
	for _, tt := range []struct {
		name  string
		take  take
		named bool // QW_MAILBOXES names a and the mailbox that goes
		first bool // it goes during the first sync's refresh
	}{
		{name: "404", take: remove},
		{name: "403", take: revoke},
		{name: "404 named", take: remove, named: true},
		{name: "404 at the first sync", take: remove, first: true},
		{name: "403 at the first sync", take: revoke, first: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			c := addOldMailbox(t, e, 3)
			only, err := e.fake.AddUser(helpscouttest.User{FirstName: "Cat", Mailboxes: []int64{c}})
			if err != nil {
				t.Fatal(err)
			}
			var log bytes.Buffer
			opts := mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))}
			if tt.named {
				opts.Mailboxes = []int64{a, c}
			}
			m := e.mirror(opts)
			goes := func() {
				e.log.setBefore(func(r *http.Request) {
					if usersOf(r, c) {
						if err := tt.take(e.fake, c); err != nil && !errors.Is(err, helpscouttest.ErrNotFound) {
							t.Error(err)
						}
					}
				})
			}
			if tt.first {
				goes()
			} else {
				syncOnce(t, m)
				if heldIn(t, e, c) == 0 {
					t.Fatalf("mailbox %d holds nothing after the first sync", c)
				}
				e.clock.Advance(16 * time.Minute) // the directory is due
				goes()
			}
			log.Reset()
			if _, err := m.SyncOnce(ctx); err != nil {
				t.Fatalf("the sync whose directory refresh met mailbox %d gone: %v", c, err)
			}
			e.log.setBefore(nil)
			if strings.Contains(log.String(), "directory refresh failed") {
				t.Errorf("the directory refresh failed on mailbox %d gone:\n%s", c, log.String())
			}
			mbs, err := e.db.Mailboxes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var listed []int64
			for _, mb := range mbs {
				listed = append(listed, mb.ID)
			}
			if want := []int64{a, b}; !slices.Equal(listed, want) {
				t.Errorf("the directory lists mailboxes %v, want %v", listed, want)
			}
			line := map[bool]string{false: goneLine, true: namedGoneLine}[tt.named]
			if n, want := strings.Count(log.String(), line), map[bool]int{false: 1}[tt.first]; n != want {
				t.Errorf("the log says %d times %q; want %d:\n%s", n, line, want, log.String())
			}
			if want := fmt.Sprintf("mailbox_ids=[%d]", c); !tt.first && !strings.Contains(log.String(), want) {
				t.Errorf("the log does not name mailbox %d (%s):\n%s", c, want, log.String())
			}
			users, err := e.db.Users(ctx)
			if err != nil {
				t.Fatal(err)
			}
			i := slices.IndexFunc(users, func(u store.User) bool { return u.ID == only.ID })
			if i < 0 {
				t.Fatalf("user %d not stored", only.ID)
			}
			if u := users[i]; !u.OutOfScope {
				t.Errorf("user %d, who could open only mailbox %d, stored with mailboxes %v, not out of scope", u.ID, c, u.Mailboxes)
			}

			// The refresh succeeded: the next one comes at the directory's
			// own cadence, not at a failed refresh's retry a minute on.
			e.fake.ResetStats()
			e.clock.Advance(2 * time.Minute)
			syncOnce(t, m)
			if n := e.fake.Stats().Requests[helpscouttest.RouteListMailboxes]; n != 0 {
				t.Errorf("the sync 2 minutes after the refresh listed the mailboxes %d times; want none", n)
			}
		})
	}
}

// TestUsersRefusedForAListedMailboxFailsTheRefresh: a mailbox whose users
// request is refused while Help Scout's directory, asked again, still
// lists it is not dropped (it exists, and its users' access would be
// lost): the refresh fails, naming it, as it does on any other failure of
// that request, and the stored directory stays.
func TestUsersRefusedForAListedMailboxFailsTheRefresh(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound, http.StatusInternalServerError} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			var log bytes.Buffer
			m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
			syncOnce(t, m)
			e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
				if !usersOf(r, b) {
					return false
				}
				w.Header().Set("Content-Type", "application/vnd.error+json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"logRef":"5f0c1c2e-0a92-11e8-ba89-0ed5f89f718b","message":%q}`, http.StatusText(status))
				return true
			})
			e.clock.Advance(16 * time.Minute)
			log.Reset()
			if _, err := m.SyncOnce(ctx); err != nil {
				t.Fatalf("sync with the stored directory: %v", err)
			}
			if !strings.Contains(log.String(), "directory refresh failed") || !strings.Contains(log.String(), "mailbox "+strconv.FormatInt(b, 10)) {
				t.Errorf("the log does not say the refresh failed on mailbox %d:\n%s", b, log.String())
			}
			if strings.Contains(log.String(), goneLine) {
				t.Errorf("the log says a mailbox went:\n%s", log.String())
			}
			mbs, err := e.db.Mailboxes(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(mbs) != 2 || mbs[0].ID != a || mbs[1].ID != b {
				t.Errorf("the directory lists %+v; want mailboxes %d and %d kept", mbs, a, b)
			}
		})
	}
}

// assertMirrorEqualBut is assertMirrorEqual without the conversations of
// mailbox, which the fake keeps but no longer serves.
func assertMirrorEqualBut(t *testing.T, e *env, mailbox int64) {
	t.Helper()
	var want []row
	for _, c := range e.fake.Conversations() {
		if c.MailboxID != mailbox {
			want = append(want, fakeRow(c))
		}
	}
	diffRows(t, storeRows(t, e.db), want)
}

// TestRevokedMailboxLeavesTheReconcile: a mailbox taken from the API user
// may answer 403 rather than 404 (helpscout-api.md section 11), for its
// listing and for each of its conversations. Once the directory dropped
// it, the hourly reconcile asked Help Scout of each conversation it held
// and, on the first 403, failed, every hour, for good; the deletion walk
// did the same with its closed ones. The directory's refresh that drops
// the mailbox now takes its conversations out of the mirror, so the
// reconcile asks for none of them. The directory may not have dropped the
// mailbox yet (its refresh comes every 15 minutes, the 403 any time): the
// first 403 then has it refreshed at once, as a refused listing does, and
// the reconcile retried holds none of them either. With every mailbox
// mirrored, the poll's listing, which names no mailbox, never meets the
// 403 at all.
func TestRevokedMailboxLeavesTheReconcile(t *testing.T) {
	for _, tt := range []struct {
		name  string
		named bool // QW_MAILBOXES names both mailboxes
		stale bool // the reconcile runs before the directory's refresh
	}{
		{name: "every mailbox"},
		{name: "every mailbox, directory not refreshed", stale: true},
		{name: "named", named: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			ctx := context.Background()
			var log bytes.Buffer
			opts := mirror.Options{ReconcileEvery: 20 * time.Minute, Logger: slog.New(slog.NewTextHandler(&log, nil))}
			if tt.named {
				opts.Mailboxes = []int64{a, b}
			}
			m := e.mirror(opts)
			syncOnce(t, m)
			if heldIn(t, e, b) == 0 {
				t.Fatalf("mailbox %d holds nothing after the first sync", b)
			}
			if err := e.fake.RevokeMailbox(b); err != nil {
				t.Fatal(err)
			}
			if !tt.stale {
				e.clock.Advance(16 * time.Minute) // the directory drops b
				syncOnce(t, m)
				if n := heldIn(t, e, b); n != 0 {
					t.Fatalf("mailbox %d holds %d conversations after the directory dropped it; want none", b, n)
				}
			}
			e.clock.Advance(map[bool]time.Duration{false: 5 * time.Minute, true: 21 * time.Minute}[tt.stale])
			log.Reset()
			e.fake.ResetStats()
			if _, err := m.SyncOnce(ctx); err != nil { // the reconcile's
				t.Fatalf("the reconcile after mailbox %d was revoked: %v", b, err)
			}
			if n := heldIn(t, e, b); n != 0 {
				t.Errorf("after the reconcile, mailbox %d holds %d conversations; want none", b, n)
			}
			if n := e.fake.Stats().Requests[helpscouttest.RouteGetConversation]; n != 0 {
				t.Errorf("the reconcile read %d conversations on their own; want none", n)
			}
			if n, want := strings.Count(log.String(), goneLine), map[bool]int{true: 1}[tt.stale]; n != want {
				t.Errorf("the reconcile's log says %d times %q; want %d:\n%s", n, goneLine, want, log.String())
			}
			assertMirrorEqualBut(t, e, b)
			if ok, why := m.Ready(); !ok {
				t.Errorf("not ready after the reconcile: %s", why)
			}
		})
	}
}

// TestGoneMailboxCostsNoReadPerConversation: the conversations of a
// mailbox the directory dropped stayed in the store, and the hourly
// reconcile found each missing from its listings and read it on its own:
// a 400-conversation mailbox cost 400 requests in one reconcile, and
// 100,000 would hold the sync for 8 hours at 200 requests a minute. They
// now leave the mirror with the mailbox, and the reconcile reads none of
// them. Their tombstones block nothing: a mailbox given back to the API
// user (the 403 case) is walked again from the beginning and every one of
// its conversations comes back (a deletion's tombstones brought back 0 of
// 90).
func TestGoneMailboxCostsNoReadPerConversation(t *testing.T) {
	type take func(*helpscouttest.Server, int64) error
	for _, tt := range []struct {
		name  string
		take  take
		named bool // QW_MAILBOXES names a and the mailbox that goes
		back  bool // the mailbox is given back to the API user
	}{
		{name: "404", take: (*helpscouttest.Server).RemoveMailbox},
		{name: "403", take: (*helpscouttest.Server).RevokeMailbox, back: true},
		{name: "403 named", take: (*helpscouttest.Server).RevokeMailbox, named: true, back: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, _, a, b := scopeEnv(t)
			c := addOldMailbox(t, e, 400)
			opts := mirror.Options{ReconcileEvery: 20 * time.Minute}
			if tt.named {
				opts.Mailboxes = []int64{a, b, c}
			}
			m := e.mirror(opts)
			syncOnce(t, m)
			if n := heldIn(t, e, c); n != 400 {
				t.Fatalf("mailbox %d holds %d conversations after the first sync; want 400", c, n)
			}
			if err := tt.take(e.fake, c); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(16 * time.Minute) // the directory drops c
			syncOnce(t, m)
			e.clock.Advance(5 * time.Minute)
			e.fake.ResetStats()
			syncOnce(t, m) // the reconcile's
			if n := e.fake.Stats().Requests[helpscouttest.RouteGetConversation]; n != 0 {
				t.Errorf("the reconcile after mailbox %d went read %d conversations on their own; want none", c, n)
			}
			if n := heldIn(t, e, c); n != 0 {
				t.Errorf("mailbox %d gone still holds %d conversations", c, n)
			}
			// The queue and the gauges (helpscout_conversations) read the
			// store: nothing of c is left in them.
			open, err := e.db.OpenConversations(context.Background(), store.OpenFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range open {
				if o.MailboxID == c {
					t.Errorf("conversation %d of mailbox %d, gone, is in the open list", o.ID, c)
				}
			}
			stats, err := e.db.MailboxStats(context.Background(), time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range stats {
				if st.MailboxID == c {
					t.Errorf("the mailbox stats hold mailbox %d, gone: %+v", c, st)
				}
			}
			assertMirrorEqualBut(t, e, c)
			if !tt.back {
				return // deleted: nothing to give back
			}
			if err := e.fake.GrantMailbox(c); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(16 * time.Minute) // the directory lists c again
			for range 3 {                     // its walk is paced: 100 pages a sync
				syncOnce(t, m)
				e.clock.Advance(time.Minute)
			}
			held, served := mailboxRows(t, e, c)
			if len(held) != len(served) || len(held) != 400 {
				t.Errorf("mailbox %d given back holds %d of its %d conversations; want all 400", c, len(held), len(served))
			}
			assertMirrorEqual(t, e.db, e.fake)
		})
	}
}

// TestConversationRefusedOutsideTheDirectoryComesBack: a conversation
// the poll stored from a mailbox the directory had not listed yet (the
// API user given it since the last refresh), refused (403) at the
// reconcile once the mailbox is taken away again, leaves the mirror; the
// mailbox given back, its walk from the beginning brings the conversation
// back, unchanged as it is. The removal was a deletion, whose tombstone
// blocked the version removed: the conversation stayed out of the mirror
// until it next changed.
func TestConversationRefusedOutsideTheDirectoryComesBack(t *testing.T) {
	e, _, _, _ := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	x, err := e.fake.AddMailbox(helpscouttest.Mailbox{Name: "New"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	cv, err := e.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: x.ID, CustomerID: e.acct.Customers[0], Subject: "in a mailbox not listed yet"})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	syncOnce(t, m) // the poll, which names no mailbox, stores it
	if _, _, err := e.db.Conversation(ctx, cv.ID); err != nil {
		t.Fatalf("conversation %d of mailbox %d not polled: %v", cv.ID, x.ID, err)
	}
	if err := e.fake.RevokeMailbox(x.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(9 * time.Minute) // the reconcile is due, the directory not yet
	e.fake.ResetStats()
	if _, err := m.SyncOnce(ctx); err != nil {
		t.Fatalf("the reconcile meeting a 403 on conversation %d of mailbox %d, not listed: %v", cv.ID, x.ID, err)
	}
	if n := e.fake.Stats().Requests[helpscouttest.RouteGetConversation]; n != 1 {
		t.Fatalf("the reconcile read %d conversations on their own; want 1, the refused one", n)
	}
	if _, _, err := e.db.Conversation(ctx, cv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("conversation %d, refused in mailbox %d not listed: %v; want it removed", cv.ID, x.ID, err)
	}
	if err := e.fake.GrantMailbox(x.ID); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Minute) // the directory lists x: its walk
	syncOnce(t, m)
	if _, _, err := e.db.Conversation(ctx, cv.ID); err != nil {
		t.Errorf("conversation %d, unchanged, after mailbox %d was given back: %v; want it back", cv.ID, x.ID, err)
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestConversationRefusedInAListedMailboxStaysAnError: a 403 on a
// conversation whose mailbox the directory, refreshed at once, still
// lists is not taken for the mailbox gone: Help Scout says the mailbox is
// there, and the conversation is kept; the reconcile fails, naming the
// mailbox. So does a Refresh (the rebalancer's re-read after a move).
func TestConversationRefusedInAListedMailboxStaysAnError(t *testing.T) {
	e, _, a, _ := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	var open helpscouttest.Conversation
	for _, c := range e.fake.Conversations() {
		if c.MailboxID == a && c.Status == helpscouttest.StatusActive {
			open = c
			break
		}
	}
	if open.ID == 0 {
		t.Fatalf("no active conversation in mailbox %d", a)
	}
	// Gone from the listings, so that the reconcile asks for it, and
	// refused when asked for.
	if err := e.fake.Delete(open.ID); err != nil {
		t.Fatal(err)
	}
	path := "/v2/conversations/" + strconv.FormatInt(open.ID, 10)
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		w.Header().Set("Content-Type", "application/vnd.error+json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"logRef":"5f0c1c2e-0a92-11e8-ba89-0ed5f89f718b","message":"Access denied"}`)
		return true
	})
	if err := m.Refresh(ctx, open.ID); !errors.Is(err, helpscout.ErrForbidden) {
		t.Errorf("Refresh of conversation %d refused: %v; want the 403", open.ID, err)
	}
	e.clock.Advance(11 * time.Minute)
	e.fake.ResetStats()
	_, err := m.SyncOnce(ctx)
	if !errors.Is(err, helpscout.ErrForbidden) || !strings.Contains(err.Error(), strconv.FormatInt(a, 10)) {
		t.Errorf("the reconcile meeting a 403 on conversation %d of listed mailbox %d: %v; want the 403, naming the mailbox", open.ID, a, err)
	}
	if n := e.fake.Stats().Requests[helpscouttest.RouteListMailboxes]; n != 1 {
		t.Errorf("the reconcile listed the mailboxes %d times; want once, to see whether mailbox %d is gone", n, a)
	}
	if _, _, err := e.db.Conversation(ctx, open.ID); err != nil {
		t.Errorf("conversation %d, refused in a listed mailbox, no longer stored: %v", open.ID, err)
	}
}

// refuseConversation answers every request for conversation id with a
// 403, in the fake's stead (nil: none).
func refuseConversation(e *env, id int64) {
	path := "/v2/conversations/" + strconv.FormatInt(id, 10)
	e.log.setAnswer(func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != path {
			return false
		}
		w.Header().Set("Content-Type", "application/vnd.error+json")
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `{"logRef":"5f0c1c2e-0a92-11e8-ba89-0ed5f89f718b","message":"Access denied"}`)
		return true
	})
}

// TestStillListedLastsUntilTheNextRefresh: a mailbox whose refusal a
// refresh found still listed is not refreshed for again until the
// directory's next refresh (README, section 1). A refresh made at once
// for another mailbox, gone, is that next refresh (the directory's own
// comes 15 minutes after it), yet it kept the suppression: the mailbox
// refused again soon after had no refresh of its own until the
// directory's cadence, up to twice as long. The error names the mailbox
// refused.
func TestStillListedLastsUntilTheNextRefresh(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m) // T0; the directory's next refresh is due at T15
	var inA []int64
	for _, c := range e.fake.Conversations() {
		if c.MailboxID == a && c.Status == helpscouttest.StatusActive {
			inA = append(inA, c.ID)
		}
	}
	if len(inA) < 2 {
		t.Fatalf("mailbox %d has %d active conversations; the test needs 2", a, len(inA))
	}
	refused := func(id int64) {
		t.Helper()
		// Gone from the listings, so that the reconcile asks for it, and
		// refused when asked for.
		if err := e.fake.Delete(id); err != nil {
			t.Fatal(err)
		}
		refuseConversation(e, id)
	}
	mailboxListings := func() int { return e.fake.Stats().Requests[helpscouttest.RouteListMailboxes] }

	// T11: refused in a, which a refresh at once finds still listed.
	refused(inA[0])
	e.clock.Advance(11 * time.Minute)
	e.fake.ResetStats()
	if _, err := m.SyncOnce(ctx); !errors.Is(err, helpscout.ErrForbidden) {
		t.Fatalf("the reconcile meeting a 403 in listed mailbox %d: %v; want the 403", a, err)
	}
	if n := mailboxListings(); n != 1 {
		t.Fatalf("the reconcile listed the mailboxes %d times; want once", n)
	}
	e.log.setAnswer(nil) // a 404 from now on: deleted

	// T13: b is taken away; the reconcile's 403 for it has the directory
	// refreshed, which drops b: the directory's next refresh is due at T28.
	if err := e.fake.RevokeMailbox(b); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	e.fake.ResetStats()
	if _, err := m.SyncOnce(ctx); err != nil {
		t.Fatalf("the reconcile after mailbox %d was revoked: %v", b, err)
	}
	if n := mailboxListings(); n != 1 {
		t.Fatalf("the reconcile meeting mailbox %d gone listed the mailboxes %d times; want once", b, n)
	}

	// T24: a refused again, after that refresh: one refresh for it.
	refused(inA[1])
	e.clock.Advance(11 * time.Minute)
	e.fake.ResetStats()
	_, err := m.SyncOnce(ctx)
	if !errors.Is(err, helpscout.ErrForbidden) {
		t.Fatalf("the reconcile meeting a 403 in listed mailbox %d again: %v; want the 403", a, err)
	}
	if want := fmt.Sprintf("refused for mailbox %d,", a); !strings.Contains(err.Error(), want) {
		t.Errorf("the error does not say %q: %v", want, err)
	}
	if n := mailboxListings(); n != 1 {
		t.Errorf("mailbox %d refused again after a refresh made since its last refusal: the mailboxes listed %d times; want once", a, n)
	}
}

// TestRetryAfterAMailboxGoneKeepsTheWalkBudget: a sync whose poll met a
// mailbox gone runs again without it (retryWithoutGone), and with it the
// paced walk of a newly listed mailbox, which got a fresh budget of pages
// for it: that sync read twice Options.WalkPagesPerSync of the walk, and
// the poll and webhooks waited as long again. The budget is the sync's.
func TestRetryAfterAMailboxGoneKeepsTheWalkBudget(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	const budget = 2
	c := addOldMailbox(t, e, 8*helpscouttest.ConversationPageSize)
	if err := e.fake.RevokeMailbox(c); err != nil { // not listed at the first sync
		t.Fatal(err)
	}
	m := e.mirror(mirror.Options{Mailboxes: []int64{a, b, c}, WalkPagesPerSync: budget})
	syncOnce(t, m)
	if err := e.fake.GrantMailbox(c); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(16 * time.Minute) // the directory lists c: its walk begins
	e.log.reset()
	syncOnce(t, m)
	if n := pagedListings(e, c); n != budget {
		t.Fatalf("the first sync of mailbox %d's walk read %d pages; want %d", c, n, budget)
	}

	// b goes as the next sync's poll, after another slice of c's walk,
	// lists it.
	e.log.setBefore(func(r *http.Request) {
		if names(r, b) {
			if err := e.fake.RemoveMailbox(b); err != nil && !errors.Is(err, helpscouttest.ErrNotFound) {
				t.Error(err)
			}
		}
	})
	e.clock.Advance(2 * time.Minute)
	e.log.reset()
	if _, err := m.SyncOnce(context.Background()); err != nil {
		t.Fatalf("the sync whose poll met mailbox %d gone: %v", b, err)
	}
	if n := pagedListings(e, c); n != budget {
		t.Errorf("the sync retried without mailbox %d read %d pages of mailbox %d's walk; want %d, its budget", b, n, c, budget)
	}
}

// TestRefusedWalkOfAListedMailboxLeavesThePollRunning: with every mailbox
// mirrored, a mailbox newly listed is walked on its own before the poll
// (settleScope). While Help Scout refused its listing and the directory
// still listed it, that walk failed every sync before the poll, and no
// other mailbox was polled for as long as that lasted. The others are
// polled now; the sync still fails, naming the mailbox, at each try.
func TestRefusedWalkOfAListedMailboxLeavesThePollRunning(t *testing.T) {
	for _, status := range []int{http.StatusForbidden, http.StatusNotFound} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			e, _, a, _ := scopeEnv(t)
			ctx := context.Background()
			m := e.mirror(mirror.Options{})
			syncOnce(t, m)
			c := addOldMailbox(t, e, 3)
			refuseListings(e, c, status)
			var inA helpscouttest.Conversation
			for _, cv := range e.fake.Conversations() {
				if cv.MailboxID == a {
					inA = cv
					break
				}
			}
			e.clock.Advance(16 * time.Minute) // the directory lists c: its walk is due
			for i := range 3 {
				subject := "changed while mailbox c is refused " + strconv.Itoa(i)
				if err := e.fake.SetSubject(inA.ID, subject, time.Time{}); err != nil {
					t.Fatal(err)
				}
				e.clock.Advance(2 * time.Minute)
				_, err := m.SyncOnce(ctx)
				if err == nil || !strings.Contains(err.Error(), strconv.FormatInt(c, 10)) {
					t.Errorf("sync %d with the walk of listed mailbox %d refused: %v; want an error naming it", i+1, c, err)
				}
				got, _, err := e.db.Conversation(ctx, inA.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.Subject != subject {
					t.Errorf("sync %d: conversation %d of mailbox %d has subject %q; want %q: not polled while mailbox %d is refused", i+1, inA.ID, a, got.Subject, subject, c)
				}
			}
		})
	}
}

// TestEmptyDirectoryKeepsTheMirror: a directory that suddenly lists no
// mailbox at all would have every conversation forgotten with its
// mailbox, and the whole account walked again at the next listing that
// names them; the refresh is refused instead (logged and retried, as a
// refresh Help Scout fails), and the mirror kept.
func TestEmptyDirectoryKeepsTheMirror(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	var log bytes.Buffer
	m := e.mirror(mirror.Options{Logger: slog.New(slog.NewTextHandler(&log, nil))})
	syncOnce(t, m)
	heldA, heldB := heldIn(t, e, a), heldIn(t, e, b)
	if heldA == 0 || heldB == 0 {
		t.Fatalf("the first sync holds %d and %d conversations; want some of each", heldA, heldB)
	}
	for _, mb := range []int64{a, b} {
		if err := e.fake.RemoveMailbox(mb); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(16 * time.Minute) // the directory's refresh is due
	syncOnce(t, m)
	if !strings.Contains(log.String(), "no mailbox listed by Help Scout, where it listed 2 before") {
		t.Errorf("the refresh of an empty directory was not refused; log:\n%s", log.String())
	}
	if n, o := heldIn(t, e, a), heldIn(t, e, b); n != heldA || o != heldB {
		t.Errorf("after an empty directory the mirror holds %d and %d conversations; want %d and %d kept", n, o, heldA, heldB)
	}
	ms, err := e.db.Mailboxes(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 2 {
		t.Errorf("the stored directory holds %d mailboxes after an empty answer; want the 2 it had", len(ms))
	}
}
