package rebalance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// world is a small team in the fake, mirrored into a store.
type world struct {
	fake     *helpscouttest.Server
	hs       *helpscout.Client
	db       *store.DB
	dbPath   string
	mir      *mirror.Mirror
	now      time.Time
	mailbox  int64
	customer int64
	ana, ben int64 // two available STs
	convs    []int64
	token    string
	baseURL  string
}

// clientWith is a client for the fake whose requests go through rt.
func (w *world) clientWith(t *testing.T, rt http.RoundTripper) *helpscout.Client {
	t.Helper()
	hs, err := helpscout.NewClient(&http.Client{Transport: rt}).WithBaseURL(w.baseURL)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func newWorld(t *testing.T, unassigned int) *world {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	fake, ts := helpscouttest.NewTestServer(t, helpscouttest.Options{Clock: func() time.Time { return now }})
	token := fake.IssueToken()
	hs, err := helpscout.NewClient(&http.Client{Transport: helpscouttest.Bearer{Token: token}}).WithBaseURL(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	dbPath := filepath.Join(t.TempDir(), "qw.db")
	db := testkit.OpenStoreAt(t, dbPath)
	w := &world{fake: fake, hs: hs, db: db, dbPath: dbPath, now: now, token: token, baseURL: ts.URL}
	mb, err := fake.AddMailbox(helpscouttest.Mailbox{Name: "Support", Email: "support@example.com"})
	must(t, err)
	w.mailbox = mb.ID
	for i, name := range []string{"Ana", "Ben"} {
		u, err := fake.AddUser(helpscouttest.User{FirstName: name, LastName: "Agent", Email: strings.ToLower(name) + "@example.com", Role: "user", Timezone: "UTC", Status: "active"})
		must(t, err)
		if i == 0 {
			w.ana = u.ID
		} else {
			w.ben = u.ID
		}
	}
	cust, err := fake.AddCustomer(helpscouttest.Customer{First: "Sam", Last: "Lee", Email: "sam@example.com"})
	must(t, err)
	w.customer = cust.ID
	for i := range unassigned {
		c, err := fake.CreateConversation(helpscouttest.NewConversation{
			MailboxID: w.mailbox, CustomerID: w.customer, Subject: "help", Body: "please",
			At: now.Add(-time.Duration(30+i) * time.Minute),
		})
		must(t, err)
		w.convs = append(w.convs, c.ID)
	}
	w.mir = mirror.New(hs, db, mirror.Options{Now: func() time.Time { return now }})
	w.sync(t)
	return w
}

func (w *world) sync(t *testing.T) {
	t.Helper()
	if _, err := w.mir.SyncOnce(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func (w *world) rebalancer(mode Mode, maxMoves int) *Rebalancer {
	p := balancer.DefaultPolicy()
	p.MaxMovesPerRun = maxMoves
	// The rebalancer's own work is under test, not the backlog setting:
	// hand out everything that may go, whoever has customers waiting.
	p.Backlog = balancer.BacklogOldest
	return New(w.db, w.hs, Options{Mode: mode, Policy: p, Now: func() time.Time { return w.now }})
}

// proposeOne runs r once over the one-ticket world and returns its one
// proposal; the test ends when there is not exactly one.
func proposeOne(t *testing.T, r *Rebalancer) store.Proposal {
	t.Helper()
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 1 {
		t.Fatalf("got %d proposals, want 1 for the unassigned ticket", len(plan.Proposals))
	}
	return plan.Proposals[0]
}

// proposeN runs r once and returns its proposals; the test ends when
// there are not n.
func proposeN(t *testing.T, r *Rebalancer, n int) []store.Proposal {
	t.Helper()
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != n {
		t.Fatalf("got %d proposals, want %d", len(plan.Proposals), n)
	}
	return plan.Proposals
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestProposeThenApproveWritesAssignmentAndNote(t *testing.T) {
	w := newWorld(t, 1)
	r := w.rebalancer(ModePropose, 5)
	p := proposeOne(t, r)
	if p.Status != store.ProposalPending || p.Reason != string(balancer.ReasonUnassigned) || p.ConversationID != w.convs[0] {
		t.Fatalf("proposal = %+v", p)
	}
	if n := len(w.fake.Patches()); n != 0 {
		t.Fatalf("propose mode wrote %d patches before approval", n)
	}
	// A second run must not propose the same ticket again while pending.
	again, err := r.RunOnce(context.Background())
	must(t, err)
	if len(again.Proposals) != 0 {
		t.Errorf("second run proposed %d moves for a ticket with a pending proposal", len(again.Proposals))
	}

	applied, err := r.Approve(context.Background(), p.ID, "sst@example.com")
	must(t, err)
	r.Wait() // the note may finish after the answer
	if applied.Status != store.ProposalApplied {
		t.Fatalf("after approve: status %s (%s)", applied.Status, applied.Error)
	}
	patches := w.fake.Patches()
	if len(patches) != 1 || patches[0].Path != "/assignTo" || patches[0].ConversationID != p.ConversationID ||
		string(patches[0].Value) != itoa(p.ToAgent) || patches[0].StatusCode != http.StatusNoContent {
		t.Fatalf("fake saw patches %+v, want one assignTo %d", patches, p.ToAgent)
	}
	notes := w.fake.NotesReceived()
	if len(notes) != 1 || notes[0].ConversationID != p.ConversationID || !strings.HasPrefix(notes[0].Text, "Assigned by queuewrangler from the unassigned queue to ") {
		t.Fatalf("fake saw notes %+v", notes)
	}
	if strings.Contains(notes[0].Text, "figures from the proposal") {
		t.Errorf("note %q dates its figures, though approved at once", notes[0].Text)
	}
	c, _ := w.fake.Conversation(p.ConversationID)
	if c.AssigneeID != p.ToAgent {
		t.Errorf("fake conversation assignee = %d, want %d", c.AssigneeID, p.ToAgent)
	}
	// Deciding again is a conflict, and writes nothing more.
	if _, err := r.Approve(context.Background(), p.ID, "sst"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("second approve = %v, want ErrConflict", err)
	}
	if _, err := r.Reject(context.Background(), p.ID, "sst"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("reject after apply = %v, want ErrConflict", err)
	}
	if len(w.fake.Patches()) != 1 || len(w.fake.NotesReceived()) != 1 {
		t.Errorf("a repeated decision wrote again")
	}
}

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

func TestChangedConversationBecomesStaleWithoutWrite(t *testing.T) {
	tests := []struct {
		name   string
		change func(w *world, id int64)
		want   string
	}{
		{"assigned by a human", func(w *world, id int64) { must(t, w.fake.Assign(id, w.ben, w.ben, w.now)) }, "the assignee changed (now Ben Agent)"},
		{"closed", func(w *world, id int64) { must(t, w.fake.SetStatus(id, w.ana, "closed", w.now)) }, "status changed"},
		{"customer wrote again", func(w *world, id int64) {
			_, err := w.fake.AddCustomerThread(id, helpscouttest.ThreadInput{Body: "hello?", At: w.now.Add(time.Second)})
			must(t, err)
		}, "customer wrote again"},
		{"deleted", func(w *world, id int64) { must(t, w.fake.Delete(id)) }, "no longer exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 1)
			r := w.rebalancer(ModePropose, 5)
			proposed := proposeOne(t, r)
			tt.change(w, proposed.ConversationID)
			got, err := r.Approve(context.Background(), proposed.ID, "sst")
			must(t, err)
			if got.Status != store.ProposalStale || !strings.Contains(got.Error, tt.want) {
				t.Errorf("status %s, error %q; want stale mentioning %q", got.Status, got.Error, tt.want)
			}
			for _, p := range w.fake.Patches() {
				if p.Path == "/assignTo" && p.Op == "replace" && p.ConversationID == proposed.ConversationID && string(p.Value) == itoa(proposed.ToAgent) {
					t.Errorf("a stale move was written: %+v", p)
				}
			}
			if n := len(w.fake.NotesReceived()); n != 0 {
				t.Errorf("a stale move left %d notes", n)
			}
		})
	}
}

// TestMoveOutOfItsInboxGoesStale: a proposal whose conversation has left
// the balanced inboxes since (moved to another, or QW_MAILBOXES changed
// and the mirror dropped it) is not this daemon's to move any more.
func TestMoveOutOfItsInboxGoesStale(t *testing.T) {
	w := newWorld(t, 1)
	p := balancer.DefaultPolicy()
	p.Backlog = balancer.BacklogOldest
	r := New(w.db, w.hs, Options{Mode: ModePropose, Policy: p, Mailboxes: []int64{w.mailbox}, Now: func() time.Time { return w.now }})
	proposed := proposeOne(t, r)
	other, err := w.fake.AddMailbox(helpscouttest.Mailbox{Name: "Billing", Email: "billing@example.com"})
	must(t, err)
	must(t, w.fake.Move(proposed.ConversationID, w.ana, other.ID, w.now))
	got, err := r.Approve(context.Background(), proposed.ID, "sst")
	must(t, err)
	want := fmt.Sprintf("in mailbox %d, which QW_MAILBOXES leaves out", other.ID)
	if got.Status != store.ProposalStale || !strings.Contains(got.Error, want) {
		t.Errorf("status %s, error %q; want stale mentioning %q", got.Status, got.Error, want)
	}
	if n := len(w.fake.Patches()); n != 0 {
		t.Errorf("a stale move was written: %d PATCHes", n)
	}
}

func TestApplyModeHoldsThePerRunCap(t *testing.T) {
	w := newWorld(t, 10)
	r := w.rebalancer(ModeApply, 3)
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 3 {
		t.Fatalf("got %d proposals, want the cap of 3", len(plan.Proposals))
	}
	for _, p := range plan.Proposals {
		if p.Status != store.ProposalApplied {
			t.Errorf("proposal %d: %s (%s)", p.ID, p.Status, p.Error)
		}
	}
	if n := len(w.fake.Patches()); n != 3 {
		t.Errorf("fake saw %d patches, want 3", n)
	}
	if n := len(w.fake.NotesReceived()); n != 3 {
		t.Errorf("fake saw %d notes, want 3", n)
	}
}

func TestHelpScoutFailureIsRecordedNotRetried(t *testing.T) {
	w := newWorld(t, 1)
	r := w.rebalancer(ModePropose, 5)
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	w.fake.SetFaults(helpscouttest.Faults{ErrorProbability: 1, ErrorStatuses: []int{http.StatusInternalServerError}})
	got, err := r.Approve(context.Background(), plan.Proposals[0].ID, "sst")
	must(t, err)
	if got.Status != store.ProposalFailed || !strings.HasPrefix(got.Error, "re-read before apply: ") || got.MaybeMade {
		t.Fatalf("status %s error %q, may have been made %v; want failed by the re-read, not made",
			got.Status, got.Error, got.MaybeMade)
	}
	w.fake.SetFaults(helpscouttest.Faults{})
	if _, err := r.Approve(context.Background(), plan.Proposals[0].ID, "sst"); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a failed proposal could be approved again: %v", err)
	}
	if n := len(w.fake.Patches()); n != 0 {
		t.Errorf("fake saw %d patches", n)
	}
}

// patchAnswer answers every PATCH with status, after passing it on to
// Help Scout when made (Help Scout made the assignment, its answer was
// lost or is an error), or with a transport error when status is 0.
type patchAnswer struct {
	next   http.RoundTripper
	status int
	made   bool
}

func (a patchAnswer) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPatch {
		return a.next.RoundTrip(r)
	}
	if a.made {
		resp, err := a.next.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
	}
	if a.status == 0 {
		return nil, errors.New("read: connection reset by peer")
	}
	return &http.Response{StatusCode: a.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(`{"message":"no"}`)), Request: r}, nil
}

// TestFailedAssignmentSaysWhetherItMayBeMade: a move whose PATCH failed is
// recorded as one Help Scout may have made when no answer says it was
// not (a 5xx, no answer, a 408, 409 or 429 the retries left), and as not
// made when Help Scout refused it (a 4xx, the 401 included). Only the
// first is taken for the cause of the reassignment the mirror sees next:
// all were, and a person making a refused move by hand was excused.
func TestFailedAssignmentSaysWhetherItMayBeMade(t *testing.T) {
	tests := []struct {
		name   string
		status int
		made   bool
		want   bool
	}{
		{"503 after Help Scout made it", http.StatusServiceUnavailable, true, true},
		{"no answer after Help Scout made it", 0, true, true},
		{"no answer, not made", 0, false, true},
		{"429 after the retries", http.StatusTooManyRequests, false, true},
		{"409 after the retries", http.StatusConflict, false, true},
		{"408 after the retries", http.StatusRequestTimeout, false, true},
		{"422: refused", http.StatusUnprocessableEntity, false, false},
		{"403: refused", http.StatusForbidden, false, false},
		{"401: refused", http.StatusUnauthorized, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 1)
			proposed := proposeOne(t, w.rebalancer(ModePropose, 5))
			hs := w.clientWith(t, patchAnswer{next: helpscouttest.Bearer{Token: w.token}, status: tt.status, made: tt.made})
			r := New(w.db, hs, Options{Mode: ModePropose, Policy: balancer.DefaultPolicy(), Now: func() time.Time { return w.now }})
			got, err := r.Approve(context.Background(), proposed.ID, "sst")
			must(t, err)
			if got.Status != store.ProposalFailed || !strings.HasPrefix(got.Error, "assign: ") || got.MaybeMade != tt.want {
				t.Errorf("status %s, error %q, may have been made %v; want failed by the assignment, %v",
					got.Status, got.Error, got.MaybeMade, tt.want)
			}
		})
	}
}

