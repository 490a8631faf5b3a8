package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// reconcile compares the open set (active and pending) with Help Scout,
// then walks the whole mirror for deletions (walkDeletions). Polling
// cannot see a conversation that was deleted or merged away (it simply
// stops being listed), and a listing shift can hide a change; both are
// found here. The open set costs one list page per 25 open conversations
// per status, without threads; the deletion walk one or two pages when
// nothing vanished.
//
// A conversation Help Scout will not serve for reasons of its own
// (conversationFault) is passed over into unread, and the reconcile goes
// on: it ended there, and every conversation after it (rows still held
// from a webhook among them) waited another hour, for ever if that one
// never answered.
func (m *Mirror) reconcile(ctx context.Context, st *Stats, unread *unreadConversations) error {
	mailboxes, none, err := m.listedScope(ctx)
	if err != nil {
		return err
	}
	kept, refused, left := m.refusedIn(mailboxes)
	if left == nil {
		if err := m.reconcileOpen(ctx, st, mailboxes, none, nil, unread); err != nil {
			return err
		}
		return m.walkDeletions(ctx, st, unread)
	}
	// Named mailboxes Help Scout refuses while the directory lists them
	// are left out, as the poll leaves them out, and the others are
	// reconciled: failed whole, their reconcile waited for as long as
	// the refusal lasted (hours, for a mailbox taken from the API user
	// and not yet from the directory). Without a filter the listing
	// would read every mailbox: with none kept, nothing is listed. The
	// deletion walk waits: it compares the listing with every
	// conversation the store holds, and would take each of a left-out
	// mailbox for one deleted, to be asked for on its own and refused.
	if err := m.reconcileOpen(ctx, st, kept, none || len(kept) == 0, refused, unread); err != nil {
		return err
	}
	return &leftOutError{fmt.Errorf("reconcile: the other mailboxes' open conversations reconciled, the deletion walk waiting; left out: %w", left)}
}

// reconcileOpen compares the open set of the mailboxes (listedScope's;
// none: no listing) with the store's, but for the conversations held in
// the mailboxes of leftOut, which it neither lists nor asks for.
//
// A held conversation refused (403) in a mailbox the directory lists
// (refusedConversation's mailboxListingError) has the rest of that
// mailbox's passed over without a request, since a mailbox gone refuses
// each of them alike, and the others' reconciled; the refusal is then
// returned, for dropGone to ask the directory whether the mailbox is
// gone (and the reconcile run again without it if it is).
func (m *Mirror) reconcileOpen(ctx context.Context, st *Stats, mailboxes []int64, none bool, leftOut []int64, unread *unreadConversations) error {
	local, err := m.db.ConversationIDs(ctx, store.StatusActive, store.StatusPending)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	// A row still written from a webhook body after the poll was not
	// listed by it, or listed only at an older version: nothing Help
	// Scout said has replaced the hint (store,
	// "Never regress"), and one the open set agrees with may still be
	// wrong in its assignee or tags. Each is asked for on its own.
	hinted, err := m.db.ConversationIDsFromWebhook(ctx)
	if err != nil {
		return fmt.Errorf("reconcile: %w", err)
	}
	doubted := make(map[int64]bool, len(hinted))
	for _, id := range hinted {
		doubted[id] = true
	}
	local = slices.Compact(slices.Sorted(slices.Values(append(local, hinted...))))
	remote := map[int64]bool{}
	for _, status := range []string{helpscout.StatusActive, helpscout.StatusPending} {
		if none {
			// The directory lists none of QW_MAILBOXES, or the reconcile
			// leaves out each it lists: there is nothing to list (without
			// a filter the listing is every mailbox's), and each open
			// conversation held (but those left out) is asked for on its
			// own.
			break
		}
		opts := &helpscout.ConversationListOptions{Status: status, Mailbox: mailboxes}
		for c, err := range m.hs.Conversations.All(ctx, opts) {
			if err != nil {
				return fmt.Errorf("reconcile: list %s conversations: %w", status, refusedListing(mailboxes, err))
			}
			remote[c.ID] = true
		}
	}
	localSet := make(map[int64]bool, len(local))
	var refusals []error
	var refusedMailboxes []int64
	for _, id := range local {
		localSet[id] = true
		if remote[id] && !doubted[id] {
			continue
		}
		if len(leftOut) > 0 || len(refusedMailboxes) > 0 {
			held, _, err := m.db.Conversation(ctx, id)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return fmt.Errorf("reconcile: %w", err)
			}
			if err == nil && (slices.Contains(leftOut, held.MailboxID) || slices.Contains(refusedMailboxes, held.MailboxID)) {
				continue
			}
		}
		err := m.reconcileRefresh(ctx, id, st, unread)
		var refused *mailboxListingError
		if err != nil && ctx.Err() == nil && errors.As(err, &refused) && len(refused.mailboxes) == 1 {
			refusals = append(refusals, err)
			refusedMailboxes = append(refusedMailboxes, refused.mailboxes[0])
			continue
		}
		if err != nil {
			return errors.Join(append(refusals, err)...)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(remote)) {
		if !localSet[id] {
			if err := m.reconcileRefresh(ctx, id, st, unread); err != nil {
				return errors.Join(append(refusals, err)...)
			}
		}
	}
	return errors.Join(refusals...)
}

