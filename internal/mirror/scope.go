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
// (store.MirrorScope). A mailbox added since is walked from the beginning,
// closed conversations included, as a first sync would, without walking
// the others again; the conversations of one removed are deleted. Deleted
// rather than hidden: every read model, metric, the page, the balancer and
// backfill read the conversations table, and a filter each of them must
// remember is one that one of them will forget; the tombstones keep their
// observation marks, so a mailbox that comes back is not observed twice.
//
// It runs at every sync until the scope is settled: a failed or shifting
// walk of an added mailbox resumes from its own cursor at the next one.
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
		if err := m.db.SetMirrorScope(ctx, all, want); err != nil {
			return err
		}
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
	added, err := m.addedMailboxes(ctx, rec, all, want)
	if err != nil {
		return err
	}
	if len(added) > 0 {
		m.opts.Logger.Info("mailboxes added to QW_MAILBOXES: walking their whole history", "mailbox_ids", added)
	}
	complete := true
	for _, id := range added {
		done, err := m.walkMailbox(ctx, id, st)
		if err != nil {
			return err
		}
		complete = complete && done
	}
	m.addedUnwalked = !complete
	if !complete {
		return nil
	}
	if all && !rec.All {
		if err := m.db.SetMirrorScope(ctx, true, nil); err != nil {
			return err
		}
	}
	// With QW_MAILBOXES naming a mailbox the directory does not list (yet),
	// the next sync looks again: it may appear once the API user can see it.
	m.scopeSettled = all || len(added) == len(missing(rec.Mailboxes, want))
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
// other: settleScope would have nothing to delete and nothing to walk.
// The mark of a completed sync of this scope (markComplete) is trusted
// only then: marks are kept per scope and never removed, so a scope that
// comes back after another finds its old mark, while the other scope
// deleted its conversations (or an added mailbox's walk is unfinished).
// A scope never recorded holds nothing the store can vouch for.
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
	added, err := m.addedMailboxes(ctx, rec, all, want)
	return err == nil && len(added) == 0, err
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
	// only the wanted ones the directory lists (the others were never
	// walked, and addedMailboxes walks them once they are listed).
	narrowed, err := m.db.MirrorScope(ctx)
	if err != nil {
		return rec, fmt.Errorf("read the mirrored scope: %w", err)
	}
	return narrowed, nil
}

// addedMailboxes lists the mailboxes to walk from the beginning: those the
// scope asks for beyond the recorded one that the directory knows (an id
// the account does not have has nothing to walk; setMailboxAccess warns of
// it).
func (m *Mirror) addedMailboxes(ctx context.Context, rec store.MirrorScope, all bool, want []int64) ([]int64, error) {
	if rec.All {
		return nil, nil
	}
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
	return missing(rec.Mailboxes, known), nil
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
// added mailbox (mailboxCursor). Migrations 0012 and 0013 of the store read it too.
const walkCursorPrefix = CursorConversations + "@mailbox:"

// mailboxCursor names the cursor of the walk of one added mailbox.
func mailboxCursor(mailbox int64) string {
	return walkCursorPrefix + strconv.FormatInt(mailbox, 10)
}

// walkMailbox walks one added mailbox from the beginning (or from where an
// earlier attempt stopped) and records it in the scope once read. done is
// false when the listing kept shifting: its cursor stays, and the next
// sync walks again from there, as for the poll's own cursor.
func (m *Mirror) walkMailbox(ctx context.Context, mailbox int64, st *Stats) (done bool, err error) {
	name := mailboxCursor(mailbox)
	cur, err := m.db.Cursor(ctx, name)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return false, fmt.Errorf("read the cursor of mailbox %d: %w", mailbox, err)
	}
	before, from := st.Conversations, cur.Value
	l := listing{mailboxes: []int64{mailbox}, cursor: name, progress: newProgress(mailbox, m.opts.Now())}
	for walk := 0; ; walk++ {
		again, rewalkFrom, _, err := m.walk(ctx, l, from, st)
		if err != nil {
			return false, fmt.Errorf("walk added mailbox %d: %w", mailbox, err)
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
	m.opts.Logger.Info("added mailbox mirrored", "mailbox_id", mailbox, "conversations", st.Conversations-before)
	return true, nil
}
