-- 0014: which mailboxes' history the mirror has walked, one by one.
--
-- With every mailbox mirrored (QW_MAILBOXES empty) the scope was one row,
-- mailbox_id 0, and the mirror walked no mailbox on its own: a mailbox the
-- API user was given access to after the full walk was only polled from
-- then on, its older conversations never read. Narrowing from every
-- mailbox took each kept mailbox the directory listed as whole, that one
-- too. This table says, per mailbox, that a walk from the beginning of its
-- history reads it or has read it; a mailbox the directory lists without a
-- row is walked on its own, from its own cursor.
--
-- finished = 1: the last page of a walk that read the mailbox from the
-- beginning is stored (its own walk's, or the poll's first walk's).
-- finished = 0: the poll's walk from the beginning is reading it, and
-- resumes from the poll's cursor if cut short; it needs no walk of its own.
CREATE TABLE walked_mailboxes (
    mailbox_id INTEGER PRIMARY KEY CHECK (mailbox_id > 0),
    finished INTEGER NOT NULL CHECK (finished IN (0, 1))
) STRICT;

-- A file mirroring every mailbox: the mailboxes its directory lists were
-- read by the walk of every mailbox (the poll's listing has no mailbox
-- filter). When that walk completed (the mark of a completed sync of every
-- mailbox, named by the mirror sync-complete@mailboxes:all, is stored),
-- they count as walked. Without the mark the first walk is still under
-- way, and they are the mailboxes it is reading: its cursor resumes it.
--
-- A mailbox the API user gained access to after that walk is among them,
-- and cannot be told apart: its conversations from before then were never
-- read. Counting every listed mailbox as unwalked instead would walk the
-- whole account again at the upgrade to find it, for a fault that hit
-- only accounts whose access changed; the README says how to have one
-- mailbox walked again (leave it out of QW_MAILBOXES for one start).
-- A mailbox whose own walk left its cursor (conversations@mailbox:<id>)
-- is excluded: that walk resumes and records it when it finishes.
INSERT INTO walked_mailboxes (mailbox_id, finished)
SELECT id, EXISTS (SELECT 1 FROM sync_cursors WHERE name = 'sync-complete@mailboxes:all')
FROM mailboxes
WHERE EXISTS (SELECT 1 FROM mirror_scope WHERE mailbox_id = 0)
  AND 'conversations@mailbox:' || id NOT IN (SELECT name FROM sync_cursors);

-- A file mirroring a list of mailboxes: each recorded one was recorded
-- because a walk from the beginning read it or reads it (its own walk,
-- once finished; or the poll's, which reads every mailbox of the list),
-- or, narrowed from every mailbox, because the directory listed it, with
-- the ambiguity above. Which of them finished is not told: the poll's
-- next walk without a shift finishes them all. One the directory does
-- not list was recorded without being walked (QW_MAILBOXES naming a
-- mailbox the API user could not see yet, on the file's first start): it
-- gets no row, and is walked once listed. Such a mailbox that the
-- directory came to list under the old version was never walked either,
-- only polled since, and cannot be told apart from one the first walk
-- read: it is counted as walked, with the ambiguity above (the README
-- says how to have it walked).
INSERT INTO walked_mailboxes (mailbox_id, finished)
SELECT mailbox_id, 0
FROM mirror_scope
WHERE mailbox_id > 0
  AND mailbox_id IN (SELECT id FROM mailboxes)
  AND NOT EXISTS (SELECT 1 FROM mirror_scope WHERE mailbox_id = 0)
ON CONFLICT DO NOTHING;
