package rebalance

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/mirror"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// steerWorld is the two-agent world with a third agent, Cy, and the
// inbox's routing on (Balanced, limit 10) with all three in the rotation.
type steerWorld struct {
	*world
	cy   int64
	mir  *mirror.Mirror // on the world's clock, so that advancing it refreshes statuses
	logs *testkit.LogBuffer
}

func newSteerWorld(t *testing.T) *steerWorld {
	t.Helper()
	w := &steerWorld{world: newWorld(t, 0), logs: &testkit.LogBuffer{}}
	cy, err := w.fake.AddUser(helpscouttest.User{FirstName: "Cy", LastName: "Agent", Email: "cy@example.com", Role: "user", Timezone: "UTC", Status: "active"})
	must(t, err)
	w.cy = cy.ID
	must(t, w.fake.SetRouting(w.mailbox, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
		AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{w.ana, w.ben, w.cy}}))
	w.mir = mirror.New(w.hs, w.db, mirror.Options{Now: func() time.Time { return w.now }})
	w.refresh(t)
	return w
}

// refresh brings the mirror up to date, directory and statuses included.
func (w *steerWorld) refresh(t *testing.T) {
	t.Helper()
	w.now = w.now.Add(16 * time.Minute) // past the directory's cadence
	if _, err := w.mir.SyncOnce(context.Background()); err != nil {
		t.Fatalf("sync: %v", err)
	}
}

func (w *steerWorld) steerer(mode Mode) *Rebalancer {
	return New(w.db, w.hs, Options{Mode: mode, Routing: balancer.RoutingSteer, Policy: balancer.DefaultPolicy(),
		Now: func() time.Time { return w.now }, Logger: slog.New(slog.NewTextHandler(w.logs, nil))})
}

// give assigns n new conversations to agent, the customer waiting on each.
func (w *steerWorld) give(t *testing.T, agent int64, n int) []int64 {
	t.Helper()
	var ids []int64
	for range n {
		c, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer,
			Subject: "help", Body: "please", AssigneeID: agent, At: w.now.Add(-10 * time.Minute)})
		must(t, err)
		ids = append(ids, c.ID)
	}
	return ids
}

func (w *steerWorld) rotation(t *testing.T) []int64 {
	t.Helper()
	cfg, err := w.fake.Routing(w.mailbox)
	must(t, err)
	return idSet(cfg.UserIDs)
}

