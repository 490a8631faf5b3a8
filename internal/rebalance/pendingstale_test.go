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

// TestPendingMoveWhoseTicketChangedLeavesThePendingList: a proposal
// waiting for approval whose ticket the mirror shows closed, or taken by
// someone, stayed pending in /api/v1/proposals until it expired two hours
// later, offered for an approval that could only go stale. The next
// balancer run, in any mode, now records it stale with the reason, logged
// and counted once, without a request to Help Scout; the other proposal,
// whose ticket did not change, still waits.
func TestPendingMoveWhoseTicketChangedLeavesThePendingList(t *testing.T) {
	changes := []struct {
		name   string
		change func(t *testing.T, w *world, id int64)
		want   string
	}{
		{"closed", func(t *testing.T, w *world, id int64) {
			must(t, w.fake.SetStatus(id, w.ana, "closed", w.now))
		}, "the status changed to closed"},
		{"assigned by someone", func(t *testing.T, w *world, id int64) {
			must(t, w.fake.Assign(id, w.ben, w.ben, w.now))
		}, "the assignee changed (now Ben Agent)"},
	}
	for _, mode := range []Mode{ModePropose, ModeOff} {
		for _, tt := range changes {
			t.Run(string(mode)+"/"+tt.name, func(t *testing.T) {
				ctx := context.Background()
				w := newWorld(t, 2)
				p := balancer.DefaultPolicy()
				p.Backlog = balancer.BacklogOldest
				opts := Options{Mode: ModePropose, Policy: p, Mailboxes: []int64{w.mailbox}, Now: func() time.Time { return w.now }}
				proposed := proposeN(t, New(w.db, w.hs, opts), 2)
				changed, untouched := proposed[0], proposed[1]
				tt.change(t, w, changed.ConversationID)
				w.now = w.now.Add(time.Minute)
				w.sync(t)
				w.fake.ResetStats()

				var log testkit.LogBuffer
				m := metrics.NewInstruments(prometheus.NewRegistry())
				opts.Mode, opts.Logger, opts.Metrics = mode, slog.New(slog.NewTextHandler(&log, nil)), m
				r := New(w.db, w.hs, opts)
				for range 2 {
					_, err := r.RunOnce(ctx)
					must(t, err)
				}
				got, err := w.db.Proposal(ctx, changed.ID)
				must(t, err)
				wantEnd := pendingSeen
				if mode == ModeOff {
					wantEnd = offModeSeen
				}
				if got.Status != store.ProposalStale || !strings.Contains(got.Error, tt.want) || !strings.HasSuffix(got.Error, wantEnd) {
					t.Errorf("pending move of the changed ticket: %s %q, want stale with %q, ending %q", got.Status, got.Error, tt.want, wantEnd)
				}
				if got, err := w.db.Proposal(ctx, untouched.ID); err != nil || got.Status != store.ProposalPending {
					t.Errorf("untouched ticket's move: %s %q (%v), want still pending", got.Status, got.Error, err)
				}
				pending, err := w.db.ListProposals(ctx, store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalPending}})
				must(t, err)
				for _, pr := range pending {
					if pr.ID == changed.ID {
						t.Errorf("the changed ticket's move is still listed pending")
					}
				}
				saidStaleOnce(t, log.String(), m, changed)
				if reqs := w.fake.Stats().Requests; len(reqs) != 0 {
					t.Errorf("ending the pending move sent requests to Help Scout: %v", reqs)
				}
			})
		}
	}
}

// saidStaleOnce checks that p's move going stale was logged once, in log,
// and counted once, in m.
func saidStaleOnce(t *testing.T, log string, m *metrics.Instruments, p store.Proposal) {
	t.Helper()
	if n := strings.Count(log, "move skipped: stale"); n != 1 {
		t.Errorf("%d stale log lines, want 1:\n%s", n, log)
	}
	if got := testutil.ToFloat64(m.Reassignments.WithLabelValues(p.Reason, "stale", metrics.MoveKind(p.Handout()))); got != 1 {
		t.Errorf("stale outcomes counted %v, want 1", got)
	}
}