func TestOffModeDoesNothing(t *testing.T) {
	w := newWorld(t, 3)
	plan, err := w.rebalancer(ModeOff, 5).RunOnce(context.Background())
	must(t, err)
	ps, err := w.db.ListProposals(context.Background(), store.ProposalFilter{})
	must(t, err)
	if len(plan.Proposals) != 0 || len(ps) != 0 || len(w.fake.Patches()) != 0 {
		t.Errorf("off mode planned %d, stored %d, patched %d", len(plan.Proposals), len(ps), len(w.fake.Patches()))
	}
}

// cancelAt cancels the caller's context around one kind of request, as an
// SST closing the tab or the daemon stopping would.
type cancelAt struct {
	next   http.RoundTripper
	match  func(*http.Request) bool
	after  bool // cancel once Help Scout has the request, not before sending
	cancel context.CancelFunc
}

func (c cancelAt) RoundTrip(r *http.Request) (*http.Response, error) {
	if !c.match(r) {
		return c.next.RoundTrip(r)
	}
	if !c.after {
		c.cancel()
		return c.next.RoundTrip(r)
	}
	resp, err := c.next.RoundTrip(r)
	c.cancel()
	if err == nil && r.Context().Err() != nil {
		// The request's own context ended before its answer was read,
		// as net/http reports it: Help Scout acted, the caller never
		// hears so.
		resp.Body.Close()
		return nil, r.Context().Err()
	}
	return resp, err
}

