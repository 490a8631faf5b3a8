-- The first published answer to the customer on any channel (an email, a
-- chat message, a logged call): what the balancer means by "an agent has
-- replied". first_reply_at stays the email reply the metrics count.
ALTER TABLE conversations ADD COLUMN first_answer_at INTEGER;

-- When the current assignee got the ticket: a customer who waited hours
-- before an SST handed the ticket on is not stuck with the new owner.
ALTER TABLE conversations ADD COLUMN assigned_at INTEGER;

-- The revision of the rules (facts.go, factsRevision) that the derived
-- columns of conversations were computed under. Rows written before this
-- table existed were derived under revision 1, and have no first_answer_at
-- yet; Open re-derives them when the binary's rules are newer.
CREATE TABLE facts_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;

INSERT INTO facts_revision (id, revision) VALUES (1, 1);
