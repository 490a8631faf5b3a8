package rebalance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/balancer"
	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/team"
)

// interruptedAfter is how long a proposal may sit in applying before it is
// taken for one whose process died mid-apply. An apply takes seconds.
// It is measured on the run's clock (Options.Now) from the claim's stamp,
// which the store makes with its own clock: the daemon gives both the
// same one, simulated in the demo and the soaks. There 5 minutes pass in
// seconds, which is early for no apply of this process's (recoverInterrupted
// skips those however old), nor of another's where the system has file
// locks (serve holds the database's).
const interruptedAfter = 5 * time.Minute

// The notes queuewrangler leaves start with one of these; recovery looks
// for them. A hand-out gives a ticket nobody owned, so it was assigned,
// not reassigned (design.md section 8 words only the reassignment's).
const (
	notePrefix        = "Reassigned by queuewrangler"
	handoutNotePrefix = "Assigned by queuewrangler"
)

// recoverInterrupted finishes what a crashed or stopped process left
// undone, so that no proposal blocks its conversation for good:
//
//   - approved proposals are applied (the re-read marks them stale if the
//     ticket changed meanwhile), but for own mode's routes found late,
//     which are routed afresh (lateRoute), and the routes a live router
//     pass of this process has yet to make, which are left to it;
//   - proposals stuck in applying are settled from Help Scout itself: if the
//     ticket is already with the target, the move happened and is recorded
//     as applied (its note is added if it is missing); otherwise nothing was
//     written and it is recorded as failed. Never is a move written twice;
//   - applied moves whose note is still due, 5 minutes or more after the
//     move, get it (recoverNotes).
func (r *Rebalancer) recoverInterrupted(ctx context.Context, now time.Time) error {
	stuck, err := r.db.ListProposals(ctx, store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalApplying}})
	if err != nil {
		return err
	}
	for _, p := range stuck {
		if r.applying.has(p.ID) {
			// A route's or an approval's apply in this process: its
			// re-read or PATCH can outlast interruptedAfter (retries in
			// a 429 storm; a simulated clock), and it ends the proposal
			// itself.
			continue
		}
		if now.Sub(p.UpdatedAt) < interruptedAfter {
			continue // another process's, which may still be finishing it
		}
		if err := r.settle(ctx, p); err != nil {
			return err
		}
	}
	approved, err := r.db.ListProposals(ctx, store.ProposalFilter{Statuses: []store.ProposalStatus{store.ProposalApproved}})
	if err != nil {
		return err
	}
	for i, p := range approved {
		if ctx.Err() != nil {
			return cutShort(ctx, len(approved)-i, len(approved))
		}
		if r.routing.has(p.ID) {
			continue // a live router pass's, which makes it itself
		}
		var err error
		if lateRoute(p, now) {
			err = r.reroute(ctx, p, now)
		} else {
			_, err = r.apply(ctx, p.ID)
		}
		switch {
		case errors.Is(err, errNotTried):
			return cutShort(ctx, len(approved)-i, len(approved))
		case err != nil && !errors.Is(err, store.ErrConflict):
			return err
		}
	}
	return r.recoverNotes(ctx, now)
}

// A note recovery cannot write is given up after noteTries failed tries,
// one per run, or once its move is a day old: the cooldown, after which
// the ticket may be moved again (hasNoteSince's window relies on it) and a
// note would tell of a move long past. Each try is writeNote's, which
// itself tries noteAttempts times.
const (
	noteTries       = 10
	noteGiveUpAfter = 24 * time.Hour
)

// recoverNotes writes the notes of applied moves that are still due
// (store.NotesDue): the process that made the move stopped before the
// note, or its POST failed or went unanswered. A move younger than
// interruptedAfter is left to the process that made it, as is one whose
// note this process is writing now. The note is written only if the
// conversation does not have it already, so never twice.
func (r *Rebalancer) recoverNotes(ctx context.Context, now time.Time) error {
	due, err := r.db.NotesDue(ctx, now.Add(-interruptedAfter))
	if err != nil {
		return err
	}
	for _, p := range due {
		if ctx.Err() != nil {
			return nil // the next run goes on with them
		}
		if r.noting.has(p.ID) {
			continue
		}
		if err := r.recoverNote(ctx, p, now); err != nil {
			return err
		}
	}
	return nil
}