// A proposal never stays applying because the caller's context ended:
// that would block its conversation until recovery and, after a move, hide
// the move from the cooldown. Nor is a move that Help Scout made recorded
// failed, without its note, because the caller went while it was being
// made; nor one that was never tried, because the caller went during the
// re-read before it: that one is approved again, and the next run applies
// it.
func TestApplyRecordsTheOutcomeWhenTheCallerGoes(t *testing.T) {
	tests := []struct {
		name           string
		match          func(*http.Request) bool
		after          bool
		want           store.ProposalStatus
		patches, notes int
	}{
		{"gone while the move is made", isPatch, true, store.ProposalApplied, 1, 1},
		{"gone before the re-read", isReRead, false, store.ProposalApproved, 0, 0},
		{"gone during the re-read", isReRead, true, store.ProposalApproved, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 1)
			plan, err := w.rebalancer(ModePropose, 5).RunOnce(context.Background())
			must(t, err)
			if len(plan.Proposals) != 1 {
				t.Fatalf("got %d proposals, want 1", len(plan.Proposals))
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			hc := &http.Client{Transport: cancelAt{next: helpscouttest.Bearer{Token: w.fake.IssueToken()}, match: tt.match, after: tt.after, cancel: cancel}}
			hs, err := helpscout.NewClient(hc).WithBaseURL(w.hs.BaseURL.String())
			must(t, err)
			p := balancer.DefaultPolicy()
			r := New(w.db, hs, Options{Mode: ModePropose, Policy: p, Now: func() time.Time { return w.now }})

			_, err = r.Approve(ctx, plan.Proposals[0].ID, "sst")
			r.Wait() // the answer came once the caller went; the note goes on
			switch untried := tt.want == store.ProposalApproved; {
			case untried && (!errors.Is(err, errNotTried) || !errors.Is(err, context.Canceled)):
				t.Fatalf("approve = %v, want it to say the move was not tried", err)
			case !untried && err != nil:
				t.Fatalf("approve: %v", err)
			}
			got, err := w.db.Proposal(context.Background(), plan.Proposals[0].ID)
			must(t, err)
			if got.Status != tt.want {
				t.Errorf("status = %s (%q), want %s", got.Status, got.Error, tt.want)
			}
			if n := len(w.fake.Patches()); n != tt.patches {
				t.Errorf("fake saw %d patches, want %d", n, tt.patches)
			}
			if n := len(w.fake.NotesReceived()); n != tt.notes {
				t.Errorf("fake saw %d notes, want %d", n, tt.notes)
			}
			if tt.want != store.ProposalApproved {
				return
			}
			if _, err := w.rebalancer(ModePropose, 5).RunOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			got, err = w.db.Proposal(context.Background(), plan.Proposals[0].ID)
			must(t, err)
			if got.Status != store.ProposalApplied || got.Error != "" {
				t.Errorf("after the next run: %s (%q), want applied", got.Status, got.Error)
			}
			if n := len(w.fake.Patches()); n != 1 {
				t.Errorf("fake saw %d patches after the next run, want 1", n)
			}
		})
	}
}

