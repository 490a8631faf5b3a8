package mirror_test

import (
	"cmp"
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestSyncOnceMirrorsExactly is issue 3's "exact mirror": after the first
// sync every conversation the fake serves is stored with the same fields
// and the same threads, and nothing else is stored.
func TestSyncOnceMirrorsExactly(t *testing.T) {
	n := testkit.Size(5000, 1000, 300)
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 11, Conversations: n})
	m := e.mirror(mirror.Options{})
	if ok, reason := m.Ready(); ok || reason == "" {
		t.Errorf("Ready before the first sync = %v, %q; want false with a reason", ok, reason)
	}
	st := syncOnce(t, m)
	if st.Conversations != n {
		t.Errorf("listed %d conversations, want %d", st.Conversations, n)
	}
	if st.Rewalks != 0 {
		t.Errorf("rewalks = %d on an account that did not change", st.Rewalks)
	}
	if ok, reason := m.Ready(); !ok {
		t.Errorf("not ready after the first sync: %s", reason)
	}
	assertMirrorEqual(t, e.db, e.fake)
	assertDirectoryEqual(t, e.db, e.fake)
	t.Logf("first sync of %d conversations: %+v", n, st)
}

// TestMissedWebhooksHeal changes the account behind the mirror's back (no
// webhooks are configured) and checks that the next poll alone brings the
// store back to equal, change by change.
func TestMissedWebhooksHeal(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 120})
	m := e.mirror(mirror.Options{})
	syncOnce(t, m)
	assertMirrorEqual(t, e.db, e.fake)

	pick := func(t *testing.T, match func(c helpscouttest.Conversation) bool) helpscouttest.Conversation {
		t.Helper()
		for _, c := range e.fake.Conversations() {
			if match(c) {
				return c
			}
		}
		t.Fatal("no conversation in the seeded account matches")
		return helpscouttest.Conversation{}
	}
	status := func(s string) func(c helpscouttest.Conversation) bool {
		return func(c helpscouttest.Conversation) bool { return c.Status == s && c.Type == "email" }
	}
	agents := e.acct.Agents
	cases := []struct {
		name   string
		change func(t *testing.T) error
	}{
		{"agent reply", func(t *testing.T) error {
			c := pick(t, status(helpscouttest.StatusActive))
			_, err := e.fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: agents[2], Body: "on it", Status: helpscouttest.StatusPending})
			return err
		}},
		{"customer reopens a closed conversation", func(t *testing.T) error {
			c := pick(t, status(helpscouttest.StatusClosed))
			_, err := e.fake.AddCustomerThread(c.ID, helpscouttest.ThreadInput{Body: "it broke again"})
			return err
		}},
		{"status change", func(t *testing.T) error {
			return e.fake.SetStatus(pick(t, status(helpscouttest.StatusPending)).ID, 0, helpscouttest.StatusClosed, time.Time{})
		}},
		{"reassignment", func(t *testing.T) error {
			c := pick(t, func(c helpscouttest.Conversation) bool { return c.AssigneeID != 0 && c.AssigneeID != agents[3] })
			return e.fake.Assign(c.ID, 0, agents[3], time.Time{})
		}},
		{"unassignment", func(t *testing.T) error {
			c := pick(t, func(c helpscouttest.Conversation) bool {
				return c.AssigneeID != 0 && c.Status == helpscouttest.StatusActive
			})
			return e.fake.Assign(c.ID, 0, 0, time.Time{})
		}},
		{"new conversations", func(t *testing.T) error {
			for i := range 30 { // more than a page
				_, err := e.fake.CreateConversation(helpscouttest.NewConversation{
					MailboxID: e.acct.Mailboxes[i%len(e.acct.Mailboxes)], CustomerID: e.acct.Customers[i],
					Subject: "new", AssigneeID: agents[1+i%3],
				})
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{"tags only", func(t *testing.T) error {
			return e.fake.SetTags(pick(t, status(helpscouttest.StatusActive)).ID, []string{"qw-pin", "vip"}, time.Time{})
		}},
		{"subject only", func(t *testing.T) error {
			return e.fake.SetSubject(pick(t, status(helpscouttest.StatusPending)).ID, "renamed", time.Time{})
		}},
		{"note and draft", func(t *testing.T) error {
			c := pick(t, status(helpscouttest.StatusActive))
			if _, err := e.fake.AddNote(c.ID, helpscouttest.ThreadInput{Body: "internal"}); err != nil {
				return err
			}
			_, err := e.fake.AddDraft(c.ID, helpscouttest.ThreadInput{Body: "draft"})
			return err
		}},
		{"moved to another mailbox", func(t *testing.T) error {
			c := pick(t, status(helpscouttest.StatusActive))
			to := e.acct.Mailboxes[0]
			if to == c.MailboxID {
				to = e.acct.Mailboxes[1]
			}
			return e.fake.Move(c.ID, 0, to, time.Time{})
		}},
		{"chat grows past the embed limit", func(t *testing.T) error {
			c := pick(t, func(c helpscouttest.Conversation) bool { return c.Type == "chat" })
			for i := range 12 {
				var err error
				if i%2 == 0 {
					_, err = e.fake.AddCustomerThread(c.ID, helpscouttest.ThreadInput{Body: "hello?"})
				} else {
					_, err = e.fake.AddAgentReply(c.ID, helpscouttest.ThreadInput{UserID: agents[1], Body: "here"})
				}
				if err != nil {
					return err
				}
			}
			return nil
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e.clock.Advance(7 * time.Minute) // beyond the overlap, so only the change is re-read
			if err := tc.change(t); err != nil {
				t.Fatalf("change the fake: %v", err)
			}
			st := syncOnce(t, m)
			if st.Applied == 0 {
				t.Errorf("poll applied nothing: %+v", st)
			}
			assertMirrorEqual(t, e.db, e.fake)
		})
	}
}

// TestReconcileRemovesVanished deletes and merges open conversations in the
// fake without webhooks: polling cannot see them (they are simply no longer
// listed), so the periodic reconcile must remove them, and a merge must
// leave the survivor with every thread.
func TestReconcileRemovesVanished(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 9, Conversations: 150})
	m := e.mirror(mirror.Options{ReconcileEvery: 10 * time.Minute})
	syncOnce(t, m)

	var active, pending []int64
	for _, c := range e.fake.Conversations() {
		switch c.Status {
		case helpscouttest.StatusActive:
			active = append(active, c.ID)
		case helpscouttest.StatusPending:
			pending = append(pending, c.ID)
		}
	}
	if len(active) < 3 || len(pending) < 1 {
		t.Fatalf("seeded account has %d active and %d pending conversations; need 3 and 1", len(active), len(pending))
	}
	deleted := []int64{active[0], pending[0]}
	mergedFrom, mergedInto := active[1], active[2]
	for _, id := range deleted {
		if err := e.fake.Delete(id); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(time.Minute)
	if err := e.fake.Merge(mergedFrom, mergedInto, 0, time.Time{}); err != nil {
		t.Fatal(err)
	}

	// Before the reconcile is due, the poll alone leaves them behind.
	e.clock.Advance(time.Minute)
	syncOnce(t, m)
	if _, _, err := e.db.Conversation(context.Background(), deleted[0]); err != nil {
		t.Fatalf("deleted conversation already gone before the reconcile (%v): the test no longer shows the reconcile", err)
	}

	e.clock.Advance(10 * time.Minute)
	st := syncOnce(t, m)
	if st.Removed != 3 {
		t.Errorf("reconcile removed %d conversations, want 3 (2 deleted, 1 merged away)", st.Removed)
	}
	for _, id := range append(deleted, mergedFrom) {
		if _, _, err := e.db.Conversation(context.Background(), id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("conversation %d: err %v, want ErrNotFound", id, err)
		}
	}
	assertMirrorEqual(t, e.db, e.fake)
}

