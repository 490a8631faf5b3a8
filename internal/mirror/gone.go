package mirror

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
)

// A mailbox can go while the daemon runs: deleted in Help Scout, or the
// app's user no longer allowed to open it. Help Scout then refuses any
// conversation listing that names it (most likely 404, possibly 403;
// helpscout-api.md section 11), and a sync that walks it (a paced walk of a
// newly listed mailbox, or the poll of QW_MAILBOXES, one listing of them
// all) failed at every poll until the directory's next refresh dropped it,
// up to 15 minutes with no mailbox polled; with QW_MAILBOXES, for good,
// since the poll named it whatever the directory said. So the poll names
// only the mailboxes the directory lists (listedScope), and a refused
// listing has the directory refreshed at once (dropGone): a mailbox it no
// longer lists leaves the sync, which goes on with the others.

// listedScope is the mailbox filter of the poll's listing and of the
// reconcile's: nil for every mailbox, else the mailboxes of QW_MAILBOXES
// the directory lists. none says it lists none of them: nothing is to be
// listed, and a listing without a filter would read every mailbox.
// setMailboxAccess warns of each one it does not list, and the page says
// so (team.Setup); one that comes into sight is walked on its own first
// (settleScope), so the poll never needed to name it before.
func (m *Mirror) listedScope(ctx context.Context) (mailboxes []int64, none bool, err error) {
	all, want := m.wantedScope()
	if all {
		return nil, false, nil
	}
	known, err := m.knownMailboxes(ctx, all, want)
	if err != nil {
		return nil, false, err
	}
	return known, len(known) == 0, nil
}

// lists reports whether the directory mbs lists mailbox id.
func lists(mbs []store.Mailbox, id int64) bool {
	return slices.ContainsFunc(mbs, func(mb store.Mailbox) bool { return mb.ID == id })
}

// With QW_MAILBOXES set, the poll is one listing naming every mailbox of
// it, and Help Scout refuses it whole while one of them is refused (404,
// 403) and still listed: until the directory's next refresh no mailbox
// of QW_MAILBOXES was polled, where with every mailbox mirrored the
// others are. So the mailboxes Help Scout refuses on their own while the
// directory lists them (listedDespite, recorded by refusedOf) are left
// out of the poll and of the reconcile (refusedIn), which do the others'
// work and then fail the sync with their errors (leftOutError): the sync
// still says which mailbox is refused (/readyz, the page, the log).

// leftOutPrefix and a mailbox id name the cursor the poll is held back to
// for that mailbox once it names it again (leftOutCursor): where the poll
// read from when it first left it out.
const leftOutPrefix = CursorConversations + "@left-out:"

// leftOutCursor names the cursor held back for mailbox (leftOutPrefix).
func leftOutCursor(mailbox int64) string {
	return leftOutPrefix + strconv.FormatInt(mailbox, 10)
}

// leftOutError is the error of a poll or a reconcile that did the work
// of every mailbox but those it left out (refusedIn), whose errors it
// joins: the sync goes on past it (the reconcile, the observations) and
// fails with it at the end. dropGone leaves it as it is: each of those
// mailboxes was refused on its own while the directory listed it.
type leftOutError struct{ err error }

func (e *leftOutError) Error() string { return e.err.Error() }
func (e *leftOutError) Unwrap() error { return e.err }

// onlyLeftOut reports whether err is a leftOutError and nothing else:
// joined with another failure, that failure stops the sync.
func onlyLeftOut(err error) bool {
	_, ok := err.(*leftOutError)
	return ok
}

// refusedIn splits mailboxes, the filter of a poll or a reconcile
// (listedScope), into those to list and those to leave out (refused:
// listedDespite), and joins the errors of the latter (nil when none).
// Every mailbox (nil) leaves none out: that listing names no mailbox,
// and Help Scout does not refuse it for one.
func (m *Mirror) refusedIn(mailboxes []int64) (kept, refused []int64, left error) {
	var errs []error
	for _, id := range mailboxes {
		if err := m.listedDespite[id]; err != nil {
			refused = append(refused, id)
			errs = append(errs, err)
			continue
		}
		kept = append(kept, id)
	}
	return kept, refused, errors.Join(errs...)
}