// A stop in the middle of an apply batch (SIGTERM, an SST's browser
// dropping "Plan now") leaves the moves not yet tried approved, never
// failed, and the run says it stopped short; the next run applies them.
// A stop during a move's re-read leaves that move untried too: it goes
// back to approved with the rest.
func TestStopMidBatchLeavesTheRestForTheNextRun(t *testing.T) {
	tests := []struct {
		name    string
		match   func(*http.Request) bool
		applied int
	}{
		{"stopped while the first move is made", isPatch, 1},
		{"stopped during the first re-read", isReRead, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 4)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			stopping := cancelAt{next: helpscouttest.Bearer{Token: w.token}, match: tt.match, after: true, cancel: cancel}
			p := balancer.DefaultPolicy()
			p.Backlog = balancer.BacklogOldest
			r := New(w.db, w.clientWith(t, stopping), Options{Mode: ModeApply, Policy: p, Now: func() time.Time { return w.now }})

			plan, err := r.RunOnce(ctx)
			if !errors.Is(err, errCutShort) || !errors.Is(err, context.Canceled) {
				t.Fatalf("RunOnce = %v, want it to say it stopped short", err)
			}
			if len(plan.Proposals) != 4 {
				t.Fatalf("planned %d moves, want 4", len(plan.Proposals))
			}
			want := fmt.Sprintf("stopped in the middle of a batch: %d of 4 moves left approved for the next run: context canceled", 4-tt.applied)
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			statuses := func() map[store.ProposalStatus]int {
				n := map[store.ProposalStatus]int{}
				for _, p := range plan.Proposals {
					got, err := w.db.Proposal(context.Background(), p.ID)
					must(t, err)
					n[got.Status]++
				}
				return n
			}
			if got := statuses(); got[store.ProposalApplied] != tt.applied || got[store.ProposalApproved] != 4-tt.applied {
				t.Fatalf("after the stop: %v, want %d applied and the rest approved", got, tt.applied)
			}
			if n := len(w.fake.Patches()); n != tt.applied {
				t.Fatalf("fake saw %d patches after the stop, want %d", n, tt.applied)
			}

			next, err := w.rebalancer(ModeApply, 4).RunOnce(context.Background())
			must(t, err)
			if len(next.Proposals) != 0 {
				t.Errorf("the next run proposed %d moves afresh, want none", len(next.Proposals))
			}
			if got := statuses(); got[store.ProposalApplied] != 4 {
				t.Errorf("after the next run: %v, want all 4 applied", got)
			}
			if n := len(w.fake.Patches()); n != 4 {
				t.Errorf("fake saw %d patches, want 4: each move once", n)
			}
			for _, id := range w.convs {
				if c, _ := w.fake.Conversation(id); c.AssigneeID == 0 {
					t.Errorf("conversation %d is still unassigned", id)
				}
			}
		})
	}
}

// goneOnceApproved is a caller that goes once the store has stamped its
// approval, before the claim. Its Err reports the end but Done stays
// open: a closed Done would make the store abandon the approval's own
// transaction, and the window under test comes after its commit.
type goneOnceApproved struct {
	context.Context
	gone *atomic.Bool
}

func (c goneOnceApproved) Err() error {
	if c.gone.Load() {
		return context.Canceled
	}
	return nil
}

// An approval whose caller has gone once it is stored claims nothing,
// even in off mode, where no run would recover a claim: the move stays
// approved, untried, and the caller hears the context's error.
func TestApproveAfterTheCallerWentClaimsNothing(t *testing.T) {
	w := newWorld(t, 1)
	plan, err := w.rebalancer(ModePropose, 5).RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 1 {
		t.Fatalf("got %d proposals, want 1", len(plan.Proposals))
	}
	var gone atomic.Bool
	w.db.Now = func() time.Time { gone.Store(true); return w.now }
	r := w.rebalancer(ModeOff, 5)
	_, err = r.Approve(goneOnceApproved{context.Background(), &gone}, plan.Proposals[0].ID, "sst")
	w.db.Now = func() time.Time { return w.now }
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("approve = %v, want the context's error", err)
	}
	got, err := w.db.Proposal(context.Background(), plan.Proposals[0].ID)
	must(t, err)
	if got.Status != store.ProposalApproved || got.DecidedBy != "sst" || got.Error != "" {
		t.Errorf("proposal %s by %q (%q), want approved by sst and never claimed", got.Status, got.DecidedBy, got.Error)
	}
	if n := len(w.fake.Patches()); n != 0 {
		t.Errorf("fake saw %d patches, want none", n)
	}
}

// approveTwo plans over w's two unassigned tickets in propose mode and
// approves both proposals without making them, as a batch stopped in the
// middle leaves them.
func approveTwo(t *testing.T, w *world) []store.Proposal {
	t.Helper()
	plan, err := w.rebalancer(ModePropose, 5).RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 2 {
		t.Fatalf("got %d proposals, want 2", len(plan.Proposals))
	}
	for _, p := range plan.Proposals {
		_, err := w.db.ApproveProposal(context.Background(), p.ID, "sst")
		must(t, err)
	}
	return plan.Proposals
}

// Recovery's applies of approved proposals stop the same way: cut short
// in the re-read of the first, every one stays approved, and the next run
// applies each once.
func TestRecoveryStoppedDuringTheReReadLeavesTheRestApproved(t *testing.T) {
	w := newWorld(t, 2)
	approved := approveTwo(t, w)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stopping := cancelAt{next: helpscouttest.Bearer{Token: w.token}, match: isReRead, after: true, cancel: cancel}
	r := New(w.db, w.clientWith(t, stopping), Options{Mode: ModePropose, Policy: balancer.DefaultPolicy(), Now: func() time.Time { return w.now }})
	_, err := r.RunOnce(ctx)
	if want := "stopped in the middle of a batch: 2 of 2 moves left approved for the next run: context canceled"; err == nil || err.Error() != want {
		t.Fatalf("RunOnce = %v, want %q", err, want)
	}
	for _, p := range approved {
		got, err := w.db.Proposal(context.Background(), p.ID)
		must(t, err)
		if got.Status != store.ProposalApproved {
			t.Errorf("proposal %d after the stop: %s (%q), want approved", p.ID, got.Status, got.Error)
		}
	}
	_, err = w.rebalancer(ModePropose, 5).RunOnce(context.Background())
	must(t, err)
	if n := len(w.fake.Patches()); n != 2 {
		t.Errorf("fake saw %d patches, want 2: each move once, after the stop", n)
	}
}

