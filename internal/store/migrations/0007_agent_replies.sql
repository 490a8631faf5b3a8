-- Each agent's replies over the last weeks (their pace, design.md section
-- 8), read by every balancer run and every view of the team: a range of
-- this index, never a visit to every stored thread. The WHERE is the
-- metrics' agent reply (facts.go, agentReply), which the queries repeat
-- literally so that SQLite uses the partial index; its columns are in the
-- index too, so that the count never visits the table (a covering index).
CREATE INDEX threads_agent_replies
    ON threads (created_at, created_by_id, type, created_by_type, state)
    WHERE type = 'message' AND created_by_type = 'user' AND state = 'published';