// pollScope leaves out of mailboxes, the poll's (listedScope), those
// Help Scout refuses while the directory lists them (refusedIn), and
// returns the mailboxes it names again (heldBack), each to be read on
// its own from where the poll read from when it first left it out
// (catchUp): what changed in one while it was left out is behind the
// shared cursor, which the poll of the others moved on. That point is
// stored (leftOutCursor), not only held in memory, so that the poll
// after a restart reads it too; it is forgotten once the mailbox is
// read again (forgetLeftOut).
func (m *Mirror) pollScope(ctx context.Context, mailboxes []int64, from time.Time) (kept, heldBack []int64, left, err error) {
	if err := m.loadLeftOut(ctx, mailboxes); err != nil {
		return nil, nil, nil, err
	}
	kept, refused, left := m.refusedIn(mailboxes)
	for _, id := range refused {
		if _, ok := m.leftOut[id]; ok {
			continue // left out since an earlier poll: from there
		}
		if err := m.db.SetCursor(ctx, leftOutCursor(id), from); err != nil {
			return nil, nil, nil, fmt.Errorf("store where the poll leaves mailbox %d out: %w", id, err)
		}
		if m.leftOut == nil {
			m.leftOut = map[int64]time.Time{}
		}
		m.leftOut[id] = from
	}
	for _, id := range slices.Sorted(maps.Keys(m.leftOut)) {
		if m.listedDespite[id] != nil || mailboxes != nil && !slices.Contains(kept, id) {
			continue
		}
		heldBack = append(heldBack, id)
	}
	return kept, heldBack, left, nil
}

// catchUp reads each mailbox of heldBack (pollScope's), named again by
// the poll, on its own from where the poll first left it out, and then
// forgets that point. The poll's listing of every named mailbox read
// from there instead, so that after a refusal of days every other
// mailbox's changes of those days were read again in one poll. The
// listing commits its pages with the mailbox's own cursor
// (leftOutCursor), so that one cut short, or still shifting after
// Options.MaxRewalks, is read again from where it got to by the next
// poll. With every mailbox mirrored, one the directory no longer lists
// is only forgotten: its conversations leave with it (noteGone), and a
// listing of it would be refused.
func (m *Mirror) catchUp(ctx context.Context, heldBack []int64, st *Stats) error {
	if len(heldBack) == 0 {
		return nil
	}
	listed, err := m.db.Mailboxes(ctx)
	if err != nil {
		return fmt.Errorf("read mailboxes: %w", err)
	}
	for _, id := range heldBack {
		if !lists(listed, id) {
			if err := m.forgetLeftOut(ctx, []int64{id}); err != nil {
				return err
			}
			continue
		}
		name := leftOutCursor(id)
		from := m.leftOut[id]
		// Where an earlier catch-up of it got to, if one was cut short.
		if cur, err := m.db.Cursor(ctx, name); err == nil {
			from = cur.Value
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read where the poll left mailbox %d out: %w", id, err)
		}
		l := listing{mailboxes: []int64{id}, cursor: name}
		done := false
		for walk := 0; ; walk++ {
			again, rewalkFrom, _, err := m.walk(ctx, l, from, st)
			if err != nil {
				return fmt.Errorf("read mailbox %d from where the poll left it out: %w", id, err)
			}
			if !again {
				done = true
				break
			}
			if walk >= m.opts.MaxRewalks {
				break // still shifting: read again from its cursor by the next poll
			}
			st.Rewalks++
			from = rewalkFrom
		}
		if done {
			if err := m.forgetLeftOut(ctx, []int64{id}); err != nil {
				return err
			}
		}
	}
	return nil
}

