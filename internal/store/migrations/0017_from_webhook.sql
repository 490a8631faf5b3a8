-- 0017: whether a conversation row was last written from a webhook body
-- rather than from Help Scout's own answer (a listing or a read by id).
-- A webhook is a hint: its body is signed but may be a quirk or a forgery
-- with a version newer than anything Help Scout will serve, and the
-- version order alone would then keep it over every later poll. Help
-- Scout's answer replaces such a row whatever its version (doc.go, "Never
-- regress"). Rows stored before are taken as Help Scout's.
ALTER TABLE conversations ADD COLUMN from_webhook INTEGER NOT NULL DEFAULT 0;
