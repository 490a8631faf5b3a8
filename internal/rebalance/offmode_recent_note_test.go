package rebalance

import (
	"context"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

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
