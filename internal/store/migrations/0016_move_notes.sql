-- 0016: whether an applied move's private note is written (design.md
-- section 8: reassignments always carry their note). The note comes after
-- the assignment and the record of it, so a crash in between, or a note
-- POST that fails, used to leave the move applied without a note for good:
-- recovery looked only at proposals still applying. Now a move is recorded
-- applied with its note 'due', and recovery writes the notes still due
-- (rebalance, recover.go), 'written' once it is there, 'none' for own
-- mode's first assignments, which carry none by design, and 'given_up'
-- after a bounded number of failed tries. Proposals never applied keep ''.
ALTER TABLE proposals ADD COLUMN note TEXT NOT NULL DEFAULT ''
    CHECK (note IN ('', 'due', 'written', 'none', 'given_up'));
-- When the note was written or given up; NULL while due, and for the rows
-- below, whose time is not known.
ALTER TABLE proposals ADD COLUMN note_at INTEGER;
-- Recovery's failed tries at a due note.
ALTER TABLE proposals ADD COLUMN note_tries INTEGER NOT NULL DEFAULT 0;
-- Moves applied before this migration are taken as settled: their notes
-- were tried when they were made, and an upgrade must not post notes on
-- last month's moves. Own mode's first assignments carry none: they are
-- 'none', as new ones are. decided_by is how rebalance tells them
-- (routed, own.go: decidedByRouting), the same since own mode began.
UPDATE proposals SET note = CASE WHEN decided_by = 'queuewrangler (QW_ROUTING=own)' THEN 'none' ELSE 'written' END
    WHERE status = 'applied';
CREATE INDEX proposals_note_due ON proposals (applied_at) WHERE note = 'due';
