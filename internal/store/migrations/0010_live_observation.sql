-- 0010: where the live histograms began, and which marks were observations
-- (issue 19, backfill).
--
-- The first-response and resolution marks (migration 1) say only that a
-- conversation was dealt with. `queuewrangler backfill` writes the history
-- the live histograms did not observe, so it must tell the marks that were
-- observations from those set without one (history older than the mirror's
-- RecentWindow on the daemon's first pass), and know when live observation
-- began: the backfill ends there.

-- One row, written by the daemon's first sync with metrics. since is when
-- live observation began; history_until is the newest first reply or
-- resolution the mirror held then (NULL for none): what a backfill run
-- before the daemon could have written, which the daemon never observes.
CREATE TABLE live_observation (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    since         INTEGER NOT NULL,
    history_until INTEGER
) STRICT;

-- Beside each mark, whether it was an observation into the live
-- histograms (1) or set without one (0); NULL where not marked, or not
-- known. A column beside the mark, so that marking stays a write of one
-- row; the tombstone keeps it with the marks, so that a conversation
-- deleted and restored keeps it too.
ALTER TABLE conversations ADD COLUMN first_response_live INTEGER;
ALTER TABLE conversations ADD COLUMN resolution_live INTEGER;
ALTER TABLE deleted_conversations ADD COLUMN first_response_live INTEGER;
ALTER TABLE deleted_conversations ADD COLUMN resolution_live INTEGER;

-- A database the daemon has already run on: its first pass stamped every
-- mark with one moment, the earliest mark, and observed exactly the marks
-- set within a day (RecentWindow) of their event. Tombstones hold no event
-- time: their flag stays unknown, and backfill leaves such a conversation
-- out if it comes back (never counted twice).
INSERT INTO live_observation (id, since, history_until)
    SELECT 1, MIN(at), NULL FROM (
        SELECT MIN(first_response_observed_at) AS at FROM conversations
        UNION ALL SELECT MIN(resolution_observed_at) FROM conversations
        UNION ALL SELECT MIN(first_response_observed_at) FROM deleted_conversations
        UNION ALL SELECT MIN(resolution_observed_at) FROM deleted_conversations)
    HAVING MIN(at) IS NOT NULL;

UPDATE conversations SET first_response_live = (first_response_observed_at - first_reply_at <= 86400000)
    WHERE first_response_observed_at IS NOT NULL AND first_reply_at IS NOT NULL;

UPDATE conversations SET resolution_live = (resolution_observed_at - resolved_at <= 86400000)
    WHERE resolution_observed_at IS NOT NULL AND resolved_at IS NOT NULL;
