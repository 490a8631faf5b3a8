package mirror

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/queuewrangler/queuewrangler/helpscout"
	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/metrics"
)

// CursorConversations names the conversation sync cursor in the store.
const CursorConversations = "conversations"

// Options tunes the mirror. Zero values take the defaults in New.
type Options struct {
	// Mailboxes limits the mirror to these mailbox ids; empty = all.
	Mailboxes []int64
	// Overlap is re-read behind the cursor on every poll.
	Overlap time.Duration
	// DirectoryEvery is how often users, teams, mailboxes and statuses are
	// refreshed; they change far less often than conversations.
	DirectoryEvery time.Duration
	// ReconcileEvery is how often the open set is compared with Help Scout
	// to find conversations that vanished.
	ReconcileEvery time.Duration
	// MaxRewalks bounds how often one sync walks again after it saw the
	// listing shift under it.
	MaxRewalks int
	// DrainTimeout bounds Drain at shutdown (default 5 s).
	DrainTimeout time.Duration
	// WalkPagesPerSync bounds how many list pages one sync reads of the
	// walk from the beginning of a mailbox that comes into sight once a
	// sync has completed in this process (a directory refresh listing one
	// that no walk has read): the walk holds the mirror's lock, and a walk
	// of 100,000 conversations would keep every poll and webhook waiting
	// for over an hour while /readyz says ready. The walk stops after that
	// many pages and the poll runs; the next sync resumes it from its
	// cursor. Before the first completed sync, the daemon is not ready
	// anyway and the walk goes to its end. The default, 100 pages (2,500
	// conversations), is about a minute of work at the client's default
	// budget of 200 requests a minute once thread fetches are counted
	// (half a minute for the pages alone): under the default two-minute
	// poll interval, the queue is never more than a poll and a minute old.
	WalkPagesPerSync int

	Logger  *slog.Logger
	Metrics *metrics.Instruments // nil = no instruments
	// OfficeHours, with Metrics' office-hours histograms enabled, has
	// every first response and resolution observed a second time counting
	// only office time (QW_OFFICE_HOURS). nil = live times only.
	OfficeHours OfficeHours
	// Updated, when set, is called from Run after each sync and each pass
	// over the webhook inbox, to tell what reads the store (own mode's
	// routing) that it may hold new conversations. It must not block.
	Updated func()
	Now     func() time.Time
}

// OfficeHours is the part of a span inside office hours
// (roster.OfficeHours, the one place that arithmetic lives).
type OfficeHours interface {
	Elapsed(from, to time.Time) time.Duration
}

// Mirror keeps the store equal to Help Scout.
type Mirror struct {
	hs   *helpscout.Client
	db   *store.DB
	opts Options

	// mu serialises everything that writes the mirror from Help Scout:
	// SyncOnce (with its reconcile), ProcessInbox, Refresh (which only
	// tries it) and Drain.
	mu sync.Mutex
	// directoryDue is when the directory is next refreshed: DirectoryEvery
	// after a success, sooner after a failure, backing off (directoryRetry).
	directoryDue      time.Time
	directoryFailures int
	// statusesStale: the last listing of user statuses failed. Presence
	// decides who is away, so it is retried at every poll rather than at
	// the directory's slow cadence.
	statusesStale bool
	lastReconcile time.Time
	// listedAt is Help Scout's clock (the Date header) when the last
	// complete walk began. Everything modified more than Overlap before it
	// was listed by that walk, so the next poll need not read it again even
	// when the newest change, and so the cursor, is older.
	listedAt time.Time
	// scopeSettled: the mirror holds what QW_MAILBOXES asks for (scope.go),
	// as far as the directory last refreshed lists.
	scopeSettled bool
	// pollWalkPending: some mailbox is recorded as read by the poll's walk
	// from the beginning, not yet as walked (store.DB.FinishPollWalk).
	pollWalkPending bool
	// addedUnwalked: the walk of a mailbox added to QW_MAILBOXES is still
	// unfinished after the latest settleScope, so a completed sync is not
	// yet one of the whole scope (markComplete).
	addedUnwalked bool
	// walks follows, by mailbox, the walk of a mailbox no walk had read,
	// for as long as it lasts in this process: said once in the log
	// (settleScope), not at every sync a paced walk spans, and counted
	// across those syncs (walkMailbox).
	walks map[int64]*progress
	// checkpointFailing: the last checkpoint failed and the log has said
	// so (runCheckpoint).
	checkpointFailing bool
	// syncRateLimited: the last sync failed on Help Scout's rate limit
	// alone and the log has said so (runSync).
	syncRateLimited bool
	// markFailing: the last write of the mark of a completed sync failed
	// and the log has said so (markComplete).
	markFailing bool
	// listedDespite holds the mailboxes whose conversation listing Help
	// Scout refused, each on its own, while a directory refreshed at once
	// still listed them (dropGone; or the stored one, while its refresh
	// fails): until the directory's next refresh (on its cadence, or one
	// dropGone makes for another mailbox), another refusal of theirs is
	// an error without a refresh of its own, and each refresh looks at
	// them again (recheckRefused). Each holds the error that says so,
	// which the poll and the reconcile, leaving the mailbox out
	// (refusedIn), return for it.
	listedDespite map[int64]error
	// leftOut holds, for each mailbox the poll has left out (pollScope),
	// the cursor the poll read from when it first did: the poll that
	// names it again reads it on its own from there (catchUp), or the
	// changes it missed meanwhile, behind the shared cursor, would never
	// be read. Stored too (leftOutCursor), and read at the first poll
	// (leftOutLoaded).
	leftOut       map[int64]time.Time
	leftOutLoaded bool
	// walkBudget is what is left of this sync's Options.WalkPagesPerSync
	// (nil until settleScope first spends it in the sync): one budget per
	// sync, so that settleScope run again by retryWithoutGone, after a
	// refused listing of a mailbox gone, spends what is left of it rather
	// than a fresh one, which read twice the budget in that sync.
	walkBudget *int

	readyMu  sync.Mutex
	ready    bool
	notReady string
	// storeFault: notReady is the database's own failure, so Help Scout is
	// not what stands in the way (ReadyWithCause).
	storeFault bool
	// damaged: storeFault is a damaged database file (store.ErrCorrupt),
	// so the page and the API serve only what can still be read.
	damaged bool
	// asOf is when the latest completed sync of this scope began: this
	// process's, or until it completes one, the earlier process's whose
	// mark Run found (QueueAsOf); zero while neither.
	asOf   time.Time
	synced atomic.Bool // a sync has completed in this process

	wake chan struct{}

	// seam is where live observation began (liveSeam), once read.
	seam store.LiveSeam

	// rereads are the conversations to read again from Help Scout: those
	// whose webhook could not be trusted on its own, and those Refresh
	// could not take at once. ProcessInbox works through them.
	rereads rereadQueue
	// unheld bounds the re-reads of conversations the store does not
	// hold (applyConversationEvent); mu guards it.
	unheld unheldBudget
}