func run(t *testing.T, r *Rebalancer) {
	t.Helper()
	if _, err := r.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func changes(t *testing.T, db *store.DB) []store.RotationChange {
	t.Helper()
	cs, err := db.RotationChanges(context.Background(), 0, 100)
	must(t, err)
	slices.Reverse(cs) // oldest first
	return cs
}

func TestSteerNarrowsTheRotationAndWritesOnlyOnChange(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.ana, 2)
	w.refresh(t)
	r := w.steerer(ModePropose)
	run(t, r)

	if got, want := w.rotation(t), []int64{w.ben, w.cy}; !slices.Equal(got, want) {
		t.Fatalf("rotation %v, want %v: Ana has customers waiting, Ben and Cy none", got, want)
	}
	puts := w.fake.RoutingPuts()
	if len(puts) != 1 {
		t.Fatalf("%d PUTs, want 1", len(puts))
	}
	var body map[string]any
	must(t, json.Unmarshal(puts[0].Body, &body))
	if body["state"] != "enabled" || body["assignmentMethod"] != "balanced" || body["assignmentLimit"] != float64(10) {
		t.Errorf("PUT body %s: state, method and limit must be written back as read", puts[0].Body)
	}
	cs := changes(t, w.db)
	if len(cs) != 1 || cs[0].By != store.RotationByQueuewrangler || !slices.Equal(cs[0].Before, []int64{w.ana, w.ben, w.cy}) ||
		!slices.Equal(cs[0].After, []int64{w.ben, w.cy}) || !strings.Contains(cs[0].Why, "Ana Agent: others would answer sooner") {
		t.Errorf("audit %+v: want one change by queuewrangler leaving Ana out for her queue", cs)
	}
	if !strings.Contains(w.logs.String(), "routing rotation steered") {
		t.Errorf("no info line for the change; log:\n%s", w.logs)
	}
	view := r.Routing(context.Background())
	if view.Mode != "steer" || view.Running != "steer" || len(view.Inboxes) != 1 || len(view.Inboxes[0].People) != 3 ||
		view.Inboxes[0].People[0].InRotation || !view.Inboxes[0].People[1].InRotation {
		t.Errorf("routing view %+v: want steer with Ana out, Ben and Cy in", view)
	}
	// Steering needs the routing on: only own mode flags it on the page.
	if ns, err := r.Notices(context.Background()); len(ns) != 0 || err != nil {
		t.Errorf("steer mode's page notices = %q, %v; want none", ns, err)
	}

	// Nothing changed: runs and new-conversation checks write nothing.
	run(t, r)
	r.steerAfterNewConversation(context.Background())
	run(t, r)
	if n := len(w.fake.RoutingPuts()); n != 1 {
		t.Errorf("%d PUTs after runs that changed nothing, want still 1", n)
	}

	// Ana answers and the customers close: she is back in.
	for _, c := range w.fake.Conversations() {
		if c.AssigneeID == w.ana {
			must(t, w.fake.SetStatus(c.ID, w.ana, helpscouttest.StatusClosed, w.now))
		}
	}
	w.refresh(t)
	run(t, r)
	if got, want := w.rotation(t), []int64{w.ana, w.ben, w.cy}; !slices.Equal(got, want) {
		t.Errorf("rotation %v, want %v once Ana is free again", got, want)
	}
}

func TestSteerAdoptsAnAdminsEditAndRemembersItsCeilingAcrossRestarts(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.ana, 2)
	w.refresh(t)
	run(t, w.steerer(ModeApply))
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ben, w.cy}) {
		t.Fatalf("rotation %v, want Ben and Cy", got)
	}

	// An admin takes Cy out of the rotation between two runs.
	must(t, w.fake.SetRouting(w.mailbox, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
		AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{w.ana, w.ben}}))
	// A restart: a new rebalancer on the same store.
	r := w.steerer(ModeApply)
	run(t, r)
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ben}) {
		t.Errorf("rotation %v, want Ben alone: Cy is outside the admin's new set, Ana busy", got)
	}
	cs := changes(t, w.db)
	if len(cs) != 3 || cs[1].By != store.RotationByOther || !slices.Equal(cs[1].After, []int64{w.ana, w.ben}) ||
		cs[2].By != store.RotationByQueuewrangler || !slices.Equal(cs[2].After, []int64{w.ben}) {
		t.Fatalf("audit %+v: want the steer, the admin's edit adopted, then the new steer", cs)
	}
	if !strings.Contains(w.logs.String(), "changed by someone else; adopted") {
		t.Errorf("the adoption is not logged; log:\n%s", w.logs)
	}

	// Another restart: the set read is the one written, so the ceiling is
	// still the admin's (Ana and Ben), and Ana comes back when free; Cy never.
	for _, c := range w.fake.Conversations() {
		if c.AssigneeID == w.ana {
			must(t, w.fake.SetStatus(c.ID, w.ana, helpscouttest.StatusClosed, w.now))
		}
	}
	w.refresh(t)
	r = w.steerer(ModeApply)
	run(t, r)
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ana, w.ben}) {
		t.Errorf("rotation %v, want the admin's Ana and Ben", got)
	}
	if n := len(changes(t, w.db)); n != 4 {
		t.Errorf("%d audit entries, want 4 (no adoption of queuewrangler's own set after a restart)", n)
	}

	// Shutdown with a narrowed rotation gives the admin's set back.
	w.give(t, w.ben, 3)
	w.refresh(t)
	run(t, r)
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ana}) {
		t.Fatalf("rotation %v, want Ana while Ben is busy", got)
	}
	r.restoreRotations(context.Background())
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ana, w.ben}) {
		t.Errorf("rotation after shutdown %v, want the admin's Ana and Ben", got)
	}
	if cs := changes(t, w.db); !strings.Contains(cs[len(cs)-1].Why, "stopped") {
		t.Errorf("the restore is not audited: %+v", cs[len(cs)-1])
	}
}