// loadLeftOut reads, at the first poll of the process, the cursors held
// back for mailboxes an earlier process left out (leftOutCursor). One is
// kept only for a mailbox of mailboxes, the poll's (nil: every mailbox),
// that a walk has read (store.DB.Walked); any other is removed: its
// mailbox was dropped from the directory or from QW_MAILBOXES since, and
// is walked from the beginning if it comes back, so that holding the
// poll back for it would only read again what is held.
func (m *Mirror) loadLeftOut(ctx context.Context, mailboxes []int64) error {
	if m.leftOutLoaded {
		return nil
	}
	held, err := m.db.Cursors(ctx, leftOutPrefix)
	if err != nil {
		return err
	}
	walked, err := m.db.Walked(ctx)
	if err != nil {
		return fmt.Errorf("read the walked mailboxes: %w", err)
	}
	for _, c := range held {
		id, perr := strconv.ParseInt(strings.TrimPrefix(c.Name, leftOutPrefix), 10, 64)
		_, read := walked[id]
		if perr == nil && read && (mailboxes == nil || slices.Contains(mailboxes, id)) {
			if m.leftOut == nil {
				m.leftOut = map[int64]time.Time{}
			}
			m.leftOut[id] = c.Value
			continue
		}
		if err := m.db.DeleteCursor(ctx, c.Name); err != nil {
			return err
		}
	}
	m.leftOutLoaded = true
	return nil
}

// forgetLeftOut removes where the poll left each of ids out, now read
// again (catchUp).
func (m *Mirror) forgetLeftOut(ctx context.Context, ids []int64) error {
	for _, id := range ids {
		if err := m.db.DeleteCursor(ctx, leftOutCursor(id)); err != nil {
			return fmt.Errorf("forget where the poll left mailbox %d out, read again: %w", id, err)
		}
		delete(m.leftOut, id)
	}
	return nil
}

// mailboxListingError is Help Scout refusing a conversation listing that
// names mailboxes, with a 404 or a 403, or one of their conversations with
// a 403 (refusedConversation): one of them may be gone.
type mailboxListingError struct {
	mailboxes []int64
	err       error
}

func (e *mailboxListingError) Error() string { return e.err.Error() }
func (e *mailboxListingError) Unwrap() error { return e.err }

// refusedListing marks err, the failure of a listing filtered by
// mailboxes, as one dropGone looks into: a 404, or a 403. A 403 is taken
// too: Help Scout documents it as "access denied", which is how a mailbox
// the app's user may no longer open can answer, and the directory, not
// the status, decides whether the mailbox is gone: an account-wide 403
// (API disabled, payment missing) refuses the directory as well, or lists
// the mailbox still, and the error stands either way, at the cost of one
// directory refresh. Any other failure, or a listing of every mailbox, is
// returned as it is.
func refusedListing(mailboxes []int64, err error) error {
	if len(mailboxes) == 0 || !errors.Is(err, helpscout.ErrNotFound) && !errors.Is(err, helpscout.ErrForbidden) {
		return err
	}
	return &mailboxListingError{mailboxes: slices.Clone(mailboxes), err: err}
}

// retryWithoutGone runs work (the poll, the reconcile) and, when it fails
// on a listing refused for a mailbox the directory, refreshed at once, no
// longer lists, once more without it. Once: a second mailbox gone in the
// same sync is dropGone's at the next one.
func (m *Mirror) retryWithoutGone(ctx context.Context, st *Stats, work func(context.Context, *Stats) error) error {
	err := work(ctx, st)
	if err == nil {
		return nil
	}
	retry, err := m.dropGone(ctx, st, err)
	if !retry {
		return err
	}
	return work(ctx, st)
}