// New returns a mirror writing to db from hs.
func New(hs *helpscout.Client, db *store.DB, opts Options) *Mirror {
	if opts.Overlap <= 0 {
		opts.Overlap = 5 * time.Minute
	}
	if opts.DirectoryEvery <= 0 {
		opts.DirectoryEvery = 15 * time.Minute
	}
	if opts.ReconcileEvery <= 0 {
		opts.ReconcileEvery = time.Hour
	}
	if opts.MaxRewalks <= 0 {
		opts.MaxRewalks = 3
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = defaultDrainTimeout
	}
	if opts.WalkPagesPerSync <= 0 {
		opts.WalkPagesPerSync = defaultWalkPagesPerSync
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Mirror{hs: hs, db: db, opts: opts, notReady: firstSyncPending, wake: make(chan struct{}, 1)}
}

// defaultWalkPagesPerSync is Options.WalkPagesPerSync's default.
const defaultWalkPagesPerSync = 100

// What the readiness reason begins with until a sync of this process
// completes. On a new mirror the first sync is still to finish; after a
// restart on a mirror that synced before (noteInherited), the queue is
// whole as of an earlier process's last sync, and saying the first sync
// has not finished would have an operator take it for half-read.
const (
	firstSyncPending   = "the first sync has not finished"
	noSyncSinceRestart = store.NoSyncSinceRestartReason
)

// pendingReason is firstSyncPending or noSyncSinceRestart, whichever is
// true now; readyMu is held.
func (m *Mirror) pendingReason() string {
	if m.inheritedLocked() {
		return noSyncSinceRestart
	}
	return firstSyncPending
}

// inheritedLocked reports, with readyMu held, whether the queue the mirror
// holds is an earlier process's: no sync has completed in this one, and
// Run found the mark of one before (QueueAsOf's inherited).
func (m *Mirror) inheritedLocked() bool { return !m.asOf.IsZero() && !m.synced.Load() }

// inherited is inheritedLocked for a caller without readyMu.
func (m *Mirror) inherited() bool {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	return m.inheritedLocked()
}

// Stats says what one sync did.
type Stats struct {
	Pages         int // conversation list pages read
	Conversations int // conversations listed
	Applied       int // conversations that changed the store
	ThreadFetches int // conversations whose thread list was fetched
	Rewalks       int
	Users         int
	Teams         int
	Mailboxes     int
	Statuses      int
	Removed       int // vanished conversations removed by reconcile
	// DeletionWalkPages is how many list pages the reconcile's deletion
	// walk read (deletions.go).
	DeletionWalkPages int
	Observed          int // first responses and resolutions observed
}

// Ready reports whether a sync has completed in this process, and why not.
func (m *Mirror) Ready() (bool, string) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	return m.ready, m.notReady
}

// ReadyWithCause is /readyz's answer: Ready's, and while the mirror waits
// on Help Scout, why the latest Help Scout call failed, so that a wrong URL
// or refused credentials are named at once instead of after a minute of
// retries. While the database is what fails, that failure alone is the
// cause: no Help Scout call may have been made since, and the latest one's
// failure can be hours old.
func (m *Mirror) ReadyWithCause(lastFailure func() string) func() (bool, string) {
	return func() (bool, string) {
		m.readyMu.Lock()
		ok, why, storeFault := m.ready, m.notReady, m.storeFault
		m.readyMu.Unlock()
		if ok || storeFault {
			return ok, why
		}
		if cause := lastFailure(); cause != "" {
			why += "; the latest Help Scout call failed: " + cause
		}
		return ok, why
	}
}

func (m *Mirror) setReady(ok bool, reason string) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	m.ready = ok
	m.notReady = reason
	m.storeFault, m.damaged = false, false
}

// setPending is setReady(false, ...) before a sync of this process has
// completed: pendingReason followed by detail.
func (m *Mirror) setPending(detail string) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	m.ready = false
	m.notReady = m.pendingReason() + detail
	m.storeFault, m.damaged = false, false
}

// setStoreFault is setReady(false, reason) for a failure of the database;
// damaged says the file is damaged (store.ErrCorrupt).
func (m *Mirror) setStoreFault(reason string, damaged bool) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	m.ready = false
	m.notReady = reason
	m.storeFault, m.damaged = true, damaged
}

// storeFaulted reports whether notReady is the database's own failure.
func (m *Mirror) storeFaulted() bool {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	return m.storeFault
}

// SyncOnce refreshes the directory when due, pulls every conversation
// modified since the cursor, reconciles the open set when due, and observes
// new first responses and resolutions.
func (m *Mirror) SyncOnce(ctx context.Context) (Stats, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	// What Help Scout held at this instant is in the store once the sync
	// completes: the queue's "as of" (QueueAsOf).
	started := m.opts.Now()
	if m.opts.Metrics != nil {
		m.opts.Metrics.Syncs.Inc()
	}
	st, err := m.syncOnce(ctx)
	if err != nil {
		if m.opts.Metrics != nil {
			m.opts.Metrics.SyncFailures.Inc()
		}
		// /readyz is unauthenticated: the reason names the kind of problem
		// and the log (runSync) holds the detail.
		switch {
		case store.CannotWrite(err):
			// A Help Scout outage is different: the mirror is still a
			// faithful copy of the last sync, and the freshness alert
			// covers it.
			m.setStoreFault(store.ErrCannotWriteReason, false)
		case errors.Is(err, store.ErrCorrupt):
			// No retry repairs it, but the daemon stays up: the page and
			// the API serve what can still be read.
			m.setStoreFault(store.ErrCorruptReason, true)
		case !m.everSynced():
			m.setPending("; its last attempt failed, see the log")
		case ctx.Err() == nil && m.storeFaulted():
			// The store's fault is past news: this sync failed on
			// something else (Help Scout down, say) before it could
			// show whether the store takes writes again, and that
			// failure is the present cause, which ReadyWithCause names.
			m.setReady(false, "the latest sync failed, see the log")
		}
		return st, err
	}
	// Stored before the success is told anywhere, so that whoever sees it
	// (a test, an operator about to restart) finds the mark in the file.
	// Not while an added mailbox is still to be walked: the mark would
	// tell a restart that the whole scope is held. The daemon is ready all
	// the same, as it was before the mark (settleScope says why).
	if !m.addedUnwalked {
		m.markComplete(ctx, started)
	}
	if m.opts.Metrics != nil {
		// The wall clock, not opts.Now: the freshness alert and panel
		// compare this gauge with Prometheus's time(), and in the demo
		// opts.Now is the simulation's clock, months away from it.
		m.opts.Metrics.SyncLastSuccess.Set(float64(time.Now().Unix()))
	}
	m.setSynced(started)
	return st, nil
}