func TestSteerNeverEmptiesTheRotation(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.cy, 1)
	must(t, w.fake.SetUserStatus(w.ana, "away"))
	must(t, w.fake.SetUserStatus(w.ben, "away"))
	w.refresh(t)
	r := w.steerer(ModePropose)
	run(t, r)
	if got := w.rotation(t); !slices.Equal(got, []int64{w.cy}) {
		t.Errorf("rotation %v, want Cy: busy, but the only one available", got)
	}

	must(t, w.fake.SetUserStatus(w.cy, "away"))
	w.refresh(t)
	puts := len(w.fake.RoutingPuts())
	run(t, r)
	if got := w.rotation(t); !slices.Equal(got, []int64{w.cy}) || len(w.fake.RoutingPuts()) != puts {
		t.Errorf("rotation %v after %d more PUTs: with nobody available it is left as it is", got, len(w.fake.RoutingPuts())-puts)
	}
	view := r.Routing(context.Background())
	if len(view.Inboxes) != 1 || !strings.Contains(view.Inboxes[0].Note, "Nobody of the admin's set is available") {
		t.Fatalf("routing view %+v: want the note that nobody is available", view)
	}
	if len(view.Inboxes[0].People) == 0 {
		t.Fatal("routing view lists nobody of the admin's set")
	}
	for _, p := range view.Inboxes[0].People {
		if p.Why != "away" {
			t.Errorf("%s: %q, want away", p.Name, p.Why)
		}
	}
}

func TestSteerFallsBackToHelpScoutWithoutThePermission(t *testing.T) {
	for _, perm := range []helpscouttest.RoutingPermission{helpscouttest.RoutingDenied, helpscouttest.RoutingReadOnly} {
		t.Run(map[helpscouttest.RoutingPermission]string{helpscouttest.RoutingDenied: "no read", helpscouttest.RoutingReadOnly: "no write"}[perm], func(t *testing.T) {
			w := newSteerWorld(t)
			w.give(t, w.ana, 2)
			w.refresh(t)
			w.fake.SetRoutingPermission(perm)
			r := w.steerer(ModeApply)
			run(t, r)
			run(t, r)
			w.give(t, w.ben, 1) // a new conversation does not retry
			w.refresh(t)
			r.steerAfterNewConversation(context.Background())
			if n := strings.Count(w.logs.String(), "steer needs the Manage Routing permission; running as helpscout"); n != 1 {
				t.Errorf("the fallback is logged %d times, want once; log:\n%s", n, w.logs)
			}
			view := r.Routing(context.Background())
			if view.Mode != "steer" || view.Running != "helpscout" || !strings.Contains(view.Notice, "Manage Routing") {
				t.Errorf("routing view %+v: want the fallback flagged", view)
			}
			if got := w.rotation(t); !slices.Equal(got, []int64{w.ana, w.ben, w.cy}) {
				t.Errorf("rotation %v changed without the permission", got)
			}

			w.fake.SetRoutingPermission(helpscouttest.RoutingManage)
			run(t, r)
			if got := w.rotation(t); !slices.Equal(got, []int64{w.cy}) {
				t.Errorf("rotation %v, want Cy once the permission is granted", got)
			}
			if view := r.Routing(context.Background()); view.Running != "steer" || view.Notice != "" {
				t.Errorf("routing view %+v: want steer again", view)
			}
		})
	}
}