// dropGone answers a failed listing: retry is true when err is a refused
// listing (refusedListing) of a mailbox the directory, refreshed now, no
// longer lists. The refresh is the directory's whole one (syncDirectory),
// which drops the mailbox as every refresh drops one the account stops
// listing (noteGone), and unsettles the scope, so the next walk and poll
// leave it out. Otherwise it returns the error to fail the sync with: the
// listing's own, saying so when the directory still lists the mailboxes
// (Help Scout says they exist, and their queue must not go quietly stale),
// or the refresh's, when the store failed it.
//
// The refresh costs a listing of every mailbox, user and team, so it is
// not made while failed refreshes back off (directoryRetry), nor again
// for mailboxes a refresh found still listed after their refusal, until
// the directory's next refresh, its own or one made here (listedDespite).
func (m *Mirror) dropGone(ctx context.Context, st *Stats, err error) (retry bool, _ error) {
	var refused *mailboxListingError
	if onlyLeftOut(err) || !errors.As(err, &refused) || ctx.Err() != nil {
		return false, err
	}
	// A listing of one mailbox (its walk, or a conversation's re-read) says
	// which one Help Scout refused; one of several (the poll's, the
	// reconcile's) does not, and all are named.
	stillListed := func() error {
		if len(refused.mailboxes) == 1 {
			return noteOn(err, refused, fmt.Sprintf("(refused for mailbox %d, which Help Scout's directory still lists)", refused.mailboxes[0]))
		}
		return noteOn(err, refused, fmt.Sprintf("(refused for a listing of mailboxes %v, each of which Help Scout's directory still lists)", refused.mailboxes))
	}
	if !slices.ContainsFunc(refused.mailboxes, func(id int64) bool { return m.listedDespite[id] == nil }) {
		return false, stillListed()
	}
	// Without a refresh (failed refreshes back off, or this one fails),
	// whether a mailbox is gone waits for the directory's next: meanwhile
	// the one Help Scout refuses is left out as one still listed is, so
	// that the poll of QW_MAILBOXES does not stop for as long as the
	// directory keeps failing, and the error names it.
	unknown := func() error {
		return fmt.Errorf("%w (refused for a listing of mailboxes %v; whether one is gone waits for the directory's next refresh, the last having failed)", err, refused.mailboxes)
	}
	now := m.opts.Now()
	if m.directoryFailures > 0 && now.Before(m.directoryDue) {
		return m.refusedOf(ctx, err, refused, unknown, false)
	}
	if derr := m.syncDirectory(ctx, st); derr != nil {
		if !m.directoryOptional(ctx, derr) {
			return false, derr
		}
		m.directoryFailures++
		wait := m.directoryRetry()
		m.directoryDue = now.Add(wait)
		m.opts.Logger.Warn("directory refresh after a refused listing of mailboxes failed; the listing's failure stands",
			"mailbox_ids", refused.mailboxes, "err", derr, "failures", m.directoryFailures, "retry_in", wait.String())
		return m.refusedOf(ctx, err, refused, unknown, false)
	}
	// This refresh is the directory's own (its next is DirectoryEvery from
	// now), so what an earlier one found still listed is looked at again,
	// as syncOnce's refresh does (recheckRefused): kept as it was, its
	// suppression outlived the refresh it was meant to last until; and
	// forgotten, the work retried would name it again, to be refused
	// whole, so that with two mailboxes refused one after the other, each
	// refresh put back the one the last had taken out, and no poll ran.
	m.directoryDue, m.directoryFailures = now.Add(m.opts.DirectoryEvery), 0
	m.scopeSettled = false
	if err := m.recheckRefused(ctx, refused.mailboxes); err != nil {
		return false, err
	}
	listed, lerr := m.db.Mailboxes(ctx)
	if lerr != nil {
		return false, lerr
	}
	gone := slices.ContainsFunc(refused.mailboxes, func(id int64) bool {
		return !lists(listed, id)
	})
	if !gone {
		return m.refusedOf(ctx, err, refused, stillListed, true)
	}
	return true, nil
}

// noteOn adds note to err where it speaks of refused: err may join the
// refused listing to other failures (a walk's and the poll's, or a walk's
// and those of walks left out), and the note put after all of them read
// as said of the last one, a mailbox left out whose own error already
// says it is listed.
func noteOn(err error, refused *mailboxListingError, note string) error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		parts := slices.Clone(j.Unwrap())
		for i, p := range parts {
			var l *mailboxListingError
			if errors.As(p, &l) && l == refused {
				parts[i] = noteOn(p, refused, note)
				return errors.Join(parts...)
			}
		}
	}
	return fmt.Errorf("%w %s", err, note)
}