// TestRequestCost counts what the first sync and an idle poll cost on the
// wire (issue 3, "request cost").
func TestRequestCost(t *testing.T) {
	n := testkit.Size(1010, 510, 260) // not multiples of 25: the last page is short
	const overlap = 5 * time.Minute
	cases := []struct {
		name string
		// dataAge is how long before the first sync the newest change
		// happened; idleAfter is when the idle poll runs after it.
		dataAge, idleAfter time.Duration
	}{
		{"history older than the overlap", time.Hour, 2 * time.Minute},
		{"recent history, poll after the overlap", 0, overlap + time.Minute},
		// Inside the overlap the poll re-reads what changed in it, by
		// design: Help Scout's listing may show a change late.
		{"recent history, poll inside the overlap", 0, time.Minute},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 3, Conversations: n, Now: t0.Add(-tc.dataAge)})
			// The directory refresh has its own, slower cadence; keep it
			// out of the idle polls measured here.
			m := e.mirror(mirror.Options{Overlap: overlap, DirectoryEvery: 24 * time.Hour})
			st := syncOnce(t, m)
			got := e.fake.Stats()

			wantList := (n + helpscouttest.ConversationPageSize - 1) / helpscouttest.ConversationPageSize
			wantThreads, truncated := 0, 0
			for _, c := range e.fake.Conversations() {
				if c.Type == "chat" && len(c.Threads) > helpscouttest.DefaultChatEmbedThreadLimit {
					truncated++
					wantThreads += (len(c.Threads) + helpscouttest.PageSize - 1) / helpscouttest.PageSize
				}
			}
			pages := func(n int) int { return max(1, (n+helpscouttest.PageSize-1)/helpscouttest.PageSize) }
			users, teams := e.fake.Users(), e.fake.Teams()
			wantDir := map[string]int{
				helpscouttest.RouteListMailboxes:    pages(len(e.fake.Mailboxes())),
				helpscouttest.RouteListUsers:        pages(len(users) + len(teams)),
				helpscouttest.RouteListTeams:        pages(len(teams)),
				helpscouttest.RouteListUserStatuses: pages(len(users)),
			}
			for _, tm := range teams {
				wantDir[helpscouttest.RouteTeamMembers] += pages(len(tm.MemberIDs))
			}
			// Who can open which mailbox: one listing per mailbox when
			// there is more than one (the generated users open them all).
			if mbs := e.fake.Mailboxes(); len(mbs) > 1 {
				wantDir[helpscouttest.RouteListUsers] += len(mbs) * pages(len(users))
			}
			want := map[string]int{
				helpscouttest.RouteListConversations: wantList,
				helpscouttest.RouteListThreads:       wantThreads,
			}
			dirTotal := 0
			for k, v := range wantDir {
				want[k] = v
				dirTotal += v
			}
			if !equalCounts(got.Requests, want) {
				t.Errorf("first sync requests = %v\nwant %v", got.Requests, want)
			}
			if st.ThreadFetches != truncated {
				t.Errorf("Stats.ThreadFetches = %d, want %d (chats with more threads than embedded)", st.ThreadFetches, truncated)
			}
			t.Logf("first sync of %d conversations: %d requests = %d list pages (ceil(%d/25)) + %d directory pages + %d thread lists for %d truncated chats",
				n, totalRequests(got), got.Requests[helpscouttest.RouteListConversations], n, directoryRequests(got),
				got.Requests[helpscouttest.RouteListThreads], truncated)

			// Idle polls: each reads from an overlap before the previous
			// walk began (by the server's Date), so it re-reads only what
			// changed since then; once a poll began more than an overlap
			// after the last change, a poll costs one request.
			var costs []int
			for i, after := range []time.Duration{tc.idleAfter, overlap + time.Minute, overlap + time.Minute} {
				prevStart := e.clock.Now()
				e.fake.ResetStats()
				e.log.reset()
				e.clock.Advance(after)
				syncOnce(t, m)
				idle := e.fake.Stats()
				reread := 0
				for _, c := range e.fake.Conversations() {
					if !c.ModifiedAt.Before(prevStart.Add(-overlap)) {
						reread++
					}
				}
				want := max(1, (reread+helpscouttest.ConversationPageSize-1)/helpscouttest.ConversationPageSize)
				n := totalRequests(idle)
				if n != want {
					t.Errorf("idle poll %d cost %d requests (%v), want %d (%d conversations changed within the overlap)",
						i+1, n, idle.Requests, want, reread)
				}
				for _, u := range e.log.URLs() {
					if u.Path == "/v2/conversations" && u.Query().Get("modifiedSince") == "" {
						t.Errorf("idle poll %d listed without modifiedSince: %s", i+1, u)
					}
				}
				costs = append(costs, n)
			}
			if last := costs[len(costs)-1]; last != 1 {
				t.Errorf("idle poll long after the last change cost %d requests, want 1", last)
			}
			t.Logf("idle polls (first %s after the sync, then every %s): %v requests", tc.idleAfter, overlap+time.Minute, costs)
		})
	}
}