// setSynced records a completed sync that began at started: the daemon is
// ready, and the mirror holds the queue as of then.
func (m *Mirror) setSynced(started time.Time) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	m.ready, m.notReady, m.storeFault, m.damaged = true, "", false, false
	m.asOf = started
	m.synced.Store(true)
}

// everSynced reports whether a sync has ever completed in this process.
func (m *Mirror) everSynced() bool { return m.synced.Load() }

// HoldsQueue reports whether the mirror holds the whole queue, as far as it
// can tell, in the shape of Ready: a sync has completed in this process, or,
// when Run began, the store held the mark of a completed sync of the same
// mailboxes (markComplete). Until then the mirror holds only what a first
// sync has read so far, which counts would show as the whole queue; after a
// restart on a mirror that synced before, a failing first poll (Help Scout
// down, changed credentials, a full disk) must not hide the queue it holds.
// A first sync cut short leaves no mark, and a mailbox added to (or
// removed from) QW_MAILBOXES makes another scope, whose first sync has not
// completed either; a scope that comes back is trusted only if the store
// still holds it (holdsWantedScope).
//
// A damaged database file does not change its answer: the metrics it
// gates are exported for good once it says yes (metrics.CollectorOptions),
// and while reads fail on the damage the scrape says so itself.
func (m *Mirror) HoldsQueue() (bool, string) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	if !m.asOf.IsZero() {
		return true, ""
	}
	return false, firstSyncPending
}

// QueueAsOf says as of when the mirror holds the whole queue (HoldsQueue):
// the instant the latest completed sync of this scope began, all that Help
// Scout held then being in the store; zero while the mirror holds only
// what a first sync has read so far. inherited says no sync has completed
// in this process, so the time is an earlier process's, from the mark Run
// found. While syncs fail the time stays put, so that the page and the
// API can say how old the queue they show is.
//
// It is zero while the database file is damaged, as a sync found it or as
// any reader met it since (store.DB.HeldDamaged): the page and the API
// then serve only what can still be read, not the whole queue.
func (m *Mirror) QueueAsOf() (asOf time.Time, inherited bool) {
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	if m.damaged || m.db.HeldDamaged() {
		return time.Time{}, false
	}
	return m.asOf, m.inheritedLocked()
}

// completeCursor names the mark of a completed sync of the mailboxes
// (every mailbox when none are named): one per scope, so that a changed
// QW_MAILBOXES does not inherit another scope's.
func (m *Mirror) completeCursor() string {
	ids := slices.Sorted(slices.Values(m.opts.Mailboxes))
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return "sync-complete@mailboxes:" + cmp.Or(strings.Join(parts, ","), "all")
}

// noteInherited records, before this process's first sync, whether and
// as of when an earlier process completed a sync of the same scope
// (QueueAsOf), which the store still holds (holdsWantedScope), and says
// so in the readiness reason from then on (pendingReason). A failed read
// says no: this process's first completed sync says yes.
func (m *Mirror) noteInherited(ctx context.Context) {
	mark, err := m.db.Cursor(ctx, m.completeCursor())
	if err != nil || mark.Value.IsZero() {
		return
	}
	if held, err := m.holdsWantedScope(ctx); err != nil || !held {
		return
	}
	m.readyMu.Lock()
	defer m.readyMu.Unlock()
	if m.asOf.IsZero() { // a sync of this process is newer
		m.asOf = mark.Value
		if m.notReady == firstSyncPending { // New's, nothing said since
			m.notReady = m.pendingReason()
		}
	}
}

// markComplete stores, after every completed sync of this scope, when it
// began, for the next process's HoldsQueue and QueueAsOf: a restart while
// Help Scout is down shows the queue as of the last sync, not the first.
// It costs one small write per poll. A failed write leaves the previous
// mark, which makes the queue look older than it is, never newer, or
// none, after which a restart waits for its own first sync, as a new
// mirror does; the next completed sync writes it again.
//
// A run of failures is said once, and its end, as runCheckpoint says its
// own: on a full disk an idle poll writes nothing else, so it completes
// and only the mark fails, at every poll for as long as the disk stays
// full. Nor is it a fault of /readyz's: what the mirror holds is as
// current as the poll that just completed, and only a restart would show
// it older.
func (m *Mirror) markComplete(ctx context.Context, started time.Time) {
	err := m.db.SetCursor(context.WithoutCancel(ctx), m.completeCursor(), started)
	switch {
	case err != nil && !m.markFailing:
		m.logFailure(slog.LevelWarn, "store the mark of a completed sync: a restart before the next one shows the queue as older than it is", err)
	case err == nil && m.markFailing:
		m.opts.Logger.Info("store the mark of a completed sync: done again")
	}
	m.markFailing = err != nil
}

func (m *Mirror) syncOnce(ctx context.Context) (st Stats, err error) {
	if m.opts.Metrics != nil {
		// Before the first walk adds anything: what the mirror holds now is
		// history, for backfill (observe.go, liveSeam).
		if _, err := m.liveSeam(ctx); err != nil {
			return st, err
		}
	}
	m.walkBudget = nil
	now := m.opts.Now()
	if !now.Before(m.directoryDue) {
		switch derr := m.syncDirectory(ctx, &st); {
		case derr == nil:
			m.directoryDue, m.directoryFailures = now.Add(m.opts.DirectoryEvery), 0
			// The directory may list a mailbox it did not (the API user
			// given access to it): settleScope walks it if no walk has.
			m.scopeSettled = false
			if err := m.recheckRefused(ctx, nil); err != nil {
				return st, err
			}
		case m.directoryOptional(ctx, derr):
			// Help Scout refused part of the directory, but the store holds
			// one from before: conversations must not stop for it. Each try
			// costs a listing of every mailbox, user and team, so the next
			// comes later after each failure.
			m.directoryFailures++
			wait := m.directoryRetry()
			m.directoryDue = now.Add(wait)
			say := func() {
				m.opts.Logger.Warn("directory refresh failed; syncing conversations with the stored directory",
					"err", derr, "failures", m.directoryFailures, "retry_in", wait.String())
			}
			if !rateLimited(derr) {
				say()
				break
			}
			// In a storm of 429s the conversations meet the limit too, and
			// the poll's failure says the storm once for all its polls
			// (runSync): a refresh that failed on the limit is part of that
			// line, and said on its own only when the poll gets past the
			// limit or fails for another reason.
			defer func() {
				if err == nil || !rateLimited(err) && ctx.Err() == nil {
					say()
				}
			}()
		default:
			return st, derr
		}
	} else if m.statusesStale {
		if err := m.syncStatuses(ctx, &st); err != nil {
			return st, err
		}
	}
	// A mailbox left out (refusedIn) fails the sync, but only once the
	// others are reconciled and observed: it can last for hours, and the
	// others' hourly reconcile must not wait for it.
	left := m.retryWithoutGone(ctx, &st, m.syncConversations)
	if left != nil && !onlyLeftOut(left) {
		return st, left
	}
	if m.lastReconcile.IsZero() {
		// The first full walk has just seen everything; start the clock.
		m.lastReconcile = now
	} else if now.Sub(m.lastReconcile) >= m.opts.ReconcileEvery {
		var unread unreadConversations
		err := m.retryWithoutGone(ctx, &st, func(ctx context.Context, st *Stats) error {
			return m.reconcile(ctx, st, &unread)
		})
		unread.say(ctx, m.opts.Logger)
		if err != nil && !onlyLeftOut(err) {
			return st, errors.Join(left, err)
		}
		// Both, when both left mailboxes out: the reconcile's may name
		// one refused since the poll (found by its own listing).
		left = errors.Join(left, err)
		m.lastReconcile = now
	}
	n, err := m.observe(ctx)
	st.Observed += n
	return st, errors.Join(left, err)
}