// refusedOf records in listedDespite which mailboxes of refused, a
// listing Help Scout refused (whose error stillListed returns), each
// listed by the directory (refreshed just now, fresh, or else the one
// stored, its refresh failing), it refuses. A listing of one mailbox
// says which; one of several (the poll's, the reconcile's) does not, and
// each is listed on its own (refusedAlone): recorded all, the poll,
// which leaves them out (pollScope), would have polled none of them.
// retry is true when some are refused and not all: the work, run again,
// does the others'. It is true too when all are, but the work's error
// (all) holds another refused listing naming a mailbox not recorded:
// after a restart naming a mailbox whose walk is pending, the walk of it
// is refused first, and then the poll, one listing of every named
// mailbox, refused whole; recorded, the walk's mailbox is left out of the
// work run again, which polls the others, goes on to the reconcile and
// the observations, and fails only left out, as the later syncs do.
// Before, that first sync failed before all of it. Nothing is recorded
// when none is refused on its own
// (a refusal that passed): the sync fails with the listing's error, and
// the next tries them all again. Each such look costs a request per
// mailbox, once per refresh of the directory that finds them listed.
func (m *Mirror) refusedOf(ctx context.Context, all error, refused *mailboxListingError, stillListed func() error, fresh bool) (retry bool, _ error) {
	found := map[int64]error{}
	if len(refused.mailboxes) == 1 {
		found[refused.mailboxes[0]] = aloneError(refused.err, refused.mailboxes[0], fresh)
	} else {
		for _, id := range refused.mailboxes {
			refusal, err := m.refusedAlone(ctx, id, fresh)
			if err != nil {
				return false, fmt.Errorf("%w (and the listing of mailbox %d alone, to find which one Help Scout refuses: %w)", stillListed(), id, err)
			}
			if refusal != nil {
				found[id] = refusal
			}
		}
	}
	if len(found) == 0 {
		return false, stillListed()
	}
	if m.listedDespite == nil {
		m.listedDespite = map[int64]error{}
	}
	maps.Copy(m.listedDespite, found)
	if len(found) == len(refused.mailboxes) {
		return m.othersRefusedWith(all), stillListed()
	}
	return true, nil
}

// othersRefusedWith reports whether err holds a refused listing
// (mailboxListingError) of several mailboxes (the poll's) naming one
// listedDespite does not hold: work not done for the others that a run
// leaving the recorded ones out would do. Not a refusal of one mailbox
// (its walk's, one of its conversations'): the work run again meets it
// again, refused alike, and does nothing more. The reconcile, going on
// past a held conversation refused, joins one such refusal per mailbox;
// counted, two mailboxes refused ran the whole reconcile twice, its
// listings and reads again, to end in the same error.
func (m *Mirror) othersRefusedWith(err error) bool {
	var walk func(error) bool
	walk = func(err error) bool {
		if l, ok := err.(*mailboxListingError); ok {
			return len(l.mailboxes) > 1 && slices.ContainsFunc(l.mailboxes, func(id int64) bool { return m.listedDespite[id] == nil })
		}
		switch u := err.(type) {
		case interface{ Unwrap() []error }:
			return slices.ContainsFunc(u.Unwrap(), walk)
		case interface{ Unwrap() error }:
			if inner := u.Unwrap(); inner != nil {
				return walk(inner)
			}
		}
		return false
	}
	return walk(err)
}

// refusedAlone lists mailbox on its own, one page of what changed from
// now on (empty, or nearly): refusal is Help Scout refusing it (404,
// 403), saying so and naming the mailbox (aloneError); err is any other
// failure.
func (m *Mirror) refusedAlone(ctx context.Context, mailbox int64, fresh bool) (refusal, err error) {
	opts := &helpscout.ConversationListOptions{Status: helpscout.StatusAll, Mailbox: []int64{mailbox}, ModifiedSince: m.opts.Now()}
	_, _, err = m.hs.Conversations.List(ctx, opts)
	switch {
	case err == nil:
		return nil, nil
	case errors.Is(err, helpscout.ErrNotFound) || errors.Is(err, helpscout.ErrForbidden):
		return aloneError(err, mailbox, fresh), nil
	}
	return nil, err
}

// aloneError is the error listedDespite holds for mailbox: err, Help
// Scout's refusal of a listing of it alone, saying so, and whether the
// directory that lists it was refreshed just now (fresh) or its refresh
// failed. Not the mailboxListingError of that listing, which dropGone
// would take for a new refusal when the poll or the reconcile returns it
// again.
func aloneError(err error, mailbox int64, fresh bool) error {
	var listing *mailboxListingError
	if errors.As(err, &listing) {
		err = listing.err
	}
	if !fresh {
		return fmt.Errorf("%w (refused for mailbox %d; whether it is gone waits for the directory's next refresh, the last having failed)", err, mailbox)
	}
	return fmt.Errorf("%w (refused for mailbox %d, which Help Scout's directory still lists)", err, mailbox)
}

