// The mirror's tests are package mirror_test and share the helpers in this
// file; only the white-box tests of unexported parts (convert_test.go's
// conversions, refresh_test.go's queue, progress_internal_test.go's
// counts) are package mirror, and they keep no helpers of their own that
// another test would need.

package mirror_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// t0 is the data clock's start; seeded histories end a minute before it.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// env is a fake Help Scout, a store in a temporary directory and a client
// between them.
type env struct {
	fake  *helpscouttest.Server
	ts    *httptest.Server
	log   *requestLog
	db    *store.DB
	hs    *helpscout.Client
	clock *testkit.Clock
	acct  helpscouttest.Account
}

// newEnv starts a fake seeded with gen (no conversations when
// gen.Conversations < 0), opens a store and builds a client holding a token
// fetched from the fake's token endpoint. Request counters start at zero.
func newEnv(t testing.TB, opts helpscouttest.Options, gen helpscouttest.GenerateConfig) *env {
	t.Helper()
	e := &env{clock: testkit.NewClock(t0)}
	if opts.Clock == nil {
		opts.Clock = e.clock.Now
	}
	if opts.WallClock == nil {
		opts.WallClock = e.clock.Now
	}
	e.fake = helpscouttest.New(opts)
	e.log = &requestLog{next: e.fake}
	e.ts = httptest.NewServer(e.log)
	t.Cleanup(func() {
		e.ts.Close()
		e.fake.Close()
	})
	if gen.Conversations >= 0 {
		acct, err := e.fake.Seed(gen)
		if err != nil {
			t.Fatalf("seed fake: %v", err)
		}
		e.acct = acct
	}
	e.db = testkit.OpenStore(t)
	e.db.Now = e.clock.Now
	e.hs = newClient(t, e.ts.URL, opts.ClientID, opts.ClientSecret)
	e.fake.ResetStats()
	e.log.reset()
	return e
}

