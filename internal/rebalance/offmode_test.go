package rebalance

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// approveWhileOff proposes two moves on w under propose and approves them
// under off, with off's options tweaked first (a logger, metrics). It
// returns the off-mode rebalancer, the proposals, and the options the two
// modes share.
func approveWhileOff(t *testing.T, w *world, tweak func(off *Options)) (*Rebalancer, []store.Proposal, Options) {
	t.Helper()
	p := balancer.DefaultPolicy()
	p.Backlog = balancer.BacklogOldest
	opts := Options{Policy: p, Mailboxes: []int64{w.mailbox}, Now: func() time.Time { return w.now }}
	propose := opts
	propose.Mode = ModePropose
	proposed := proposeN(t, New(w.db, w.hs, propose), 2)
	off := opts
	off.Mode = ModeOff
	if tweak != nil {
		tweak(&off)
	}
	r := New(w.db, w.hs, off)
	for _, pr := range proposed {
		_, err := r.Approve(context.Background(), pr.ID, "sst")
		must(t, err)
	}
	return r, proposed, opts
}

// TestOffModeMarksAChangedApprovedMoveStale: under QW_MODE=off an approved
// move whose ticket the mirror shows changed goes stale at the next tick,
// for the reason the re-read before a move would give, without a request
// to Help Scout and with one log line however many ticks follow; the other
// approved move, whose ticket did not change, waits.
func TestOffModeMarksAChangedApprovedMoveStale(t *testing.T) {
	tests := []struct {
		name   string
		change func(t *testing.T, w *world, id int64)
		want   string
	}{
		{"assigned by hand", func(t *testing.T, w *world, id int64) {
			must(t, w.fake.Assign(id, w.ben, w.ben, w.now))
		}, "the assignee changed"},
		{"closed", func(t *testing.T, w *world, id int64) {
			must(t, w.fake.SetStatus(id, w.ana, "closed", w.now))
		}, "the status changed to closed"},
		{"moved to an inbox QW_MAILBOXES leaves out", func(t *testing.T, w *world, id int64) {
			other, err := w.fake.AddMailbox(helpscouttest.Mailbox{Name: "Billing", Email: "billing@example.com"})
			must(t, err)
			must(t, w.fake.Move(id, w.ana, other.ID, w.now))
		}, "which QW_MAILBOXES leaves out"},
		{"pinned", func(t *testing.T, w *world, id int64) {
			must(t, w.fake.SetTags(id, []string{store.PinTag}, w.now))
		}, "the ticket was pinned"},
		{"customer wrote again", func(t *testing.T, w *world, id int64) {
			_, err := w.fake.AddCustomerThread(id, helpscouttest.ThreadInput{Body: "hello?", At: w.now.Add(time.Second)})
			must(t, err)
		}, "the customer wrote again"},
		{"deleted, and removed from the mirror", func(t *testing.T, w *world, id int64) {
			must(t, w.fake.Delete(id))
			must(t, w.db.DeleteConversation(context.Background(), id))
		}, "no longer in the mirror"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2)
			var log testkit.LogBuffer
			m := metrics.NewInstruments(prometheus.NewRegistry())
			r, proposed, _ := approveWhileOff(t, w, func(off *Options) {
				off.Logger, off.Metrics = slog.New(slog.NewTextHandler(&log, nil)), m
			})
			changed, untouched := proposed[0], proposed[1]
			tt.change(t, w, changed.ConversationID)
			w.now = w.now.Add(time.Minute)
			w.sync(t)
			w.fake.ResetStats()

			for range 3 {
				_, err := r.RunOnce(context.Background())
				must(t, err)
			}
			got, err := w.db.Proposal(context.Background(), changed.ID)
			must(t, err)
			if got.Status != store.ProposalStale || !strings.Contains(got.Error, tt.want) || !strings.HasSuffix(got.Error, offModeSeen) {
				t.Errorf("changed ticket's move: %s %q, want stale with %q, ending %q", got.Status, got.Error, tt.want, offModeSeen)
			}
			if got, err := w.db.Proposal(context.Background(), untouched.ID); err != nil || got.Status != store.ProposalApproved {
				t.Errorf("untouched ticket's move: %s %q (%v), want still approved", got.Status, got.Error, err)
			}
			if reqs := w.fake.Stats().Requests; len(reqs) != 0 {
				t.Errorf("off mode sent requests to Help Scout: %v", reqs)
			}
			if lines := strings.Count(log.String(), "\n"); lines != 1 || !strings.Contains(log.String(), "move skipped: stale") {
				t.Errorf("%d log lines over 3 ticks, want the one stale line:\n%s", lines, log.String())
			}
			if got := testutil.ToFloat64(m.Reassignments.WithLabelValues(changed.Reason, "stale", metrics.MoveKind(changed.Handout()))); got != 1 {
				t.Errorf("stale outcomes counted %v, want 1", got)
			}
		})
	}
}

