package mirror_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestMirrorRecordsMailboxAccess: the mirror records which of the mirrored
// mailboxes each user can open (nil: all of them), so the balancer never
// hands a ticket to someone who cannot open it, and flags as out of scope
// the users who can open none (another inbox's team, with QW_MAILBOXES).
// It costs one user listing per mirrored mailbox.
func TestMirrorRecordsMailboxAccess(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Conversations: 20, Mailboxes: 2})
	support, sales := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	seller, err := e.fake.AddUser(helpscouttest.User{FirstName: "Sal", Mailboxes: []int64{sales}})
	if err != nil {
		t.Fatal(err)
	}
	// Bo can open both: he never shows in the maps below.
	if _, err := e.fake.AddUser(helpscouttest.User{FirstName: "Bo", Mailboxes: []int64{sales, support}}); err != nil {
		t.Fatal(err)
	}
	type access struct {
		Mailboxes  []int64
		OutOfScope bool
	}
	read := func() map[int64]access {
		t.Helper()
		us, err := e.db.Users(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		out := map[int64]access{}
		for _, u := range us {
			if u.Mailboxes != nil || u.OutOfScope {
				out[u.ID] = access{u.Mailboxes, u.OutOfScope}
			}
		}
		return out
	}
	listings := func() int { return e.fake.Stats().Requests[helpscouttest.RouteListUsers] }

	// Every mailbox: Sal can open only sales; everyone else, Bo included,
	// all of them.
	syncOnce(t, e.mirror(mirror.Options{}))
	if diff := cmp.Diff(map[int64]access{seller.ID: {Mailboxes: []int64{sales}}}, read()); diff != "" {
		t.Errorf("all mailboxes (-want +got):\n%s", diff)
	}
	if n := listings(); n != 3 {
		t.Errorf("users listed %d times, want 3 (everyone, then each of 2 mailboxes)", n)
	}

	// Support only: Sal is out of scope; Bo can open all of it.
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{support}}))
	if diff := cmp.Diff(map[int64]access{seller.ID: {Mailboxes: []int64{}, OutOfScope: true}}, read()); diff != "" {
		t.Errorf("support only (-want +got):\n%s", diff)
	}
	if n := listings(); n != 5 {
		t.Errorf("users listed %d times in all, want 5 (3, then everyone and support)", n)
	}
}

// TestMirrorMailboxAccessFallback: if Help Scout lists nobody for the
// mirrored mailboxes (a filter it ignores or answers strangely), the mirror
// does not conclude that nobody may work them: everyone keeps access to
// everything, and it says so in the log.
func TestMirrorMailboxAccessFallback(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Conversations: -1})
	support, err := e.fake.AddMailbox(helpscouttest.Mailbox{Name: "Support"})
	if err != nil {
		t.Fatal(err)
	}
	sales, err := e.fake.AddMailbox(helpscouttest.Mailbox{Name: "Sales"})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Olga", "Sal"} {
		if _, err := e.fake.AddUser(helpscouttest.User{FirstName: name, Mailboxes: []int64{sales.ID}}); err != nil {
			t.Fatal(err)
		}
	}
	var log bytes.Buffer
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{support.ID}, Logger: slog.New(slog.NewTextHandler(&log, nil))}))
	us, err := e.db.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(us) != 2 {
		t.Fatalf("users %+v, want 2", us)
	}
	for _, u := range us {
		if u.OutOfScope || u.Mailboxes != nil {
			t.Errorf("user %d: out of scope %v, mailboxes %v; want neither", u.ID, u.OutOfScope, u.Mailboxes)
		}
	}
	if !strings.Contains(log.String(), "listed no user for the mirrored mailboxes") {
		t.Errorf("no warning in the log:\n%s", log.String())
	}
}