func TestSteerLeavesAnInboxWithRoutingOffAlone(t *testing.T) {
	w := newSteerWorld(t)
	must(t, w.fake.SetRouting(w.mailbox, helpscouttest.RoutingConfig{State: helpscouttest.RoutingDisabled,
		AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{w.ana, w.ben, w.cy}}))
	w.give(t, w.ana, 2)
	w.refresh(t)
	r := w.steerer(ModeApply)
	run(t, r)
	run(t, r)
	if n := len(w.fake.RoutingPuts()); n != 0 {
		t.Errorf("%d PUTs to an inbox with routing off, want none", n)
	}
	if n := strings.Count(w.logs.String(), "routing is off in this inbox"); n != 1 {
		t.Errorf("routing off is logged %d times, want once; log:\n%s", n, w.logs)
	}
	view := r.Routing(context.Background())
	if len(view.Inboxes) != 1 || view.Inboxes[0].Enabled || !strings.Contains(view.Inboxes[0].Note, "routing is off") {
		t.Errorf("routing view %+v: want the inbox shown with routing off", view)
	}
	cfg, err := w.fake.Routing(w.mailbox)
	must(t, err)
	if cfg.State != helpscouttest.RoutingDisabled {
		t.Errorf("routing state %q: steer must never enable routing", cfg.State)
	}
}

func TestSteerAfterANewConversationRoutedByHelpScout(t *testing.T) {
	w := newSteerWorld(t)
	must(t, w.fake.SetRouting(w.mailbox, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
		AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{w.ana, w.ben}}))
	r := w.steerer(ModePropose)
	run(t, r)
	gets := w.fake.Stats().Requests[helpscouttest.RouteGetRouting]
	r.steerAfterNewConversation(context.Background())
	if got := w.fake.Stats().Requests[helpscouttest.RouteGetRouting]; got != gets {
		t.Errorf("%d routing reads with no new conversation, want none", got-gets)
	}

	// A customer writes in; routing gives it to Ana (alphabetically first
	// of two equally idle people): the next one should go to Ben.
	c, err := w.fake.CreateConversation(helpscouttest.NewConversation{MailboxID: w.mailbox, CustomerID: w.customer, Subject: "new", Body: "hi"})
	must(t, err)
	w.refresh(t)
	r.steerAfterNewConversation(context.Background())
	got, _ := w.fake.Conversation(c.ID)
	want := []int64{w.ana, w.ben}
	want = slices.DeleteFunc(want, func(id int64) bool { return id == got.AssigneeID })
	if diff := cmp.Diff(want, w.rotation(t)); got.AssigneeID == 0 || diff != "" {
		t.Errorf("routed to %d; rotation (-want +got):\n%s", got.AssigneeID, diff)
	}
}

// editAfterRead lets an admin edit the routing right after the steer's
// first read of it, before its write: the race the re-read is for.
type editAfterRead struct {
	next  http.RoundTripper
	edit  func()
	reads int
}

func (e *editAfterRead) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := e.next.RoundTrip(r)
	if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/routing") {
		if e.reads++; e.reads == 1 {
			e.edit()
		}
	}
	return resp, err
}

func TestSteerRereadsBeforeWritingAndAdoptsAnEditMadeInBetween(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.ana, 2)
	w.refresh(t)
	// Between the read and the write, an admin takes Cy out.
	edit := &editAfterRead{next: helpscouttest.Bearer{Token: w.token}, edit: func() {
		must(t, w.fake.SetRouting(w.mailbox, helpscouttest.RoutingConfig{State: helpscouttest.RoutingEnabled,
			AssignmentLimit: 10, AssignmentMethod: helpscouttest.RoutingBalanced, UserIDs: []int64{w.ana, w.ben}}))
	}}
	w.hs = w.clientWith(t, edit)
	run(t, w.steerer(ModePropose))
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ben}) {
		t.Errorf("rotation %v, want Ben alone: the set written must come from the admin's new set (Ana, Ben), not the one first read", got)
	}
	if edit.reads < 2 {
		t.Errorf("%d routing reads, want the second just before the write", edit.reads)
	}
	cs := changes(t, w.db)
	if len(cs) != 2 || cs[0].By != store.RotationByOther || cs[1].By != store.RotationByQueuewrangler || !slices.Equal(cs[1].Before, []int64{w.ana, w.ben}) {
		t.Errorf("audit %+v: want the edit adopted, then the write from it", cs)
	}
}