// reconcileRefresh is refresh for the reconcile: a failure of the
// conversation alone (conversationFault) is set aside in unread, and nil
// returned, so that the reconcile goes on.
//
// A fault that every read meets alike is no conversation's own: a
// proxy's error page served as 200, say, which no body decodes. After
// maxFaultsInARow faults with no read served between, the reconcile ends
// with the last, as it ends when Help Scout is failing: passed over one
// by one, every conversation asked for was passed over every hour
// (deleted ones kept open) while the sync reported success.
func (m *Mirror) reconcileRefresh(ctx context.Context, id int64, st *Stats, unread *unreadConversations) error {
	if unread.seen[id] {
		// Passed over already in this reconcile (the open set's, met
		// again by the deletion walk or a rerun without a gone mailbox):
		// asked again, it would only fail again, at a request's cost.
		return nil
	}
	err := m.refresh(ctx, id, st)
	if err == nil {
		unread.inARow = 0
		return nil
	}
	if ctx.Err() == nil && conversationFault(err) {
		unread.add(id, err)
		if unread.inARow++; unread.inARow >= maxFaultsInARow {
			return fmt.Errorf("reconcile: %d conversations in a row Help Scout would not serve, none served between: taken for a fault of every read; the last: %w", unread.inARow, err)
		}
		return nil
	}
	return err
}

// maxFaultsInARow is how many conversation faults in a row, with no read
// served between, end the reconcile (reconcileRefresh). A conversation
// Help Scout alone fails on is rare; five in a row are every read failing.
const maxFaultsInARow = 5

