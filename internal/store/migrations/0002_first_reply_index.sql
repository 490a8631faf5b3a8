-- The queue page reads the first responses of the last 24 hours on every
-- view (FirstResponseTimes). Without an index that was a scan of the whole
-- table. The index covers every column the query reads, so a day's
-- answers are a range of the index and no table lookups; conversations
-- nobody has answered yet are left out, since the query never wants them.
CREATE INDEX conversations_first_reply
  ON conversations (first_reply_at, created_at, created_by_type, status, state)
  WHERE first_reply_at IS NOT NULL;
