-- The customers waiting on each agent, with what decides whether an agent
-- off shift hands them over (WaitingBefore, read at every scrape): covering,
-- so that counting them never visits the conversations themselves.
CREATE INDEX conversations_waiting_by_assignee
    ON conversations (assignee_id, customer_waiting_since, last_customer_at, first_answer_at)
    WHERE status = 'active' AND last_message_by = 'customer';
