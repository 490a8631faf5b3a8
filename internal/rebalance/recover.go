package rebalance

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
		if err := r.settle(ctx, p, now); err != nil {
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

// A note recovery cannot write is given up after noteTries refusals, one
// per run, or once its move is a day old (from when it was recorded
// applied: recoverNote): the cooldown, after which the
// ticket may be moved again (hasNoteSince's window relies on it) and a
// note would tell of a move long past. Each try is writeNote's, which
// itself tries noteAttempts times. Only a refusal is counted (refused):
// the mirror stays ready through a Help Scout outage, so runs go on
// every interval, and counting their 5xx and timeouts would give every
// due note up within the hour. Those are left to the day's limit.
const (
	noteTries       = 10
	noteGiveUpAfter = 24 * time.Hour
)

// recoverNotes writes the notes of applied moves that are still due
// (store.NotesDue): the process that made the move stopped before the
// note, or its POST failed or went unanswered. A move younger than
// interruptedAfter is left to the process that made it, as is one whose
// note this process is writing now. The note is written only if the
// conversation does not have it already, so never twice. The pass ends
// after notes of two conversations in a row Help Scout failed to answer:
// in an outage the rest would fail too, each after its retries and up to
// afterMoveTimeout, holding the run. One failure alone does not end it,
// or a single conversation Help Scout cannot serve, the oldest due, would
// keep every note behind it from ever being tried.
func (r *Rebalancer) recoverNotes(ctx context.Context, now time.Time) error {
	due, err := r.db.NotesDue(ctx, now.Add(-interruptedAfter))
	if err != nil {
		return err
	}
	unanswered := 0 // in a row
	for _, p := range due {
		if ctx.Err() != nil {
			return nil // the next run goes on with them
		}
		if r.noting.has(p.ID) {
			continue
		}
		halt, err := r.recoverNote(ctx, p, now)
		if err != nil {
			return err
		}
		if !halt {
			unanswered = 0
			continue
		}
		if unanswered++; unanswered >= 2 || ctx.Err() != nil {
			return nil // the next run goes on with them
		}
	}
	return nil
}

// recoverNote tries once to settle p's due note. halt says that Help Scout
// did not answer (or ctx ended), so that the other due notes are better
// left to the next run. Its error is the store's.
func (r *Rebalancer) recoverNote(ctx context.Context, p store.Proposal, now time.Time) (halt bool, _ error) {
	log := r.opts.Logger.With("proposal", p.ID, "conversation", p.ConversationID)
	r.noting.begin(p.ID)
	defer r.noting.end(p.ID)
	// The read as well as the POST is bounded: a read left unanswered must
	// not hold the run either.
	nctx, cancel := context.WithTimeout(ctx, afterMoveTimeout)
	defer cancel()
	// Aged from when the move was recorded applied (updated_at: applied
	// is never left), not applied_at: a move a stopped process left
	// applying is dated at its claim when settled, a day ago after a day's
	// outage, and its note, tried once by the settle, was given up in the
	// same pass untried. For any other move the two are the same write.
	age := now.Sub(p.UpdatedAt)
	c, _, err := r.hs.Conversations.Get(nctx, p.ConversationID, true)
	switch {
	case errors.Is(err, helpscout.ErrNotFound):
		return false, r.giveUpNote(ctx, p, "the conversation no longer exists", nil)
	case err == nil && hasNoteSince(c.Threads(), p.CreatedAt):
		// Written by the process that made the move, which stopped
		// before it could record so. Read even for a day-old move: such
		// a note is not missing, and giving it up would say it is.
		_, err := r.markNote(ctx, p, store.NoteWritten)
		return false, err
	case err == nil && age >= noteGiveUpAfter:
		// Missing, and too late to write: the ticket may have moved again.
		return false, r.giveUpNote(ctx, p, fmt.Sprintf("the move is %s old", balancer.FormatDuration(age)), nil)
	case err == nil:
		if err = r.writeNote(nctx, p, now); err == nil {
			log.Info("move's missing note written", moveAttrs(p, team.Names(ctx, r.dir))...)
			_, err := r.markNote(ctx, p, store.NoteWritten)
			return false, err
		}
	}
	switch {
	case ctx.Err() != nil:
		return true, nil // stopped, not failed: no try is counted
	case refused(err) && age >= noteGiveUpAfter:
		// The read refused: a day-old note is not retried.
		return false, r.giveUpNote(ctx, p, fmt.Sprintf("the move is %s old", balancer.FormatDuration(age)), err)
	case age >= 2*noteGiveUpAfter:
		// Two days without an answer for this conversation while the
		// others were answered (an outage that long would leave no note
		// due behind it either): not retried for ever.
		return false, r.giveUpNote(ctx, p, fmt.Sprintf("the move is %s old and Help Scout has not answered for it", balancer.FormatDuration(age)), err)
	case !refused(err):
		// Help Scout down, slow or out of budget: not this note's fault,
		// so no try is counted, and the other notes wait with it. A
		// day-old note stays due too, until a read tells whether the
		// ticket has it. A POST's 404 (a merge since the read) is this
		// note's alone: the others go on. So is a 403: it is a quick
		// answer about this conversation's mailbox, and ending the pass
		// on two of them in a row would leave every other mailbox's notes
		// behind them unwritten until they were given up.
		log.Info("move's missing note not written, no try counted; the next run tries again", "err", err)
		return !errors.Is(err, helpscout.ErrNotFound) && !errors.Is(err, helpscout.ErrForbidden), nil
	}
	counted, serr := r.db.NoteFailed(context.WithoutCancel(ctx), p.ID)
	switch {
	case errors.Is(serr, store.ErrConflict):
		return false, nil // settled meanwhile by another process
	case serr != nil:
		return false, serr
	case counted.NoteTries >= noteTries:
		return false, r.giveUpNote(ctx, p, fmt.Sprintf("Help Scout refused it at %d runs", counted.NoteTries), err)
	}
	log.Info("move's missing note refused again; the next run tries again", "tries", counted.NoteTries, "err", err)
	return false, nil
}

// refused reports whether Help Scout answered with a refusal of the
// request itself, a 4xx, which trying again at every run would not change.
// A 404 is not one: the conversation gone is handled apart, and a POST's
// 404 after a read that found it (a merge meanwhile) is left to the day's
// limit. Nor are a 408, 409 or 423, which pass. Nor is a 403: it says
// what the app's user may do (a mailbox or a permission taken from it),
// not what is wrong with this note, and it lasts as long as an
// administrator takes to give the permission back, which the mirror
// waits out for hours (it keeps a refused mailbox's conversations while
// the directory lists it). Counted, it gave every due note up after 10
// runs, under an hour at the default interval, for a permission restored
// the next morning; now no try is counted, the pass goes on to the other
// notes (a forbidden mailbox must not hold another's), and a note still
// refused two days after its move is given up all the same (recoverNote). A 429 and
// a 401 are not *ErrorResponse: they refuse every request alike (budget,
// token), not this note.
func refused(err error) bool {
	var e *helpscout.ErrorResponse
	if !errors.As(err, &e) || e.StatusCode < 400 || e.StatusCode >= 500 {
		return false
	}
	switch e.StatusCode {
	case http.StatusNotFound, http.StatusRequestTimeout, http.StatusConflict, http.StatusLocked:
		return false // gone (above), or passing: not this note's refusal
	case http.StatusForbidden:
		return false // a permission, which may come back: see above
	}
	return true
}

// giveUpNote records that p's note is not to be tried again and says so,
// once: the move stands, without its note, as the page's link shows. A note
// settled meanwhile (another process wrote it) is not said to be given up.
func (r *Rebalancer) giveUpNote(ctx context.Context, p store.Proposal, why string, err error) error {
	changed, serr := r.markNote(ctx, p, store.NoteGivenUp)
	if serr != nil || !changed {
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
// Help Scout was told is true either way. changed says the row was still
// due and is now settled; a note settled meanwhile by another process is
// no error, and not changed.
func (r *Rebalancer) markNote(ctx context.Context, p store.Proposal, to store.NoteState) (changed bool, _ error) {
	_, err := r.db.MarkNote(context.WithoutCancel(ctx), p.ID, to)
	switch {
	case errors.Is(err, store.ErrConflict):
		return false, nil
	case err != nil:
		return false, err
	}
	return true, nil
}

// noteWritten records p's note written once the apply that made the move
// wrote it. A failed record is said but not returned: the move and its
// note are done, and recovery, finding the note there, records it later.
func (r *Rebalancer) noteWritten(ctx context.Context, p store.Proposal) {
	if _, err := r.markNote(ctx, p, store.NoteWritten); err != nil {
		r.opts.Logger.Warn("move's note written, not recorded; a later run finds it there", "proposal", p.ID,
			"conversation", p.ConversationID, "err", err)
	}
}

// settle decides an interrupted apply from the conversation as it is now.
// Its read and its note are bounded as recoverNote's are (afterMoveTimeout):
// under the run's context alone, which has no deadline, Help Scout leaving
// either unanswered held the run, and every run after it.
func (r *Rebalancer) settle(ctx context.Context, p store.Proposal, now time.Time) error {
	nctx, cancel := context.WithTimeout(ctx, afterMoveTimeout)
	defer cancel()
	c, _, err := r.hs.Conversations.Get(nctx, p.ConversationID, true)
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
	// Dated at the claim, which the assignment followed within seconds,
	// not now: dated at the settle, the move would read as a person's
	// (store.SettleProposalApplied).
	note := store.NoteDue
	if routed(p) {
		note = store.NoteNone
	}
	if _, err := r.db.SettleProposalApplied(ctx, p.ID, p.UpdatedAt, note); err != nil {
		return err
	}
	r.count(p, "applied")
	// A move made live logs "move applied", and a failed settle logs "move
	// failed" (fail): without this line the log's account of the moves
	// would lack the ones a stop or crash cut in their apply.
	r.opts.Logger.Info("interrupted move settled: applied", append([]any{"proposal", p.ID, "conversation", p.ConversationID,
		"claimed", p.UpdatedAt.UTC().Format(time.RFC3339)}, moveAttrs(p, team.Names(ctx, r.dir))...)...)
	if routed(p) {
		return nil
	}
	if !hasNoteSince(c.Threads(), p.CreatedAt) {
		r.noting.begin(p.ID)
		defer r.noting.end(p.ID)
		// The move was made minutes or more ago, after the claim (p is
		// still the applying row, with no applied_at): the note says so, as
		// a late note does (noteText), rather than present the plan's
		// figures as today's. The claim is the nearest time known: the
		// assignment went out within seconds of it.
		moved := p
		moved.AppliedAt = p.UpdatedAt
		if err := r.writeNote(nctx, moved, now); err != nil {
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
func (r *Rebalancer) writeNote(ctx context.Context, p store.Proposal, now time.Time) error {
	text := r.noteText(ctx, p, now)
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
	// blocked, when set (by tests, before any Wait), is called each time
	// Wait finds a goroutine running and is about to wait for it: then
	// Wait cannot return before that goroutine ends.
	blocked func()
}

// Go runs f in a goroutine that Wait waits for.
func (t *tasks) Go(f func()) {
	t.begin()
	go func() {
		defer t.done()
		f()
	}()
}

// begin counts work that the caller ends with done, as Go does for f.
func (t *tasks) begin() {
	t.mu.Lock()
	t.n++
	t.mu.Unlock()
}

// running is how many are under way.
func (t *tasks) running() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

func (t *tasks) done() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.n--; t.n == 0 && t.idle != nil {
		t.idle.Broadcast()
	}
}

// Wait returns once no goroutine started by Go is running.
func (t *tasks) Wait() { t.waitUntil(context.Background()) }

// waitUntil is Wait until ctx ends, and reports whether none is running.
func (t *tasks) waitUntil(ctx context.Context) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil {
		t.idle = sync.NewCond(&t.mu)
	}
	// The Cond cannot select on ctx: its end wakes it like a done.
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		t.idle.Broadcast()
	})
	defer stop()
	for t.n > 0 && ctx.Err() == nil {
		if t.blocked != nil {
			t.blocked()
		}
		t.idle.Wait()
	}
	return t.n == 0
}