func equalCounts(got, want map[string]int) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	for k, v := range got {
		if want[k] != v {
			return false
		}
	}
	return true
}

// TestSyncSurvivesListingShift changes conversations while the first sync
// is walking the pages. Sorting by modifiedAt moves a changed conversation
// to the end and shifts the rest one place earlier, so one can slip between
// pages unseen; the mirror must still end equal.
func TestSyncSurvivesListingShift(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 21, Conversations: 200})
	ids := walkOrder(e.fake)
	beforeListingPage(e, 3, func() {
		// Before page 3: change two conversations the walk has passed (on
		// pages 1 and 2; they move behind it, and the first two of page 3
		// slide onto page 2, unseen) and one it has not reached yet.
		for _, i := range []int{3, 30, 120} {
			if _, err := e.fake.AddCustomerThread(ids[i].ID, helpscouttest.ThreadInput{Body: "still there?"}); err != nil {
				t.Error(err)
			}
		}
	})
	m := e.mirror(mirror.Options{})
	st := syncOnce(t, m)
	e.log.setBefore(nil)
	if st.Rewalks == 0 {
		t.Errorf("no rewalk after the listing shifted: %+v", st)
	}
	assertMirrorEqual(t, e.db, e.fake)
	t.Logf("sync under a shifting listing: %+v", st)
}

