package rebalance

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/roster"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// TestApprovingAMoveToSomeoneNoLongerThereSkipsIt: the re-read before a
// move checked the ticket, never the receiver, so a move proposed to Ana
// during her shift and approved after it handed the customer to someone
// who was not there. The move is now skipped, stale, with the reason,
// logged and counted once, and nothing written to Help Scout, when its
// receiver is off shift, away, no longer a user, can no longer open the
// ticket's mailbox, or holds their max_open.
func TestApprovingAMoveToSomeoneNoLongerThereSkipsIt(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// change makes the receiver (to) unable to take the ticket, in
		// w's mirror, before the approval; w.now is then the approval's
		// time, and other is w's conversation not proposed.
		change func(t *testing.T, w *world, to, other int64)
		want   func(w *world, to int64) string // in the stale reason
	}{
		{"off shift", func(t *testing.T, w *world, to, other int64) {
			w.now = w.now.Add(3 * time.Hour) // the shift ended an hour after the plan
		}, says("is off shift now (back ")},
		{"away", func(t *testing.T, w *world, to, other int64) {
			must(t, w.db.ReplaceUserStatuses(ctx, []store.UserStatus{{UserID: to, Status: "away", UpdatedAt: w.now, Source: "ui"}}))
		}, says("is away now")},
		{"no longer a user", func(t *testing.T, w *world, to, other int64) {
			changeUsers(t, w, func(u *store.User) bool { return u.ID != to })
		}, func(_ *world, to int64) string {
			return fmt.Sprintf("user %d, who was to take it, is no longer a Help Scout user", to)
		}},
		{"lost the mailbox", func(t *testing.T, w *world, to, other int64) {
			changeUsers(t, w, func(u *store.User) bool {
				if u.ID == to {
					u.Mailboxes = []int64{}
				}
				return true
			})
		}, func(w *world, _ int64) string { return fmt.Sprintf("can no longer open mailbox %d", w.mailbox) }},
		{"at max_open", func(t *testing.T, w *world, to, other int64) {
			must(t, w.fake.Assign(other, to, to, w.now))
			w.sync(t)
		}, says("holds 1 open tickets, their roster's max_open")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2)
			opts, proposed := proposeOneOnShift(t, w)
			other := w.convs[0]
			if other == proposed.ConversationID {
				other = w.convs[1]
			}
			tt.change(t, w, proposed.ToAgent, other)
			want := tt.want(w, proposed.ToAgent)

			var log testkit.LogBuffer
			m := metrics.NewInstruments(prometheus.NewRegistry())
			opts.Logger, opts.Metrics = slog.New(slog.NewTextHandler(&log, nil)), m
			// The receiver check is under test, not the expiry, which an
			// approval 3 hours after the plan (off shift) would meet first.
			opts.ProposalTTL = 24 * time.Hour
			got, err := New(w.db, w.hs, opts).Approve(ctx, proposed.ID, "sst")
			must(t, err)
			if got.Status != store.ProposalStale || !strings.Contains(got.Error, want) {
				t.Errorf("approved move to a receiver who cannot take it: %s %q, want stale with %q", got.Status, got.Error, want)
			}
			if n := len(w.fake.Patches()); n != 0 {
				t.Errorf("%d assignments written to Help Scout, want none", n)
			}
			saidStaleOnce(t, log.String(), m, proposed)
		})
	}
}

// TestApprovingAMoveToSomeoneStillThereMakesIt: the receiver check passes
// a receiver on shift, below their max_open, who can open the mailbox.
func TestApprovingAMoveToSomeoneStillThereMakesIt(t *testing.T) {
	w := newWorld(t, 2)
	opts, proposed := proposeOneOnShift(t, w)
	w.now = w.now.Add(30 * time.Minute)
	got, err := New(w.db, w.hs, opts).Approve(context.Background(), proposed.ID, "sst")
	must(t, err)
	if got.Status != store.ProposalApplied {
		t.Errorf("approved move to a receiver still there: %s %q, want applied", got.Status, got.Error)
	}
}

// says is a want of TestApprovingAMoveToSomeoneNoLongerThereSkipsIt that
// is the same for every receiver.
func says(text string) func(*world, int64) string { return func(*world, int64) string { return text } }

// proposeOneOnShift proposes, in propose mode, one of w's two tickets to
// Ana or Ben, both on shift (onShiftAroundNow); it returns the options
// and the proposal.
func proposeOneOnShift(t *testing.T, w *world) (Options, store.Proposal) {
	t.Helper()
	p := balancer.DefaultPolicy()
	p.Backlog = balancer.BacklogOldest
	p.MaxMovesPerRun = 1
	opts := Options{Mode: ModePropose, Policy: p, Roster: onShiftAroundNow(t, w), Now: func() time.Time { return w.now }}
	return opts, proposeN(t, New(w.db, w.hs, opts), 1)[0]
}

