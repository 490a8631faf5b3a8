-- 0009: QW_ROUTING=steer (issue 15). Per inbox, the admin's rotation (the
-- ceiling) and the rotation queuewrangler last wrote or saw: a restart must
-- not take queuewrangler's own reduced set for the admin's, and a set read
-- that differs from the last one written is someone else's edit. Sets of user
-- ids are stored sorted and comma-separated, as users.mailboxes is.
CREATE TABLE steered_rotations (
    mailbox_id INTEGER PRIMARY KEY,
    ceiling    TEXT    NOT NULL,
    written    TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

-- Every change of a steered rotation: written by queuewrangler, or made by
-- someone else and adopted as the new ceiling. why names who was left out
-- and for what reason.
CREATE TABLE rotation_changes (
    id         INTEGER PRIMARY KEY,
    mailbox_id INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    before     TEXT    NOT NULL,
    after      TEXT    NOT NULL,
    by         TEXT    NOT NULL,
    why        TEXT    NOT NULL
) STRICT;

CREATE INDEX rotation_changes_mailbox ON rotation_changes (mailbox_id, at);