// An error names each operation once: the store's says "claim proposal
// N", and apply adds nothing to it.
func TestApplyErrorNamesTheOperationOnce(t *testing.T) {
	w := newWorld(t, 1)
	r := w.rebalancer(ModeApply, 5)
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	id := plan.Proposals[0].ID
	_, err = r.apply(context.Background(), id)
	if want := "claim proposal " + itoa(id) + ": conflict: proposal is applied, not approved"; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

// TestExpiredProposalsCountAsStale: a proposal nobody approved within the
// TTL goes stale at the next run, and the outcome counter says so, as it
// does for every other way a proposal ends.
func TestExpiredProposalsCountAsStale(t *testing.T) {
	w := newWorld(t, 1)
	m := metrics.NewInstruments(prometheus.NewRegistry())
	r := New(w.db, w.hs, Options{Mode: ModePropose, Policy: balancer.DefaultPolicy(), ProposalTTL: time.Hour,
		Metrics: m, Now: func() time.Time { return w.now }})
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 1 {
		t.Fatalf("got %d proposals, want 1", len(plan.Proposals))
	}
	w.now = w.now.Add(2 * time.Hour)
	_, err = r.RunOnce(context.Background())
	must(t, err)
	p, err := w.db.Proposal(context.Background(), plan.Proposals[0].ID)
	must(t, err)
	if p.Status != store.ProposalStale {
		t.Fatalf("proposal after its TTL: %s, want stale", p.Status)
	}
	if got := testutil.ToFloat64(m.Reassignments.WithLabelValues(string(balancer.ReasonUnassigned), "stale", metrics.KindHandout)); got != 1 {
		t.Errorf("reassignments_total{reason=unassigned,outcome=stale} = %g, want 1", got)
	}
}

// TestHandedOverTicketIsNotStuckAtOnce: a customer who has waited six hours
// is stuck with the agent who has had them all along, but not with one an
// SST handed the ticket to ten minutes ago: the mirror dates the
// assignment from its line item, and the stuck rule counts from it.
func TestHandedOverTicketIsNotStuckAtOnce(t *testing.T) {
	for _, tc := range []struct {
		name     string
		handedAt time.Duration // before now; 0 = routed to Ana on arrival
		stuck    bool
	}{
		{"routed on arrival", 0, true},
		{"handed over 10 minutes ago", 10 * time.Minute, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 0)
			// Cy has been Active all day, so the wait counts with her.
			cy, err := w.fake.AddUser(helpscouttest.User{FirstName: "Cy", Email: "cy@example.com", Status: "active",
				StatusUpdatedAt: w.now.Add(-24 * time.Hour)})
			must(t, err)
			nc := helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer, Subject: "help",
				Body: "please", At: w.now.Add(-6 * time.Hour)}
			if tc.handedAt == 0 {
				nc.AssigneeID = cy.ID
			}
			c, err := w.fake.CreateConversation(nc)
			must(t, err)
			if tc.handedAt != 0 {
				must(t, w.fake.Assign(c.ID, w.ben, cy.ID, w.now.Add(-tc.handedAt)))
			}
			// A fresh mirror: its first sync reads the directory, Cy included.
			if _, err := mirror.New(w.hs, w.db, mirror.Options{}).SyncOnce(context.Background()); err != nil {
				t.Fatal(err)
			}
			plan, err := w.rebalancer(ModePropose, 5).RunOnce(context.Background())
			must(t, err)
			stuck := false
			for _, p := range plan.Proposals {
				stuck = stuck || p.ConversationID == c.ID && p.Reason == string(balancer.ReasonStuck)
			}
			if stuck != tc.stuck {
				t.Errorf("stuck proposal for the 6-hour wait: %v, want %v (proposals %+v)", stuck, tc.stuck, plan.Proposals)
			}
		})
	}
}

// TestPendingProposalsCountInTheNextPlan: in propose mode nobody approves
// for a while, more customers write in, and the balancer runs again. Each
// run plans as if the waiting proposals were done: it proposes what is
// still needed (not the same moves again, which stalled at the per-run
// caps) and nothing beyond (not further tickets to the same agent, which
// approving them all would pile onto them). At the end, a plan counting
// every waiting proposal as done finds nothing left to move.
func TestPendingProposalsCountInTheNextPlan(t *testing.T) {
	w := newWorld(t, 0)
	write := func(n int) {
		for i := range n {
			_, err := w.fake.CreateConversation(helpscouttest.NewConversation{
				MailboxID: w.mailbox, CustomerID: w.customer, Subject: "help", Body: "please",
				AssigneeID: w.ana, At: w.now.Add(-time.Duration(30+i) * time.Minute)})
			must(t, err)
		}
		w.sync(t)
	}
	write(12)
	r := w.rebalancer(ModePropose, 5)
	var perRun []int
	for run := range 4 {
		if run == 2 {
			write(4)
		}
		plan, err := r.RunOnce(context.Background())
		must(t, err)
		perRun = append(perRun, len(plan.Proposals))
		w.now = w.now.Add(5 * time.Minute)
	}
	res, _, err := r.DryRun(context.Background())
	must(t, err)
	if len(res.Moves) != 0 {
		t.Errorf("proposals per run %v; with them all done, a plan still moves %+v", perRun, res.Moves)
	}
	if perRun[0] == 0 || perRun[1] == 0 {
		t.Errorf("proposals per run %v; want the second run to go on where the first run's caps stopped it", perRun)
	}
}