// TestSyncSurvivesDeletionDuringWalk deletes conversations the first sync
// has already passed while it walks the pages. Every later conversation
// slides one place earlier per deletion, so the first ones of the next page
// land on a page already read; no change to them would ever bring them back
// into an incremental listing. The shrinking total gives the shift away,
// and every live conversation must be in the store after the sync.
func TestSyncSurvivesDeletionDuringWalk(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 22, Conversations: 200})
	ids := walkOrder(e.fake)
	beforeListingPage(e, 3, func() {
		// Before page 3: delete two conversations of pages 1 and 2, so
		// the first two of page 3 slide onto page 2, unseen.
		for _, i := range []int{3, 30} {
			if err := e.fake.Delete(ids[i].ID); err != nil {
				t.Error(err)
			}
		}
	})
	m := e.mirror(mirror.Options{})
	st := syncOnce(t, m)
	e.log.setBefore(nil)
	assertSlidMirrored(t, e.db, ids)
	if st.Rewalks == 0 {
		t.Errorf("no rewalk after deletions shifted the listing: %+v", st)
	}
	t.Logf("sync under deletions: %+v", st)
}

// TestSyncSurvivesDeletionHiddenByCreation: as
// TestSyncSurvivesDeletionDuringWalk, but as many conversations are
// created as are deleted, so the listing's total never shrinks. Before,
// the shift went unseen and the two conversations that slid onto a page
// already read were never mirrored (issue 17: "a creation during a walk
// can hide a deletion in totalElements").
func TestSyncSurvivesDeletionHiddenByCreation(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 22, Conversations: 200})
	ids := walkOrder(e.fake)
	var created []int64
	beforeListingPage(e, 3, func() {
		e.clock.Advance(time.Second) // a second after the first page's Date
		for _, i := range []int{3, 30} {
			if err := e.fake.Delete(ids[i].ID); err != nil {
				t.Error(err)
			}
			c, err := e.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: ids[i].MailboxID,
				CustomerID: ids[i].CustomerID, Subject: "new while the walk runs"})
			if err != nil {
				t.Error(err)
			}
			created = append(created, c.ID)
		}
	})
	m := e.mirror(mirror.Options{})
	st := syncOnce(t, m)
	e.log.setBefore(nil)
	assertSlidMirrored(t, e.db, ids)
	for _, id := range created {
		if _, _, err := e.db.Conversation(context.Background(), id); err != nil {
			t.Errorf("conversation %d, created during the walk: %v", id, err)
		}
	}
	if st.Rewalks == 0 {
		t.Errorf("no rewalk after a deletion hidden by a creation: %+v", st)
	}
	t.Logf("sync under hidden deletions: %+v", st)
}

