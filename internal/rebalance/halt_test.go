package rebalance

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// holdUntilCut holds the requests match picks until released or until
// their context ends, as Help Scout leaving them unanswered does, saying
// on held that one is held.
type holdUntilCut struct {
	match   func(*http.Request) bool
	held    chan struct{}
	release chan struct{}
	once    sync.Once
}

func newHoldUntilCut(match func(*http.Request) bool) *holdUntilCut {
	return &holdUntilCut{match: match, held: make(chan struct{}), release: make(chan struct{})}
}

func (h *holdUntilCut) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.match(r) {
		h.once.Do(func() { close(h.held) })
		select {
		case <-h.release:
		case <-r.Context().Done():
			return nil, r.Context().Err()
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

// A stopping daemon's Halt cuts an SST's approval wherever Help Scout holds
// it once the budget (ctx) is spent, and leaves it where the next start
// finishes it: in its re-read, approved, nothing written; in its
// assignment, applying, for the next start to settle from the ticket; in
// its note, the move applied and the note due. Unbounded, the note held
// the stop for afterMoveTimeout (2 minutes) and the assignment for
// assignTimeout, past any container's stop timeout.
func TestHaltCutsAnApprovalWhereHelpScoutHoldsIt(t *testing.T) {
	for _, tc := range []struct {
		name       string
		match      func(*http.Request) bool
		wantCut    Cut
		wantStatus store.ProposalStatus
		wantNote   store.NoteState
	}{
		{"in its re-read", isReRead, Cut{Approved: 1}, store.ProposalApproved, store.NoteUnset},
		{"in its assignment", isPatch, Cut{Applying: 1}, store.ProposalApplying, store.NoteUnset},
		{"in its note", isNote, Cut{Notes: 1}, store.ProposalApplied, store.NoteDue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, 1)
			p := proposeOne(t, w.rebalancer(ModePropose, 5))
			hold := newHoldUntilCut(tc.match)
			t.Cleanup(func() { close(hold.release) })
			w.hs = w.clientWith(t, helpscouttest.Bearer{Token: w.token, Next: hold})
			r := w.rebalancer(ModePropose, 5)
			r.noteRetryStep = time.Millisecond
			bound := make(chan time.Time, 1)
			r.answerWait = bound
			approved := make(chan error, 1)
			go func() {
				_, err := r.Approve(context.Background(), p.ID, "sst")
				approved <- err
			}()
			<-hold.held
			bound <- time.Now() // the answer does not wait for a held note

			budget, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			start := time.Now()
			cut := r.Halt(budget, time.Minute)
			if cut != tc.wantCut {
				t.Errorf("Halt cut %+v, want %+v", cut, tc.wantCut)
			}
			if took := time.Since(start); took > 30*time.Second {
				t.Errorf("Halt took %s", took)
			}
			r.Wait() // returns: the note, if any, was cut
			<-approved
			got, err := w.db.Proposal(context.Background(), p.ID)
			must(t, err)
			if got.Status != tc.wantStatus || got.Note != tc.wantNote {
				t.Errorf("after the cut: %s (%q), note %q; want %s, note %q", got.Status, got.Error, got.Note, tc.wantStatus, tc.wantNote)
			}
			if n := w.notesPosted(); n != 0 {
				t.Errorf("%d notes posted, want none", n)
			}
		})
	}
}

// Halt lets the work that ends within the budget end: a note Help Scout
// answers before the budget is spent is written, and nothing is cut.
func TestHaltWaitsForANoteThatEndsWithinTheBudget(t *testing.T) {
	w := newWorld(t, 1)
	p := proposeOne(t, w.rebalancer(ModePropose, 5))
	hold := newHoldUntilCut(isNote)
	w.hs = w.clientWith(t, helpscouttest.Bearer{Token: w.token, Next: hold})
	r := w.rebalancer(ModePropose, 5)
	bound := make(chan time.Time, 1)
	r.answerWait = bound
	approved := make(chan error, 1)
	go func() {
		_, err := r.Approve(context.Background(), p.ID, "sst")
		approved <- err
	}()
	<-hold.held
	bound <- time.Now()
	must(t, <-approved)
	// Released once Halt waits for the note: Halt cannot return before it.
	var once sync.Once
	r.afterMoves.mu.Lock()
	r.afterMoves.blocked = func() { once.Do(func() { close(hold.release) }) }
	r.afterMoves.mu.Unlock()
	if cut := r.Halt(context.Background(), time.Minute); cut != (Cut{}) {
		t.Errorf("Halt cut %+v, want nothing", cut)
	}
	got, err := w.db.Proposal(context.Background(), p.ID)
	must(t, err)
	if got.Status != store.ProposalApplied || got.Note != store.NoteWritten || w.notesPosted() != 1 {
		t.Errorf("after Halt: %s, note %q, %d notes posted; want applied, written, 1", got.Status, got.Note, w.notesPosted())
	}
}