// TestLateApprovalNoteDatesItsFigures: approved an hour after it was
// proposed, a move's note says its waits and loads are the proposal's.
func TestLateApprovalNoteDatesItsFigures(t *testing.T) {
	w := newWorld(t, 1)
	w.db.Now = func() time.Time { return time.Now().Add(-time.Hour) } // the plan ran an hour ago
	r := w.rebalancer(ModePropose, 5)
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	w.db.Now = time.Now
	if len(plan.Proposals) != 1 {
		t.Fatalf("got %d proposals, want 1", len(plan.Proposals))
	}
	if _, err := r.Approve(context.Background(), plan.Proposals[0].ID, "sst"); err != nil {
		t.Fatal(err)
	}
	r.Wait() // the note may finish after the answer
	notes := w.fake.NotesReceived()
	if len(notes) != 1 || !strings.Contains(notes[0].Text, "(figures from the proposal, ") {
		t.Errorf("notes %+v, want one dating its figures", notes)
	}
}

// TestPendingEscalationIsNotStuckWithItsTarget: a stuck ST ticket with a
// pending escalation to an SST; the next run, planning as if it were done,
// must not flag it to the HoS as stuck with an SST who has not had it.
func TestPendingEscalationIsNotStuckWithItsTarget(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	p := balancer.DefaultPolicy()
	s := balancer.Snapshot{Now: now,
		Agents: []balancer.Agent{
			{ID: 1, Role: balancer.RoleST, Capacity: 1, Available: true, AvailableSince: now.Add(-24 * time.Hour)},
			{ID: 2, Role: balancer.RoleSST, Capacity: 1, Available: true, AvailableSince: now.Add(-24 * time.Hour)},
		},
		Conversations: []balancer.Conversation{{ID: 10, Number: 10, Status: balancer.StatusActive, AssigneeID: 1,
			CreatedAt: now.Add(-6 * time.Hour), CustomerWaitingSince: now.Add(-6 * time.Hour), WaitingOnUs: true,
			AssignedAt: now.Add(-6 * time.Hour)}},
	}
	first := balancer.Plan(s, p)
	if len(first.Moves) != 1 || first.Moves[0].To != 2 || first.Moves[0].Reason != balancer.ReasonStuck {
		t.Fatalf("first plan %+v, want the stuck escalation to the SST", first.Moves)
	}
	open := []store.Proposal{{ID: 1, CreatedAt: now, ConversationID: 10, FromAgent: 1, ToAgent: 2,
		Reason: string(balancer.ReasonStuck), Status: store.ProposalPending}}
	second := balancer.Plan(withOpenProposals(s, open), p)
	for _, f := range second.Flags {
		if f.ConversationID == 10 {
			t.Errorf("pending escalation flagged to the HoS as stuck with agent %d: %+v", f.AgentID, f)
		}
	}
}

// TestNoteSaysAssignedForAHandout: a ticket nobody owned was assigned,
// not reassigned; a ticket taken from someone was reassigned, in the
// words of design.md section 8.
func TestNoteSaysAssignedForAHandout(t *testing.T) {
	w := newWorld(t, 0)
	r := w.rebalancer(ModePropose, 5)
	for _, tc := range []struct {
		name string
		p    store.Proposal
		want string
	}{
		{"hand-out", store.Proposal{ToAgent: w.ana, Reason: "unassigned", Explanation: "nobody assigned"},
			"Assigned by queuewrangler from the unassigned queue to Ana Agent (unassigned): nobody assigned"},
		{"reassignment", store.Proposal{FromAgent: w.ben, ToAgent: w.ana, Reason: "away", Explanation: "Ben is away"},
			"Reassigned by queuewrangler from Ben Agent to Ana Agent (away): Ben is away"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := r.noteText(context.Background(), tc.p, time.Now()); got != tc.want {
				t.Errorf("note %q, want %q", got, tc.want)
			}
		})
	}
}

// saidOnce fails t unless log holds exactly one line, at ERROR, saying msg
// and the remedy, after turns tries that each met the damaged file.
func saidOnce(t *testing.T, log *testkit.LogBuffer, msg string, turns int) {
	t.Helper()
	said := log.String()
	if n := strings.Count(said, "\n"); n != 1 || !strings.Contains(said, "level=ERROR") ||
		!strings.Contains(said, `msg="`+msg+`: the database file is damaged"`) || !strings.Contains(said, "restore it from a backup") {
		t.Errorf("%d log lines over %d tries on a damaged file, want 1 at ERROR saying %q, the damage and the remedy:\n%s", n, turns, msg, said)
	}
}

// TestAfterApplyDamageSaidOnce: the mirror's refresh after a move meets a
// damaged database file as every other loop does, and it was logged at
// WARN after every move, without the remedy and without the store
// learning that the file is damaged. It is said as the others say it:
// once, at ERROR, with the remedy.
func TestAfterApplyDamageSaidOnce(t *testing.T) {
	w := newWorld(t, 2)
	r := w.rebalancer(ModeApply, 5)
	var logs testkit.LogBuffer
	r.opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	refreshes := 0
	r.opts.AfterApply = func(_ context.Context, id int64) error {
		refreshes++
		return fmt.Errorf("refresh conversation %d: store conversation %d: %w", id, id, store.ErrCorrupt)
	}
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 2 || refreshes != 2 {
		t.Fatalf("%d moves, %d refreshes; want 2 of each", len(plan.Proposals), refreshes)
	}
	saidOnce(t, &logs, "move applied", refreshes)
	if !w.db.HeldDamaged() {
		t.Error("after the refresh met the damage, the store does not hold the file damaged")
	}
}

