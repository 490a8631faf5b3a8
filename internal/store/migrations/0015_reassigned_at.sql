-- 0015: when the current assignee got the ticket from another person
-- (facts.go, reassignedAt): a reassignment someone decided, by hand in
-- Help Scout or by an applied move of queuewrangler's. The balancer holds a
-- ticket a person moved by hand for its cooldown, as it holds one whose
-- move an SST refused. Rows stored before it are filled by the re-derive of
-- facts revision 3 (rederive.go) from their threads.
ALTER TABLE conversations ADD COLUMN reassigned_at INTEGER;
