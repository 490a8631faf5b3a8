-- 0008: hardening (issue 17): replays, bounded rejections, deletion walk.

-- Replayed and repeated deliveries (issue 17). digest is the SHA-256 of the
-- event name and the raw body: a delivery identical to one received within
-- the replay window is acknowledged without being stored or processed again.
-- Rows from before this migration have none and are simply not matched.
ALTER TABLE webhook_inbox ADD COLUMN digest BLOB;

CREATE INDEX webhook_inbox_digest ON webhook_inbox (digest, received_at) WHERE digest IS NOT NULL;

-- Signed but unparsable deliveries are kept only as a sample bounded by
-- size and age (inbox.go); this table counts every one of them, per event.
CREATE TABLE webhook_rejections (
    event    TEXT PRIMARY KEY,
    count    INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at  INTEGER NOT NULL
) STRICT;

INSERT INTO webhook_rejections (event, count, first_at, last_at)
    SELECT event, COUNT(*), MIN(received_at), MAX(received_at) FROM webhook_inbox
    WHERE status = 'rejected' GROUP BY event;

CREATE INDEX webhook_inbox_rejected ON webhook_inbox (received_at) WHERE status = 'rejected';

-- The mirror's deletion walk counts and lists conversations by creation
-- time, the order of Help Scout's createdAt listing.
CREATE INDEX conversations_created ON conversations (created_at);