// readError is Help Scout's answer for one conversation (its read by id,
// its thread list) failing, as opposed to the store failing to keep it.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// conversationFault reports whether err, a refresh's, is a failure of
// that conversation alone: Help Scout answered for it with a 4xx other
// than the rate limit (a 404 is no failure: it removes the
// conversation), or with a body that does not decode. Not when Help
// Scout itself is failing or refuses our request as malformed
// (helpScoutFailing: a spent budget, a 5xx, a refused token, no answer,
// a 400, 405, 406 or 415), where every later read would fail too, nor
// a 403 in a mailbox the directory lists (mailboxListingError), which
// may be the mailbox gone, nor the store's failure.
func conversationFault(err error) bool {
	var read *readError
	var refused *mailboxListingError
	return errors.As(err, &read) && !errors.As(err, &refused) && !helpScoutFailing(err) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// maxUnreadNamed bounds how many conversations passed over the reconcile's
// line names; it counts them all.
const maxUnreadNamed = 10

// unreadConversations are the conversations one reconcile passed over
// (conversationFault), said in one line at its end (say) rather than one
// each: a conversation Help Scout never serves is met again at every
// reconcile.
type unreadConversations struct {
	ids   []int64 // the first maxUnreadNamed
	n     int
	first error
	seen  map[int64]bool
	// inARow counts the faults since the last read served
	// (reconcileRefresh's breaker).
	inARow int
}

// add sets id aside, failed with err; an id met twice (the open set, then
// the deletion walk, or a reconcile run again by retryWithoutGone) counts
// once.
func (u *unreadConversations) add(id int64, err error) {
	if u.seen[id] {
		return
	}
	if u.seen == nil {
		u.seen = map[int64]bool{}
	}
	u.seen[id] = true
	u.n++
	if len(u.ids) < maxUnreadNamed {
		u.ids = append(u.ids, id)
	}
	if u.first == nil {
		u.first = err
	}
}

// say logs the conversations passed over, if any, in one line.
func (u *unreadConversations) say(ctx context.Context, logger *slog.Logger) {
	if u.n == 0 {
		return
	}
	logger.WarnContext(ctx, "reconcile: conversations Help Scout would not serve were passed over; the next reconcile asks again",
		"count", u.n, "conversations", u.ids, "first_err", u.first)
}

// Refresh re-reads one conversation from Help Scout and stores it, without
// waiting for the next poll: the rebalancer calls it after a move so that
// the page and the next plan see the move at once. It never waits behind a
// running sync (which can take minutes): the conversation is then queued
// for Run's next inbox pass, and the sync in progress may well pick the
// change up itself.
//
// A re-read that meets a damaged file is set aside as the inbox's are
// (ProcessInbox), and while the store holds the file damaged a Refresh of
// a conversation set aside returns at once: fetched again, it would only
// fail on the file again. It is made at the first inbox pass after the
// repaired file passes the store's check.
func (m *Mirror) Refresh(ctx context.Context, id int64) error {
	if m.rereads.setAside(id) && m.db.HeldDamaged() {
		return nil
	}
	if !m.mu.TryLock() {
		m.rereads.add(id)
		m.Wake()
		return nil
	}
	defer m.mu.Unlock()
	var st Stats
	err := m.refresh(ctx, id, &st)
	if errors.Is(err, store.ErrCorrupt) {
		m.rereads.parkNew(id)
	}
	return err
}

// inScope reports whether conversations of the mailbox are mirrored
// (QW_MAILBOXES; empty = all).
func (m *Mirror) inScope(mailbox int64) bool {
	return len(m.opts.Mailboxes) == 0 || slices.Contains(m.opts.Mailboxes, mailbox)
}

// forget removes a stored conversation the mirror no longer follows. The
// store keeps a tombstone at its version, so a late, older copy cannot
// bring it back, while a later change (moved back in) can.
func (m *Mirror) forget(ctx context.Context, id int64, why string) error {
	if err := m.db.DeleteConversation(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove conversation %d (%s): %w", id, why, err)
	}
	return nil
}

// refresh re-reads one conversation and stores what Help Scout says now:
// gone (404) removes it, merged (301) replaces it with the survivor, moved
// out of the mirrored mailboxes removes it, refused (403) in a mailbox the
// directory no longer lists removes it (refusedConversation).
func (m *Mirror) refresh(ctx context.Context, id int64, st *Stats) error {
	c, _, err := m.hs.Conversations.Get(ctx, id, true)
	switch {
	case errors.Is(err, helpscout.ErrNotFound):
		return m.removeVanished(ctx, id, st)
	case errors.Is(err, helpscout.ErrForbidden):
		return m.refusedConversation(ctx, id, st, &readError{fmt.Errorf("refresh conversation %d: %w", id, err)})
	case err != nil:
		return &readError{fmt.Errorf("refresh conversation %d: %w", id, err)}
	}
	if c.ID != id {
		if err := m.db.DeleteConversation(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("remove merged conversation %d: %w", id, err)
		}
		st.Removed++
	}
	if !m.inScope(c.MailboxID) {
		st.Removed++
		return m.forget(ctx, c.ID, "moved out of the mirrored mailboxes")
	}
	u, err := m.complete(ctx, *c, st)
	if err != nil {
		return err
	}
	// Help Scout moves every thread of a conversation merged into another:
	// a stored conversation still holding one of these threads was merged
	// into this one, and the mirror missed it (a convo.merged doubted, so
	// that its survivor is read here instead of applied, or none came).
	// Found before this one takes the threads, as applyConversationEvent
	// finds them; each is read again (its 404 or 301 removes it) rather
	// than left open until the hourly reconcile.
	mergedFrom, err := m.db.ConversationsHolding(ctx, threadIDs(u.Threads), c.ID)
	if err != nil {
		return fmt.Errorf("find conversations merged into %d: %w", c.ID, err)
	}
	u.ReadByID = true // Help Scout's word on this very conversation, over any webhook's
	if _, err := m.db.ApplyConversation(ctx, u); err != nil {
		return fmt.Errorf("store conversation %d: %w", c.ID, err)
	}
	for _, from := range mergedFrom {
		m.rereads.add(from)
	}
	return nil
}

// removeVanished removes a stored conversation Help Scout no longer serves.
func (m *Mirror) removeVanished(ctx context.Context, id int64, st *Stats) error {
	if err := m.db.DeleteConversation(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove vanished conversation %d: %w", id, err)
	}
	st.Removed++
	return nil
}