// directoryRetryFirst is the wait before the first retry of a failed
// directory refresh; it doubles with each failure in a row, up to the
// directory's own cadence.
const directoryRetryFirst = time.Minute

func (m *Mirror) directoryRetry() time.Duration {
	wait := directoryRetryFirst
	for i := 1; i < m.directoryFailures && wait < m.opts.DirectoryEvery; i++ {
		wait *= 2
	}
	return min(wait, m.opts.DirectoryEvery)
}

// syncConversations walks the listing from the cursor. Each page is
// committed with the cursor it reached, in one transaction.
//
// Sorting by modifiedAt means a conversation changed during the walk moves
// to the end, and every later item shifts one place earlier: one item can
// slip between two pages unseen. Seeing a conversation twice in one walk is
// the sign of such a shift, and the walk is repeated from the page where the
// moved conversation first appeared.
//
// The walks settleScope makes of mailboxes newly in the scope come first.
// One whose listing Help Scout refuses (refusedListing) fails the sync
// still, so that dropGone asks the directory whether its mailbox is gone,
// but only after the poll of the others: with every mailbox mirrored, the
// poll does not name it, and a refusal that lasts while the directory
// lists the mailbox (the sync then fails on it at every poll) stopped the
// poll of every other mailbox for as long. A walk that waits because its
// mailbox is left out (listedDespite) is a leftOutError, as the poll's
// is, and the two make one: the sync goes on to the reconcile. Any other
// failure of settleScope (the store, a cancelled context) is returned at
// once.
func (m *Mirror) syncConversations(ctx context.Context, st *Stats) error {
	walkErr := m.settleScope(ctx, st)
	var refused *mailboxListingError
	if walkErr != nil && !onlyLeftOut(walkErr) && (!errors.As(walkErr, &refused) || ctx.Err() != nil) {
		return walkErr
	}
	err := m.poll(ctx, st)
	switch {
	case err == nil:
		return walkErr
	case walkErr == nil:
		return err
	case onlyLeftOut(walkErr) && onlyLeftOut(err):
		// Still only left out, so that the sync goes on to the
		// reconcile and the observations.
		return &leftOutError{errors.Join(walkErr.(*leftOutError).err, err.(*leftOutError).err)}
	}
	// The walk's first: dropGone looks into the first refusal.
	return errors.Join(walkErr, err)
}

// poll walks the listing of the mailboxes the directory lists from the
// shared cursor (syncConversations).
func (m *Mirror) poll(ctx context.Context, st *Stats) error {
	cur, err := m.db.Cursor(ctx, CursorConversations)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("read sync cursor: %w", err)
	}
	from := cur.Value
	if !from.IsZero() && m.listedAt.After(from) {
		// An idle account: without this, every poll would re-read the last
		// Overlap of activity before the newest change, however old.
		from = m.listedAt
	}
	// Only the mailboxes the directory lists: a listing that names one it
	// does not is refused whole (gone.go); and not those Help Scout
	// refuses while the directory lists them (pollScope), whose error is
	// the poll's once the others are polled.
	mailboxes, none, err := m.listedScope(ctx)
	if err != nil || none {
		return err
	}
	mailboxes, heldBack, left, err := m.pollScope(ctx, mailboxes, from)
	if err != nil {
		return err
	}
	if len(mailboxes) == 0 && left != nil {
		// Every mailbox left out: without a filter, the listing would
		// read every mailbox of the account.
		return &leftOutError{fmt.Errorf("poll: no mailbox polled; left out until the directory's next refresh: %w", left)}
	}
	if err := m.pollListed(ctx, mailboxes, from, left != nil, st); err != nil {
		return errors.Join(err, left)
	}
	// After the others' poll, so that a failure of one mailbox's catch-up
	// does not keep theirs waiting.
	if err := m.catchUp(ctx, heldBack, st); err != nil {
		return errors.Join(err, left)
	}
	if left != nil {
		return &leftOutError{fmt.Errorf("poll: the other mailboxes polled; left out until the directory's next refresh: %w", left)}
	}
	return nil
}

// pollListed walks the poll's listing of mailboxes from from. partial
// says the poll left a mailbox out: the first walk of the poll, if still
// pending, is not finished by it, since it did not read that mailbox.
func (m *Mirror) pollListed(ctx context.Context, mailboxes []int64, from time.Time, partial bool, st *Stats) error {
	l := listing{mailboxes: mailboxes, cursor: CursorConversations}
	if !m.everSynced() {
		l.progress = newProgress(0, m.opts.Now())
		l.progress.catchUp = m.inherited()
	}
	var listedAt time.Time
	for walk := 0; ; walk++ {
		again, rewalkFrom, started, err := m.walk(ctx, l, from, st)
		if err != nil {
			return err
		}
		if walk == 0 {
			listedAt = started
		}
		if !again {
			m.listedAt = listedAt
			if m.pollWalkPending && !partial {
				// Everything of the mailboxes the first walk reads is
				// stored up to this walk's start: the pages before its
				// cursor by the earlier walks, the rest by this one.
				if err := m.db.FinishPollWalk(ctx); err != nil {
					return err
				}
				m.pollWalkPending = false
			}
			return nil
		}
		if walk >= m.opts.MaxRewalks {
			return nil // still shifting: something may have slipped; keep re-reading
		}
		st.Rewalks++
		from = rewalkFrom
	}
}

