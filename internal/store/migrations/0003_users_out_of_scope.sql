-- Users who can open none of the mailboxes the daemon mirrors
-- (QW_MAILBOXES): kept for their names, never counted or given tickets.
ALTER TABLE users ADD COLUMN out_of_scope INTEGER NOT NULL DEFAULT 0;
