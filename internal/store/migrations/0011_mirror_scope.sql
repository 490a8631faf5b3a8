-- 0011: which mailboxes the mirror was built for (QW_MAILBOXES), so that a
-- change of it between two starts is seen: a mailbox added is walked from
-- the beginning, one removed leaves the mirror (mirror.syncConversations).
--
-- One row per mailbox whose whole history the mirror holds; mailbox_id 0
-- stands for every mailbox of the account (QW_MAILBOXES empty). No row at
-- all: not recorded yet, a new file or one from before this migration,
-- which the mirror takes as built for the scope it is started with.
CREATE TABLE mirror_scope (
    mailbox_id INTEGER PRIMARY KEY CHECK (mailbox_id >= 0)
) STRICT;
