// Package mirror keeps the SQLite mirror equal to Help Scout.
//
// Polling is the source of truth: SyncOnce walks conversations sorted by
// modification time from a stored cursor (minus an overlap, because Help
// Scout does not say whether modifiedSince is inclusive), commits each page
// together with the cursor it reached, and so resumes after a crash from
// where it stopped rather than from zero. After a quiet spell the next poll
// starts an overlap before the server time (Date) at which the last complete
// walk began instead, so that an idle poll costs one request rather than a
// re-read of the last activity. The listing can shift under a walk: a
// conversation changed behind the walk moves to the end (seen twice), and
// one deleted or merged behind it makes the listing's total shrink; either
// way the rest slide earlier and some would slip between pages unread, so
// the walk is repeated from where the shift began (Options.MaxRewalks
// times at most). A creation in the same interval keeps the total
// unchanged; the walk counts the conversations created after its first
// page (they are listed at its end) and goes again from where the first of
// them could have hidden a removal. Webhooks are low-latency hints: the HTTP
// edge stores them raw, and ProcessInbox applies them under the store's
// never-regress rule, so duplicates and reordering are harmless. Help Scout
// signs without a timestamp, so any old body can be replayed: an event
// older than the stored conversation is dropped without asking Help Scout,
// and one that cannot be trusted on its own (the stored version with
// another tag set, a mailbox outside the mirror, the sources of a merge,
// a body without a mailbox, dated more than a few minutes ahead of the
// mirror's clock or, with every mailbox mirrored, naming one the directory
// does not list, and every convo.deleted, which only Help Scout's 404
// confirms) only queues its conversation for a re-read, at most once per
// conversation, worked through after the inbox so that fresh events never
// wait behind re-reads. A row written from a webhook body is marked as a
// hint: Help Scout's own answer read by id (a re-read, the reconcile)
// replaces it whatever the two versions, and a poll's listing at its
// version or a later one (store, "Never regress"); the reconcile asks for
// each row still marked, which the poll did not list or listed only at an
// older version. Run makes an inbox pass after every sync, the first
// one included, so events stored but not applied when the previous process
// stopped wait for no tick. At shutdown, once nothing moves tickets any more,
// Drain works through what is still queued (a move the balancer made while
// a sync held the lock is only queued by Refresh), within a bound.
// The store records which mailboxes the mirror was built for
// (QW_MAILBOXES): before it walks from the shared cursor, a sync walks a
// mailbox added since from the beginning (its own cursor, so that a failure
// resumes it), and deletes the conversations of one removed (and any
// held in a mailbox QW_MAILBOXES does not name, however they came there),
// leaving tombstones that keep their observation marks and block nothing
// (scope.go). A replaced mailbox (QW_MAILBOXES from b to a) leaves a
// recorded scope holding no mailbox until a's walk finishes, so a walk
// cut short is resumed at the next start, never taken as done; a mailbox
// removed before its walk finished leaves with its walk's cursor. The
// store also records, per mailbox, that a walk from the beginning read it
// (the poll's first walk, or its own): a mailbox the directory comes to
// list that none read (with every mailbox mirrored, one the API user is
// given access to after the first walk) is walked as an added one is,
// after the directory refresh that lists it, and narrowing from every
// mailbox records as whole only the mailboxes walked. Once a sync has
// completed in this process, such a walk reads at most
// Options.WalkPagesPerSync pages per sync and yields to the poll, resuming
// from its cursor at the next sync: it holds the lock the poll and the
// webhooks wait on, and the daemon is serving by then. The first sync and
// the walk of an added mailbox log how far
// they have got every 30 s, counting what an earlier attempt stored, and
// the first sync's not-ready reason says it at every page (progress.go).
// After a restart on a mirror whose store holds the mark of a completed
// sync of the same mailboxes, the queue is whole as of that sync
// (QueueAsOf), and until this process completes one the not-ready reason
// says no sync has completed since the restart, not that the first sync
// has not finished; a long first poll then counts what it has read of
// what changed since.
// A periodic reconcile (Options.ReconcileEvery) removes conversations that
// vanished (deleted, merged, moved away) without a webhook, whatever their
// status: it compares the open set, then bisects Help Scout's listing by
// creation time against the store's counts (deletions.go), which costs one
// list page when nothing vanished. Every 6 hours of the mirror's clock
// (Options.Now, checked at each poll, so that the demo's simulated days
// bring it round too) an upkeep removes the webhook events processed more
// than 7 days before and refreshes SQLite's statistics, and says in one
// line what it removed and how long it took.
//
// The mirror also turns newly seen first replies and resolutions into
// histogram observations, once per conversation, recorded in SQLite before
// they are observed so a restart never counts one twice. With office
// hours, the same mark also observes their office-hours twins. Each mark
// says whether it was an observation, and the daemon's first sync records
// when live observation began and what the mirror already held
// (store.LiveSeam): that history is never observed live, so that
// `backfill` can write it whether it runs before the daemon or after.
//
// It does not decide anything about balancing and never writes to Help
// Scout.
package mirror
