-- The revision of the rules (facts.go, factsRevision) that the derived
-- columns of conversations were computed under. Rows written before this
-- table existed were derived under revision 1; Open re-derives them when
-- the binary's rules are newer.
CREATE TABLE facts_revision (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    revision INTEGER NOT NULL
) STRICT;

INSERT INTO facts_revision (id, revision) VALUES (1, 1);
