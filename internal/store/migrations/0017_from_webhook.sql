-- 0017: whether a conversation row was last written from a webhook body
-- rather than from Help Scout's own answer (a listing or a read by id).
-- A webhook is a hint: its body is signed but may be a quirk or a forgery
-- with a version newer than anything Help Scout will serve, and the
-- version order alone would then keep it over every later poll. Help
-- Scout's answer replaces such a row whatever its version (doc.go, "Never
-- regress"). Rows stored before are taken as Help Scout's.
ALTER TABLE conversations ADD COLUMN from_webhook INTEGER NOT NULL DEFAULT 0;
-- Except what no answer of Help Scout's holds: a row in no mailbox, or
-- dated more than 5 minutes ahead of now, was written from a webhook body
-- before this column existed (a payload quirk or a forged body). Marked,
-- the mirror's next reconcile reads it again and Help Scout's answer
-- replaces it; otherwise its version would keep it. Marking a row Help Scout did write costs nothing: its next answer
-- replaces it with the same.
UPDATE conversations SET from_webhook = 1
WHERE COALESCE(mailbox_id, 0) <= 0
   OR COALESCE(user_updated_at, 0) > (CAST(strftime('%s', 'now') AS INTEGER) + 300) * 1000;
