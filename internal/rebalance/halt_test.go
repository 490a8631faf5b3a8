package rebalance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout/helpscouttest"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// holdUntilCut holds the requests match picks until released or until
// their context ends, as Help Scout leaving them unanswered does, saying
// on held that one is held. A held request has been sent, as one Help
// Scout leaves unanswered has: its trace hears that its headers were
// written (the assignment then may have been made).
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
		if trace := httptrace.ContextClientTrace(r.Context()); trace != nil && trace.WroteHeaders != nil {
			trace.WroteHeaders()
		}
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
			var refreshes atomic.Int64
			r.opts.AfterApply = func(context.Context, int64) error { refreshes.Add(1); return nil }
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
			// A cut note's mirror refresh is the next start's sync: begun
			// now it would only fail, cut.
			if n := refreshes.Load(); n != 0 {
				t.Errorf("%d mirror refreshes after the cut, want none", n)
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

// haltAfterReRead answers the re-read before a move in full, then has
// Halt cut the work (its budget spent) before the answer is returned:
// the stop lands between the re-read and the assignment.
type haltAfterReRead struct {
	r   *Rebalancer
	cut chan Cut
}

func (h *haltAfterReRead) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !isReRead(req) {
		return resp, err
	}
	// Read in full, so that no cut of the request's context can fail the
	// re-read once it is answered.
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	spent, cancel := context.WithCancel(context.Background())
	cancel()
	go func() { h.cut <- h.r.Halt(spent, time.Minute) }()
	<-h.r.halted
	return resp, nil
}

// A move whose stop lands after its re-read and before its assignment is
// sent leaves nothing written to Help Scout, and goes back to approved,
// counted so: the next run makes it. Its assignment was cut from a
// goroutine, sometimes after the PATCH had gone out (applied while the
// stop said otherwise), sometimes before, and then the move was left
// applying, which the next start settles failed from the ticket: the
// SST's approval lost though nothing reached Help Scout.
func TestHaltBetweenReReadAndAssignmentLeavesTheMoveApproved(t *testing.T) {
	w := newWorld(t, 1)
	p := proposeOne(t, w.rebalancer(ModePropose, 5))
	h := &haltAfterReRead{cut: make(chan Cut, 1)}
	w.hs = w.clientWith(t, helpscouttest.Bearer{Token: w.token, Next: h})
	r := w.rebalancer(ModePropose, 5)
	h.r = r
	got, err := r.Approve(context.Background(), p.ID, "sst")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Approve: %v, want the cut (a context.Canceled)", err)
	}
	if got.Status != store.ProposalApproved {
		t.Errorf("after the cut: %s (%q), want approved", got.Status, got.Error)
	}
	if n := len(w.fake.Patches()); n != 0 {
		t.Errorf("%d assignments reached Help Scout, want none", n)
	}
	if cut := <-h.cut; cut != (Cut{Approved: 1}) {
		t.Errorf("Halt cut %+v, want one approved move", cut)
	}
}

// A move begun after Halt is cut before any request of it goes out: its
// re-read is never sent, and it stays approved.
func TestAMoveBegunAfterHaltSendsNothing(t *testing.T) {
	w := newWorld(t, 1)
	p := proposeOne(t, w.rebalancer(ModePropose, 5))
	var sent atomic.Int64
	w.hs = w.clientWith(t, helpscouttest.Bearer{Token: w.token, Next: countRequests{n: &sent}})
	r := w.rebalancer(ModePropose, 5)
	spent, cancel := context.WithCancel(context.Background())
	cancel()
	r.Halt(spent, 0)
	got, err := r.Approve(context.Background(), p.ID, "sst")
	if !errors.Is(err, context.Canceled) || got.Status != store.ProposalApproved {
		t.Errorf("approval after Halt: %s, %v; want approved, cut", got.Status, err)
	}
	if n := sent.Load(); n != 0 {
		t.Errorf("%d requests sent to Help Scout after Halt, want none", n)
	}
}

// countRequests counts the requests that go out: those whose context
// has not ended by the time they reach the transport.
type countRequests struct{ n *atomic.Int64 }