// listing is what one walk reads: the mailboxes it lists (nil: all) and
// the cursor its pages are committed with, and for a long walk (the first
// sync, an added mailbox) the progress it reports; nil for a poll.
type listing struct {
	mailboxes []int64
	cursor    string
	progress  *progress
	// budget, when set, is how many more pages this sync may read of
	// the walk (Options.WalkPagesPerSync); walk stops with errWalkPaused
	// once it is spent. nil: to the end.
	budget *int
}

// errWalkPaused: a walk spent its budget of pages for this sync before its
// end. Its pages are committed with its cursor, as a walk that fails
// part-way leaves them, and the next sync resumes from that cursor.
var errWalkPaused = errors.New("walk paused until the next sync")

// walk reads every page of l from cursor from. When the listing shifted
// under it, again is true and rewalkFrom is the cursor to walk again from.
// started is the server's Date on the first page (zero when absent).
func (m *Mirror) walk(ctx context.Context, l listing, from time.Time, st *Stats) (again bool, rewalkFrom, started time.Time, err error) {
	opts := &helpscout.ConversationListOptions{
		Status:    helpscout.StatusAll,
		SortField: "modifiedAt",
		SortOrder: "asc",
		Embed:     "threads",
		Mailbox:   l.mailboxes,
	}
	if !from.IsZero() {
		opts.ModifiedSince = from.Add(-m.opts.Overlap)
	}
	cursor := from
	firstSeenAt := map[int64]time.Time{} // conversation -> cursor before its page
	total := -1                          // the listing's size on the previous page
	var shifts shiftLedger
	l.progress.beginWalk()
	for page := 1; ; page++ {
		if l.budget != nil && *l.budget <= 0 {
			// Checked before a page, not after: a walk whose last page
			// spends the budget ends as a walk, with its hidden-shift
			// check, rather than pause one page short of its end.
			return false, time.Time{}, time.Time{}, errWalkPaused
		}
		opts.Page = page
		convs, resp, err := m.hs.Conversations.List(ctx, opts)
		if err != nil {
			return false, time.Time{}, time.Time{}, refusedListing(l.mailboxes, err) // names the listing and page
		}
		if page == 1 {
			started = serverTime(resp)
		}
		st.Pages++
		if l.budget != nil {
			*l.budget--
		}
		st.Conversations += len(convs)
		updates := make([]store.ConversationUpdate, 0, len(convs))
		pageStart := cursor
		served := serverTime(resp)
		// A listing that shrank since the previous page lost conversations
		// (deleted, merged away, moved out of the mailboxes) among those
		// already read: everything behind them slid that many places
		// earlier, and the first conversations of this page slid onto the
		// previous one, unread. They were modified no earlier than anything
		// read so far, so walking again from this page's cursor finds them.
		// A creation in the same interval keeps the total unchanged and
		// hides the shift; shiftLedger finds it once the walk has seen the
		// creations at its end.
		if n := resp.Page.TotalElements; total >= 0 && n < total && (!again || pageStart.Before(rewalkFrom)) {
			again, rewalkFrom = true, pageStart
		}
		shifts.page(served, pageStart, total, resp.Page.TotalElements)
		total = resp.Page.TotalElements
		for _, c := range convs {
			if seen, ok := firstSeenAt[c.ID]; ok && (!again || seen.Before(rewalkFrom)) {
				again, rewalkFrom = true, seen
			}
			if _, ok := firstSeenAt[c.ID]; !ok {
				shifts.listed(c.CreatedAt.Time)
			}
			firstSeenAt[c.ID] = pageStart
			u, err := m.complete(ctx, c, st)
			if err != nil {
				return false, time.Time{}, time.Time{}, err
			}
			updates = append(updates, u)
			t := modifiedAt(c)
			if !served.IsZero() && t.After(served) {
				// A time ahead of Help Scout's own clock (an imported
				// thread, a skewed integration) is no modification yet:
				// as a cursor it would skip every change until then.
				t = served
			}
			if t.After(cursor) {
				cursor = t
			}
		}
		if len(updates) > 0 {
			// Once the listing has shifted, conversations from rewalkFrom on
			// may have slipped by unread: the stored cursor stays there
			// until a walk reads past them, so that a failed or abandoned
			// rewalk, or a crash, is walked again from it by the next poll
			// instead of skipping them.
			keep := cursor
			if again && rewalkFrom.Before(keep) {
				keep = rewalkFrom
			}
			n, err := m.db.CommitPage(ctx, updates, l.cursor, keep)
			if err != nil {
				return false, time.Time{}, time.Time{}, fmt.Errorf("commit page %d: %w", page, err)
			}
			st.Applied += n
		}
		m.noteProgress(ctx, l, len(convs), resp.Page.TotalElements)
		if len(convs) == 0 || page >= resp.Page.TotalPages {
			if hidden, at := shifts.hiddenShift(); hidden && (!again || at.Before(rewalkFrom)) {
				// The pages are committed with a cursor past the shift: put
				// it back, so that a rewalk that fails or is cut short is
				// walked again from there by the next poll.
				if err := m.db.SetCursor(ctx, l.cursor, at); err != nil {
					return false, time.Time{}, time.Time{}, fmt.Errorf("set the cursor back to a hidden shift: %w", err)
				}
				again, rewalkFrom = true, at
			}
			return again, rewalkFrom, started, nil
		}
	}
}

// shiftLedger finds a shift of the listing that a creation hid. Between two
// pages, the total changes by the creations minus the removals (deletions,
// merges, moves out) in that interval; a removal behind the walk shifts the
// listing, and walk sees it as a smaller total, unless a creation in the
// same interval made up for it. Creations sort last by modifiedAt, so the
// walk sees them only at its end: conversations created after the first
// page was served (Help Scout's Date; a later second) that the walk listed.
// If the totals fell by less than the removals those creations imply, some
// were hidden, in an interval with a creation, no earlier than the first
// page served at or after the first creation: the walk goes again from
// there.
type shiftLedger struct {
	pages                         []ledgerPage
	first                         time.Time // the first page's Date
	created                       int       // conversations listed that were created after it
	earliest                      time.Time // the first of those creations
	firstTotal, lastTotal, shrunk int
}

type ledgerPage struct{ served, start time.Time }

func (l *shiftLedger) page(served, start time.Time, prevTotal, total int) {
	if len(l.pages) == 0 {
		l.first, l.firstTotal = served, total
	} else if prevTotal > total {
		l.shrunk += prevTotal - total
	}
	l.lastTotal = total
	l.pages = append(l.pages, ledgerPage{served, start})
}

