package store

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func proposal(convID, from, to int64) Proposal {
	return Proposal{
		ConversationID: convID, ConversationNumber: 1000 + convID, MailboxID: 10, FromAgent: from, ToAgent: to,
		Reason: "stuck", Explanation: "customer waiting 6h 10m",
		ImbalanceBefore: 1.8, ImbalanceAfter: 1.4, JainBefore: 0.7, JainAfter: 0.8,
		Figures:  json.RawMessage(`{"from_load":14,"fair_share":8}`),
		Snapshot: ProposalSnapshot{AssigneeID: from, Status: StatusActive, CustomerWaitingSince: t0, LastCustomerAt: t0},
	}
}

func insert(t *testing.T, db *DB, ps ...Proposal) []Proposal {
	t.Helper()
	out, err := db.InsertProposals(context.Background(), ps)
	if err != nil {
		t.Fatalf("InsertProposals: %v", err)
	}
	return out
}

func TestInsertProposalRoundTrip(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	ins := insert(t, db, proposal(1, 7, 8), proposal(2, 0, 9))
	if ins[0].ID == 0 || ins[1].ID <= ins[0].ID {
		t.Fatalf("ids = %d, %d; want increasing", ins[0].ID, ins[1].ID)
	}
	for _, want := range ins {
		got, err := db.Proposal(ctx, want.ID)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Proposal(%d) (-inserted +read):\n%s", want.ID, diff)
		}
	}
	if ins[0].Status != ProposalPending || !ins[0].CreatedAt.Equal(t0) {
		t.Errorf("inserted = %+v, want pending created at %v", ins[0], t0)
	}

	// Invalid inserts fail as a batch.
	for name, p := range map[string]Proposal{
		"unknown status": {ConversationID: 3, Reason: "stuck", Status: ProposalApplied},
		"no reason":      {ConversationID: 3},
		"bad figures":    {ConversationID: 3, Reason: "stuck", Figures: json.RawMessage(`{`)},
	} {
		if _, err := db.InsertProposals(ctx, []Proposal{proposal(4, 1, 2), p}); err == nil {
			t.Errorf("%s: insert succeeded", name)
		}
	}
	if got, _ := db.ListProposals(ctx, ProposalFilter{ConversationID: 4}); len(got) != 0 {
		t.Errorf("a failed batch left %d proposals", len(got))
	}
}

func TestOneLiveProposalPerConversation(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	p := insert(t, db, proposal(1, 7, 8))[0]
	if _, err := db.InsertProposals(ctx, []Proposal{proposal(1, 7, 9)}); !errors.Is(err, ErrConflict) {
		t.Errorf("second live proposal for conversation 1: %v, want ErrConflict", err)
	}
	if _, err := db.MarkProposalStale(ctx, p.ID, ProposalPending, "superseded"); err != nil {
		t.Fatal(err)
	}
	insert(t, db, proposal(1, 7, 9)) // allowed once the first is no longer live
}