// TestMirrorUnknownScopeMailbox: a QW_MAILBOXES id the account does not
// have is reported and skipped; it costs no user listing (which Help Scout
// might answer with an error that would stop every directory refresh), and
// the mailboxes that exist are still scoped.
func TestMirrorUnknownScopeMailbox(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Conversations: 5, Mailboxes: 2})
	support, sales := e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	seller, err := e.fake.AddUser(helpscouttest.User{FirstName: "Sal", Mailboxes: []int64{sales}})
	if err != nil {
		t.Fatal(err)
	}
	const missing = 999999
	var log bytes.Buffer
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{support, missing}, Logger: slog.New(slog.NewTextHandler(&log, nil))}))
	if n := e.fake.Stats().Requests[helpscouttest.RouteListUsers]; n != 2 {
		t.Errorf("users listed %d times, want 2 (everyone, then support; never the missing mailbox)", n)
	}
	if !strings.Contains(log.String(), "mailbox_id=999999") {
		t.Errorf("the missing mailbox is not reported:\n%s", log.String())
	}
	us, err := e.db.Users(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range us {
		if u.ID == seller.ID && !u.OutOfScope {
			t.Errorf("Sal (sales only) is in scope with QW_MAILBOXES=%d,%d", support, missing)
		}
	}
}

// scopedHookEnv is an account of 120 conversations over several
// mailboxes, with signed webhooks, mirrored with QW_MAILBOXES set to the
// first mailbox (scope); other is a mailbox it does not mirror. It has
// synced once.
func scopedHookEnv(t *testing.T) (h *hookEnv, scope, other int64) {
	t.Helper()
	sink := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(sink.Close)
	e := newEnv(t, helpscouttest.Options{
		Webhook: helpscouttest.WebhookOptions{URL: sink.URL, Secret: webhookSecret},
	}, helpscouttest.GenerateConfig{Seed: 17, Conversations: 120})
	scope, other = e.acct.Mailboxes[0], e.acct.Mailboxes[1]
	m := e.mirror(mirror.Options{Mailboxes: []int64{scope}, ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)
	return &hookEnv{env: e, m: m}, scope, other
}

// TestMovedOutOfScopeLeavesMirror: with QW_MAILBOXES, a conversation moved
// to a mailbox the daemon does not mirror must leave the mirror, whether
// the convo.moved webhook arrives or only the hourly reconcile finds it:
// left open here, the balancer would count it and could move it.
func TestMovedOutOfScopeLeavesMirror(t *testing.T) {
	for _, viaWebhook := range []bool{true, false} {
		name := map[bool]string{true: "webhook", false: "reconcile"}[viaWebhook]
		t.Run(name, func(t *testing.T) {
			h, scope, other := scopedHookEnv(t)
			e, m := h.env, h.m
			var c helpscouttest.Conversation
			for _, x := range e.fake.Conversations() {
				if x.MailboxID == scope && x.Status == helpscouttest.StatusActive && x.AssigneeID != 0 {
					c = x
					break
				}
			}
			if c.ID == 0 {
				t.Fatal("no active assigned conversation in the mirrored mailbox")
			}
			e.clock.Advance(time.Minute)
			if err := e.fake.Move(c.ID, 0, other, time.Time{}); err != nil {
				t.Fatal(err)
			}
			deliveries := h.deliveries(t)
			if viaWebhook {
				for _, d := range deliveries {
					h.store(t, d)
				}
				h.process(t)
			} else {
				e.clock.Advance(10 * time.Minute) // the reconcile is due
			}
			e.clock.Advance(2 * time.Minute)
			syncOnce(t, m)
			open, err := e.db.OpenConversations(context.Background(), store.OpenFilter{})
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range open {
				if o.ID == c.ID {
					t.Errorf("conversation %d, moved to unmirrored mailbox %d, is still open in the mirror (mailbox %d)", c.ID, other, o.MailboxID)
				}
			}
		})
	}
}

// TestLateOutOfScopeEventKeepsConversation: an event from when the
// conversation lived in an unmirrored mailbox, delivered late, after it
// moved in and was mirrored, must not remove it (a tombstone at its
// current version would keep polls and the reconcile from restoring it).
func TestLateOutOfScopeEventKeepsConversation(t *testing.T) {
	h, scope, other := scopedHookEnv(t)
	e, m := h.env, h.m
	var c helpscouttest.Conversation
	for _, x := range e.fake.Conversations() {
		if x.MailboxID == other && x.Status == helpscouttest.StatusActive {
			c = x
			break
		}
	}
	if c.ID == 0 {
		t.Fatal("no active conversation in the other mailbox")
	}
	e.clock.Advance(time.Minute)
	if _, err := e.fake.AddNote(c.ID, helpscouttest.ThreadInput{Body: "x"}); err != nil {
		t.Fatal(err)
	}
	old := h.deliveries(t) // delivery delayed (retry)
	e.clock.Advance(time.Minute)
	if err := e.fake.Move(c.ID, 0, scope, time.Time{}); err != nil {
		t.Fatal(err)
	}
	h.deliveries(t)
	e.clock.Advance(2 * time.Minute)
	syncOnce(t, m)
	if _, _, err := e.db.Conversation(context.Background(), c.ID); err != nil {
		t.Fatalf("not mirrored after the move in: %v", err)
	}
	for _, d := range old {
		h.store(t, d)
	}
	h.process(t)
	for range 3 {
		e.clock.Advance(11 * time.Minute)
		syncOnce(t, m)
	}
	if _, _, err := e.db.Conversation(context.Background(), c.ID); err != nil {
		t.Errorf("conversation %d in mirrored mailbox %d lost after a late older event: %v", c.ID, scope, err)
	}
}

// scopeEnv is an account of two mailboxes with closed history in both,
// mirrored into a file the test can reopen.
func scopeEnv(t *testing.T) (e *env, path string, a, b int64) {
	t.Helper()
	e = newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 23, Conversations: 160, Mailboxes: 2})
	path = filepath.Join(t.TempDir(), "qw.db")
	e.db = testkit.OpenStoreAt(t, path)
	e.db.Now = e.clock.Now
	return e, path, e.acct.Mailboxes[0], e.acct.Mailboxes[1]
}

