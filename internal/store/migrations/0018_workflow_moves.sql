-- 0018: whether a Help Scout workflow made a thread, as its action names
-- one (mirror, convert.go: threadWorkflow): 'automatic' for one that ran
-- on its own, 'manual' for one a person ran by hand, '' when none did. A
-- reassignment an automatic workflow made is a rule's, not a person's
-- decision, and holds no ticket as a hand move (facts.go, reassignedAt).
-- Threads stored before carry no action: they read '' until the mirror
-- reads their conversation again.
ALTER TABLE threads ADD COLUMN workflow TEXT NOT NULL DEFAULT ''
    CHECK (workflow IN ('', 'automatic', 'manual'));