func TestProposalTransitions(t *testing.T) {
	t.Parallel()
	type step struct {
		name string
		do   func(db *DB, id int64) (Proposal, error)
	}
	approve := step{"approve", func(db *DB, id int64) (Proposal, error) { return db.ApproveProposal(context.Background(), id, "sam") }}
	reject := step{"reject", func(db *DB, id int64) (Proposal, error) { return db.RejectProposal(context.Background(), id, "sam") }}
	claim := step{"claim", func(db *DB, id int64) (Proposal, error) { return db.ClaimProposal(context.Background(), id) }}
	applied := step{"applied", func(db *DB, id int64) (Proposal, error) { return db.MarkProposalApplied(context.Background(), id) }}
	stale := step{"stale", func(db *DB, id int64) (Proposal, error) {
		// Marked in the status it is in: the steps test the statuses a
		// proposal may go stale from (TestStaleMarkOnlyFromTheStatusSeen
		// tests a status that moved on).
		p, err := db.Proposal(context.Background(), id)
		if err != nil {
			return p, err
		}
		return db.MarkProposalStale(context.Background(), id, p.Status, "assignee changed")
	}}
	failed := step{"failed", func(db *DB, id int64) (Proposal, error) {
		return db.MarkProposalFailed(context.Background(), id, "helpscout: 422")
	}}
	unclaim := step{"unclaim", func(db *DB, id int64) (Proposal, error) {
		return db.UnclaimProposal(context.Background(), id, "re-read cut short")
	}}

	tests := []struct {
		name       string
		path       []step // all must succeed
		then       step   // must give ErrConflict
		wantStatus ProposalStatus
	}{
		{"approve twice", []step{approve}, approve, ProposalApproved},
		{"reject after approve", []step{approve}, reject, ProposalApproved},
		{"approve after reject", []step{reject}, approve, ProposalRejected},
		{"claim a pending proposal", nil, claim, ProposalPending},
		{"apply without claim", []step{approve}, applied, ProposalApproved},
		{"claim twice", []step{approve, claim}, claim, ProposalApplying},
		{"apply twice", []step{approve, claim, applied}, applied, ProposalApplied},
		{"claim after applied", []step{approve, claim, applied}, claim, ProposalApplied},
		{"stale after applied", []step{approve, claim, applied}, stale, ProposalApplied},
		{"fail a pending proposal", nil, failed, ProposalPending},
		{"claim after stale", []step{approve, claim, stale}, claim, ProposalStale},
		{"claim after failed", []step{approve, claim, failed}, claim, ProposalFailed},
		{"approve a stale proposal", []step{stale}, approve, ProposalStale},
		{"unclaim a pending proposal", nil, unclaim, ProposalPending},
		{"unclaim an unclaimed proposal", []step{approve}, unclaim, ProposalApproved},
		{"unclaim twice", []step{approve, claim, unclaim}, unclaim, ProposalApproved},
		{"unclaim after applied", []step{approve, claim, applied}, unclaim, ProposalApplied},
		{"unclaim after failed", []step{approve, claim, failed}, unclaim, ProposalFailed},
		{"unclaim after stale", []step{approve, claim, stale}, unclaim, ProposalStale},
		{"approve an unclaimed proposal", []step{approve, claim, unclaim}, approve, ProposalApproved},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, _ := openTest(t)
			p := insert(t, db, proposal(1, 7, 8))[0]
			for _, s := range tt.path {
				if _, err := s.do(db, p.ID); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
			}
			_, err := tt.then.do(db, p.ID)
			if !errors.Is(err, ErrConflict) {
				t.Errorf("%s: %v, want ErrConflict", tt.then.name, err)
			}
			got, err := db.Proposal(context.Background(), p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.wantStatus {
				t.Errorf("status = %s, want %s", got.Status, tt.wantStatus)
			}
		})
	}
}

// TestStaleMarkOnlyFromTheStatusSeen: a balancer run lists a move pending
// and finds its ticket changed in the mirror; meanwhile an SST approves it
// and the approval claims it to make it in Help Scout. The run's stale
// mark accepted any open status, so the move was made and recorded stale.
// It now applies only in the status the run listed, and the refusal says
// which status the proposal is in.
func TestStaleMarkOnlyFromTheStatusSeen(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, tt := range []struct {
		name      string
		meanwhile func(db *DB, id int64) error
		want      ProposalStatus
	}{
		{"approved", func(db *DB, id int64) error {
			_, err := db.ApproveProposal(ctx, id, "sam")
			return err
		}, ProposalApproved},
		{"approved and being applied", func(db *DB, id int64) error {
			if _, err := db.ApproveProposal(ctx, id, "sam"); err != nil {
				return err
			}
			_, err := db.ClaimProposal(ctx, id)
			return err
		}, ProposalApplying},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			db, _ := openTest(t)
			insert(t, db, proposal(1, 7, 8))
			listed, err := db.ListProposals(ctx, ProposalFilter{Statuses: []ProposalStatus{ProposalPending}})
			if err != nil || len(listed) != 1 {
				t.Fatalf("listed %d pending (%v), want 1", len(listed), err)
			}
			p := listed[0]
			if err := tt.meanwhile(db, p.ID); err != nil {
				t.Fatal(err)
			}
			_, err = db.MarkProposalStale(ctx, p.ID, p.Status, "the assignee changed")
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "proposal is "+string(tt.want)) {
				t.Errorf("stale mark of a proposal listed pending, now %s: %v, want ErrConflict naming %s", tt.want, err, tt.want)
			}
			got, err := db.Proposal(ctx, p.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Status != tt.want || got.Error != "" {
				t.Errorf("proposal is %s %q, want %s with no error", got.Status, got.Error, tt.want)
			}
		})
	}
	t.Run("a status a proposal cannot go stale from", func(t *testing.T) {
		t.Parallel()
		db, _ := openTest(t)
		p := insert(t, db, proposal(1, 7, 8))[0]
		if _, err := db.MarkProposalStale(ctx, p.ID, ProposalRejected, "superseded"); !errors.Is(err, ErrConflict) {
			t.Errorf("stale mark from rejected: %v, want ErrConflict", err)
		}
		if got, err := db.Proposal(ctx, p.ID); err != nil || got.Status != ProposalPending {
			t.Errorf("proposal is %s (%v), want still pending", got.Status, err)
		}
	})
}