// countingDirectory counts the reads of names and of the newest
// conversation that a steer makes besides reading the team.
type countingDirectory struct {
	directory
	users, latest int
}

func (c *countingDirectory) Users(ctx context.Context) ([]store.User, error) {
	c.users++
	return c.directory.Users(ctx)
}

func (c *countingDirectory) LatestConversationID(ctx context.Context) (int64, error) {
	c.latest++
	return c.directory.LatestConversationID(ctx)
}

// TestSteerReadsWhatTheRunHasNotReadOnce: a run steers with the names of
// the team it has just read and reads the newest conversation once; the
// check after a new conversation reads the newest conversation once and
// names nobody from the store either. Names still come out right.
func TestSteerReadsWhatTheRunHasNotReadOnce(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.ana, 2)
	w.refresh(t)
	r := w.steerer(ModePropose)
	dir := &countingDirectory{directory: r.dir}
	r.dir = dir
	run(t, r)
	if dir.users != 0 || dir.latest != 1 {
		t.Errorf("a run read the users %d times and the newest conversation %d times besides the team, want 0 and 1", dir.users, dir.latest)
	}
	if cs := changes(t, w.db); len(cs) != 1 || !strings.Contains(cs[0].Why, "Ana Agent: others would answer sooner") {
		t.Errorf("audit %+v: want the steer, naming Ana", cs)
	}

	*dir = countingDirectory{directory: dir.directory}
	w.give(t, w.ben, 2)
	w.refresh(t)
	r.steerAfterNewConversation(context.Background())
	if dir.users != 0 || dir.latest != 1 {
		t.Errorf("a steer after a new conversation read the users %d times and the newest conversation %d times besides the team, want 0 and 1", dir.users, dir.latest)
	}
	if cs := changes(t, w.db); len(cs) != 2 || !strings.Contains(cs[1].Why, "Ben Agent: others would answer sooner") {
		t.Errorf("audit %+v: want a second steer after Ben's new customers, naming him", cs)
	}
}

// TestSteerSaysADamagedFileOnce: steering reads the inboxes, its memory of
// each inbox's rotation and, after a new conversation, the team from the
// mirror, and logged each failure at WARN at every run or new
// conversation. On a damaged file each would fail the same until an
// operator acts: the damage is said once between all that meet it, at
// ERROR like everywhere else.
func TestSteerSaysADamagedFileOnce(t *testing.T) {
	tests := []struct {
		name, table, msg string
		steer            func(ctx context.Context, r *Rebalancer)
	}{
		{"a run reads the inboxes", "mailboxes", "steer: read the inboxes",
			func(ctx context.Context, r *Rebalancer) { r.steerRotations(ctx, balancer.Snapshot{}, noNames, 0) }},
		{"a run reads an inbox's rotation", "steered_rotations", "steer: routing not updated",
			func(ctx context.Context, r *Rebalancer) { r.steerRotations(ctx, balancer.Snapshot{}, noNames, 0) }},
		{"a new conversation reads the team", "users", "steer after a new conversation: read the team",
			func(ctx context.Context, r *Rebalancer) { r.steerAfterNewConversation(ctx) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newSteerWorld(t)
			w.give(t, w.ana, 1) // a conversation newer than any steer
			w.refresh(t)
			r := w.steerer(ModePropose)
			repair := testkit.DamageTable(t, w.dbPath, tt.table)
			defer repair()
			const turns = 5
			for range turns {
				tt.steer(context.Background(), r)
			}
			saidOnce(t, w.logs, tt.msg, turns)
		})
	}
}