// TestUnreadablePendingTicketDoesNotStopTheRun: one pending move whose
// ticket the mirror failed to read stopped every run in propose or apply
// mode before its plan and its recovery. The run now goes on: it plans
// the new ticket and makes the approved move, and says the failed read
// once per error however many runs meet it; the pending move waits,
// untouched, for its re-read at approval.
func TestUnreadablePendingTicketDoesNotStopTheRun(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 2)
	proposed := proposeN(t, w.rebalancer(ModePropose, 5), 2)
	unreadable, approved := proposed[0], proposed[1]
	_, err := w.db.ApproveProposal(ctx, approved.ID, "sst")
	must(t, err)
	fresh, err := w.fake.CreateConversation(helpscouttest.NewConversation{
		MailboxID: w.mailbox, CustomerID: w.customer, Subject: "help", Body: "please", At: w.now.Add(-time.Minute),
	})
	must(t, err)
	w.sync(t)

	var log testkit.LogBuffer
	r := w.rebalancer(ModePropose, 5)
	r.opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	readErr := errors.New("disk I/O error")
	read := r.conversation
	r.conversation = func(ctx context.Context, id int64) (store.Conversation, []store.Thread, error) {
		if id == unreadable.ConversationID {
			return store.Conversation{}, nil, readErr
		}
		return read(ctx, id)
	}
	plan, err := r.RunOnce(ctx)
	if err != nil {
		t.Fatalf("run with one unreadable pending ticket: %v, want it to go on", err)
	}
	if len(plan.Proposals) != 1 || plan.Proposals[0].ConversationID != fresh.ID {
		t.Errorf("planned %+v, want one move, of the new ticket %d", plan.Proposals, fresh.ID)
	}
	if got, err := w.db.Proposal(ctx, approved.ID); err != nil || got.Status != store.ProposalApplied {
		t.Errorf("approved move: %s %q (%v), want applied by the run's recovery", got.Status, got.Error, err)
	}
	_, err = r.RunOnce(ctx)
	must(t, err)
	if got, err := w.db.Proposal(ctx, unreadable.ID); err != nil || got.Status != store.ProposalPending {
		t.Errorf("unreadable ticket's move: %s %q (%v), want still pending", got.Status, got.Error, err)
	}
	const said = "pending move's ticket unreadable in the mirror"
	if n := strings.Count(log.String(), said); n != 1 || !strings.Contains(log.String(), "disk I/O error") {
		t.Errorf("after two runs, %d lines %q, want 1 with the error:\n%s", n, said, log.String())
	}
	readErr = errors.New("database is locked")
	_, err = r.RunOnce(ctx)
	must(t, err)
	if n := strings.Count(log.String(), said); n != 2 || !strings.Contains(log.String(), "database is locked") {
		t.Errorf("after a new error, %d lines %q, want 2, the second with it:\n%s", n, said, log.String())
	}
}

// TestDamagedFileEndsTheRunWithOneLine: in propose and apply mode, on a
// damaged database file, each pending move's ticket was logged
// "pending move's ticket unreadable in the mirror" at WARN before the
// run's own failure said the file is damaged: one line per ticket for
// what is one fault of the file. The damage now ends the run at the
// first ticket that meets it, and the run's failure says it once, with
// the remedy, however many ticks meet it.
func TestDamagedFileEndsTheRunWithOneLine(t *testing.T) {
	for _, mode := range []Mode{ModePropose, ModeApply} {
		t.Run(string(mode), func(t *testing.T) {
			w := newWorld(t, 3)
			proposeN(t, w.rebalancer(ModePropose, 5), 3) // left pending, whatever the mode now
			var log testkit.LogBuffer
			r := w.rebalancer(mode, 5)
			r.opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
			repair := testkit.DamageTable(t, w.dbPath, "conversations")
			defer repair()
			if _, err := r.RunOnce(context.Background()); !errors.Is(err, store.ErrCorrupt) {
				t.Fatalf("a run on the damaged file: %v, want store.ErrCorrupt", err)
			}

			const ticks = 3
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
			if n := strings.Count(said, "\n"); n != 1 || !strings.Contains(said, `level=ERROR msg="balancer run failed: the database file is damaged"`) ||
				!strings.Contains(said, "restore it from a backup") {
				t.Errorf("%d log lines over %d runs on a damaged file, want 1 saying the file is damaged, with the remedy:\n%s", n, ticks+1, said)
			}
		})
	}
}