// onShiftAroundNow is a roster giving w's agents a shift from an hour
// before w.now to two hours after it, and a max_open of 1.
func onShiftAroundNow(t *testing.T, w *world) *roster.Roster {
	t.Helper()
	return rosterWith(t, w, 0, roster.Entry{})
}

// changeUsers rewrites the mirror's users: keep says whether to keep
// each, after changing it if it likes.
func changeUsers(t *testing.T, w *world, keep func(u *store.User) bool) {
	t.Helper()
	users, err := w.db.Users(context.Background())
	must(t, err)
	var out []store.User
	for _, u := range users {
		if keep(&u) {
			out = append(out, u)
		}
	}
	must(t, w.db.ReplaceUsers(context.Background(), out))
}

// TestApprovingAMoveToSomeoneTheRosterNoLongerFrontsSkipsIt: a proposal
// outlives a restart, and the restart may bring a roster edit (the
// README's check-then-restart). The receiver check read the roster's
// hours and max_open but not its role, so a move proposed to Ana as an ST
// and approved after the roster excluded her, or made her the head of
// support, handed a customer to someone the plan would never choose: a
// person no longer on the team, or the HoS, who takes only stuck
// escalations and only when the roster says so.
func TestApprovingAMoveToSomeoneTheRosterNoLongerFrontsSkipsIt(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		edit roster.Entry // the receiver's entry after the restart, hours kept
		want string
	}{
		{"excluded", roster.Entry{Role: roster.RoleExclude}, "the roster leaves out now"},
		{"head of support", roster.Entry{Role: roster.RoleHoS}, "the head of support now, who takes only stuck escalations"},
		{"head of support taking escalations", roster.Entry{Role: roster.RoleHoS, Escalations: &yes},
			"the head of support now, who takes only stuck escalations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2)
			opts, proposed := proposeOneOnShift(t, w)
			if proposed.Reason == string(balancer.ReasonStuck) {
				t.Fatalf("the proposal is a stuck escalation; the test needs another")
			}
			opts.Roster = rosterWith(t, w, proposed.ToAgent, tt.edit)

			var log testkit.LogBuffer
			m := metrics.NewInstruments(prometheus.NewRegistry())
			opts.Logger, opts.Metrics = slog.New(slog.NewTextHandler(&log, nil)), m
			got, err := New(w.db, w.hs, opts).Approve(context.Background(), proposed.ID, "sst")
			must(t, err)
			if got.Status != store.ProposalStale || !strings.Contains(got.Error, tt.want) {
				t.Errorf("approved move to a receiver the roster now has as %s: %s %q, want stale with %q", tt.edit.Role, got.Status, got.Error, tt.want)
			}
			if n := len(w.fake.Patches()); n != 0 {
				t.Errorf("%d assignments written to Help Scout, want none", n)
			}
			saidStaleOnce(t, log.String(), m, proposed)
		})
	}
}

// rosterWith is onShiftAroundNow with agent's entry (if any) given edit's
// role and escalations: the roster after an edit and a restart.
func rosterWith(t *testing.T, w *world, agent int64, edit roster.Entry) *roster.Roster {
	t.Helper()
	from, to := w.now.Add(-time.Hour), w.now.Add(2*time.Hour)
	hours := from.Format("Mon") + " " + from.Format("15:04") + "-" + to.Format("15:04")
	maxOpen := 1
	var agents []roster.Entry
	for _, id := range []int64{w.ana, w.ben} {
		e := roster.Entry{ID: id, Hours: hours, Timezone: "UTC", MaxOpen: &maxOpen}
		if id == agent {
			e.Role, e.Escalations = edit.Role, edit.Escalations
		}
		agents = append(agents, e)
	}
	r, err := roster.New(roster.Entry{}, agents)
	must(t, err)
	return r
}

