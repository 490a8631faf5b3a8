-- 0001: the initial schema.
--
-- Conventions (doc.go): times are INTEGER milliseconds since the Unix epoch,
-- UTC, NULL for "no time"; Help Scout ids are INTEGER, NULL where Help Scout
-- has none (an unassigned conversation has a NULL assignee_id, closedBy 0 is
-- NULL). Values that come from Help Scout carry no CHECK constraints, so a new
-- enum value on their side never stops a sync; values the daemon owns
-- (proposal and inbox states) do.

CREATE TABLE mailboxes (
    id    INTEGER PRIMARY KEY,
    name  TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL DEFAULT '',
    slug  TEXT NOT NULL DEFAULT ''
) STRICT;

-- Help Scout lists teams among users; type tells them apart.
CREATE TABLE users (
    id         INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL DEFAULT '',
    last_name  TEXT NOT NULL DEFAULT '',
    email      TEXT NOT NULL DEFAULT '',
    role       TEXT NOT NULL DEFAULT '',
    timezone   TEXT NOT NULL DEFAULT '',
    type       TEXT NOT NULL DEFAULT 'user',
    updated_at INTEGER
) STRICT;

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL DEFAULT '',
    timezone   TEXT NOT NULL DEFAULT '',
    updated_at INTEGER
) STRICT;