// recoverNote tries once to settle p's due note. Its error is the store's.
func (r *Rebalancer) recoverNote(ctx context.Context, p store.Proposal, now time.Time) error {
	log := r.opts.Logger.With("proposal", p.ID, "conversation", p.ConversationID)
	if age := now.Sub(p.AppliedAt); age >= noteGiveUpAfter {
		return r.giveUpNote(ctx, p, fmt.Sprintf("the move is %s old", balancer.FormatDuration(age)), nil)
	}
	r.noting.begin(p.ID)
	defer r.noting.end(p.ID)
	c, _, err := r.hs.Conversations.Get(ctx, p.ConversationID, true)
	switch {
	case errors.Is(err, helpscout.ErrNotFound):
		return r.giveUpNote(ctx, p, "the conversation no longer exists", nil)
	case err == nil && hasNoteSince(c.Threads(), p.CreatedAt):
		// Written by the process that made the move, which stopped
		// before it could record so.
		return r.markNote(ctx, p, store.NoteWritten)
	case err == nil:
		nctx, cancel := context.WithTimeout(ctx, afterMoveTimeout) // a POST left unanswered must not hold the run
		err = r.writeNote(nctx, p)
		cancel()
		if err == nil {
			log.Info("move's missing note written", moveAttrs(p, team.Names(ctx, r.dir))...)
			return r.markNote(ctx, p, store.NoteWritten)
		}
	}
	if ctx.Err() != nil {
		return nil // stopped, not failed: no try is counted
	}
	counted, serr := r.db.NoteFailed(context.WithoutCancel(ctx), p.ID)
	switch {
	case errors.Is(serr, store.ErrConflict):
		return nil // settled meanwhile by another process
	case serr != nil:
		return serr
	case counted.NoteTries >= noteTries:
		return r.giveUpNote(ctx, p, fmt.Sprintf("%d runs failed to write it", counted.NoteTries), err)
	}
	log.Info("move's missing note failed again; the next run tries again", "tries", counted.NoteTries, "err", err)
	return nil
}

// giveUpNote records that p's note is not to be tried again and says so,
// once: the move stands, without its note, as the page's link shows.
func (r *Rebalancer) giveUpNote(ctx context.Context, p store.Proposal, why string, err error) error {
	if serr := r.markNote(ctx, p, store.NoteGivenUp); serr != nil {
		return serr
	}
	attrs := []any{"proposal", p.ID, "conversation", p.ConversationID, "ticket", p.ConversationNumber, "why", why}
	if err != nil {
		attrs = append(attrs, "err", err)
	}
	r.opts.Logger.Warn("move's note given up: the move stands without it", attrs...)
	return nil
}

// markNote settles p's note in the store, whatever ctx has become: what
// Help Scout was told is true either way. A note settled meanwhile by
// another process is no error.
func (r *Rebalancer) markNote(ctx context.Context, p store.Proposal, to store.NoteState) error {
	if _, err := r.db.MarkNote(context.WithoutCancel(ctx), p.ID, to); err != nil && !errors.Is(err, store.ErrConflict) {
		return err
	}
	return nil
}

// noteWritten records p's note written once the apply that made the move
// wrote it. A failed record is said but not returned: the move and its
// note are done, and recovery, finding the note there, records it later.
func (r *Rebalancer) noteWritten(ctx context.Context, p store.Proposal) {
	if err := r.markNote(ctx, p, store.NoteWritten); err != nil {
		r.opts.Logger.Warn("move's note written, not recorded; a later run finds it there", "proposal", p.ID,
			"conversation", p.ConversationID, "err", err)
	}
}