// newClient fetches a client-credentials token from base and returns a
// client that sends it as the bearer on a plain transport: no retries, no
// pacing, so the fake's counters show exactly what the mirror asked for.
func newClient(t testing.TB, base, id, secret string) *helpscout.Client {
	t.Helper()
	if id == "" {
		id, secret = "demo", "demo-secret"
	}
	resp, err := http.PostForm(base+"/v2/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {id}, "client_secret": {secret},
	})
	if err != nil {
		t.Fatalf("fetch token: %v", err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || resp.StatusCode != http.StatusOK || tok.AccessToken == "" {
		t.Fatalf("fetch token: status %d, err %v", resp.StatusCode, err)
	}
	hc := &http.Client{Transport: helpscouttest.Bearer{Token: tok.AccessToken}, Timeout: time.Minute}
	hs, err := helpscout.NewClient(hc).WithBaseURL(base)
	if err != nil {
		t.Fatalf("client: %v", err)
	}
	return hs
}

func (e *env) mirror(opts mirror.Options) *mirror.Mirror {
	if opts.Now == nil {
		opts.Now = e.clock.Now
	}
	return mirror.New(e.hs, e.db, opts)
}

func syncOnce(t testing.TB, m *mirror.Mirror) mirror.Stats {
	t.Helper()
	st, err := m.SyncOnce(context.Background())
	if err != nil {
		t.Fatalf("SyncOnce: %v", err)
	}
	return st
}

// row is the comparable part of a conversation: what the fake serves and
// the store keeps.
type row struct {
	ID, Number, MailboxID, AssigneeID, CustomerID, CreatedByID, ClosedBy int64
	Status, Type, Subject, CreatedByType                                 string
	CreatedAt, ClosedAt, UserUpdatedAt, CustomerWaitingSince             time.Time
	ThreadCount                                                          int
	Tags                                                                 []string
	Threads                                                              []threadRow
}

type threadRow struct {
	ID                                 int64
	Type, State, Status, CreatedByType string
	CreatedByID, AssignedToID          int64
	CreatedAt                          time.Time
}

func fakeRow(c helpscouttest.Conversation) row {
	r := row{
		ID: c.ID, Number: c.Number, MailboxID: c.MailboxID, AssigneeID: c.AssigneeID, CustomerID: c.CustomerID,
		CreatedByID: c.CreatedByID, ClosedBy: c.ClosedBy, Status: c.Status, Type: c.Type, Subject: c.Subject,
		CreatedByType: c.CreatedByType, CreatedAt: c.CreatedAt, UserUpdatedAt: c.UserUpdatedAt,
		CustomerWaitingSince: c.CustomerWaitingSince, ThreadCount: len(c.Threads),
	}
	if c.Status == helpscouttest.StatusClosed {
		r.ClosedAt = c.ClosedAt // served only while closed
	}
	for _, tg := range c.Tags {
		r.Tags = append(r.Tags, tg.Name)
	}
	slices.Sort(r.Tags)
	for _, th := range c.Threads {
		r.Threads = append(r.Threads, threadRow{
			ID: th.ID, Type: th.Type, State: th.State, Status: th.Status, CreatedByType: th.CreatedByType,
			CreatedByID: th.CreatedByID, AssignedToID: th.AssignedToID, CreatedAt: th.CreatedAt,
		})
	}
	sortThreads(r.Threads)
	return r
}

func storeRow(c store.Conversation, threads []store.Thread) row {
	r := row{
		ID: c.ID, Number: c.Number, MailboxID: c.MailboxID, AssigneeID: c.AssigneeID, CustomerID: c.CustomerID,
		CreatedByID: c.CreatedByID, ClosedBy: c.ClosedBy, Status: c.Status, Type: c.Type, Subject: c.Subject,
		CreatedByType: c.CreatedByType, CreatedAt: c.CreatedAt, ClosedAt: c.ClosedAt, UserUpdatedAt: c.UserUpdatedAt,
		CustomerWaitingSince: c.CustomerWaitingSince, ThreadCount: c.ThreadCount, Tags: slices.Clone(c.Tags),
	}
	for _, th := range threads {
		if th.ConversationID != c.ID {
			panic(fmt.Sprintf("thread %d read for conversation %d carries conversation %d", th.ID, c.ID, th.ConversationID))
		}
		r.Threads = append(r.Threads, threadRow{
			ID: th.ID, Type: th.Type, State: th.State, Status: th.Status, CreatedByType: th.CreatedByType,
			CreatedByID: th.CreatedByID, AssignedToID: th.AssignedToID, CreatedAt: th.CreatedAt,
		})
	}
	sortThreads(r.Threads)
	return r
}

func sortThreads(ts []threadRow) {
	slices.SortFunc(ts, func(a, b threadRow) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
}

// storeRows reads every stored conversation with its threads, by id.
func storeRows(t testing.TB, db *store.DB) []row {
	t.Helper()
	ctx := context.Background()
	ids, err := db.ConversationIDs(ctx)
	if err != nil {
		t.Fatalf("list stored conversations: %v", err)
	}
	out := make([]row, 0, len(ids))
	for _, id := range ids {
		c, threads, err := db.Conversation(ctx, id)
		if err != nil {
			t.Fatalf("read stored conversation %d: %v", id, err)
		}
		out = append(out, storeRow(c, threads))
	}
	return out
}

// assertMirrorEqual compares the store with what the fake serves, field by
// field, and reports the first differences by conversation.
func assertMirrorEqual(t testing.TB, db *store.DB, fake *helpscouttest.Server) {
	t.Helper()
	var want []row
	for _, c := range fake.Conversations() {
		want = append(want, fakeRow(c))
	}
	got := storeRows(t, db)
	diffRows(t, got, want)
}

func diffRows(t testing.TB, got, want []row) {
	t.Helper()
	gotByID := map[int64]row{}
	for _, r := range got {
		gotByID[r.ID] = r
	}
	wantIDs := map[int64]bool{}
	var problems []string
	for _, w := range want {
		wantIDs[w.ID] = true
		g, ok := gotByID[w.ID]
		if !ok {
			problems = append(problems, fmt.Sprintf("conversation %d (%s, %d threads) missing from the store", w.ID, w.Status, w.ThreadCount))
			continue
		}
		if d := cmp.Diff(g, w, cmpopts.EquateEmpty()); d != "" {
			problems = append(problems, fmt.Sprintf("conversation %d differs (-store +fake):\n%s", w.ID, d))
		}
	}
	for _, g := range got {
		if !wantIDs[g.ID] {
			problems = append(problems, fmt.Sprintf("conversation %d (%s) is stored but Help Scout does not serve it", g.ID, g.Status))
		}
	}
	if len(problems) > 0 {
		shown := problems[:min(len(problems), 8)]
		t.Errorf("mirror differs from the fake in %d of %d conversations (store holds %d):\n%s",
			len(problems), len(want), len(got), strings.Join(shown, "\n"))
	}
}

// assertDirectoryEqual compares mailboxes, users and teams (as ids, types
// and memberships) and user statuses.
func assertDirectoryEqual(t testing.TB, db *store.DB, fake *helpscouttest.Server) {
	t.Helper()
	ctx := context.Background()
	type dir struct {
		Mailboxes []int64
		Users     map[int64]string // id -> type
		Teams     map[int64][]int64
		Statuses  map[int64]string
	}
	want := dir{Users: map[int64]string{}, Teams: map[int64][]int64{}, Statuses: map[int64]string{}}
	for _, m := range fake.Mailboxes() {
		want.Mailboxes = append(want.Mailboxes, m.ID)
	}
	for _, u := range fake.Users() {
		want.Users[u.ID] = store.UserTypeUser
		want.Statuses[u.ID] = u.Status
	}
	for _, tm := range fake.Teams() {
		want.Users[tm.ID] = store.UserTypeTeam
		want.Teams[tm.ID] = slices.Sorted(slices.Values(tm.MemberIDs))
	}
	got := dir{Users: map[int64]string{}, Teams: map[int64][]int64{}, Statuses: map[int64]string{}}
	mbs, err := db.Mailboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mbs {
		got.Mailboxes = append(got.Mailboxes, m.ID)
	}
	users, err := db.Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		got.Users[u.ID] = u.Type
	}
	teams, err := db.Teams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range teams {
		got.Teams[tm.ID] = tm.Members
	}
	sts, err := db.UserStatuses(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sts {
		got.Statuses[s.UserID] = s.Status
	}
	slices.Sort(got.Mailboxes)
	slices.Sort(want.Mailboxes)
	if d := cmp.Diff(got, want, cmpopts.EquateEmpty()); d != "" {
		t.Errorf("directory differs (-store +fake):\n%s", d)
	}
}

// conversationRequests sums the conversation list and thread list requests
// the fake counted; directoryRequests the directory ones.
func directoryRequests(st helpscouttest.Stats) int {
	return st.Requests[helpscouttest.RouteListUsers] + st.Requests[helpscouttest.RouteListTeams] +
		st.Requests[helpscouttest.RouteTeamMembers] + st.Requests[helpscouttest.RouteListMailboxes] +
		st.Requests[helpscouttest.RouteListUserStatuses]
}

func totalRequests(st helpscouttest.Stats) int {
	n := 0
	for _, v := range st.Requests {
		n += v
	}
	return n
}

// requestLog wraps a handler and records the path and query of every
// request, so tests can see what the mirror asked for, not only how often.
type requestLog struct {
	next http.Handler

	mu   sync.Mutex
	reqs []*url.URL
	// before, when set, runs before a request is served (to change the
	// account mid-walk).
	before func(r *http.Request)
	// answer, when set, may answer a request in the fake's stead (an
	// answer the fake does not give, such as a 403 for one mailbox's
	// listing): it reports whether it did.
	answer func(w http.ResponseWriter, r *http.Request) bool
}

func (l *requestLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	l.mu.Lock()
	l.reqs = append(l.reqs, r.URL)
	before, answer := l.before, l.answer
	l.mu.Unlock()
	if before != nil {
		before(r)
	}
	if answer != nil && answer(w, r) {
		return
	}
	l.next.ServeHTTP(w, r)
}

func (l *requestLog) setAnswer(f func(w http.ResponseWriter, r *http.Request) bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answer = f
}

func (l *requestLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = nil
}

func (l *requestLog) setBefore(f func(r *http.Request)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.before = f
}

func (l *requestLog) URLs() []*url.URL {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.reqs)
}