// TestRewalkInterruptedResumesFromShift: the walk that saw the listing
// shift has read past conversations that slipped by unread. If the rewalk
// then fails (here a 503 on its first page; a 429 storm or a crash does
// the same), the next poll must still find them: the stored cursor waits
// at the shift.
func TestRewalkInterruptedResumesFromShift(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 22, Conversations: 200})
	ids := walkOrder(e.fake)
	served := 0
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Path != "/v2/conversations" {
			return
		}
		served++
		switch served {
		case 3: // as in TestSyncSurvivesDeletionDuringWalk
			for _, i := range []int{3, 30} {
				if err := e.fake.Delete(ids[i].ID); err != nil {
					t.Error(err)
				}
			}
		case 9: // the rewalk's first page, after the walk's eight
			e.fake.SetFaults(helpscouttest.Faults{FailNext: 1})
		}
	})
	m := e.mirror(mirror.Options{})
	if _, err := m.SyncOnce(context.Background()); err == nil {
		t.Fatal("the rewalk's 503 did not fail the sync")
	}
	e.log.setBefore(nil)
	e.clock.Advance(2 * time.Minute)
	syncOnce(t, m)
	for _, i := range []int{50, 51} {
		if _, _, err := e.db.Conversation(context.Background(), ids[i].ID); err != nil {
			t.Errorf("conversation %d, slipped by the interrupted walk, never mirrored: %v", ids[i].ID, err)
		}
	}
}

// TestFutureTimeDoesNotFreezeCursor: an imported note dated three hours
// ahead must not carry the cursor there, or every change until then would
// be skipped; the cursor stops at Help Scout's clock.
func TestFutureTimeDoesNotFreezeCursor(t *testing.T) {
	e := newEnv(t, helpscouttest.Options{}, helpscouttest.GenerateConfig{Seed: 5, Conversations: 60})
	m := e.mirror(mirror.Options{})
	syncOnce(t, m)
	cs := e.fake.Conversations()
	a, b := cs[0], cs[1]
	e.clock.Advance(time.Minute)
	if _, err := e.fake.AddNote(a.ID, helpscouttest.ThreadInput{Body: "imported", Imported: true, At: e.clock.Now().Add(3 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	syncOnce(t, m)
	e.clock.Advance(time.Minute)
	if _, err := e.fake.AddAgentReply(b.ID, helpscouttest.ThreadInput{Body: "hello", Status: helpscouttest.StatusClosed}); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Minute)
	syncOnce(t, m)
	got, _, err := e.db.Conversation(context.Background(), b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != helpscouttest.StatusClosed {
		t.Errorf("conversation %d closed after the future-dated note: stored %s, want closed", b.ID, got.Status)
	}
}

// assertSlidMirrored checks the two conversations first on page 3 before
// two deletions on pages 1 and 2: they slid onto page 2, already read, and
// must be in the store all the same.
func assertSlidMirrored(t *testing.T, db *store.DB, ids []helpscouttest.Conversation) {
	t.Helper()
	for _, i := range []int{50, 51} {
		if _, _, err := db.Conversation(context.Background(), ids[i].ID); err != nil {
			t.Errorf("conversation %d, first on page 3 before the deletions: %v", ids[i].ID, err)
		}
	}
}

// walkOrder lists the fake's conversations in the order of the mirror's
// walk: modifiedAt ascending, ties by id.
func walkOrder(fake *helpscouttest.Server) []helpscouttest.Conversation {
	ids := fake.Conversations()
	slices.SortFunc(ids, func(a, b helpscouttest.Conversation) int {
		if c := a.ModifiedAt.Compare(b.ModifiedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return ids
}

// beforeListingPage runs change just before the fake serves the n-th
// conversation listing request.
func beforeListingPage(e *env, n int, change func()) {
	served := 0
	e.log.setBefore(func(r *http.Request) {
		if r.URL.Path != "/v2/conversations" {
			return
		}
		served++
		if served == n {
			change()
		}
	})
}
