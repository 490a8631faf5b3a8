-- Which of the mirrored mailboxes each user can open, as comma-separated
-- ids; NULL means every one of them (or not known), '' none. The balancer
-- hands a ticket only to someone who can open its mailbox.
ALTER TABLE users ADD COLUMN mailboxes TEXT;