func TestProposalHappyPathRecordsFacts(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	p := insert(t, db, proposal(1, 7, 8))[0]

	clk.Set(at(time.Minute))
	got, err := db.ApproveProposal(ctx, p.ID, "sam@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != ProposalApproved || got.DecidedBy != "sam@example.com" || !got.DecidedAt.Equal(at(time.Minute)) {
		t.Errorf("approved = %+v", got)
	}
	clk.Set(at(2 * time.Minute))
	if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	// A claim the daemon gives back (its re-read cut short) leaves the
	// decision as it was, says why, and may be claimed again.
	clk.Set(at(2*time.Minute + 30*time.Second))
	back, err := db.UnclaimProposal(ctx, p.ID, "re-read cut short")
	if err != nil {
		t.Fatal(err)
	}
	want := p
	want.Status, want.DecidedBy, want.DecidedAt = ProposalApproved, "sam@example.com", at(time.Minute)
	want.UpdatedAt, want.Error = at(2*time.Minute+30*time.Second), "re-read cut short"
	if diff := cmp.Diff(want, back); diff != "" {
		t.Errorf("unclaimed proposal (-want +got):\n%s", diff)
	}
	if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
		t.Fatalf("claim an unclaimed proposal: %v", err)
	}
	clk.Set(at(3 * time.Minute))
	got, err = db.MarkProposalApplied(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	want.Status, want.Error = ProposalApplied, "" // applied clears why it once came back
	want.AppliedAt, want.UpdatedAt = at(3*time.Minute), at(3*time.Minute)
	want.Note = NoteDue // written after the record, so recovery writes it if this process does not
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("applied proposal (-want +got):\n%s", diff)
	}

	if _, err := db.ApproveProposal(ctx, 999, "sam"); !errors.Is(err, ErrNotFound) {
		t.Errorf("approve an unknown proposal: %v, want ErrNotFound", err)
	}
	if _, err := db.UnclaimProposal(ctx, 999, "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unclaim an unknown proposal: %v, want ErrNotFound", err)
	}

	// Apply mode inserts approved proposals, ready to claim.
	auto := proposal(2, 7, 9)
	auto.Status, auto.DecidedBy = ProposalApproved, "queuewrangler"
	a := insert(t, db, auto)[0]
	if !a.DecidedAt.Equal(at(3 * time.Minute)) {
		t.Errorf("auto-approved DecidedAt = %v, want the clock", a.DecidedAt)
	}
	if _, err := db.ClaimProposal(ctx, a.ID); err != nil {
		t.Errorf("claim an auto-approved proposal: %v", err)
	}
	f, err := db.MarkProposalFailed(ctx, a.ID, "helpscout: 403")
	if err != nil || f.Error != "helpscout: 403" || f.Status != ProposalFailed {
		t.Errorf("failed = %+v, %v", f, err)
	}
}

func TestConcurrentApprovalsExactlyOneWins(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	p := insert(t, db, proposal(1, 7, 8))[0]

	const n = 16
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			_, errs[i] = db.ApproveProposal(ctx, p.ID, "sst")
			if errs[i] == nil {
				_, errs[i] = db.ClaimProposal(ctx, p.ID)
			}
		})
	}
	wg.Wait()
	wins := 0
	for _, err := range errs {
		switch {
		case err == nil:
			wins++
		case !errors.Is(err, ErrConflict):
			t.Errorf("unexpected error: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d approvals won, want exactly 1", wins)
	}
}