// recheckRefused looks again, after a refresh of the directory, at each
// mailbox an earlier refusal recorded in listedDespite that the
// directory still lists, but those of skip (dropGone's, which looks at
// them itself): each is listed on its own (refusedAlone), and stays
// recorded, with its new error, only if Help Scout still refuses it. The
// poll and the reconcile then leave out only those still refused, and
// name again one served again. Forgotten instead, each would be named
// again, the listing refused whole, and dropGone would refresh the
// directory a second time, besides the one just made, to find it again.
// A look that fails otherwise (a 500, the rate limit) keeps the mailbox
// recorded, as it was, until the next refresh. One request per such
// mailbox per refresh.
func (m *Mirror) recheckRefused(ctx context.Context, skip []int64) error {
	before := m.listedDespite
	m.listedDespite = nil
	if len(before) == 0 {
		return nil
	}
	listed, err := m.db.Mailboxes(ctx)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(before)) {
		if slices.Contains(skip, id) || !lists(listed, id) {
			continue // skip's are dropGone's; one not listed is dropped with its conversations
		}
		refusal, err := m.refusedAlone(ctx, id, true)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			refusal = before[id]
		}
		if refusal == nil {
			continue
		}
		if m.listedDespite == nil {
			m.listedDespite = map[int64]error{}
		}
		m.listedDespite[id] = refusal
	}
	return nil
}

// refusedConversation answers a 403 (err) on a held conversation re-read
// (refresh: the reconcile, the deletion walk, a Refresh after a move).
// A mailbox taken from the API user may answer so for each of its
// conversations rather than 404 (helpscout-api.md section 11). As for a
// refused listing, the directory decides: in a mailbox it no longer
// lists, the conversation leaves the mirror, as the directory's refresh
// that dropped the mailbox made all of its conversations leave (noteGone):
// Help Scout will not serve it to this app any more, so it could never
// change in the mirror again; kept, an open one would count for ever in
// its assignee's load, the queue, the proposals (whose moves Help Scout
// would refuse) and the metrics, and every reconcile would ask for it
// again. Forgotten (store.DB.ForgetConversation), not deleted: Help Scout
// did not say it was, and a deletion's tombstone blocks the version
// removed, so that a mailbox given back, walked again from the
// beginning, would restore only the conversations changed meanwhile.
// In a mailbox the stored directory lists, the 403 is returned as a
// refused listing of that mailbox (refusedListing), which has the
// directory refreshed at once (dropGone): a mailbox taken since its last
// refresh is then dropped with its conversations, and the work retried
// no longer holds this one; one still listed fails the work with the
// 403, naming the mailbox, and the conversation is kept. One the store
// does not hold (listed by Help Scout a moment before) is an error as it
// is.
func (m *Mirror) refusedConversation(ctx context.Context, id int64, st *Stats, err error) error {
	held, _, serr := m.db.Conversation(ctx, id)
	switch {
	case errors.Is(serr, store.ErrNotFound):
		return err
	case serr != nil:
		return fmt.Errorf("%w (read it from the store: %w)", err, serr)
	}
	listed, lerr := m.db.Mailboxes(ctx)
	if lerr != nil {
		return fmt.Errorf("%w (read the directory: %w)", err, lerr)
	}
	if lists(listed, held.MailboxID) {
		return refusedListing([]int64{held.MailboxID}, err)
	}
	if err := m.db.ForgetConversation(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove conversation %d of a mailbox no longer listed: %w", id, err)
	}
	st.Removed++
	return nil
}

// usersRefused reports whether err, the failure of the directory's
// listing of one mailbox's users, is Help Scout refusing it as it refuses
// a mailbox's conversation listing once the mailbox is gone (deleted
// between the mailbox listing and this one, or taken from the API user):
// a 404, or a 403, taken for refusedListing's reason. dropRefused asks
// the directory which it is.
func usersRefused(err error) bool {
	return errors.Is(err, helpscout.ErrNotFound) || errors.Is(err, helpscout.ErrForbidden)
}