// listed notes a conversation seen for the first time in this walk.
func (l *shiftLedger) listed(createdAt time.Time) {
	if l.first.IsZero() || !createdAt.Truncate(time.Second).After(l.first) {
		return // no Date to compare with, or not known to be created after the first page
	}
	l.created++
	if l.earliest.IsZero() || createdAt.Before(l.earliest) {
		l.earliest = createdAt
	}
}

// hiddenShift reports whether removals went unseen, and the cursor to walk
// again from.
func (l *shiftLedger) hiddenShift() (bool, time.Time) {
	removed := l.firstTotal + l.created - l.lastTotal
	if l.created == 0 || removed <= l.shrunk {
		return false, time.Time{}
	}
	for _, p := range l.pages {
		if !p.served.Before(l.earliest.Truncate(time.Second)) {
			return true, p.start
		}
	}
	return true, l.pages[len(l.pages)-1].start
}

// serverTime reads the response's Date header: Help Scout's own clock, the
// one its modification times use, so no local clock skew enters the cursor.
func serverTime(resp *helpscout.Response) time.Time {
	if resp == nil || resp.Response == nil {
		return time.Time{}
	}
	t, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// complete returns the update for c, fetching its thread list when the
// embedded threads fall short of its thread count (Help Scout truncates
// embedded chat threads) and the store does not already hold them all.
func (m *Mirror) complete(ctx context.Context, c helpscout.Conversation, st *Stats) (store.ConversationUpdate, error) {
	if embedded := c.Threads(); embedded != nil && len(embedded) >= c.ThreadCount {
		return toUpdate(c, embedded, true), nil
	}
	stored, threads, err := m.db.Conversation(ctx, c.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return store.ConversationUpdate{}, fmt.Errorf("read conversation %d: %w", c.ID, err)
	}
	return m.completeFrom(ctx, c, stored, threads, err == nil, st)
}

// completeFrom is complete for a caller that has already read the stored
// copy (known says whether there was one).
func (m *Mirror) completeFrom(ctx context.Context, c helpscout.Conversation, stored store.Conversation, threads []store.Thread, known bool, st *Stats) (store.ConversationUpdate, error) {
	embedded := c.Threads()
	switch {
	case embedded != nil && len(embedded) >= c.ThreadCount:
		return toUpdate(c, embedded, true), nil
	case known && len(threads) >= c.ThreadCount && stored.ThreadCount == c.ThreadCount &&
		stored.UserUpdatedAt.Equal(c.UserUpdatedAt.Time) && stored.Status == c.Status:
		u := toUpdate(c, embedded, false)
		if len(embedded) == 0 {
			// A webhook body embeds no threads. Without any, the store would
			// date the update by no thread at all, rank it older than the
			// stored row and drop it, and with it a tag change such as
			// qw-pin. The stored threads are this version's threads.
			u.Threads = threads
		}
		return u, nil
	}
	all, err := m.threads(ctx, c.ID)
	if err != nil {
		return store.ConversationUpdate{}, err
	}
	st.ThreadFetches++
	return toUpdate(c, all, true), nil
}

func (m *Mirror) threads(ctx context.Context, id int64) ([]helpscout.Thread, error) {
	var all []helpscout.Thread
	for t, err := range m.hs.Threads.All(ctx, id) {
		if err != nil {
			return nil, &readError{fmt.Errorf("list threads of conversation %d: %w", id, err)}
		}
		all = append(all, t)
	}
	return all, nil
}

// directoryError is Help Scout failing to list part of the directory, as
// opposed to the store failing to keep it.
type directoryError struct{ err error }

func (e directoryError) Error() string { return e.err.Error() }
func (e directoryError) Unwrap() error { return e.err }

// directoryOptional reports whether a failed directory refresh may be
// skipped: Help Scout refused it (not the store, not a cancelled context)
// and the store already holds users from an earlier refresh. Without any
// users the balancer would take every assignee for a removed user and hand
// their customers on, so the first refresh must succeed.
func (m *Mirror) directoryOptional(ctx context.Context, err error) bool {
	var de directoryError
	if !errors.As(err, &de) || ctx.Err() != nil {
		return false
	}
	users, uerr := m.db.Users(ctx)
	return uerr == nil && len(users) > 0
}

// syncDirectory refreshes mailboxes, users (with the mailboxes each can
// open), teams with their members, and user statuses. Statuses are
// optional (syncStatuses): if Help Scout refuses them, the stored ones stay
// and are retried at every poll; a user without one counts as active, so
// presence then comes from the roster's hours alone.
func (m *Mirror) syncDirectory(ctx context.Context, st *Stats) error {
	var mailboxes []store.Mailbox
	for mb, err := range m.hs.Mailboxes.All(ctx) {
		if err != nil {
			return directoryError{err} // the client's error names the listing and page
		}
		mailboxes = append(mailboxes, toStoreMailbox(mb))
	}
	var users []store.User
	for u, err := range m.hs.Users.All(ctx, nil) {
		if err != nil {
			return directoryError{err}
		}
		users = append(users, toStoreUser(u))
	}
	mailboxes, err := m.setMailboxAccess(ctx, users, mailboxes)
	if err != nil {
		return err
	}
	var teams []store.Team
	for t, err := range m.hs.Teams.All(ctx) {
		if err != nil {
			return directoryError{err}
		}
		var members []int64
		for u, err := range m.hs.Teams.AllMembers(ctx, t.ID) {
			if err != nil {
				return directoryError{err}
			}
			members = append(members, u.ID)
		}
		teams = append(teams, toStoreTeam(t, members))
	}
	before, err := m.db.Mailboxes(ctx)
	if err != nil {
		return err
	}
	if len(mailboxes) == 0 && len(before) > 0 {
		// Dropping every mailbox forgets every conversation, and the next
		// listing that names them walks the whole account again: an empty
		// answer is more likely a fault than an account emptied at once, so
		// the directory stays as it was and the refresh is retried. An
		// account that really took every mailbox from the API user refuses
		// their listings too, and those errors say so.
		return directoryError{fmt.Errorf("no mailbox listed by Help Scout, where it listed %d before: the directory is kept as it was", len(before))}
	}
	if err := m.confirmGone(ctx, before, mailboxes); err != nil {
		return err
	}
	left, err := m.db.ReplaceMailboxesLeaving(ctx, mailboxes, walkCursorPrefix)
	if err != nil {
		return err
	}
	m.noteGone(ctx, before, mailboxes, left)
	if err := m.db.ReplaceUsers(ctx, users); err != nil {
		return err
	}
	if err := m.db.ReplaceTeams(ctx, teams); err != nil {
		return err
	}
	st.Mailboxes, st.Users, st.Teams = len(mailboxes), len(users), len(teams)
	return m.syncStatuses(ctx, st)
}

// confirmGone asks Help Scout for each mailbox of before (the stored
// directory) that mailboxes (the listing just read) leaves out, since
// dropping one forgets its conversations: the listing comes in pages read
// by number, so a mailbox deleted while it is read shifts the next page's
// first one onto a page already read, and a page answered empty ends it
// early. A mailbox Help Scout then refuses (404, or 403: taken from the
// API user) is gone; one it still serves means the listing was incomplete,
// and the refresh fails, the directory kept as it was, to be tried again.
func (m *Mirror) confirmGone(ctx context.Context, before, mailboxes []store.Mailbox) error {
	for _, mb := range before {
		if lists(mailboxes, mb.ID) {
			continue
		}
		_, _, err := m.hs.Mailboxes.Get(ctx, mb.ID)
		switch {
		case errors.Is(err, helpscout.ErrNotFound), errors.Is(err, helpscout.ErrForbidden):
			continue
		case err != nil:
			return directoryError{err}
		}
		return directoryError{fmt.Errorf("mailbox %d is missing from the listing of mailboxes, but Help Scout still serves it: "+
			"the listing was incomplete, and the directory is kept as it was", mb.ID)}
	}
	return nil
}

// syncStatuses refreshes the users' Away/Active statuses. A listing Help
// Scout refuses (a permission, a 429, an outage) is not an error: the
// stored statuses stay, and the next poll tries again (statusesStale). Only
// a cancelled context or the store failing is.
func (m *Mirror) syncStatuses(ctx context.Context, st *Stats) error {
	var statuses []store.UserStatus
	for s, err := range m.hs.Users.AllStatuses(ctx) {
		if err != nil {
			if ctx.Err() != nil {
				return err
			}
			if !m.statusesStale {
				m.opts.Logger.Warn("user statuses unavailable; keeping the stored ones and retrying at every poll", "err", err)
			}
			m.statusesStale = true
			return nil
		}
		statuses = append(statuses, toStoreStatus(s))
	}
	if err := m.db.ReplaceUserStatuses(ctx, statuses); err != nil {
		return err
	}
	if m.statusesStale {
		m.opts.Logger.Info("user statuses available again", "statuses", len(statuses))
	}
	m.statusesStale = false
	st.Statuses = len(statuses)
	return nil
}

// setMailboxAccess records which of the mirrored mailboxes each user can
// open (store.User.Mailboxes), so that the balancer never hands a ticket to
// someone who cannot open it, and flags the users who can open none of
// them (OutOfScope): in an account with a sales inbox and a support inbox,
// the sales team must not be counted in support's fair split. It costs one
// user listing per mirrored mailbox, on the directory's slow cadence, and
// nothing when the account has a single mailbox. If Help Scout lists nobody
// for them, which no real mailbox allows, the filter is taken as
// unsupported and everyone keeps access to everything: wrongly counting a
// colleague is a lesser harm than excluding the whole team.
//
// It returns the mailboxes the directory is to list: mailboxes less those
// gone since they were listed (usersRefused), as if they had not been.
func (m *Mirror) setMailboxAccess(ctx context.Context, users []store.User, mailboxes []store.Mailbox) ([]store.Mailbox, error) {
	m.warnUnlisted(mailboxes, m.opts.Mailboxes)
	scope := m.accessScope(mailboxes)
	if scope == nil {
		return mailboxes, nil
	}
	access := map[int64][]int64{}
	refused := map[int64]error{}
	for _, mb := range scope {
		var can []int64
		var err error
		for u, lerr := range m.hs.Users.All(ctx, &helpscout.UserListOptions{Mailbox: mb}) {
			if lerr != nil {
				err = fmt.Errorf("list users of mailbox %d: %w", mb, lerr)
				break
			}
			if !u.IsTeam() && !slices.Contains(can, u.ID) {
				can = append(can, u.ID)
			}
		}
		switch {
		case err == nil:
		case usersRefused(err):
			refused[mb] = err
			continue
		default:
			return nil, directoryError{err}
		}
		for _, id := range can {
			access[id] = append(access[id], mb)
		}
	}
	if len(refused) > 0 {
		var err error
		if mailboxes, err = m.dropRefused(ctx, mailboxes, refused); err != nil {
			return nil, err
		}
		// As if never listed: the scope is what it would have been, and
		// with no mailbox of it left, or a single one of every mailbox,
		// nobody's access is restricted.
		if scope = m.accessScope(mailboxes); scope == nil {
			return mailboxes, nil
		}
	}
	if len(access) == 0 {
		m.opts.Logger.Warn("Help Scout listed no user for the mirrored mailboxes; every user counts for every mailbox", "mailboxes", scope)
		return mailboxes, nil
	}
	for i := range users {
		u := &users[i]
		if u.Type == store.UserTypeTeam {
			continue
		}
		can := access[u.ID]
		u.OutOfScope = len(can) == 0
		if len(can) < len(scope) {
			u.Mailboxes = slices.Sorted(slices.Values(can))
			if u.Mailboxes == nil {
				u.Mailboxes = []int64{}
			}
		}
	}
	return mailboxes, nil
}

// warnUnlisted warns of each mailbox of ids, of QW_MAILBOXES, that
// mailboxes, the directory, does not list.
func (m *Mirror) warnUnlisted(mailboxes []store.Mailbox, ids []int64) {
	for _, id := range ids {
		if slices.Contains(m.opts.Mailboxes, id) && !lists(mailboxes, id) {
			m.opts.Logger.Warn("QW_MAILBOXES names a mailbox this account does not have (or the API user cannot see); nothing is mirrored from it", "mailbox_id", id)
		}
	}
}

// accessScope is the mirrored mailboxes whose users setMailboxAccess asks
// for, of the mailboxes listed; nil when none is to be asked: with every
// mailbox mirrored and fewer than two, everyone can open them all.
func (m *Mirror) accessScope(mailboxes []store.Mailbox) []int64 {
	var scope []int64
	if len(m.opts.Mailboxes) == 0 {
		if len(mailboxes) < 2 {
			return nil
		}
		for _, mb := range mailboxes {
			scope = append(scope, mb.ID)
		}
		return scope
	}
	// A QW_MAILBOXES id the account does not have mirrors nothing;
	// asking Help Scout for its users could only fail the whole
	// directory sync, and with it every refresh of users and statuses.
	for _, id := range m.opts.Mailboxes {
		if lists(mailboxes, id) {
			scope = append(scope, id)
		}
	}
	return scope
}

// Run syncs now and then every interval, and processes the webhook inbox
// after each sync and whenever Wake is called, until ctx ends. Errors are
// logged and retried at the next tick: a sync failure must not stop the
// daemon. The first inbox pass follows the first sync, so that events
// stored but not applied when the previous process stopped wait for no
// tick; it follows the sync for the reason every pass does (a re-read
// set aside on a damaged file is made in the poll that finds the repair).
//
// The upkeep comes due on the mirror's clock (Options.Now), checked at
// every poll, as the directory and the reconcile do: a ticker of its own
// would run on the wall clock, and under a simulated one (the demo, the
// soaks) it would never come round while simulated days pass.
func (m *Mirror) Run(ctx context.Context, every time.Duration) error {
	tick := time.NewTicker(every)
	defer tick.Stop()
	m.noteInherited(ctx)
	m.runSync(ctx)
	m.runInbox(ctx)
	upkeepDue := m.opts.Now().Add(upkeepEvery)
	if m.everSynced() {
		m.runUpkeep(ctx) // fresh statistics for a mirror that just grew
	}
	m.runCheckpoint(ctx)
	m.updated()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			m.runSync(ctx)
			m.runInbox(ctx)
			m.runCheckpoint(ctx)
			if now := m.opts.Now(); !now.Before(upkeepDue) {
				upkeepDue = now.Add(upkeepEvery)
				m.runUpkeep(ctx)
			}
			m.updated()
		case <-m.wake:
			m.runInbox(ctx)
			m.updated()
		}
	}
}

