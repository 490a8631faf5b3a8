-- 0019: whether a move recorded failed may have been made in Help Scout
-- all the same: its PATCH was sent and its outcome is unknown (a timeout,
-- a 5xx, a transport error, a 408, 409 or 429 after the retries). Only
-- such a failure can be the cause of the reassignment the mirror sees
-- next (readmodels.go, ownFailedMoveQuery). A move that failed before its
-- PATCH (the re-read before it), one Help Scout refused (any other 4xx),
-- and one recovery found not made (the ticket shows another owner) never
-- reached Help Scout: a person who then makes the same move by hand made
-- a hand move, and taking it for ours held the ticket with our cooldown,
-- which the away rule honours too, for up to a day with its owner gone.
ALTER TABLE proposals ADD COLUMN maybe_made INTEGER NOT NULL DEFAULT 0
    CHECK (maybe_made IN (0, 1));
-- Failures recorded before are told apart by their error, which rebalance
-- has always prefixed "assign: " when the PATCH itself failed; the other
-- failures (the re-read, the receiver's read, recovery's) are not its. Of
-- the PATCH's failures, a 4xx answer is a refusal (its text carries the
-- status, "...: 422 Unprocessable Entity"), except a 408, 409 or 429.
-- Only the last day's failures matter (the cooldown's), and a text this
-- rule misreads errs toward ours, as every failure was read before.
UPDATE proposals SET maybe_made = 1
WHERE status = 'failed' AND error LIKE 'assign: %'
  AND (error NOT GLOB '*: 4[0-9][0-9] *'
       OR error GLOB '*: 408 *' OR error GLOB '*: 409 *' OR error GLOB '*: 429 *');
