package mirror

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// settleScope makes the mirror hold what QW_MAILBOXES asks for, before the
// poll walks from the shared cursor, which only reads what changed lately.
// The store records the mailboxes the mirror was built for
// (store.MirrorScope), and those a walk from the beginning read
// (store.DB.Walked). A wanted mailbox the directory lists that no walk
// read (added to QW_MAILBOXES since, or, with every mailbox, one the API
// user was given access to after the walk) is walked from the beginning,
// closed conversations included, as a first sync would, without walking
// the others again; the conversations of one removed are deleted. Deleted
// rather than hidden: every read model, metric, the page, the balancer and
// backfill read the conversations table, and a filter each of them must
// remember is one that one of them will forget; the tombstones keep their
// observation marks, so a mailbox that comes back is not observed twice.
//
// It runs at every sync until the scope is settled, and again after each
// refresh of the directory, which is how a mailbox comes into sight: a
// failed or shifting walk of an added mailbox resumes from its own cursor
// at the next one.
// Meanwhile (addedUnwalked) a completed sync stores no mark of a completed
// sync of the scope, but the daemon is ready: it serves the mailboxes it
// held before, as the running daemon it was, and a mailbox whose listing
// keeps shifting under every walk would otherwise keep the whole queue,
// page, balancer and alerts off for as long as it is busy.
func (m *Mirror) settleScope(ctx context.Context, st *Stats) error {
	if m.scopeSettled {
		return nil
	}
	rec, err := m.db.MirrorScope(ctx)
	if err != nil {
		return fmt.Errorf("read the mirrored scope: %w", err)
	}
	all, want := m.wantedScope()
	if !rec.Recorded {
		// A new database, or one from before the scope was recorded: it is
		// taken as built for the scope it is started with, so that an
		// upgrade walks nothing again. (A QW_MAILBOXES changed in the same
		// restart as that upgrade goes unnoticed: the log of the upgrade
		// cannot tell it from the scope the file was built for.)
		// Likewise the mailboxes the directory lists are those the poll's
		// walk reads from the beginning (a new file's first walk, which
		// resumes from the poll's cursor if cut short) or read (an
		// upgraded file's); a mailbox listed only later is walked on its
		// own. Recorded before the scope: a recorded scope is what says
		// that a listed mailbox without a row needs a walk of its own, so
		// with the scope's write first, a failed second write (a full
		// disk) had the next sync walk every mailbox on its own, then the
		// poll walk them all from the beginning again. This way round, a
		// failure leaves the scope unrecorded, and the next sync does
		// both again (BeginPollWalk keeps what is already there).
		known, err := m.knownMailboxes(ctx, all, want)
		if err != nil {
			return err
		}
		if err := m.db.BeginPollWalk(ctx, known); err != nil {
			return err
		}
		if err := m.db.SetMirrorScope(ctx, all, want); err != nil {
			return err
		}
		m.pollWalkPending = len(known) > 0
		m.scopeSettled = true
		return nil
	}
	held, err := m.db.HeldMailboxes(ctx)
	if err != nil {
		return fmt.Errorf("read the mailboxes held: %w", err)
	}
	if mustLeave(rec, held, all, want) {
		if rec, err = m.leaveMailboxes(ctx, rec, want); err != nil {
			return err
		}
	}
	added, pending, err := m.unwalkedMailboxes(ctx, all, want)
	if err != nil {
		return err
	}
	m.pollWalkPending = pending
	// Outside the recorded scope, QW_MAILBOXES named them since; inside
	// it, the account lists them since the walk that built the scope
	// (with every mailbox, the API user given access to them later).
	var named, listed []int64
	for _, id := range added {
		if !rec.All && !slices.Contains(rec.Mailboxes, id) {
			named = append(named, id)
		} else {
			listed = append(listed, id)
			m.walkOf(id).visible = true // its lines say so, as the announcement below does
		}
	}
	// Said once per walk in this process: a walk paced over many syncs
	// (or one that keeps failing) comes back here at every sync.
	if named = m.unannounced(named); len(named) > 0 {
		m.opts.Logger.Info("mailboxes added to QW_MAILBOXES: walking their whole history", "mailbox_ids", named)
	}
	if listed = m.unannounced(listed); len(listed) > 0 {
		m.opts.Logger.Info("mailboxes listed that no walk has read (newly visible to the API user): walking their whole history", "mailbox_ids", listed)
	}
	// Once a sync has completed in this process, the daemon is ready and
	// serving: a mailbox that comes into sight now (at a directory
	// refresh) is walked a bounded number of pages per sync, so that the
	// poll and the webhooks, which wait on the same lock, wait a minute at
	// most rather than for its whole history (Options.WalkPagesPerSync).
	// Before that, nothing is served yet, and the walk goes to its end.
	// One budget for the whole sync (walkBudget), however many times a
	// retry runs this.
	var budget *int
	if m.everSynced() {
		if m.walkBudget == nil {
			m.walkBudget = new(int)
			*m.walkBudget = m.opts.WalkPagesPerSync
		}
		budget = m.walkBudget
	}
	complete := true
	// A walk Help Scout refuses (the mailbox gone, or refused while still
	// listed) keeps only its own mailbox unwalked: the ones after it are
	// walked all the same, and the first refusal is returned at the end,
	// for dropGone.
	var refused error
	var waiting []error // walks of mailboxes left out (listedDespite)
	for _, id := range added {
		if refusal := m.listedDespite[id]; refusal != nil {
			// Refused on its own while the directory lists it: its walk
			// waits, as its poll does (pollScope), for a refresh of the
			// directory that finds it served again (recheckRefused).
			// Walked at each sync, it was refused at each, and that
			// refusal, not one left out, stopped the sync before the
			// reconcile and the observations of the other mailboxes for
			// as long as it lasted. The sync still fails naming it: with
			// QW_MAILBOXES the poll leaves it out and says so; with
			// every mailbox the poll names none, and this says so
			// (before the budget's check: a spent budget does not hide it).
			if all {
				waiting = append(waiting, fmt.Errorf("walk %s %d waits for the directory's next refresh: %w", m.walkOf(id).what(), id, refusal))
			}
			complete = false
			continue
		}
		if budget != nil && *budget <= 0 {
			complete = false
			continue // to the end: a mailbox left out after it is named all the same
		}
		done, err := m.walkMailbox(ctx, id, st, budget)
		var listing *mailboxListingError
		if errors.As(err, &listing) && ctx.Err() == nil {
			if refused == nil {
				refused = err
			}
			complete = false
			continue
		}
		if err != nil {
			return err
		}
		complete = complete && done
	}
	m.addedUnwalked = !complete
	if refused != nil {
		return errors.Join(refused, errors.Join(waiting...))
	}
	if len(waiting) > 0 {
		return &leftOutError{errors.Join(waiting...)}
	}
	if !complete {
		return nil
	}
	if all && !rec.All {
		if err := m.db.SetMirrorScope(ctx, true, nil); err != nil {
			return err
		}
	}
	// A mailbox the directory does not list yet (QW_MAILBOXES naming one
	// the API user cannot see, or any one to come with every mailbox) is
	// looked for at the next refresh of the directory, which unsettles the
	// scope (syncOnce): only it can bring one into sight.
	m.scopeSettled = true
	return nil
}

