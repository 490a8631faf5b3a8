package rebalance

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// TestRecoversInterruptedApplies leaves a proposal where a killed process
// would, then checks that the next run settles it without writing a move
// twice.
func TestRecoversInterruptedApplies(t *testing.T) {
	tests := []struct {
		name        string
		interrupt   func(w *world, p store.Proposal)
		wantStatus  store.ProposalStatus
		wantPatches int
		wantNotes   int
	}{
		{"approved, never claimed", func(w *world, p store.Proposal) {
			_, err := w.db.ApproveProposal(context.Background(), p.ID, "sst")
			must(t, err)
		}, store.ProposalApplied, 1, 1},
		{"claimed, assignment written, note missing", func(w *world, p store.Proposal) {
			_, err := w.db.ApproveProposal(context.Background(), p.ID, "sst")
			must(t, err)
			_, err = w.db.ClaimProposal(context.Background(), p.ID)
			must(t, err)
			must(t, w.fake.Assign(p.ConversationID, w.ana, p.ToAgent, w.now))
		}, store.ProposalApplied, 0, 1},
		{"claimed, nothing written", func(w *world, p store.Proposal) {
			_, err := w.db.ApproveProposal(context.Background(), p.ID, "sst")
			must(t, err)
			_, err = w.db.ClaimProposal(context.Background(), p.ID)
			must(t, err)
		}, store.ProposalFailed, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := newWorld(t, 1)
			plan, err := w.rebalancer(ModePropose, 5).RunOnce(context.Background())
			must(t, err)
			if len(plan.Proposals) != 1 {
				t.Fatalf("got %d proposals", len(plan.Proposals))
			}
			p := plan.Proposals[0]
			tt.interrupt(w, p)

			// The next run, well after the interruption.
			later := New(w.db, w.hs, Options{Mode: ModePropose, Policy: balancer.DefaultPolicy(),
				Now: func() time.Time { return time.Now().Add(interruptedAfter + time.Minute) }})
			_, err = later.RunOnce(context.Background())
			must(t, err)
			got, err := w.db.Proposal(context.Background(), p.ID)
			must(t, err)
			if got.Status != tt.wantStatus {
				t.Errorf("status %s (%s), want %s", got.Status, got.Error, tt.wantStatus)
			}
			patches := 0
			for _, pr := range w.fake.Patches() {
				if pr.ConversationID == p.ConversationID && pr.Path == "/assignTo" && pr.StatusCode == http.StatusNoContent {
					patches++
				}
			}
			if patches != tt.wantPatches {
				t.Errorf("assignments written %d, want %d", patches, tt.wantPatches)
			}
			if n := len(w.fake.NotesReceived()); n != tt.wantNotes {
				t.Errorf("notes written %d, want %d", n, tt.wantNotes)
			}
			// A second recovery changes nothing.
			_, err = later.RunOnce(context.Background())
			must(t, err)
			if n := len(w.fake.NotesReceived()); n != tt.wantNotes {
				t.Errorf("after a second run: notes %d, want %d", n, tt.wantNotes)
			}
		})
	}
}