// settle decides an interrupted apply from the conversation as it is now.
func (r *Rebalancer) settle(ctx context.Context, p store.Proposal) error {
	c, _, err := r.hs.Conversations.Get(ctx, p.ConversationID, true)
	switch {
	case errors.Is(err, helpscout.ErrNotFound):
		_, err = r.fail(ctx, p, "interrupted, and the conversation no longer exists")
		return err
	case err != nil:
		return fmt.Errorf("re-read conversation %d of interrupted proposal %d: %w", p.ConversationID, p.ID, err)
	}
	if c.Assignee.ID != p.ToAgent {
		_, err := r.fail(ctx, p, "interrupted before the assignment was written; the next plan decides afresh")
		return err
	}
	if _, err := r.markApplied(ctx, p); err != nil {
		return err
	}
	r.count(p, "applied")
	if routed(p) {
		return nil
	}
	if !hasNoteSince(c.Threads(), p.CreatedAt) {
		r.noting.begin(p.ID)
		defer r.noting.end(p.ID)
		if err := r.writeNote(ctx, p); err != nil {
			// Still due: recoverNotes tries again at a later run.
			r.opts.Logger.Warn("interrupted move recorded; its note failed, a later run tries it again", "proposal", p.ID, "err", err)
			return nil
		}
	}
	r.noteWritten(ctx, p)
	return nil
}

// noteAttempts bounds how often writeNote tries.
const noteAttempts = 4

// writeNote leaves the move's private note exactly once. A note is a POST,
// which the transport retries only after a 429: after a 5xx or a lost
// connection the note may or may not exist. So on failure the conversation
// is re-read, and the note is written again only if it is not there.
func (r *Rebalancer) writeNote(ctx context.Context, p store.Proposal) error {
	text := r.noteText(ctx, p)
	var err error
	for attempt := range noteAttempts {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(time.Duration(attempt) * r.noteRetryStep):
			}
			c, _, gerr := r.hs.Conversations.Get(ctx, p.ConversationID, true)
			if gerr != nil {
				err = gerr
				continue
			}
			if hasNoteSince(c.Threads(), p.CreatedAt) {
				return nil // the earlier attempt did write it
			}
		}
		if _, _, err = r.hs.Conversations.CreateNote(ctx, p.ConversationID, helpscout.NoteRequest{Text: text}); err == nil {
			return nil
		}
	}
	return err
}

// clockSkew is how far Help Scout's clock may trail ours. A note of an
// earlier move cannot fall in this window: the cooldown keeps a ticket from
// moving twice within a day.
const clockSkew = 10 * time.Minute

// hasNoteSince reports whether queuewrangler's note is among threads,
// written at or after since (less the clock skew).
func hasNoteSince(threads []helpscout.Thread, since time.Time) bool {
	from := since.Add(-clockSkew)
	for _, t := range threads {
		if t.Kind() == helpscout.ThreadNote && !t.CreatedAt.Before(from) &&
			(strings.Contains(t.Body, notePrefix) || strings.Contains(t.Body, handoutNotePrefix)) {
			return true
		}
	}
	return false
}

// inFlight counts the applies of each proposal going on in this process.
// It counts rather than flags: an SST's approval and a run's recovery may
// both try one approved proposal, and the one that loses the claim must
// not clear the mark of the one applying it.
type inFlight struct {
	mu sync.Mutex
	n  map[int64]int
}

func (f *inFlight) begin(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n == nil {
		f.n = make(map[int64]int)
	}
	f.n[id]++
}

func (f *inFlight) end(id int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n[id]--; f.n[id] <= 0 {
		delete(f.n, id)
	}
}

func (f *inFlight) has(id int64) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n[id] > 0
}

// tasks tracks goroutines so that Wait can wait for them. Unlike a
// sync.WaitGroup it may start one while another goroutine waits, as an
// approval may while a stopping Run waits.
type tasks struct {
	mu   sync.Mutex
	n    int
	idle *sync.Cond // made by the first Wait
}

// Go runs f in a goroutine that Wait waits for.
func (t *tasks) Go(f func()) {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
	go func() {
		defer t.done()
		f()
	}()
}

func (t *tasks) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n--; t.n == 0 && t.idle != nil {
		t.idle.Broadcast()
	}
}

// Wait returns once no goroutine started by Go is running.
func (t *tasks) Wait() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = sync.NewCond(&t.mu)
	}
	for t.n > 0 {
		t.idle.Wait()
	}
}