// fullWalks lists the mailbox filters of the conversation listings read
// from the beginning (without modifiedSince) since the log was reset.
func fullWalks(e *env) []string {
	var out []string
	for _, u := range e.log.URLs() {
		q := u.Query()
		if u.Path == "/v2/conversations" && q.Get("modifiedSince") == "" && q.Get("sortField") == "modifiedAt" && q.Get("page") == "" {
			out = append(out, q.Get("mailbox"))
		}
	}
	return out
}

// TestMailboxesChangeBetweenStarts is ops finding 1: with QW_MAILBOXES
// grown from one mailbox to two, the new one held 12 of its 297
// conversations (the shared cursor only reads what changed lately), and
// shrunk back to one, the other's rows stayed in the open list and the
// metrics. The mirror records what it was built for: an added mailbox is
// walked from the beginning, closed history included, without walking the
// other again, and a removed one leaves the mirror; both are logged with
// the mailbox ids.
func TestMailboxesChangeBetweenStarts(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	ctx := context.Background()
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))
	restart := func(mailboxes ...int64) {
		t.Helper()
		e.clock.Advance(10 * time.Minute)
		e.log.reset()
		log.Reset()
		syncOnce(t, e.mirror(mirror.Options{Mailboxes: mailboxes, Logger: logger}))
	}
	inMailbox := func(id int64) (n, closed int) {
		for _, c := range e.fake.Conversations() {
			if c.MailboxID == id {
				n++
				if c.Status == helpscouttest.StatusClosed {
					closed++
				}
			}
		}
		return n, closed
	}
	if n, closed := inMailbox(b); n < 20 || closed == 0 {
		t.Fatalf("mailbox %d has %d conversations, %d closed: the test needs history", b, n, closed)
	}

	restart(a)
	if got := fullWalks(e); !slices.Equal(got, []string{strconv.FormatInt(a, 10)}) {
		t.Errorf("first sync walked %q from the beginning, want only %d", got, a)
	}

	restart(a, b)
	assertMirrorEqual(t, e.db, e.fake)
	if got := fullWalks(e); !slices.Equal(got, []string{strconv.FormatInt(b, 10)}) {
		t.Errorf("after adding %d, walked %q from the beginning; want only the added mailbox", b, got)
	}
	if want := fmt.Sprintf("mailboxes added to QW_MAILBOXES: walking their whole history\" mailbox_ids=[%d]", b); !strings.Contains(log.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, log.String())
	}

	restart(a)
	open, err := e.db.OpenConversations(ctx, store.OpenFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range open {
		if o.MailboxID == b {
			t.Fatalf("conversation %d of removed mailbox %d is still in the open list", o.ID, b)
		}
	}
	stats, err := e.db.MailboxStats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range stats {
		if s.MailboxID != a {
			t.Errorf("mailbox stats (helpscout_conversations) hold mailbox %d: %+v; want only %d", s.MailboxID, s, a)
		}
	}
	n, _ := inMailbox(b)
	if want := fmt.Sprintf("dropped the conversations held in mailboxes outside QW_MAILBOXES\" conversations=%d mailbox_ids=[%d]", n, b); !strings.Contains(log.String(), want) {
		t.Errorf("log does not say %s:\n%s", want, log.String())
	}

	// Back again: the tombstones the removal left keep nothing out.
	restart()
	assertMirrorEqual(t, e.db, e.fake)
	if got := fullWalks(e); !slices.Equal(got, []string{strconv.FormatInt(b, 10)}) {
		t.Errorf("with every mailbox, walked %q from the beginning; want only %d", got, b)
	}
	restart()
	if got := fullWalks(e); len(got) != 0 {
		t.Errorf("an unchanged scope walked %q from the beginning", got)
	}

	// From every mailbox to one: the other leaves, nothing is walked.
	restart(a)
	if got := fullWalks(e); len(got) != 0 {
		t.Errorf("narrowing from every mailbox walked %q from the beginning", got)
	}
	for _, r := range storeRows(t, e.db) {
		if r.MailboxID != a {
			t.Fatalf("conversation %d of mailbox %d stayed after narrowing to %d", r.ID, r.MailboxID, a)
		}
	}
	if n, _ := inMailbox(a); len(storeRows(t, e.db)) != n {
		t.Errorf("store holds %d conversations, want the %d of mailbox %d", len(storeRows(t, e.db)), n, a)
	}
}

