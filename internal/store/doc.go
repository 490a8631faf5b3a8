// Package store is queuewrangler's SQLite database: the mirror of Help Scout
// (mailboxes, users, teams, statuses, conversations and their threads), the
// sync cursors, the durable webhook inbox and the balancer's audit log of
// proposals. The mirror, the rebalancer, the team's read model and the HTTP
// edge all read and write through it.
//
// # What it must not do
//
// It imports nothing else from the module, makes no network calls, never
// logs and starts no goroutines. It knows Help Scout's vocabulary (statuses,
// thread types) only as stored strings; converting the API's wire types into
// these rows is the job of the orchestration packages (their convert.go).
//
// # Connections
//
// Open sets busy_timeout first in the DSN, then WAL, foreign keys and
// synchronous=NORMAL, and refuses to continue if WAL did not take. There is
// one writer connection (every write transaction starts with BEGIN IMMEDIATE,
// so two writers never deadlock upgrading a read lock) beside a pool of
// read-only connections (mode=ro, query_only) for the read models. Readers
// never block the writer and see only committed data. Checkpoint holds
// them back for the moment it takes to empty the log. Open refuses a file it
// cannot write (ErrReadOnly) rather than failing at the first write.
//
// synchronous=NORMAL in WAL mode means a committed transaction survives a
// crash of the process but may be lost with the last few others on a power
// failure or kernel crash. That is accepted: polling is the source of truth,
// and the next poll restores anything a lost webhook or page carried.
//
// # Whose file it is
//
// Every queuewrangler database carries PRAGMA application_id ApplicationID
// ("QWDB"). Open reads the file first over a connection that sets nothing
// and writes nothing, and refuses another program's file
// (ErrForeignDatabase: another application_id, tables that no migration of
// ours made, or not SQLite at all) or a newer schema (ErrSchemaTooNew)
// before any journal mode switch or migration. A file written before the id
// existed is recognised by its schema_version history of our migrations
// and stamped. OpenReadOnly opens a file at this binary's schema for
// reading only, beside a daemon (plan). Inspect runs that first read
// alone, creating and changing nothing, and fails with Open's very error,
// so that a check before a start (`queuewrangler check`) says what the
// start would.
//
// The processes that write (serve, sync) first take Lock: an flock on
// <db>.lock, which the kernel releases when the process ends, holding the
// holder's pid, host, command and start time for the one refused.
//
// # API shape
//
// Every exported method owns its transaction: it commits everything or
// nothing. Lowercase helpers take a *sql.Tx so that CommitPage can store a
// page of conversations and the sync cursor in one transaction: a cursor is
// never stored without its page.
//
// # Who calls what
//
//   - mirror: CommitPage (a page and its cursor), ApplyConversation,
//     DeleteConversation, ForgetConversation (a 403 in a mailbox no
//     longer listed), Conversation and ConversationsHolding (webhook
//     events), ConversationIDs, CountCreatedBefore and CreatedBetween
//     (reconcile), Cursor and SetCursor, MirrorScope, SetMirrorScope,
//     AddToMirrorScope, NarrowMirrorScope and HeldMailboxes (which
//     mailboxes the mirror was built for; a recorded scope may hold none
//     mid-switch), Mailboxes, Users and the Replace* directory
//     calls (ReplaceMailboxesLeaving, which forgets the mailboxes no
//     longer listed with their conversations), PendingWebhooksAfter, MarkWebhookDone/Failed and
//     PruneWebhooks, Optimize (after the first sync, then every few
//     hours), Checkpoint (after every poll: the -wal file's size), and
//     the once-only histogram bookkeeping
//     (UnobservedFirstResponses, UnobservedResolutions,
//     MarkFirstResponseObserved, MarkResolutionObserved, which record
//     whether the mark was an observation, and BeginLiveObservation, the
//     seam where live observation began).
//   - backfill: History, the answers the live histograms did not observe.
//   - httpapi, through the interfaces it declares (main hands it the DB):
//     AddWebhook (which recognises replays) and RejectWebhook (which keeps
//     a bounded sample) as its Inbox, OpenConversations, ListProposals,
//     CustomerNames, FirstResponseTimes.
//   - team (the balancer's input, the page's and the API's agents, the
//     metrics collector's state): Snapshot; per scrape MailboxStats,
//     AgentLoads, OpenConversations, Users, UserStatuses, WaitingBefore.
//   - rebalance: InsertProposals, ListProposals, ApproveProposal,
//     RejectProposal, ClaimProposal, UnclaimProposal,
//     MarkProposalApplied/Stale/Failed, MarkProposalAppliedWithoutNote,
//     NotesDue, MarkNote, NoteFailed (the moves' notes),
//     ExpirePendingProposals, Users (names in notes).
//   - main: OpenPatiently (serve: the lock, then retries while the disk
//     refuses), OpenExclusive (sync), OpenReadOnly (plan,
//     backfill), Close.
//
// Nothing outside the package calls the other exported methods
// (ApplyConversations, AssignmentsSince, InsertWebhook, LastMoveAt,
// PendingWebhooks, Ping, WebhookRejections, and the readers
// Teams, Proposal, Webhook and SchemaVersion): tests do.
//
// # Conventions
//
//   - Times are stored in UTC as INTEGER milliseconds since the Unix epoch and
//     come back as UTC time.Time values truncated to the millisecond. The zero
//     time.Time is stored as NULL and NULL reads back as the zero time.
//   - Help Scout ids are int64. Zero means "none" and is stored as NULL where
//     a column is optional (an unassigned conversation has AssigneeID 0).
//   - DB.Now is the clock for every time the store stamps itself (synced_at,
//     received_at, decided_at, ...); tests replace it.
//
// # Never regress
//
// A conversation's version is (UserUpdatedAt, latest thread time, ThreadCount),
// compared in that order. An update older than the stored version leaves the
// row untouched; an equal one changes nothing except to add threads the store
// did not have yet, to take a different tag set (tag edits do not create
// threads, and a lost qw-pin would let the balancer move a pinned ticket),
// and to take a workflow mark a stored thread lacks (stored before
// migration 0018 read it); only a newer one replaces the row. A deleted conversation leaves a
// tombstone with its last version, so a late, older update cannot bring it
// back. This makes applying the same update twice, or updates out of order,
// safe.
//
// One exception: a row written from a webhook body (Conversation.FromWebhook)
// is replaced by Help Scout's own answer read by id
// (ConversationUpdate.ReadByID) whatever the two versions, and by a
// listing page at the same version (which clears the mark); an older page
// keeps the version order, since it may predate the change the webhook
// told of. A webhook is a hint, signed but not Help Scout's word:
// a quirk or a forged body dated ahead would otherwise outrank every later
// poll until the conversation changed again in Help Scout. Between two
// hints, and between two answers, the version order holds.
//
// # Derived facts
//
// When a conversation is written, facts the balancer and the metrics need are
// derived from its stored threads and kept on the row: who wrote the last
// customer-visible message, the last customer message, the last agent
// activity (reply or note), the first published agent reply by email (and
// who sent it; what the metrics count), the first published answer on any
// channel (what the balancer counts), the resolution (first close at or
// after the email reply), the previous assignee, when the current assignee
// got the ticket, and when they got it from another person (a reassignment,
// which the read of open conversations tells apart as queuewrangler's own
// move, applied or failed but made, or a person's by hand; an automatic
// Help Scout workflow's move is none). Read models therefore never aggregate threads, and stay index
// backed at 100,000 conversations. The file records which revision of these
// rules its rows follow; when a binary with newer rules opens it, every row
// is derived again, 500 at a time (rederiveFacts), so a corrected rule
// also reaches conversations that will never change again.
//
// # Errors
//
// Driver errors are classified by SQLite result code into the sentinels
// ErrBusy, ErrConflict (constraint), ErrReadOnly and ErrFull; a missing row
// is ErrNotFound, a transition that is no longer allowed is ErrConflict, and
// a database written by a newer binary is ErrSchemaTooNew, another
// program's file ErrForeignDatabase, and a database held by another
// process ErrLocked (a *LockedError naming the holder). A damaged file
// (SQLITE_CORRUPT, SQLITE_NOTADB) is ErrCorrupt wherever it is met; a file
// whose tables are not what its version says (a plain SQL error while
// opening, or a schema_version naming a migration this build does not
// have: a different build of queuewrangler) is ErrSchemaMismatch. Open's
// callers treat those, like the three before, as permanent: no wait fixes
// them (OpenPatiently, Advise). Match them with errors.Is; the driver
// error stays reachable with errors.As. A file found damaged while in use
// is remembered until it passes SQLite's integrity check (DamageCleared,
// at most once per 10 minutes: the check reads the whole file), so that
// its users say it once between them (SayFailure).
package store
