-- 0013: drop the walk cursors that outlived their mailbox's conversations.
--
-- Before NarrowMirrorScope dropped them, narrowing QW_MAILBOXES deleted
-- the conversations of the mailboxes it left but kept the cursor of an
-- unfinished walk of one of them (named by the mirror,
-- conversations@mailbox:<id>). Migration 0012 kept those cursors, and the
-- code of today drops them only at the next narrowing. Widened again
-- instead (the mailbox added back, or QW_MAILBOXES emptied), the mirror
-- resumes that mailbox's walk from the cursor and never reads what came
-- before it: its history stays incomplete while the daemon takes it whole.
--
-- A walk stores a page's conversations in the transaction that moves its
-- cursor, so a cursor whose mailbox holds no conversation is one whose
-- conversations were deleted since (or moved out in Help Scout). Dropping
-- it is always safe: the walk starts again from the beginning, and
-- upserts of what is already held change nothing.
DELETE FROM sync_cursors
WHERE name LIKE 'conversations@mailbox:%'
  AND name NOT IN (SELECT DISTINCT 'conversations@mailbox:' || mailbox_id FROM conversations);
