-- 0012: the mirrored scope is recorded even when it holds no mailbox.
--
-- Going from QW_MAILBOXES=b to a deletes b's row of mirror_scope before a
-- is walked. With no row left, the table read as "never recorded", and the
-- next start after a's walk failed (Help Scout down, the process killed)
-- took the mirror as built for a and recorded it without walking it: a's
-- history stayed incomplete while the daemon trusted it whole. This row
-- says the scope is recorded, whatever mirror_scope holds: no mailbox row
-- is then "no mailbox's whole history is held yet", and the next sync
-- walks every wanted one.
CREATE TABLE mirror_scope_recorded (
    id INTEGER PRIMARY KEY CHECK (id = 1)
) STRICT;

-- A file with a scope row was recorded. So was one whose scope is empty
-- while the walk of an added mailbox has left its cursor (named by the
-- mirror, conversations@mailbox:<id>): a switch interrupted after its
-- first page. A switch interrupted before it is not told from a file that
-- never recorded a scope, and is taken as built for the scope it starts
-- with, as before.
INSERT INTO mirror_scope_recorded (id)
SELECT 1 WHERE EXISTS (SELECT 1 FROM mirror_scope)
            OR EXISTS (SELECT 1 FROM sync_cursors WHERE name LIKE 'conversations@mailbox:%');

-- A mailbox recorded while its walk's cursor is still there was recorded
-- by that fault: a finished walk drops its cursor in the transaction that
-- records the mailbox. Leaving the scope, it is walked again from that
-- cursor; the conversations it holds stay.
DELETE FROM mirror_scope
WHERE 'conversations@mailbox:' || mailbox_id IN (SELECT name FROM sync_cursors);