-- user_id has no foreign key: members and users refresh independently and
-- either may arrive first.
CREATE TABLE team_members (
    team_id INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE user_statuses (
    user_id    INTEGER PRIMARY KEY,
    status     TEXT NOT NULL DEFAULT '',
    updated_at INTEGER,
    source     TEXT NOT NULL DEFAULT ''
) STRICT;

CREATE TABLE conversations (
    id                         INTEGER PRIMARY KEY,
    number                     INTEGER NOT NULL DEFAULT 0,
    mailbox_id                 INTEGER NOT NULL DEFAULT 0,
    status                     TEXT NOT NULL DEFAULT '',
    state                      TEXT NOT NULL DEFAULT '',
    type                       TEXT NOT NULL DEFAULT '',
    subject                    TEXT NOT NULL DEFAULT '',
    assignee_id                INTEGER,
    created_by_type            TEXT NOT NULL DEFAULT '',
    created_by_id              INTEGER,
    customer_id                INTEGER,
    customer_first             TEXT NOT NULL DEFAULT '',
    customer_last              TEXT NOT NULL DEFAULT '',
    customer_email             TEXT NOT NULL DEFAULT '',
    created_at                 INTEGER,
    closed_at                  INTEGER,
    closed_by                  INTEGER,
    customer_waiting_since     INTEGER,
    user_updated_at            INTEGER,
    thread_count               INTEGER NOT NULL DEFAULT 0,
    latest_reply_from          TEXT NOT NULL DEFAULT '',
    -- Derived from the stored threads on every write (conversations.go,
    -- deriveFacts), so that read models never aggregate threads.
    latest_thread_at           INTEGER,
    last_message_by            TEXT NOT NULL DEFAULT '',
    last_customer_at           INTEGER,
    last_agent_activity_at     INTEGER,
    first_reply_at             INTEGER,
    first_reply_by             INTEGER,
    resolved_at                INTEGER,
    previous_assignee_id       INTEGER,
    synced_at                  INTEGER NOT NULL,
    -- Metric bookkeeping: set once, never cleared by a sync.
    first_response_observed_at INTEGER,
    resolution_observed_at     INTEGER
) STRICT;

-- helpscout_conversations{mailbox_id,status}: a covering scan.
CREATE INDEX conversations_mailbox_status ON conversations (mailbox_id, status);

-- Open work: per-agent counts (covering), and the balancer snapshot in id
-- order without visiting closed tickets.
CREATE INDEX conversations_open ON conversations (assignee_id, status, last_message_by)
    WHERE status IN ('active', 'pending');

CREATE INDEX conversations_open_id ON conversations (id)
    WHERE status IN ('active', 'pending');

-- Customers waiting on an active ticket: the oldest wait and the stuck count
-- per mailbox (covering scans)...
CREATE INDEX conversations_waiting ON conversations (mailbox_id, customer_waiting_since, assignee_id)
    WHERE status = 'active' AND last_message_by = 'customer';

-- ...and stuck tickets (waiting since before a cutoff), oldest first.
CREATE INDEX conversations_waiting_since ON conversations (customer_waiting_since, assignee_id, mailbox_id)
    WHERE status = 'active' AND last_message_by = 'customer';

CREATE INDEX conversations_unassigned ON conversations (mailbox_id)
    WHERE status = 'active' AND assignee_id IS NULL;

-- Work queues for the once-only histogram observations.
CREATE INDEX conversations_first_response_pending ON conversations (id)
    WHERE first_response_observed_at IS NULL AND first_reply_at IS NOT NULL;

CREATE INDEX conversations_resolution_pending ON conversations (id)
    WHERE resolution_observed_at IS NULL AND resolved_at IS NOT NULL;

CREATE TABLE conversation_tags (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    tag             TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (conversation_id, tag)
) STRICT, WITHOUT ROWID;

CREATE INDEX conversation_tags_tag ON conversation_tags (tag, conversation_id);

CREATE TABLE threads (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    type            TEXT NOT NULL DEFAULT '',
    state           TEXT NOT NULL DEFAULT '',
    status          TEXT NOT NULL DEFAULT '',
    created_by_type TEXT NOT NULL DEFAULT '',
    created_by_id   INTEGER,
    assigned_to_id  INTEGER,
    created_at      INTEGER
) STRICT;

CREATE INDEX threads_conversation ON threads (conversation_id, created_at);

-- Tombstones: the version a conversation had when it was deleted, so that a
-- late, older update cannot bring it back, and its observation marks, so that
-- a restored conversation is not observed a second time.
CREATE TABLE deleted_conversations (
    id                         INTEGER PRIMARY KEY,
    user_updated_at            INTEGER NOT NULL DEFAULT 0,
    latest_thread_at           INTEGER NOT NULL DEFAULT 0,
    thread_count               INTEGER NOT NULL DEFAULT 0,
    first_response_observed_at INTEGER,
    resolution_observed_at     INTEGER,
    deleted_at                 INTEGER NOT NULL
) STRICT;

CREATE TABLE sync_cursors (
    name       TEXT PRIMARY KEY,
    value      INTEGER,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at  INTEGER NOT NULL,
    event        TEXT NOT NULL DEFAULT '',
    body         BLOB NOT NULL,
    signature_ok INTEGER NOT NULL CHECK (signature_ok IN (0, 1)),
    status       TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed', 'rejected')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    last_error   TEXT NOT NULL DEFAULT '',
    processed_at INTEGER
) STRICT;

CREATE INDEX webhook_inbox_work ON webhook_inbox (id) WHERE status IN ('pending', 'failed');

CREATE INDEX webhook_inbox_done ON webhook_inbox (processed_at) WHERE status = 'done';

-- The balancer's audit log. Rows are never deleted; AUTOINCREMENT keeps ids
-- from ever being reused.
CREATE TABLE proposals (
    id                          INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at                  INTEGER NOT NULL,
    updated_at                  INTEGER NOT NULL,
    conversation_id             INTEGER NOT NULL,
    conversation_number         INTEGER NOT NULL DEFAULT 0,
    mailbox_id                  INTEGER NOT NULL DEFAULT 0,
    from_agent                  INTEGER,
    to_agent                    INTEGER,
    reason                      TEXT NOT NULL,
    explanation                 TEXT NOT NULL DEFAULT '',
    imbalance_before            REAL NOT NULL DEFAULT 0,
    imbalance_after             REAL NOT NULL DEFAULT 0,
    jain_before                 REAL NOT NULL DEFAULT 0,
    jain_after                  REAL NOT NULL DEFAULT 0,
    figures                     TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(figures)),
    status                      TEXT NOT NULL CHECK (status IN
        ('pending', 'approved', 'applying', 'applied', 'rejected', 'stale', 'failed')),
    decided_by                  TEXT NOT NULL DEFAULT '',
    decided_at                  INTEGER,
    applied_at                  INTEGER,
    error                       TEXT NOT NULL DEFAULT '',
    snap_assignee_id            INTEGER,
    snap_status                 TEXT NOT NULL DEFAULT '',
    snap_customer_waiting_since INTEGER,
    snap_last_customer_at       INTEGER
) STRICT;

CREATE INDEX proposals_status ON proposals (status, id);

CREATE INDEX proposals_conversation ON proposals (conversation_id, id);

-- Applied moves: per-agent counts in a window, last move per conversation.
CREATE INDEX proposals_applied ON proposals (status, applied_at, to_agent);

CREATE INDEX proposals_moves ON proposals (status, conversation_id, applied_at);

-- At most one live proposal per conversation: two proposals can never race
-- to move the same ticket.
CREATE UNIQUE INDEX proposals_live ON proposals (conversation_id)
    WHERE status IN ('pending', 'approved', 'applying');
