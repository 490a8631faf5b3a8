-- 0018: whether a Help Scout workflow made a thread, as its action names
-- one (mirror, convert.go: threadWorkflow): 'automatic' for one that ran
-- on its own, 'manual' for one a person ran by hand, '' when none did. A
-- reassignment an automatic workflow made is a rule's, not a person's
-- decision, and holds no ticket as a hand move (facts.go, reassignedAt).
-- Threads stored before carry no action: they read '' until the mirror
-- reads their conversation again.
ALTER TABLE threads ADD COLUMN workflow TEXT NOT NULL DEFAULT ''
    CHECK (workflow IN ('', 'automatic', 'manual'));

-- Threads assigned to a team: builds before the mirror stored such a
-- thread as assigned to nobody, as it stores a conversation's team
-- assignee (mirror, convert.go), stored the team's id. A person taking the
-- ticket from the team then read as a reassignment from another person: a
-- hand move, held from the balancer, with the team as the previous
-- assignee. The teams are known: the teams table, and the teams Help
-- Scout lists among users; an id a person has too is left as stored.
-- A team deleted since is no longer known, and its threads stay.
CREATE TEMP TABLE team_ids AS
    SELECT id FROM teams UNION SELECT id FROM users WHERE type = 'team'
    EXCEPT SELECT id FROM users WHERE type <> 'team';
-- A reassignment dated from a change out of a team (the last owner the
-- threads named before it is one) was the team's ticket taken: the
-- re-derive of facts revision 4 (rederive.go) dates it again from the
-- threads rewritten below, and would otherwise keep what the row says
-- when they cannot tell. Its previous assignee was the team.
UPDATE conversations SET reassigned_at = NULL
WHERE reassigned_at IS NOT NULL
  AND (SELECT t.assigned_to_id FROM threads t
       WHERE t.conversation_id = conversations.id AND t.assigned_to_id IS NOT NULL
         AND t.created_at < conversations.reassigned_at
       ORDER BY t.created_at DESC, t.id DESC LIMIT 1) IN (SELECT id FROM team_ids);
UPDATE conversations SET previous_assignee_id = NULL WHERE previous_assignee_id IN (SELECT id FROM team_ids);
UPDATE threads SET assigned_to_id = NULL WHERE assigned_to_id IN (SELECT id FROM team_ids);
DROP TABLE team_ids;

-- The refusals of the cooldown (rejected proposals decided since a day
-- ago: rebalance's refusals, team's next steps, at every run and page
-- view) read every rejection ever made through proposals_status, and the
-- audit log is never pruned. This index reads only the day's.
CREATE INDEX proposals_decided ON proposals (status, decided_at);