func (m *Mirror) updated() {
	if m.opts.Updated != nil {
		m.opts.Updated()
	}
}

// Upkeep cadence and retention: processed webhooks are only an audit trail
// once applied, and every one keeps its raw body; so does an event that
// used up its attempts, which the poll has healed long before.
const (
	upkeepEvery      = 6 * time.Hour
	webhookRetention = 7 * 24 * time.Hour
)

// runUpkeep keeps the database small and its query plans fresh. A stop
// skips it, or ends it without a warning: both steps only tidy, and the
// next start's upkeep does them. Each run says what it did in one line:
// at INFO when it removed webhooks, else at DEBUG, since a run that
// removes nothing is the usual one, and under the demo's clock it comes
// every few real minutes. A failed step says so at WARN besides.
func (m *Mirror) runUpkeep(ctx context.Context) {
	if ctx.Err() != nil {
		return
	}
	start := time.Now()
	// The store stamps processed_at with its clock, which Now follows (a
	// demo's simulated one), so the retention is measured on that clock.
	n, gaveUp, err := m.db.PruneWebhooks(ctx, m.opts.Now().Add(-webhookRetention), maxWebhookAttempts)
	switch {
	case ctx.Err() != nil:
		return
	case err != nil:
		m.logFailure(slog.LevelWarn, "prune processed webhooks", err)
	}
	optimized := true
	if err := m.db.Optimize(ctx); err != nil {
		if ctx.Err() != nil {
			return
		}
		optimized = false
		m.logFailure(slog.LevelWarn, "optimize database", err)
	}
	level := slog.LevelDebug
	if n > 0 {
		level = slog.LevelInfo
	}
	m.opts.Logger.Log(ctx, level, "upkeep done", "took", time.Since(start).Round(time.Millisecond).String(),
		"pruned_webhooks", n, "gave_up", gaveUp, "optimized", optimized)
}