// TestRejectedTicketIsLeftAloneForTheCooldown: an SST who refuses a move
// has decided about the ticket; the next runs propose nothing for it,
// while other tickets go on being proposed, until the cooldown has run
// from the refusal.
func TestRejectedTicketIsLeftAloneForTheCooldown(t *testing.T) {
	w := newWorld(t, 2)
	r := w.rebalancer(ModePropose, 1)
	refused := proposeOne(t, r)
	if _, err := r.Reject(context.Background(), refused.ID, "sst@example.com"); err != nil {
		t.Fatal(err)
	}
	other := proposeOne(t, r)
	if other.ConversationID == refused.ConversationID {
		t.Fatalf("the run after a rejection proposed the refused ticket %d again", refused.ConversationID)
	}
	if _, err := r.Reject(context.Background(), other.ID, "sst@example.com"); err != nil {
		t.Fatal(err)
	}
	proposeN(t, r, 0)

	w.now = w.now.Add(balancer.DefaultPolicy().Cooldown + time.Hour)
	again := proposeOne(t, r)
	if again.ConversationID != refused.ConversationID && again.ConversationID != other.ConversationID {
		t.Fatalf("after the cooldown: proposal for %d, want one of the refused tickets", again.ConversationID)
	}
}

// TestRejectionHoldsUntilTheOwnerLeaves: a refusal holds its ticket for
// the cooldown, unless the owner it is with has gone (away or off shift)
// since the SST said no: then the rules for an absent owner's customers
// apply again. One already gone when the SST said no keeps the hold.
func TestRejectionHoldsUntilTheOwnerLeaves(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	refusedAt := now.Add(-time.Hour)
	for _, tc := range []struct {
		name      string
		assignee  int64
		available bool
		goneAt    time.Time // UnavailableSince of the assignee
		reason    balancer.Reason
		held      bool
	}{
		{"unassigned, refused hand-out", 0, false, time.Time{}, balancer.ReasonUnassigned, true},
		{"owner still there", 1, true, time.Time{}, balancer.ReasonOverload, true},
		{"owner gone since the refusal", 1, false, refusedAt.Add(30 * time.Minute), balancer.ReasonOverload, false},
		{"owner gone since a refused stuck move", 1, false, refusedAt.Add(time.Minute), balancer.ReasonStuck, false},
		{"owner already gone when the SST said no", 1, false, refusedAt.Add(-10 * time.Minute), balancer.ReasonStuck, true},
		{"owner back and gone again since a refused away move", 1, false, refusedAt.Add(20 * time.Minute), balancer.ReasonAway, false},
		{"owner gone at a time nobody knows", 1, false, time.Time{}, balancer.ReasonOverload, true},
		{"someone else's since, gone since", 2, false, refusedAt.Add(time.Minute), balancer.ReasonOverload, false},
		{"someone else's since, there", 2, true, time.Time{}, balancer.ReasonOverload, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := balancer.Snapshot{
				Now: now,
				Agents: []balancer.Agent{
					{ID: 1, Available: tc.available && tc.assignee == 1},
					{ID: 2, Available: tc.available && tc.assignee == 2},
				},
				Conversations: []balancer.Conversation{{ID: 7, AssigneeID: tc.assignee}},
			}
			if tc.assignee != 0 {
				s.Agents[tc.assignee-1].UnavailableSince = tc.goneAt
			}
			got := heldByDecisions(s, refusals([]store.Proposal{{ConversationID: 7, FromAgent: 1, ToAgent: 2,
				Reason: string(tc.reason), Status: store.ProposalRejected, DecidedAt: refusedAt}}))
			if held := got.Conversations[0].LastMovedAt.Equal(refusedAt); held != tc.held {
				t.Errorf("held = %v, want %v", held, tc.held)
			}
			if !s.Conversations[0].LastMovedAt.IsZero() {
				t.Errorf("the caller's snapshot was changed in place")
			}
		})
	}
}

// TestHandMovedTicketIsLeftWhereAPersonPutIt: a customer has waited six
// hours; an hour ago the ticket went to Dee. Moved there by hand from Cy,
// it is a person's decision, held like a refusal: the next run leaves it
// with Dee although it is stuck with her. Given to Dee out of the folder
// (no decision against a move), the same wait is stuck and handed on. Once
// Dee has gone away since the hand move, the hold lifts and the away rule
// hands her waiting customer on.
func TestHandMovedTicketIsLeftWhereAPersonPutIt(t *testing.T) {
	for _, tc := range []struct {
		name    string
		byHand  bool // from Cy by hand; else out of the folder
		deeAway bool
		reason  balancer.Reason // the move planned for the ticket; "" = none
	}{
		{"moved by hand from Cy to Dee", true, false, ""},
		{"given to Dee out of the folder", false, false, balancer.ReasonStuck},
		{"moved by hand, and Dee went away since", true, true, balancer.ReasonAway},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 0)
			cy, dee := allDayAgent(t, w, "Cy"), allDayAgent(t, w, "Dee")
			nc := helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer, Subject: "help",
				Body: "please", At: w.now.Add(-6 * time.Hour)}
			actor := dee // Dee takes it from the folder
			if tc.byHand {
				nc.AssigneeID, actor = cy, cy // routed to Cy on arrival; she hands it to Dee
			}
			c, err := w.fake.CreateConversation(nc)
			must(t, err)
			must(t, w.fake.Assign(c.ID, actor, dee, w.now.Add(-time.Hour)))
			if tc.deeAway {
				// Away from the fake's now, which the run is an hour past.
				must(t, w.fake.SetUserStatus(dee, "away"))
			}
			freshSync(t, w)
			if tc.deeAway {
				w.now = w.now.Add(time.Hour)
			}
			plan, err := stuckAfterHalfAnHour(w, ModePropose).RunOnce(context.Background())
			must(t, err)
			var got balancer.Reason
			for _, p := range plan.Proposals {
				if p.ConversationID == c.ID {
					got = balancer.Reason(p.Reason)
				}
			}
			if got != tc.reason {
				t.Errorf("move planned for the ticket: %q, want %q (proposals %+v)", got, tc.reason, plan.Proposals)
			}
		})
	}
}

// allDayAgent adds an ST who has been Active all day, so that a wait
// counts with them from its start.
func allDayAgent(t *testing.T, w *world, name string) int64 {
	t.Helper()
	u, err := w.fake.AddUser(helpscouttest.User{FirstName: name, Email: strings.ToLower(name) + ".allday@example.com",
		Status: "active", StatusUpdatedAt: w.now.Add(-24 * time.Hour)})
	must(t, err)
	return u.ID
}

