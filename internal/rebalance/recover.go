package rebalance

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
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
//     written and it is recorded as failed. Never is a move written twice.
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
	return nil
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
	if _, err := r.db.MarkProposalApplied(ctx, p.ID); err != nil {
		return err
	}
	r.count(p, "applied")
	if !routed(p) && !hasNoteSince(c.Threads(), p.CreatedAt) {
		if err := r.writeNote(ctx, p); err != nil {
			r.opts.Logger.Warn("interrupted move recorded; its note failed", "proposal", p.ID, "err", err)
		}
	}
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
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
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