// logFailure logs what failed at level, except a damaged database file:
// the first of the loops and requests to meet it says it, at ERROR with
// the remedy, and the rest stay quiet until it is usable again
// (store.DB.SayFailure), however many passes fail on it meanwhile.
func (m *Mirror) logFailure(level slog.Level, msg string, err error, attrs ...any) {
	store.LogFailure(m.db, m.opts.Logger, level, msg, err, attrs...)
}

// runCheckpoint empties the -wal file after a poll's writes
// (store.Checkpoint): SQLite's own checkpoints never do while the page,
// the API and the scrape keep some read open, and the file then grew by
// every poll's writes, without end. A failure is said once for a run of
// them (a damaged file as logFailure says it), and every one counted in
// queuewrangler_checkpoint_failures_total; the next poll tries again.
func (m *Mirror) runCheckpoint(ctx context.Context) {
	err := m.db.Checkpoint(ctx)
	if ctx.Err() != nil {
		return
	}
	if err != nil && m.opts.Metrics != nil {
		// Every failure, not only the run's first: the -wal file grows
		// while they last, and an alert needs to see them go on.
		m.opts.Metrics.CheckpointFailures.Inc()
	}
	switch {
	case err != nil && !m.checkpointFailing:
		m.logFailure(slog.LevelWarn, "checkpoint the database: the -wal file keeps this poll's writes until the next one", err)
	case err == nil && m.checkpointFailing:
		m.opts.Logger.Info("checkpoint the database: done again")
	}
	m.checkpointFailing = err != nil
}

func (m *Mirror) runSync(ctx context.Context) {
	start := time.Now()
	st, err := m.SyncOnce(ctx)
	limited := rateLimited(err)
	switch {
	case err != nil && ctx.Err() != nil:
		return
	case limited && !m.syncRateLimited:
		// A storm of 429s is pacing, not a fault: the client says the
		// limit is reached once per storm, and each poll of it gives up
		// after its retries. That the mirror falls behind is said once,
		// at WARN, for the whole run of such polls; ERROR stays for real
		// failures.
		m.opts.Logger.Warn("sync failed: every retry met the rate limit; the mirror catches up once a poll gets through",
			"err", err, "pages", st.Pages, "applied", st.Applied)
	case err != nil && !limited:
		m.logFailure(slog.LevelError, "sync failed", err, "pages", st.Pages, "applied", st.Applied)
	}
	m.syncRateLimited = limited
	if err != nil {
		return
	}
	if m.db.DamageCleared(ctx) {
		m.opts.Logger.Info("the database file is usable again: it passes SQLite's integrity check")
	}
	m.opts.Logger.Info("sync done", "took", time.Since(start).Round(time.Millisecond).String(), "pages", st.Pages,
		"conversations", st.Conversations, "applied", st.Applied, "thread_fetches", st.ThreadFetches,
		"removed", st.Removed, "observed", st.Observed)
}

// rateLimited reports whether err is Help Scout's rate limit: every retry
// of a call met a 429.
func rateLimited(err error) bool {
	var rl *helpscout.RateLimitError
	return errors.As(err, &rl)
}

func (m *Mirror) runInbox(ctx context.Context) {
	if n, err := m.ProcessInbox(ctx); err != nil && ctx.Err() == nil {
		m.logFailure(slog.LevelError, "process webhooks", err, "processed", n)
	}
}

// Wake asks Run to process the inbox now. It never blocks.
func (m *Mirror) Wake() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}