// freshSync syncs w's store with a fresh mirror, whose first sync reads
// the directory and the statuses again.
func freshSync(t *testing.T, w *world) {
	t.Helper()
	if _, err := mirror.New(w.hs, w.db, mirror.Options{}).SyncOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// stuckAfterHalfAnHour is a rebalancer for w whose stuck rule takes a
// ticket from an owner who has had it an hour.
func stuckAfterHalfAnHour(w *world, mode Mode) *Rebalancer {
	p := balancer.DefaultPolicy()
	p.StuckAfter = 30 * time.Minute
	return New(w.db, w.hs, Options{Mode: mode, Policy: p, Now: func() time.Time { return w.now }})
}

// TestOwnMoveIsNoHandMove: the reassignment queuewrangler's applied move
// makes comes back through the mirror (Help Scout's line item) as a
// reassignment like a person's; it is told apart by the move, so it is
// never held as a person's decision (its own cooldown holds it).
func TestOwnMoveIsNoHandMove(t *testing.T) {
	w := newWorld(t, 0)
	cy := allDayAgent(t, w, "Cy")
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
		Subject: "help", Body: "please", At: w.now.Add(-6 * time.Hour), AssigneeID: cy})
	must(t, err)
	freshSync(t, w)
	r := stuckAfterHalfAnHour(w, ModeApply)
	plan, err := r.RunOnce(context.Background())
	must(t, err)
	if len(plan.Proposals) != 1 || plan.Proposals[0].ConversationID != c.ID || plan.Proposals[0].Status != store.ProposalApplied {
		t.Fatalf("want Cy's stuck ticket moved, got %+v", plan.Proposals)
	}
	to := plan.Proposals[0].ToAgent
	freshSync(t, w)

	view, _, err := r.readTeam(context.Background(), w.now)
	must(t, err)
	for _, oc := range view.Conversations {
		if oc.ID != c.ID {
			continue
		}
		if oc.AssigneeID != to || oc.ReassignedAt.IsZero() {
			t.Fatalf("the mirror after the move: assignee %d, reassigned at %v; want %d, and a reassignment", oc.AssigneeID, oc.ReassignedAt, to)
		}
		if !oc.ReassignedByUs || len(handMoves(view.Conversations, w.now.Add(-r.opts.Policy.Cooldown))) != 0 {
			t.Errorf("queuewrangler's own move taken for a hand move (ReassignedByUs %v, HandMovedAt %v)", oc.ReassignedByUs, oc.HandMovedAt())
		}
		return
	}
	t.Fatalf("conversation %d not open in the mirror", c.ID)
}

// TestHandMovesWithinTheCooldown: only a person's reassignment made within
// the cooldown is a decision that holds; queuewrangler's own, one older
// than the cooldown, and a ticket never reassigned are none.
func TestHandMovesWithinTheCooldown(t *testing.T) {
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	since := now.Add(-24 * time.Hour)
	got := handMoves([]store.OpenConversation{
		{ID: 1, AssigneeID: 8, ReassignedAt: now.Add(-time.Hour)},
		{ID: 2, AssigneeID: 8, ReassignedAt: now.Add(-time.Hour), ReassignedByUs: true},
		{ID: 3, AssigneeID: 8, ReassignedAt: since.Add(-time.Minute)},
		{ID: 4, AssigneeID: 8},
		{ID: 5, AssigneeID: 8, ReassignedAt: since},
	}, since)
	want := []decision{{conversationID: 1, at: now.Add(-time.Hour)}, {conversationID: 5, at: since}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(decision{})); diff != "" {
		t.Errorf("hand moves (-want +got):\n%s", diff)
	}
}

// TestApproveRefusesAnExpiredProposal: a proposal past ProposalTTL is
// refused at approval (409, saying it expired) and nothing is written to
// Help Scout. Expiry ran only in the balancer's runs, the first of them
// an interval after a start, so a proposal planned before a long stop
// could be approved and made against a queue long gone.
func TestApproveRefusesAnExpiredProposal(t *testing.T) {
	w := newWorld(t, 1)
	r := w.rebalancer(ModePropose, 5)
	p := proposeOne(t, r)
	w.now = w.now.Add(3 * time.Hour) // past the default TTL, two hours; no run since
	got, err := r.Approve(context.Background(), p.ID, "sst")
	if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "expired: nobody approved it in time") {
		t.Fatalf("Approve = %v, want ErrConflict saying it expired", err)
	}
	if got.Status != store.ProposalStale || got.Error != "expired: nobody approved it in time" {
		t.Errorf("proposal after the refused approval: %s %q, want stale, expired", got.Status, got.Error)
	}
	if n := len(w.fake.Patches()); n != 0 {
		t.Errorf("an expired proposal wrote %d patches", n)
	}
}

// TestRunLineLeavesOutAnUndefinedImbalance: with everyone excluded nobody
// has a fair share, and the "balancer run" line said imbalance_before=1
// imbalance_after=1, a perfectly fair team, where /metrics and the page
// say there is no figure. A team with a split keeps the figures.
func TestRunLineLeavesOutAnUndefinedImbalance(t *testing.T) {
	w := newWorld(t, 1)
	excluded, err := roster.New(roster.Entry{}, []roster.Entry{
		{ID: w.ana, Role: roster.RoleExclude}, {ID: w.ben, Role: roster.RoleExclude}})
	must(t, err)
	for _, tt := range []struct {
		name   string
		roster *roster.Roster
		want   bool
	}{
		{"everyone excluded", excluded, false},
		{"no roster", nil, true},
	} {
		r := New(w.db, w.hs, Options{Mode: ModePropose, Policy: balancer.DefaultPolicy(), Roster: tt.roster,
			Now: func() time.Time { return w.now }})
		plan, err := r.RunOnce(context.Background())
		must(t, err)
		got := fmt.Sprint(runAttrs(plan))
		if has := strings.Contains(got, "imbalance_before"); has != tt.want {
			t.Errorf("%s: the run line's attributes %s; imbalance in them %t, want %t", tt.name, got, has, tt.want)
		}
	}
}