// wantedScope is the scope QW_MAILBOXES asks for: every mailbox (all), or
// want, sorted and without repeats.
func (m *Mirror) wantedScope() (all bool, want []int64) {
	return len(m.opts.Mailboxes) == 0, slices.Compact(slices.Sorted(slices.Values(m.opts.Mailboxes)))
}

// mustLeave reports whether the recorded scope, or the conversations held
// (held: their mailboxes), reach a mailbox outside the wanted one, whose
// conversations leaveMailboxes deletes. The conversations count too: the
// walk of an added mailbox that has not finished is in no recorded scope,
// yet holds what it has read so far.
func mustLeave(rec store.MirrorScope, held []int64, all bool, want []int64) bool {
	outside := func(id int64) bool { return !slices.Contains(want, id) }
	return !all && (rec.All || slices.ContainsFunc(rec.Mailboxes, outside) || slices.ContainsFunc(held, outside))
}

// holdsWantedScope reports whether the store holds the whole history of
// every mailbox QW_MAILBOXES asks for that the directory knows, and of no
// other: settleScope would have nothing to delete and nothing to walk,
// but for a mailbox of the recorded scope that no walk has read yet.
// The mark of a completed sync of this scope (markComplete) is trusted
// only then: marks are kept per scope and never removed, so a scope that
// comes back after another finds its old mark, while the other scope
// deleted its conversations (or an added mailbox's walk is unfinished).
// A scope never recorded holds nothing the store can vouch for.
//
// A mailbox of the recorded scope without a walk is one the directory
// lists only since (with every mailbox, one the API user was given
// access to): the last completed sync held all the scope's listed
// mailboxes then, and no sync has completed since it came into sight
// (markComplete waits for its walk), so the mark is still true of the
// queue as of then. The running daemon serves that queue while it walks
// such a mailbox (settleScope); a restart meanwhile does the same,
// rather than take the whole queue for a first sync's for as long as
// that one mailbox's walk lasts.
func (m *Mirror) holdsWantedScope(ctx context.Context) (bool, error) {
	rec, err := m.db.MirrorScope(ctx)
	if err != nil {
		return false, fmt.Errorf("read the mirrored scope: %w", err)
	}
	held, err := m.db.HeldMailboxes(ctx)
	if err != nil {
		return false, fmt.Errorf("read the mailboxes held: %w", err)
	}
	all, want := m.wantedScope()
	if !rec.Recorded || mustLeave(rec, held, all, want) {
		return false, nil
	}
	added, _, err := m.unwalkedMailboxes(ctx, all, want)
	if err != nil {
		return false, err
	}
	addedToScope := func(id int64) bool { return !rec.All && !slices.Contains(rec.Mailboxes, id) }
	return !slices.ContainsFunc(added, addedToScope), nil
}