// TestOffModeRecentNoteDoesNotEndAMoveMadeHoursLater: "an agent replied
// or added a note" is a rule about the moment of the move (RecentActivity,
// two hours by default), not a change since the plan. Under QW_MODE=off
// the move is made only once the mode changes; judged at an off-mode tick
// minutes after the note, it went stale for good, although the re-read
// when the mode changed, hours later, finds nothing against it.
func TestOffModeRecentNoteDoesNotEndAMoveMadeHoursLater(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	r, proposed, opts := approveWhileOff(t, w, nil)
	p := opts.Policy
	propose := opts
	propose.Mode = ModePropose
	noted := proposed[0]
	_, err := w.fake.AddNote(noted.ConversationID, helpscouttest.ThreadInput{UserID: w.ben, Body: "billing knows", At: w.now.Add(time.Second)})
	must(t, err)
	w.now = w.now.Add(time.Minute)
	w.sync(t)
	_, err = r.RunOnce(ctx) // an off-mode tick
	must(t, err)

	w.now = w.now.Add(p.RecentActivity + time.Hour) // the mode changes hours later
	_, err = New(w.db, w.hs, propose).RunOnce(ctx)
	must(t, err)
	got, err := w.db.Proposal(ctx, noted.ID)
	must(t, err)
	if got.Status != store.ProposalApplied {
		t.Errorf("move on a ticket noted %v before the mode changed: %s %q, want applied", p.RecentActivity+time.Hour, got.Status, got.Error)
	}
}

// TestRunSaysADamagedFileOnce: under QW_MODE=off every tick reads the
// approved moves' conversations from the mirror, and on a damaged file
// every tick failed and logged "balancer run failed" at ERROR. The damage
// is said once between all that meet it (store.DB.SayFailure), with what
// it is, however many ticks fail on it.
func TestRunSaysADamagedFileOnce(t *testing.T) {
	w := newWorld(t, 2)
	var log testkit.LogBuffer
	r, _, _ := approveWhileOff(t, w, func(off *Options) { off.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	repair := testkit.DamageTable(t, w.dbPath, "conversations")
	defer repair()
	if _, err := r.RunOnce(context.Background()); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("an off-mode tick on the damaged file: %v, want store.ErrCorrupt", err)
	}

	const ticks = 5
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := 0
	ready := func() (bool, string) { // asked before each tick's run
		if asked++; asked > ticks {
			cancel()
			return false, "stop"
		}
		return true, ""
	}
	r.Run(ctx, time.Millisecond, ready)
	said := log.String()
	if n := strings.Count(said, "level=ERROR"); n != 1 || !strings.Contains(said, `msg="balancer run failed: the database file is damaged"`) ||
		!strings.Contains(said, "restore it from a backup") {
		t.Errorf("%d ERROR lines over %d ticks on a damaged file, want 1 saying the file is damaged, with the remedy:\n%s", n, ticks, said)
	}
}

// TestOffModeUnreadableTicketIsSaidOnce: under QW_MODE=off an open move
// whose ticket the mirror failed to read made every tick return the error,
// so that Run logged "balancer run failed" at every tick for as long as
// the read kept failing. As in the other modes (its pending moves, see
// TestUnreadablePendingTicketDoesNotStopTheRun), the failed read is now
// logged with the proposal and the error once per ticket and error however
// many ticks meet it, and the tick goes on: the other move, whose ticket
// changed, goes stale, and the unreadable one stays approved.
func TestOffModeUnreadableTicketIsSaidOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	var log testkit.LogBuffer
	r, proposed, _ := approveWhileOff(t, w, func(off *Options) { off.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	unreadable, changed := proposed[0], proposed[1]
	must(t, w.fake.Assign(changed.ConversationID, w.ben, w.ben, w.now))
	w.now = w.now.Add(time.Minute)
	w.sync(t)

	readErr := errors.New("disk I/O error")
	read := r.conversation
	r.conversation = func(ctx context.Context, id int64) (store.Conversation, []store.Thread, error) {
		if id == unreadable.ConversationID {
			return store.Conversation{}, nil, readErr
		}
		return read(ctx, id)
	}
	const ticks = 3
	tickCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	asked := 0
	ready := func() (bool, string) { // asked before each tick's run
		if asked++; asked > ticks {
			cancel()
			return false, "stop"
		}
		return true, ""
	}
	r.Run(tickCtx, time.Millisecond, ready)
	const said = "approved move's ticket unreadable in the mirror"
	if n := strings.Count(log.String(), said); n != 1 || !strings.Contains(log.String(), "disk I/O error") ||
		strings.Contains(log.String(), "balancer run failed") {
		t.Errorf("after %d off-mode ticks, %d lines %q, want 1 with the error and no failed run:\n%s", ticks, n, said, log.String())
	}
	if got, err := w.db.Proposal(ctx, changed.ID); err != nil || got.Status != store.ProposalStale {
		t.Errorf("move of the changed ticket: %s %q (%v), want stale", got.Status, got.Error, err)
	}
	if got, err := w.db.Proposal(ctx, unreadable.ID); err != nil || got.Status != store.ProposalApproved {
		t.Errorf("unreadable ticket's move: %s %q (%v), want still approved", got.Status, got.Error, err)
	}

	readErr = errors.New("database is locked")
	if _, err := r.RunOnce(ctx); err != nil {
		t.Fatalf("off-mode tick with an unreadable ticket: %v, want it to go on", err)
	}
	if n := strings.Count(log.String(), said); n != 2 || !strings.Contains(log.String(), "database is locked") {
		t.Errorf("after a new error, %d lines %q, want 2, the second with it:\n%s", n, said, log.String())
	}
}