func (c countRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Context().Err() == nil { // else the transport sends nothing
		c.n.Add(1)
	}
	return http.DefaultTransport.RoundTrip(r)
}

// Own mode's hand-out has no note, but its mirror refresh is cut by Halt
// as a note is: the stop does not wait for it (afterMoveTimeout).
func TestHaltCutsAHandOutsMirrorRefresh(t *testing.T) {
	e := newOwnEnv(t, 0, ModeApply)
	e.receiveWebhooks(t)
	e.newConversation(t)
	e.deliver(t)
	refreshing := make(chan struct{})
	e.reb.opts.AfterApply = func(ctx context.Context, _ int64) error {
		close(refreshing)
		<-ctx.Done() // a refresh Help Scout holds
		return ctx.Err()
	}
	routed := make(chan []store.Proposal, 1)
	go func() { routed <- e.route(t) }()
	<-refreshing
	spent, cancel := context.WithCancel(context.Background())
	cancel()
	if cut := e.reb.Halt(spent, 3*time.Second); cut.Running != 0 {
		t.Errorf("Halt: %+v; the hand-out's refresh was not cut", cut)
	}
	if ps := <-routed; len(ps) != 1 || ps[0].Status != store.ProposalApplied {
		t.Errorf("routed %+v, want one hand-out applied", ps)
	}
	if logs := e.log.String(); strings.Contains(logs, "level=WARN") {
		t.Errorf("the cut refresh is said as a failure:\n%s", logs)
	}
}

// holdEither holds the requests of note, and those of read, each by its own
// hold.
type holdEither struct{ note, read *holdUntilCut }

func (h holdEither) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.note.match(r) {
		return h.note.RoundTrip(r)
	}
	return h.read.RoundTrip(r)
}

// Halt lets a move begun while it waits for a note end too, within the
// budget: it waits until the moves and the notes are idle at once. Idle
// only in turn, the second approval's move was cut though there was time.
func TestHaltWaitsForAMoveBegunWhileItWaitedForANote(t *testing.T) {
	w := newWorld(t, 2)
	ps := proposeN(t, w.rebalancer(ModePropose, 5), 2)
	second := fmt.Sprintf("/v2/conversations/%d", ps[1].ConversationID)
	h := holdEither{note: newHoldUntilCut(isNote),
		read: newHoldUntilCut(func(r *http.Request) bool { return isReRead(r) && r.URL.Path == second })}
	w.hs = w.clientWith(t, helpscouttest.Bearer{Token: w.token, Next: h})
	r := w.rebalancer(ModePropose, 5)
	r.noteRetryStep = time.Millisecond
	bound := make(chan time.Time, 1)
	r.answerWait = bound
	bound <- time.Now() // the first answer does not wait for its held note
	_, err := r.Approve(context.Background(), ps[0].ID, "sst")
	must(t, err)
	<-h.note.held

	approved := make(chan error, 1)
	var onNote, onMove sync.Once
	r.afterMoves.mu.Lock()
	r.afterMoves.blocked = func() { // Halt waits for the first note: a second approval begins
		onNote.Do(func() {
			go func() {
				_, err := r.Approve(context.Background(), ps[1].ID, "sst")
				approved <- err
			}()
			<-h.read.held
			close(h.note.release)
		})
	}
	r.afterMoves.mu.Unlock()
	r.moving.mu.Lock()
	r.moving.blocked = func() { onMove.Do(func() { close(h.read.release) }) } // Halt waits for the move
	r.moving.mu.Unlock()

	if cut := r.Halt(context.Background(), time.Minute); cut != (Cut{}) {
		t.Errorf("Halt cut %+v, want nothing: its budget had not run out", cut)
	}
	must(t, <-approved)
	got, err := w.db.Proposal(context.Background(), ps[1].ID)
	must(t, err)
	if got.Status != store.ProposalApplied || got.Note != store.NoteWritten {
		t.Errorf("the second approval: %s (%q), note %q; want applied, its note written", got.Status, got.Error, got.Note)
	}
}