// dropRefused answers the directory refresh's users listings refused
// (usersRefused) for the mailboxes of refused, each with its error: it
// lists the mailboxes again, and returns mailboxes, the refresh's listing,
// without those that one no longer lists, as if the refresh had never
// listed them, so that the refresh goes on, drops them as it drops any
// mailbox the account stops listing (noteGone, its log line) and
// records the other mailboxes' users, teams and statuses. Before, the
// whole refresh failed on them and backed off, or at the first one, made
// before anything is synced, failed the sync. A mailbox the listing still
// lists is not dropped (Help Scout says it exists, and its users' access
// would be lost): the refresh fails with its refusal. The second listing
// costs a page per 50 mailboxes, once per refresh that meets a refusal.
func (m *Mirror) dropRefused(ctx context.Context, mailboxes []store.Mailbox, refused map[int64]error) ([]store.Mailbox, error) {
	var listed []int64
	for mb, err := range m.hs.Mailboxes.All(ctx) {
		if err != nil {
			return nil, directoryError{err}
		}
		listed = append(listed, mb.ID)
	}
	for _, id := range slices.Sorted(maps.Keys(refused)) {
		if slices.Contains(listed, id) {
			return nil, directoryError{fmt.Errorf("%w (Help Scout's directory still lists mailbox %d)", refused[id], id)}
		}
	}
	kept := slices.DeleteFunc(slices.Clone(mailboxes), func(mb store.Mailbox) bool { return refused[mb.ID] != nil })
	m.warnUnlisted(kept, slices.Sorted(maps.Keys(refused)))
	return kept, nil
}

// noteGone handles the mailboxes of the scope that the directory listed
// before a refresh (before) and no longer lists (now): deleted, or out of
// the API user's sight. The store has forgotten them in the transaction
// that dropped them (store.DB.ReplaceMailboxesLeaving; left counts the
// conversations it removed, by mailbox): their conversations, which Help
// Scout no longer serves to this app, leave the mirror, its queue, the
// balancer and the metrics, and their walks, so each is walked again from
// the beginning if it is listed again, every conversation of it coming
// back then (their tombstones block no copy). Kept, the hourly deletion
// walk would find every one of them missing from the listing and read
// each on its own, a request per conversation while holding the sync,
// or, with no mailbox of QW_MAILBOXES left to list, never look at them.
// One line says it, at INFO with every mailbox mirrored (a mailbox
// deleted is an admin's ordinary work), at WARN for mailboxes
// QW_MAILBOXES names, which now mirror nothing.
func (m *Mirror) noteGone(ctx context.Context, before []store.Mailbox, now []store.Mailbox, left map[int64]int) {
	all, want := m.wantedScope()
	var gone []int64
	for _, mb := range before {
		if (all || slices.Contains(want, mb.ID)) && !slices.ContainsFunc(now, func(n store.Mailbox) bool { return n.ID == mb.ID }) {
			gone = append(gone, mb.ID)
		}
	}
	m.unheld.mailboxesGone(gone, now)
	if len(gone) == 0 {
		return
	}
	slices.Sort(gone)
	n := 0
	for _, id := range gone {
		delete(m.walks, id)
		n += left[id]
		// Walked again from the beginning if listed again: what the poll
		// held back for it would only have it read again what is held.
		if err := m.forgetLeftOut(ctx, []int64{id}); err != nil {
			m.logFailure(slog.LevelWarn, "a mailbox gone: the cursor held back for it stays until the next start removes it", err, "mailbox_id", id)
		}
	}
	level, msg := slog.LevelInfo, "mailboxes no longer listed (deleted, or the API user lost access): no longer polled or walked; "+
		"their conversations leave the mirror, and a mailbox listed again is walked again from the beginning"
	if !all {
		level, msg = slog.LevelWarn, "QW_MAILBOXES names mailboxes Help Scout no longer lists (deleted, or the API user lost access): nothing more is mirrored from them; "+
			"their conversations leave the mirror, and a mailbox listed again is walked again from the beginning"
	}
	m.opts.Logger.Log(ctx, level, msg, "mailbox_ids", gone, "conversations", n)
}