// leaveMailboxes deletes the conversations of the mailboxes outside want
// and returns the narrowed scope.
func (m *Mirror) leaveMailboxes(ctx context.Context, rec store.MirrorScope, want []int64) (store.MirrorScope, error) {
	removed, err := m.db.NarrowMirrorScope(ctx, want, walkCursorPrefix)
	if err != nil {
		return rec, err
	}
	ids := slices.Collect(maps.Keys(removed))
	ids = append(ids, missing(want, rec.Mailboxes)...)
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	if len(ids) > 0 {
		n := 0
		for _, c := range removed {
			n += c
		}
		// Not "removed from QW_MAILBOXES": a conversation moved in Help
		// Scout to a mailbox the variable never named is dropped here too,
		// with the variable unchanged.
		m.opts.Logger.Info("dropped the conversations held in mailboxes outside QW_MAILBOXES",
			"conversations", n, "mailbox_ids", ids)
	}
	// Read back rather than derived: from every mailbox, the store keeps
	// only the wanted ones a walk read (the others were never walked, and
	// unwalkedMailboxes walks them once they are listed).
	narrowed, err := m.db.MirrorScope(ctx)
	if err != nil {
		return rec, fmt.Errorf("read the mirrored scope: %w", err)
	}
	return narrowed, nil
}

// unwalkedMailboxes lists the mailboxes to walk from the beginning: those
// the scope asks for that the directory knows and that no walk read from
// the beginning (an id the account does not have has nothing to walk;
// setMailboxAccess warns of it). Not the recorded scope's complement:
// with every mailbox, the scope is one row for all of them, whether the
// walk of every mailbox read one or it was listed after; and a mailbox
// QW_MAILBOXES named before the account listed it was recorded with the
// scope, unread. pollPending says whether the poll's walk from the
// beginning is still reading some mailbox (store.DB.FinishPollWalk).
func (m *Mirror) unwalkedMailboxes(ctx context.Context, all bool, want []int64) (ids []int64, pollPending bool, err error) {
	known, err := m.knownMailboxes(ctx, all, want)
	if err != nil {
		return nil, false, err
	}
	walked, err := m.db.Walked(ctx)
	if err != nil {
		return nil, false, fmt.Errorf("read the walked mailboxes: %w", err)
	}
	for _, id := range known {
		if _, ok := walked[id]; !ok {
			ids = append(ids, id)
		}
	}
	for _, finished := range walked {
		pollPending = pollPending || !finished
	}
	return ids, pollPending, nil
}