func TestProposalQueries(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	applyAt := func(convID, to int64, when time.Time) Proposal {
		t.Helper()
		clk.Set(when)
		p := insert(t, db, proposal(convID, 7, to))[0]
		for _, err := range []error{
			func() error { _, err := db.ApproveProposal(ctx, p.ID, "sst"); return err }(),
			func() error { _, err := db.ClaimProposal(ctx, p.ID); return err }(),
			func() error { _, err := db.MarkProposalApplied(ctx, p.ID); return err }(),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	applyAt(1, 8, at(time.Hour))
	applyAt(1, 9, at(3*time.Hour)) // conversation 1 moved again
	applyAt(2, 8, at(4*time.Hour))
	clk.Set(at(5 * time.Hour))
	oldHandout := proposal(5, 0, 8)
	oldHandout.Reason = "unassigned"
	insert(t, db, oldHandout)
	old := insert(t, db, proposal(3, 7, 8))[0]
	clk.Set(at(6 * time.Hour))
	fresh := insert(t, db, proposal(4, 7, 8))[0]

	got, err := db.AssignmentsSince(ctx, at(2*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[int64]int{8: 1, 9: 1}, got); diff != "" {
		t.Errorf("AssignmentsSince (-want +got):\n%s", diff)
	}
	last, err := db.LastMoveAt(ctx, 1)
	if err != nil || !last.Equal(at(3*time.Hour)) {
		t.Errorf("LastMoveAt(1) = %v, %v; want %v", last, err, at(3*time.Hour))
	}
	if last, err := db.LastMoveAt(ctx, 3); err != nil || !last.IsZero() {
		t.Errorf("LastMoveAt(never moved) = %v, %v; want zero", last, err)
	}

	expired, err := db.ExpirePendingProposals(ctx, at(5*time.Hour+time.Minute), "expired")
	want := map[MoveClass]int{{Reason: old.Reason}: 1, {Reason: "unassigned", Handout: true}: 1}
	if err != nil || !maps.Equal(expired, want) {
		t.Errorf("ExpirePendingProposals = %v, %v; want %v", expired, err, want)
	}
	pend, err := db.ListProposals(ctx, ProposalFilter{Statuses: []ProposalStatus{ProposalPending}})
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 1 || pend[0].ID != fresh.ID {
		t.Errorf("pending = %+v, want only %d", pend, fresh.ID)
	}
	if p, _ := db.Proposal(ctx, old.ID); p.Status != ProposalStale || p.Error != "expired" {
		t.Errorf("expired proposal = %+v", p)
	}
	all, err := db.ListProposals(ctx, ProposalFilter{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != fresh.ID || all[1].ID != old.ID {
		t.Errorf("ListProposals(limit 2) = %v, want newest first", all)
	}
	byConv, _ := db.ListProposals(ctx, ProposalFilter{ConversationID: 1, Statuses: []ProposalStatus{ProposalApplied}})
	if len(byConv) != 2 {
		t.Errorf("applied proposals of conversation 1 = %d, want 2", len(byConv))
	}
}

// TestMovesBetween: applied moves in the range, hand-outs apart from
// reassignments; proposals not applied do not count.
func TestMovesBetween(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	ps := insert(t, db, proposal(1, 0, 8), proposal(2, 7, 8), proposal(3, 7, 9), proposal(4, 0, 9), proposal(5, 7, 8))
	apply := func(p Proposal, when time.Time) {
		t.Helper()
		clk.Set(when)
		if _, err := db.ApproveProposal(ctx, p.ID, "sam"); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.MarkProposalApplied(ctx, p.ID); err != nil {
			t.Fatal(err)
		}
	}
	apply(ps[0], at(time.Hour))   // hand-out inside
	apply(ps[1], at(2*time.Hour)) // reassignment inside
	apply(ps[2], at(3*time.Hour)) // reassignment inside
	apply(ps[3], at(5*time.Hour)) // hand-out at the end: outside
	// ps[4] stays pending.
	got, err := db.MovesBetween(ctx, t0, at(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if want := (MoveCounts{Handouts: 1, Reassignments: 2}); got != want {
		t.Errorf("MovesBetween = %+v, want %+v", got, want)
	}
	if got, err := db.MovesBetween(ctx, at(6*time.Hour), at(7*time.Hour)); err != nil || got != (MoveCounts{}) {
		t.Errorf("an empty range = %+v, %v; want zeros", got, err)
	}
}

// applyProposal takes an inserted proposal through approve and claim to
// applied, its note due or needing none.
func applyProposal(t *testing.T, db *DB, p Proposal, withNote bool) Proposal {
	t.Helper()
	ctx := context.Background()
	if _, err := db.ApproveProposal(ctx, p.ID, "sst"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimProposal(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	mark := db.MarkProposalApplied
	if !withNote {
		mark = db.MarkProposalAppliedWithoutNote
	}
	out, err := mark(ctx, p.ID)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestNotesDue: an applied move's note is due until settled, listed once
// older than the cutoff; one needing none, or settled, is never listed,
// and a settled note cannot be settled again or counted.
func TestNotesDue(t *testing.T) {
	t.Parallel()
	db, clk := openTest(t)
	ctx := context.Background()
	ps := insert(t, db, proposal(1, 7, 8), proposal(2, 0, 9), proposal(3, 7, 9), proposal(4, 7, 8))
	withNote := applyProposal(t, db, ps[0], true)
	if withNote.Note != NoteDue || !withNote.NoteAt.IsZero() || withNote.NoteTries != 0 {
		t.Errorf("applied with its note = %q at %v, %d tries; want due, no time, 0", withNote.Note, withNote.NoteAt, withNote.NoteTries)
	}
	if none := applyProposal(t, db, ps[1], false); none.Note != NoteNone {
		t.Errorf("applied without a note: note %q, want none", none.Note)
	}
	clk.Set(at(time.Minute))
	applyProposal(t, db, ps[2], true)
	if got, _ := db.Proposal(ctx, ps[3].ID); got.Note != NoteUnset {
		t.Errorf("a pending proposal's note = %q, want unset", got.Note)
	}

	ids := func(before time.Time) []int64 {
		t.Helper()
		due, err := db.NotesDue(ctx, before)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, p := range due {
			out = append(out, p.ID)
		}
		return out
	}
	if got := ids(at(30 * time.Second)); !slices.Equal(got, []int64{ps[0].ID}) {
		t.Errorf("due before 0:30 = %v, want only the first move %d", got, ps[0].ID)
	}
	if got := ids(at(time.Hour)); !slices.Equal(got, []int64{ps[0].ID, ps[2].ID}) {
		t.Errorf("due before 1:00 = %v, want %d, %d (oldest first)", got, ps[0].ID, ps[2].ID)
	}

	failed, err := db.NoteFailed(ctx, ps[0].ID)
	if err != nil || failed.NoteTries != 1 || failed.Note != NoteDue {
		t.Errorf("NoteFailed = %q, %d tries, %v; want due, 1", failed.Note, failed.NoteTries, err)
	}
	clk.Set(at(2 * time.Minute))
	written, err := db.MarkNote(ctx, ps[0].ID, NoteWritten)
	if err != nil || written.Note != NoteWritten || !written.NoteAt.Equal(at(2*time.Minute)) {
		t.Errorf("MarkNote written = %q at %v, %v", written.Note, written.NoteAt, err)
	}
	if _, err := db.MarkNote(ctx, ps[2].ID, NoteGivenUp); err != nil {
		t.Fatal(err)
	}
	if got := ids(at(time.Hour)); len(got) != 0 {
		t.Errorf("due after both were settled = %v, want none", got)
	}
	for name, f := range map[string]func() (Proposal, error){
		"written again":     func() (Proposal, error) { return db.MarkNote(ctx, ps[0].ID, NoteWritten) },
		"given up after":    func() (Proposal, error) { return db.MarkNote(ctx, ps[0].ID, NoteGivenUp) },
		"counted after":     func() (Proposal, error) { return db.NoteFailed(ctx, ps[2].ID) },
		"one needing none":  func() (Proposal, error) { return db.MarkNote(ctx, ps[1].ID, NoteWritten) },
		"one never applied": func() (Proposal, error) { return db.NoteFailed(ctx, ps[3].ID) },
	} {
		if _, err := f(); !errors.Is(err, ErrConflict) {
			t.Errorf("%s: %v, want ErrConflict", name, err)
		}
	}
	if _, err := db.MarkNote(ctx, ps[0].ID, NoteDue); err == nil {
		t.Error("MarkNote to due succeeded")
	}
}

// TestMigrationTakesOldMovesAsNoted: moves applied before 0016 are taken
// as noted, so that an upgrade posts no notes on old moves, but for own
// mode's first assignments, which need none (review finding 7: they were
// recorded written, a note they never had); the others have no note state.
func TestMigrationTakesOldMovesAsNoted(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, 15)
	for _, row := range []struct {
		id              int
		status, decider string
	}{{1, "applied", "sam@example.com"}, {2, "pending", ""}, {3, "failed", ""},
		// rebalance's decidedByRouting: store cannot import it.
		{4, "applied", "queuewrangler (QW_ROUTING=own)"}, {5, "applied", "policy"}} {
		if _, err := raw.Exec(`INSERT INTO proposals (id, created_at, updated_at, conversation_id, reason, status, decided_by, applied_at)
			VALUES (?, 1, 1, ?, 'stuck', ?, ?, 1)`, row.id, 100+row.id, row.status, row.decider); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, _ := openAt(t, path)
	for id, want := range map[int64]NoteState{1: NoteWritten, 2: NoteUnset, 3: NoteUnset, 4: NoteNone, 5: NoteWritten} {
		p, err := db.Proposal(ctx, id)
		if err != nil || p.Note != want {
			t.Errorf("proposal %d after the upgrade: note %q, %v; want %q", id, p.Note, err, want)
		}
	}
	if due, err := db.NotesDue(ctx, at(time.Hour)); err != nil || len(due) != 0 {
		t.Errorf("notes due after the upgrade = %d, %v; want none", len(due), err)
	}
}

// TestMigrationTellsFailuresThatMayHaveBeenMade: 0019 marks the failures
// recorded before it whose PATCH may have been made (rebalance's
// "assign: " errors but Help Scout's refusals) so that they go on
// excusing the reassignment they made; a failure before the PATCH, a
// refusal, and recovery's "not made" do not.
func TestMigrationTellsFailuresThatMayHaveBeenMade(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, 18)
	rows := []struct {
		status, err string
		want        bool
	}{
		{"failed", "assign: assign conversation 101 to 8: context deadline exceeded", true},
		{"failed", "assign: assign conversation 102 to 8: PATCH /v2/conversations/102: 503 Service Unavailable", true},
		{"failed", "assign: assign conversation 103 to 8: PATCH /v2/conversations/103: 429 rate limited, retry after 10s", true},
		{"failed", "assign: assign conversation 104 to 8: PATCH /v2/conversations/104: 409 Conflict", true},
		{"failed", "assign: assign conversation 105 to 8: PATCH /v2/conversations/105: 422 Unprocessable Entity: bad (assignTo: no)", false},
		{"failed", "assign: assign conversation 106 to 8: PATCH /v2/conversations/106: 401 Unauthorized: invalid_token", false},
		{"failed", "re-read before apply: GET /v2/conversations/107: 503 Service Unavailable", false},
		{"failed", "read the receiver before apply: database is locked", false},
		{"failed", "interrupted before the assignment was written; the next plan decides afresh", false},
		{"stale", "assign: not one of ours", false},
	}
	for i, r := range rows {
		if _, err := raw.Exec(`INSERT INTO proposals (id, created_at, updated_at, conversation_id, to_agent, reason, status, error)
			VALUES (?, 1, 1, ?, 8, 'stuck', ?, ?)`, i+1, 101+i, r.status, r.err); err != nil {
			t.Fatal(err)
		}
	}
	raw.Close()
	db, _ := openAt(t, path)
	for i, r := range rows {
		p, err := db.Proposal(ctx, int64(i+1))
		if err != nil || p.MaybeMade != r.want {
			t.Errorf("%s %q after the upgrade: MaybeMade %v, %v; want %v", r.status, r.err, p.MaybeMade, err, r.want)
		}
	}
}