// TestApprovingAMoveToSomeoneAboutToLeaveSkipsIt: the plan never chooses
// someone whose shift ends within the policy's ShiftEndMargin, but the
// receiver check before an approved move did not test it, so a move
// proposed to Ana at 15:00 and approved at 16:55 gave her a customer she
// would leave at 17:00 without starting. Approved 5 minutes before her
// shift ends, the move is now skipped (stale) with the reason, and the
// ticket stays where it was; approved 45 minutes before, it is made.
// (w's shift ends two hours after the proposal: onShiftAroundNow.)
func TestApprovingAMoveToSomeoneAboutToLeaveSkipsIt(t *testing.T) {
	for _, tt := range []struct {
		name     string
		approved time.Duration // after the proposal
		want     store.ProposalStatus
	}{
		{"5 minutes before the shift ends", time.Hour + 55*time.Minute, store.ProposalStale},
		{"45 minutes before the shift ends", time.Hour + 15*time.Minute, store.ProposalApplied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 2)
			opts, proposed := proposeOneOnShift(t, w)
			if proposed.ToAgent == 0 {
				t.Fatalf("the proposal %+v has no receiver; the test needs one", proposed)
			}
			ends := w.now.Add(2 * time.Hour)
			w.now = w.now.Add(tt.approved)

			var log testkit.LogBuffer
			m := metrics.NewInstruments(prometheus.NewRegistry())
			opts.Logger, opts.Metrics = slog.New(slog.NewTextHandler(&log, nil)), m
			got, err := New(w.db, w.hs, opts).Approve(context.Background(), proposed.ID, "sst")
			must(t, err)
			if got.Status != tt.want {
				t.Fatalf("approved %v after the proposal: %s %q, want %s", tt.approved, got.Status, got.Error, tt.want)
			}
			c, ok := w.fake.Conversation(proposed.ConversationID)
			if !ok {
				t.Fatalf("the fake has no conversation %d", proposed.ConversationID)
			}
			if tt.want == store.ProposalApplied {
				if c.AssigneeID != proposed.ToAgent {
					t.Errorf("Help Scout has assignee %d, want the receiver %d", c.AssigneeID, proposed.ToAgent)
				}
				return
			}
			want := fmt.Sprintf("Agent, who was to take it, ends the shift at %s UTC, within 30m, too soon to start a new customer",
				ends.UTC().Format("15:04"))
			if !strings.Contains(got.Error, want) {
				t.Errorf("stale reason %q, want it to say %q", got.Error, want)
			}
			if n := len(w.fake.Patches()); n != 0 {
				t.Errorf("%d assignments written to Help Scout, want none", n)
			}
			if c.AssigneeID != proposed.FromAgent {
				t.Errorf("Help Scout has assignee %d, want %d, where the ticket was", c.AssigneeID, proposed.FromAgent)
			}
			saidStaleOnce(t, log.String(), m, proposed)
		})
	}
}

// TestRecoveredMoveToSomeoneAboutToLeave: an approved move that a later
// run makes (its recovery) meets the shift-end check when a person
// approved it (say on the page while QW_MODE=off, for the first run once
// the mode is back). A move the daemon decided itself in apply mode is
// spared it only when made moments after its plan, which already kept new
// work from anyone about to leave, so the check could only refuse, at the
// margin's edge, what it had just chosen. One left approved by a daemon
// stopped mid-batch and made by the recovery after a restart hours later
// was spared too, and handed the customer to someone leaving in 5
// minutes: its plan's choice no longer says anything about the shift end.
func TestRecoveredMoveToSomeoneAboutToLeave(t *testing.T) {
	for _, tt := range []struct {
		name, by string
		decided  time.Duration // after the proposal
		want     store.ProposalStatus
	}{
		{"approved by an SST", "sst", 0, store.ProposalStale},
		{"decided in apply mode before a restart", decidedBy(ModeApply), 0, store.ProposalStale},
		{"decided in apply mode moments before", decidedBy(ModeApply), time.Hour + 54*time.Minute + 50*time.Second, store.ProposalApplied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t, 2)
			opts, proposed := proposeOneOnShift(t, w)
			decided := w.now.Add(tt.decided)
			w.db.Now = func() time.Time { return decided }
			_, err := w.db.ApproveProposal(ctx, proposed.ID, tt.by)
			must(t, err)
			w.db.Now = func() time.Time { return w.now }
			w.now = w.now.Add(time.Hour + 55*time.Minute) // 5 minutes before the shift ends
			_, err = New(w.db, w.hs, opts).RunOnce(ctx)
			must(t, err)
			got, err := w.db.Proposal(ctx, proposed.ID)
			must(t, err)
			if got.Status != tt.want {
				t.Errorf("recovered move %s: %s %q, want %s", tt.name, got.Status, got.Error, tt.want)
			}
			if tt.want == store.ProposalStale && !strings.Contains(got.Error, "within 30m, too soon to start a new customer") {
				t.Errorf("recovered move %s is stale for %q, want the shift's end", tt.name, got.Error)
			}
		})
	}
}