// knownMailboxes lists, sorted, the mailboxes the scope asks for that the
// directory knows.
func (m *Mirror) knownMailboxes(ctx context.Context, all bool, want []int64) ([]int64, error) {
	mbs, err := m.db.Mailboxes(ctx)
	if err != nil {
		return nil, fmt.Errorf("read mailboxes: %w", err)
	}
	var known []int64
	for _, mb := range mbs {
		if all || slices.Contains(want, mb.ID) {
			known = append(known, mb.ID)
		}
	}
	slices.Sort(known)
	return known, nil
}

// missing returns the ids of want that have does not hold.
func missing(have, want []int64) []int64 {
	var out []int64
	for _, id := range want {
		if !slices.Contains(have, id) {
			out = append(out, id)
		}
	}
	return out
}

// walkCursorPrefix and the mailbox id name the cursor of the walk of one
// added mailbox (mailboxCursor). Migrations 0012, 0013 and 0014 of the
// store read it too.
const walkCursorPrefix = CursorConversations + "@mailbox:"

// mailboxCursor names the cursor of the walk of one added mailbox.
func mailboxCursor(mailbox int64) string {
	return walkCursorPrefix + strconv.FormatInt(mailbox, 10)
}

// walkMailbox walks one added mailbox from the beginning (or from where an
// earlier attempt stopped) and records it walked, and in the scope, once
// its last page is stored (store.DB.AddToMirrorScope). done is
// false when the listing kept shifting, or when the walk spent budget
// (nil: none) before its end: its cursor stays, and the next sync walks
// again from there, as for the poll's own cursor.
//
// A walk paused on its budget is resumed as a walk that failed part-way
// is: from its cursor, less the overlap, in a new listing. What shifted
// in the listing before the pause is walked again from the cursor it
// left (a shift seen holds the cursor back to it); what shifts between
// two syncs is no shift at all to the new listing, which lists everything
// modified since the cursor in its order of then.
func (m *Mirror) walkMailbox(ctx context.Context, mailbox int64, st *Stats, budget *int) (done bool, err error) {
	name := mailboxCursor(mailbox)
	cur, err := m.db.Cursor(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("read the cursor of mailbox %d: %w", mailbox, err)
	}
	// One progress for the walk across the syncs of this process that it
	// spans, so that its counts and its lines every progressEvery go on
	// from where the last sync paused.
	p := m.walkOf(mailbox)
	before, from := st.Conversations, cur.Value
	defer func() { p.read += st.Conversations - before }()
	l := listing{mailboxes: []int64{mailbox}, cursor: name, progress: p, budget: budget}
	for walk := 0; ; walk++ {
		again, rewalkFrom, _, err := m.walk(ctx, l, from, st)
		if errors.Is(err, errWalkPaused) {
			m.opts.Logger.Info("walk of "+p.what()+" paused for the poll; it resumes at the next sync",
				append([]any{"mailbox_id", mailbox}, p.attrs()...)...)
			p.logged = m.opts.Now() // this line is the progress line that was due
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("walk %s %d: %w", p.what(), mailbox, err)
		}
		if !again {
			break
		}
		if walk >= m.opts.MaxRewalks {
			return false, nil
		}
		st.Rewalks++
		from = rewalkFrom
	}
	if err := m.db.AddToMirrorScope(ctx, mailbox, name); err != nil {
		return false, err
	}
	delete(m.walks, mailbox)
	m.opts.Logger.Info(p.what()+" mirrored", "mailbox_id", mailbox, "conversations", p.read+st.Conversations-before)
	return true, nil
}

// unannounced returns the mailboxes of ids whose walk the log has not
// announced in this process, and marks them announced.
func (m *Mirror) unannounced(ids []int64) []int64 {
	var out []int64
	for _, id := range ids {
		if p := m.walkOf(id); !p.announced {
			p.announced = true
			out = append(out, id)
		}
	}
	return out
}

// walkOf is the progress of the walk of mailbox in this process (m.walks),
// begun now if there is none yet.
func (m *Mirror) walkOf(mailbox int64) *progress {
	p := m.walks[mailbox]
	if p == nil {
		p = newProgress(mailbox, m.opts.Now())
		if m.walks == nil {
			m.walks = map[int64]*progress{}
		}
		m.walks[mailbox] = p
	}
	return p
}