func noNames(int64) string { return "" }

// TestSayFailureKeepsOtherFailuresAsTheyWere: only a damaged file is said
// once and at ERROR; any other failure is logged at every try, at the
// caller's level, with what happens next.
func TestSayFailureKeepsOtherFailuresAsTheyWere(t *testing.T) {
	w := newSteerWorld(t)
	r := w.steerer(ModePropose)
	for range 2 {
		r.sayFailure(slog.LevelWarn, "steer: read the inboxes", "; retrying at the next run", errors.New("disk full"), "mailbox", "Support")
	}
	want := `level=WARN msg="steer: read the inboxes; retrying at the next run" mailbox=Support err="disk full"`
	if said := w.logs.String(); strings.Count(said, want) != 2 || strings.Count(said, "\n") != 2 {
		t.Errorf("two failures that are not damage, want each said as %s:\n%s", want, said)
	}
}

// TestSteerWithModeOffSaysSo: QW_ROUTING=steer with QW_MODE=off steers
// nothing, and says so once at start, as own mode does, rather than
// leaving the operator to wonder why the rotation never changes.
func TestSteerWithModeOffSaysSo(t *testing.T) {
	logs := &testkit.LogBuffer{}
	r := New(nil, nil, Options{Mode: ModeOff, Routing: balancer.RoutingSteer, Logger: slog.New(slog.NewTextHandler(logs, nil))})
	tick, stop := r.steerWatch(context.Background())
	defer stop()
	if said := strings.Count(logs.String(), "QW_ROUTING=steer with QW_MODE=off"); tick != nil || said != 1 {
		t.Errorf("steer with mode off: watching %v, said %d times; want no watch and one warning\n%s", tick != nil, said, logs)
	}
}

// At a stopping daemon's signal (StopStarting), Run returns without
// waiting for its context, which the daemon ends only once HTTP has
// drained, and gives the admin's set back at once.
func TestSteerRunRestoresTheRotationAtStopStarting(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.ben, 3)
	w.refresh(t)
	r := w.steerer(ModeApply)
	run(t, r)
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ana, w.cy}) {
		t.Fatalf("rotation %v, want Ana and Cy while Ben is busy", got)
	}
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		r.Run(context.Background(), time.Hour, func() (bool, string) { return true, "" })
	}()
	r.StopStarting(time.Now().Add(time.Minute))
	select {
	case <-returned:
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return at StopStarting")
	}
	if got := w.rotation(t); !slices.Equal(got, []int64{w.ana, w.ben, w.cy}) {
		t.Errorf("rotation after the stop %v, want the admin's set", got)
	}
}

// A restore the stop's budget cuts leaves the narrowed set and says why
// at WARN, rather than a bare "context deadline exceeded".
func TestSteerRestoreCutByTheStopsBudgetSaysSo(t *testing.T) {
	w := newSteerWorld(t)
	w.give(t, w.ben, 3)
	w.refresh(t)
	r := w.steerer(ModeApply)
	run(t, r)
	narrowed := w.rotation(t)
	r.StopStarting(time.Now().Add(-time.Millisecond)) // spent already
	r.restoreRotations(context.Background())
	if got := w.rotation(t); !slices.Equal(got, narrowed) {
		t.Errorf("rotation %v, want the narrowed %v: no time was left to restore it", got, narrowed)
	}
	if logs := w.logs.String(); !strings.Contains(logs, "level=WARN") || !strings.Contains(logs, "not restored at shutdown") ||
		!strings.Contains(logs, "budget ran out") {
		t.Errorf("the cut restore is not said at WARN with its cause; log:\n%s", logs)
	}
}