// TestDatabaseWithoutScopeIsNotWalkedAgain: a file from before the scope
// was recorded is taken as built for the scope it is started with, so an
// upgrade does not walk every mailbox again.
func TestDatabaseWithoutScopeIsNotWalkedAgain(t *testing.T) {
	e, path, a, b := scopeEnv(t)
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, b}}))
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	// As migrations 0011 and 0012 leave a file from before them.
	if _, err := raw.Exec("DELETE FROM mirror_scope; DELETE FROM mirror_scope_recorded"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10 * time.Minute)
	e.log.reset()
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a, b}}))
	if got := fullWalks(e); len(got) != 0 {
		t.Errorf("an upgraded file was walked again from the beginning: %q", got)
	}
	sc, err := e.db.MirrorScope(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (store.MirrorScope{Recorded: true, Mailboxes: []int64{min(a, b), max(a, b)}}); !cmp.Equal(sc, want) {
		t.Errorf("recorded scope %+v, want %+v", sc, want)
	}
}

// TestAddedMailboxWalkResumes: a walk of an added mailbox cut short (a
// Help Scout failure on its third page) resumes from its own cursor at the
// next sync instead of starting again, and the mailbox then counts as
// mirrored.
func TestAddedMailboxWalkResumes(t *testing.T) {
	e, _, a, b := scopeEnv(t)
	syncOnce(t, e.mirror(mirror.Options{Mailboxes: []int64{a}}))
	e.clock.Advance(10 * time.Minute)
	bs := strconv.FormatInt(b, 10)
	var once sync.Once
	e.log.setBefore(func(r *http.Request) {
		if q := r.URL.Query(); q.Get("mailbox") == bs && q.Get("page") == "3" {
			once.Do(func() { e.fake.SetFaults(helpscouttest.Faults{FailNext: 1}) })
		}
	})
	m := e.mirror(mirror.Options{Mailboxes: []int64{a, b}})
	if _, err := m.SyncOnce(context.Background()); err == nil {
		t.Fatal("the sync succeeded through the injected failure")
	}
	e.log.reset()
	e.clock.Advance(time.Minute)
	syncOnce(t, m)
	if got := fullWalks(e); len(got) != 0 {
		t.Errorf("the walk of mailbox %d started again from the beginning: %q", b, got)
	}
	resumed := false
	for _, u := range e.log.URLs() {
		q := u.Query()
		resumed = resumed || q.Get("mailbox") == bs && q.Get("modifiedSince") != ""
	}
	if !resumed {
		t.Errorf("no listing of mailbox %d alone resumed from a cursor", b)
	}
	assertMirrorEqual(t, e.db, e.fake)
	sc, err := e.db.MirrorScope(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{min(a, b), max(a, b)}; !slices.Equal(sc.Mailboxes, want) {
		t.Errorf("recorded scope %v, want %v", sc.Mailboxes, want)
	}
}
