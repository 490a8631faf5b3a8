package store

import (
	"context"
	"database/sql"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The read models' queries. Each one is served by an index of
// migrations/0001_init.sql; TestReadModelQueriesUseIndexes keeps it so.
// Partial indexes are only used when the query repeats their WHERE terms
// literally, hence the literal statuses.
const (
	statusCountsQuery = `SELECT mailbox_id, status, COUNT(*) FROM conversations GROUP BY mailbox_id, status`

	unassignedQuery = `SELECT mailbox_id, COUNT(*) FROM conversations
		WHERE status = 'active' AND assignee_id IS NULL GROUP BY mailbox_id`

	oldestWaitQuery = `SELECT mailbox_id, MIN(customer_waiting_since) FROM conversations
		WHERE status = 'active' AND last_message_by = 'customer' GROUP BY mailbox_id`

	stuckCountQuery = `SELECT mailbox_id, COUNT(*) FROM conversations
		WHERE status = 'active' AND last_message_by = 'customer'
		  AND customer_waiting_since < ? AND assignee_id IS NOT NULL GROUP BY mailbox_id`

	agentLoadQuery = `SELECT assignee_id, SUM(status = 'active') AS active, SUM(status = 'pending') AS pending,
		SUM(status = 'active' AND last_message_by = 'customer') AS waiting
		FROM conversations WHERE status IN ('active', 'pending') AND assignee_id IS NOT NULL
		GROUP BY assignee_id`

	// An agent reply is agentReply's rule (facts.go): a published message
	// thread created by a user.
	agentRepliesQuery = `SELECT created_by_id, COUNT(*) FROM threads
		WHERE type = 'message' AND created_by_type = 'user' AND state = 'published'
		  AND created_at >= ? AND created_by_id IS NOT NULL GROUP BY created_by_id`

	firstAgentReplyQuery = `SELECT MIN(created_at) FROM threads
		WHERE type = 'message' AND created_by_type = 'user' AND state = 'published'`

	pinnedQuery = `SELECT conversation_id FROM conversation_tags WHERE tag = ?`

	// lastMoveQuery is the last applied move of the listed conversation
	// (the balancer's cooldown), a correlated subquery of the open list.
	// proposals_moves answers it with one index search per listed row.
	// It replaced a read of every applied move ever made on every list:
	// the audit log is never pruned, and after a year of moves (14,000)
	// that read was half the time of listing the unassigned queue.
	lastMoveQuery = `SELECT MAX(applied_at) FROM proposals
		WHERE status = 'applied' AND conversation_id = conversations.id`

	unobservedFirstResponsesQuery = `SELECT id, mailbox_id, COALESCE(first_reply_by, 0), created_at, first_reply_at
		FROM conversations
		WHERE first_response_observed_at IS NULL AND first_reply_at IS NOT NULL
		  AND created_by_type = 'customer' AND status <> 'spam' AND state <> 'deleted'
		ORDER BY id`

	unobservedResolutionsQuery = `SELECT id, mailbox_id, COALESCE(assignee_id, 0), created_at, resolved_at
		FROM conversations
		WHERE resolution_observed_at IS NULL AND resolved_at IS NOT NULL
		  AND status <> 'spam' AND state <> 'deleted'
		ORDER BY id`
)

// OwnMoveMargin is how far apart a reassignment's time in the mirror and
// an applied move's applied_at may be for the move to be taken as the
// reassignment's cause. Help Scout dates its line item when the PATCH
// lands, before applied_at by the PATCH's latency (at most its 30-second
// timeout, rebalance.assignTimeout); a reassignment the mirror saw before
// listing its line item is dated by the write that saw it, after
// applied_at by the refresh that follows the move, or by the next poll
// (QW_POLL_INTERVAL, 2 minutes by default) when that refresh failed. Ten
// minutes covers these with room for a late poll and clock skew. A
// margin too wide could only take a person's move for ours when it gave
// the ticket to the very agent our move had given it to minutes before.
const OwnMoveMargin = 10 * time.Minute

// ownReassignmentQuery says whether an applied move of the listed
// conversation gave it to its current assignee within OwnMoveMargin of its
// reassignment: then queuewrangler made it, not a person by hand.
// proposals_moves answers it with one index search per reassigned row; a
// row never reassigned does not search.
var ownReassignmentQuery = `CASE WHEN reassigned_at IS NULL THEN 0 ELSE EXISTS (SELECT 1 FROM proposals
		WHERE status = 'applied' AND conversation_id = conversations.id
		  AND applied_at BETWEEN conversations.reassigned_at - ` + ownMoveMarginMS + `
		                     AND conversations.reassigned_at + ` + ownMoveMarginMS + `
		  AND to_agent = conversations.assignee_id) END`

// ownFailedMoveQuery is when a move of the listed conversation recorded
// failed, though Help Scout may have made it, gave it to its current
// assignee within OwnMoveMargin of its reassignment, NULL if none did: a
// PATCH that timed out, or was answered with a 5xx, after Help Scout had
// made the assignment. Such a move is ours as an applied one is, and not
// a person's hand move. A failed proposal has no applied_at, and its
// decided_at is the approval, which may be hours older (recovery applies
// approvals left over); its updated_at is when the failure was recorded,
// final since (failed is never left), and stands where applied_at would:
// just after the PATCH returned (rebalance.assignTimeout), so the same
// margin holds. Only a failure whose PATCH may have been made counts
// (maybe_made, MarkProposalFailedMaybeMade): one that failed before it
// (the re-read), one Help Scout refused, and one recovery found not made
// never reached Help Scout, and a person who then gave the ticket to the
// agent it proposed, minutes later, made a hand move of their own.
//
// A hand-out (the ticket given out of the Unassigned folder: no
// reassigned_at) that failed so is matched the same way against when the
// current assignee got the ticket (assigned_at): an applied hand-out
// holds the ticket for the cooldown (lastMoveQuery), and one Help Scout
// made although its PATCH failed must too, or nothing holds it from the
// next run. proposals_moves answers it with one index search of the
// conversation's failed moves per assigned row.
var ownFailedMoveQuery = `CASE WHEN COALESCE(reassigned_at, assigned_at) IS NULL THEN NULL ELSE (SELECT MAX(updated_at) FROM proposals
		WHERE status = 'failed' AND conversation_id = conversations.id AND maybe_made = 1
		  AND updated_at BETWEEN COALESCE(conversations.reassigned_at, conversations.assigned_at) - ` + ownMoveMarginMS + `
		                     AND COALESCE(conversations.reassigned_at, conversations.assigned_at) + ` + ownMoveMarginMS + `
		  AND to_agent = conversations.assignee_id) END`

var ownMoveMarginMS = strconv.FormatInt(OwnMoveMargin.Milliseconds(), 10)

// Conversation returns a stored conversation with its tags and its threads
// (oldest first), or ErrNotFound.
func (db *DB) Conversation(ctx context.Context, id int64) (Conversation, []Thread, error) {
	var c Conversation
	var threads []Thread
	err := db.readTx(ctx, fmt.Sprintf("read conversation %d", id), func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, "SELECT "+convColumns+" FROM conversations WHERE id = ?", id).Scan(
			&c.ID, &c.Number, &c.MailboxID, &c.Status, &c.State, &c.Type, &c.Subject, idCol{&c.AssigneeID},
			&c.CreatedByType, idCol{&c.CreatedByID}, idCol{&c.CustomerID}, &c.CustomerFirst, &c.CustomerLast, &c.CustomerEmail,
			timeCol{&c.CreatedAt}, timeCol{&c.ClosedAt}, idCol{&c.ClosedBy}, timeCol{&c.CustomerWaitingSince},
			timeCol{&c.UserUpdatedAt}, &c.ThreadCount, &c.LatestReplyFrom,
			timeCol{&c.LatestThreadAt}, &c.LastMessageBy, timeCol{&c.LastCustomerAt}, timeCol{&c.LastAgentActivityAt},
			timeCol{&c.FirstReplyAt}, idCol{&c.FirstReplyBy}, timeCol{&c.ResolvedAt}, idCol{&c.PreviousAssigneeID},
			timeCol{&c.SyncedAt}, timeCol{&c.FirstResponseObservedAt}, timeCol{&c.ResolutionObservedAt}, timeCol{&c.FirstAnswerAt}, timeCol{&c.AssignedAt},
			timeCol{&c.ReassignedAt}, &c.FromWebhook)
		if err != nil {
			return err
		}
		if c.Tags, err = queryColumn[string](ctx, tx,
			"SELECT tag FROM conversation_tags WHERE conversation_id = ? ORDER BY tag", id); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, "SELECT "+threadColumns+
			" FROM threads WHERE conversation_id = ? ORDER BY created_at, id", id)
		if err != nil {
			return err
		}
		threads, err = scanThreads(rows)
		return err
	})
	return c, threads, err
}

// ConversationIDs lists the ids of stored conversations with one of the
// given statuses (all conversations when none is given), ascending. The
// mirror's reconcile compares it with Help Scout's list to find deletions.
func (db *DB) ConversationIDs(ctx context.Context, statuses ...string) ([]int64, error) {
	q := "SELECT id FROM conversations"
	args := make([]any, len(statuses))
	if len(statuses) > 0 {
		q += " WHERE status IN (" + placeholders(len(statuses)) + ")"
		for i, s := range statuses {
			args[i] = s
		}
	}
	q += " ORDER BY id"
	var ids []int64
	err := db.readTx(ctx, "list conversation ids", func(tx *sql.Tx) error {
		var err error
		ids, err = queryColumn[int64](ctx, tx, q, args...)
		return err
	})
	return ids, err
}

// ConversationIDsFromWebhook lists, ascending, the ids of the stored
// conversations last written from a webhook body (Conversation.FromWebhook):
// those no answer of Help Scout's has replaced since. The mirror's reconcile
// asks Help Scout for each.
func (db *DB) ConversationIDsFromWebhook(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := db.readTx(ctx, "list conversation ids written from webhooks", func(tx *sql.Tx) error {
		var err error
		ids, err = queryColumn[int64](ctx, tx, "SELECT id FROM conversations WHERE from_webhook = 1 ORDER BY id")
		return err
	})
	return ids, err
}

const countCreatedBeforeQuery = "SELECT COUNT(*) FROM conversations WHERE created_at < ?"

// CountCreatedBefore counts the stored conversations created before t (all
// of them when t is zero). The mirror's deletion walk compares it with a
// position in Help Scout's listing by creation time.
func (db *DB) CountCreatedBefore(ctx context.Context, t time.Time) (int, error) {
	q, args := "SELECT COUNT(*) FROM conversations", []any{}
	if !t.IsZero() {
		q, args = countCreatedBeforeQuery, []any{t.UnixMilli()}
	}
	var n int
	err := db.readTx(ctx, "count conversations by creation", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, q, args...).Scan(&n)
	})
	return n, err
}

// CountInMailboxes counts the stored conversations in the given mailboxes
// (all of them when none are given): how much of a long walk's scope the
// mirror already holds, so a resumed first sync counts from there.
func (db *DB) CountInMailboxes(ctx context.Context, mailboxes []int64) (int, error) {
	q, args := "SELECT COUNT(*) FROM conversations", []any{}
	if len(mailboxes) > 0 {
		q += " WHERE mailbox_id IN (?" + strings.Repeat(", ?", len(mailboxes)-1) + ")"
		for _, id := range mailboxes {
			args = append(args, id)
		}
	}
	var n int
	err := db.readTx(ctx, "count conversations in the mirrored mailboxes", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, q, args...).Scan(&n)
	})
	return n, err
}

// LatestCreatedAt returns the creation time of the newest stored
// conversation, or the zero time when none is stored.
func (db *DB) LatestCreatedAt(ctx context.Context) (time.Time, error) {
	var t time.Time
	err := db.readTx(ctx, "read the newest creation time", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, "SELECT MAX(created_at) FROM conversations").Scan(timeCol{&t})
	})
	return t, err
}

// CreatedBetween lists the ids of the stored conversations created at or
// after from and before to (a zero bound is open), by creation time.
func (db *DB) CreatedBetween(ctx context.Context, from, to time.Time) ([]int64, error) {
	q, args := "SELECT id FROM conversations WHERE created_at IS NOT NULL", []any{}
	if !from.IsZero() {
		q += " AND created_at >= ?"
		args = append(args, from.UnixMilli())
	}
	if !to.IsZero() {
		q += " AND created_at < ?"
		args = append(args, to.UnixMilli())
	}
	q += " ORDER BY created_at, id"
	var ids []int64
	err := db.readTx(ctx, "list conversations by creation", func(tx *sql.Tx) error {
		var err error
		ids, err = queryColumn[int64](ctx, tx, q, args...)
		return err
	})
	return ids, err
}

// ConversationsHolding lists, by id, the stored conversations other than
// except that hold any of the given threads. Help Scout moves every thread
// of a conversation merged into another, so after a merge these are the
// merged-away conversations the mirror still holds.
func (db *DB) ConversationsHolding(ctx context.Context, threadIDs []int64, except int64) ([]int64, error) {
	if len(threadIDs) == 0 {
		return nil, nil
	}
	args := make([]any, 0, len(threadIDs)+1)
	for _, id := range threadIDs {
		args = append(args, id)
	}
	args = append(args, except)
	var ids []int64
	err := db.readTx(ctx, "find conversations holding threads", func(tx *sql.Tx) error {
		var err error
		ids, err = queryColumn[int64](ctx, tx, "SELECT DISTINCT conversation_id FROM threads WHERE id IN ("+
			placeholders(len(threadIDs))+") AND conversation_id <> ? ORDER BY conversation_id", args...)
		return err
	})
	return ids, err
}

// OpenConversations lists open conversations (active or pending) matching f,
// by id, or oldest wait first when f.WaitingBefore is set.
func (db *DB) OpenConversations(ctx context.Context, f OpenFilter) ([]OpenConversation, error) {
	var out []OpenConversation
	err := db.readTx(ctx, "list open conversations", func(tx *sql.Tx) error {
		var err error
		out, err = openConversations(ctx, tx, f)
		return err
	})
	return out, err
}

// CountOpenConversations counts the open conversations matching f,
// ignoring f.Limit: how many a limited OpenConversations left out.
func (db *DB) CountOpenConversations(ctx context.Context, f OpenFilter) (int, error) {
	q, args := countOpenQuery(f)
	var n int
	err := db.readTx(ctx, "count open conversations", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, q, args...).Scan(&n)
	})
	return n, err
}

// countOpenQuery builds the COUNT behind CountOpenConversations: the
// API's total when a list is cut, so once per such call.
func countOpenQuery(f OpenFilter) (string, []any) {
	where, args, _ := openWhere(f)
	return "SELECT COUNT(*) FROM conversations WHERE " + where, args
}

// openQuery builds the SELECT behind OpenConversations.
func openQuery(f OpenFilter) (string, []any) {
	where, args, order := openWhere(f)
	q := `SELECT id, number, mailbox_id, status, subject, assignee_id, previous_assignee_id, customer_id,
		created_by_type, created_at, customer_waiting_since, last_message_by, last_customer_at,
		first_answer_at IS NOT NULL, last_agent_activity_at, thread_count, assigned_at,
		(` + lastMoveQuery + `), reassigned_at, ` + ownReassignmentQuery + `, ` + ownFailedMoveQuery + `
		FROM conversations WHERE ` + where + " ORDER BY " + order
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return q, args
}

// openWhere is the condition selecting f's conversations, its arguments,
// and the order they are listed in.
func openWhere(f OpenFilter) (where string, args []any, order string) {
	// The literal status IN (...) term matches the partial indexes
	// conversations_open and conversations_open_id, which SQLite only uses
	// for the same expression.
	terms := []string{"status IN ('active', 'pending')"}
	if f.ActiveOnly {
		terms = append(terms, "status = 'active'")
	}
	if f.MailboxID != 0 {
		terms = append(terms, "mailbox_id = ?")
		args = append(args, f.MailboxID)
	}
	if f.AssigneeID != 0 {
		terms = append(terms, "assignee_id = ?")
		args = append(args, f.AssigneeID)
	}
	switch f.Assignment {
	case OnlyAssigned:
		terms = append(terms, "assignee_id IS NOT NULL")
	case OnlyUnassigned:
		terms = append(terms, "assignee_id IS NULL")
	}
	order = "id"
	if !f.WaitingBefore.IsZero() {
		terms = append(terms, "status = 'active'", "last_message_by = 'customer'", "customer_waiting_since < ?")
		args = append(args, f.WaitingBefore.UnixMilli())
		order = "customer_waiting_since, id"
	}
	return strings.Join(terms, " AND "), args, order
}

func openConversations(ctx context.Context, tx *sql.Tx, f OpenFilter) ([]OpenConversation, error) {
	q, args := openQuery(f)
	pinned, err := pinnedSet(ctx, tx)
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []OpenConversation
	for rows.Next() {
		var c OpenConversation
		var failedMove time.Time
		if err := rows.Scan(&c.ID, &c.Number, &c.MailboxID, &c.Status, &c.Subject, idCol{&c.AssigneeID},
			idCol{&c.PreviousAssigneeID}, idCol{&c.CustomerID}, &c.CreatedByType, timeCol{&c.CreatedAt},
			timeCol{&c.CustomerWaitingSince}, &c.LastMessageBy, timeCol{&c.LastCustomerAt}, &c.AgentReplied,
			timeCol{&c.LastAgentActivityAt}, &c.ThreadCount, timeCol{&c.AssignedAt}, timeCol{&c.LastMovedAt},
			timeCol{&c.ReassignedAt}, &c.ReassignedByUs, timeCol{&failedMove}); err != nil {
			return nil, err
		}
		// A failed move Help Scout made anyway (ownFailedMoveQuery) is a
		// move of ours: no hand move, and the cooldown counts from it as
		// from an applied one, or nothing would hold the ticket. (For a
		// hand-out, ReassignedAt is zero: ReassignedByUs changes nothing.)
		if !failedMove.IsZero() {
			c.ReassignedByUs = true
			if failedMove.After(c.LastMovedAt) {
				c.LastMovedAt = failedMove
			}
		}
		c.Pinned = pinned[c.ID]
		out = append(out, c)
	}
	return out, rows.Err()
}

// pinnedSet reads the qw-pin tags once instead of probing per row.
func pinnedSet(ctx context.Context, tx *sql.Tx) (map[int64]bool, error) {
	ids, err := queryColumn[int64](ctx, tx, pinnedQuery, PinTag)
	if err != nil {
		return nil, err
	}
	m := make(map[int64]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m, nil
}

// SnapshotWindows says how far back a Snapshot counts.
type SnapshotWindows struct {
	// AssignedSince: RecentAssignments counts the moves applied since then.
	AssignedSince time.Time
	// RepliedSince: Replies counts the agent replies sent since then (or
	// since the mirror's first stored reply, if later); zero reads none.
	RepliedSince time.Time
}

// Snapshot reads, in one transaction, everything a balancer run needs:
// users and teams, statuses, every open conversation, the moves applied
// into each agent and the replies each agent sent within the windows.
func (db *DB) Snapshot(ctx context.Context, w SnapshotWindows) (Snapshot, error) {
	s := Snapshot{TakenAt: db.now()}
	err := db.readTx(ctx, "read snapshot", func(tx *sql.Tx) error {
		var err error
		if s.Users, err = users(ctx, tx); err != nil {
			return err
		}
		if s.Statuses, err = userStatuses(ctx, tx); err != nil {
			return err
		}
		if s.Conversations, err = openConversations(ctx, tx, OpenFilter{}); err != nil {
			return err
		}
		if s.RecentAssignments, err = assignmentsSince(ctx, tx, w.AssignedSince); err != nil {
			return err
		}
		if !w.RepliedSince.IsZero() {
			s.Replies, s.RepliesSince, err = agentReplies(ctx, tx, w.RepliedSince)
		}
		return err
	})
	return s, err
}

// agentReplies counts each user's agent replies sent since since, and says
// where that count starts: since, or the first reply the mirror holds when
// that is later (a mirror younger than the window has no history before
// it); zero when it holds none.
func agentReplies(ctx context.Context, tx *sql.Tx, since time.Time) (map[int64]int, time.Time, error) {
	var first sql.NullInt64
	if err := tx.QueryRowContext(ctx, firstAgentReplyQuery).Scan(&first); err != nil {
		return nil, time.Time{}, err
	}
	if !first.Valid {
		return map[int64]int{}, time.Time{}, nil
	}
	from := max(msInt(since), first.Int64)
	replies, err := countsByID(ctx, tx, agentRepliesQuery, from)
	return replies, fromMS(from), err
}

// MailboxStats computes the per-mailbox gauges in one read transaction:
// conversations by status, active unassigned, stuck (active, assigned,
// customer waiting since before stuckBefore; not counted when stuckBefore
// is zero) and the oldest customer wait. Every mailbox of the mirrored
// scope (MirrorScope; all of the mailboxes table when every mailbox is
// mirrored, or no scope is recorded yet) is listed, with zeros if it is
// empty, and so is every mailbox id that conversations carry.
func (db *DB) MailboxStats(ctx context.Context, stuckBefore time.Time) ([]MailboxStats, error) {
	stats := map[int64]*MailboxStats{}
	get := func(id int64) *MailboxStats {
		s, ok := stats[id]
		if !ok {
			s = &MailboxStats{MailboxID: id, ByStatus: map[string]int{}}
			stats[id] = s
		}
		return s
	}
	err := db.readTx(ctx, "read mailbox stats", func(tx *sql.Tx) error {
		// With QW_MAILBOXES, the account's other mailboxes are not
		// mirrored: zeros for them would read as empty inboxes.
		// A recorded scope may hold no mailbox (a switch whose walk is
		// unfinished): then none is listed for it.
		ids, err := queryColumn[int64](ctx, tx, `SELECT id FROM mailboxes
			WHERE NOT EXISTS (SELECT 1 FROM mirror_scope_recorded)
			   OR EXISTS (SELECT 1 FROM mirror_scope WHERE mailbox_id = 0)
			   OR id IN (SELECT mailbox_id FROM mirror_scope)`)
		if err != nil {
			return err
		}
		for _, id := range ids {
			get(id)
		}
		if err := eachRow(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var status string
			var n int
			if err := rows.Scan(&id, &status, &n); err != nil {
				return err
			}
			get(id).ByStatus[status] = n
			return nil
		}, statusCountsQuery); err != nil {
			return err
		}
		if err := eachRow(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			get(id).Unassigned = n
			return nil
		}, unassignedQuery); err != nil {
			return err
		}
		if err := eachRow(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var oldest sql.NullInt64
			if err := rows.Scan(&id, &oldest); err != nil {
				return err
			}
			if oldest.Valid {
				get(id).OldestWaitingSince = fromMS(oldest.Int64)
			}
			return nil
		}, oldestWaitQuery); err != nil {
			return err
		}
		if stuckBefore.IsZero() {
			return nil
		}
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				return err
			}
			get(id).Stuck = n
			return nil
		}, stuckCountQuery, stuckBefore.UnixMilli())
	})
	if err != nil {
		return nil, err
	}
	out := make([]MailboxStats, 0, len(stats))
	for _, s := range stats {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].MailboxID < out[j].MailboxID })
	return out, nil
}

// AgentLoads counts the open tickets of every assignee, known user or not,
// by assignee id.
func (db *DB) AgentLoads(ctx context.Context) ([]AgentLoad, error) {
	var out []AgentLoad
	err := db.readTx(ctx, "read agent loads", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var l AgentLoad
			if err := rows.Scan(&l.AgentID, &l.Active, &l.Pending, &l.Waiting); err != nil {
				return err
			}
			out = append(out, l)
			return nil
		}, agentLoadQuery+" ORDER BY assignee_id")
	})
	return out, err
}

// WaitingBefore counts, for each assignee in before, the active tickets
// whose customer has been waiting on us since earlier than before[assignee];
// with unansweredOnly, only those no agent has replied to yet. A wait with
// no known start counts from now, as the balancer counts it. It lets the
// metrics collector know which waiting tickets of an agent off shift are
// due to be handed over without reading every ticket.
func (db *DB) WaitingBefore(ctx context.Context, now time.Time, before map[int64]time.Time, unansweredOnly bool) (map[int64]int, error) {
	out := make(map[int64]int, len(before))
	if len(before) == 0 {
		return out, nil
	}
	agents := slices.Sorted(maps.Keys(before))
	values := make([]string, len(agents))
	args := make([]any, 0, 2*len(agents)+1)
	for i, a := range agents {
		values[i] = "(?, ?)"
		args = append(args, a, before[a].UnixMilli())
	}
	args = append(args, now.UnixMilli())
	q := `WITH cutoff (agent, before) AS (VALUES ` + strings.Join(values, ", ") + `)
		SELECT c.assignee_id, COUNT(*) FROM cutoff JOIN conversations c ON c.assignee_id = cutoff.agent
		WHERE c.status = 'active' AND c.last_message_by = 'customer'
		  AND COALESCE(c.customer_waiting_since, c.last_customer_at, ?) < cutoff.before`
	if unansweredOnly {
		q += " AND c.first_answer_at IS NULL"
	}
	q += " GROUP BY c.assignee_id"
	err := db.readTx(ctx, "count waiting tickets", func(tx *sql.Tx) error {
		var err error
		out, err = countsByID(ctx, tx, q, args...)
		return err
	})
	return out, err
}

// UnobservedFirstResponses lists customer-started conversations that have a
// first agent reply not yet observed into the first-response histogram,
// skipping spam and deleted ones, by id. limit <= 0 means no limit.
func (db *DB) UnobservedFirstResponses(ctx context.Context, limit int) ([]Observation, error) {
	return db.observations(ctx, "list unobserved first responses", unobservedFirstResponsesQuery, limit)
}

// UnobservedResolutions lists resolved conversations (ResolvedAt set) whose
// resolution is not yet observed, skipping spam and deleted ones, by id.
func (db *DB) UnobservedResolutions(ctx context.Context, limit int) ([]Observation, error) {
	return db.observations(ctx, "list unobserved resolutions", unobservedResolutionsQuery, limit)
}

func (db *DB) observations(ctx context.Context, op, q string, limit int) ([]Observation, error) {
	var args []any
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	var out []Observation
	err := db.readTx(ctx, op, func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var o Observation
			if err := rows.Scan(&o.ConversationID, &o.MailboxID, &o.AgentID, timeCol{&o.CreatedAt}, timeCol{&o.At}); err != nil {
				return err
			}
			out = append(out, o)
			return nil
		}, q, args...)
	})
	return out, err
}

// eachRow runs q and calls fn for each row.
func eachRow(ctx context.Context, tx *sql.Tx, fn func(*sql.Rows) error, q string, args ...any) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// countsByID reads rows of (id, count) into a map; an id missing from
// the rows is absent from the map.
func countsByID(ctx context.Context, tx *sql.Tx, q string, args ...any) (map[int64]int, error) {
	m := map[int64]int{}
	err := eachRow(ctx, tx, func(rows *sql.Rows) error {
		var id int64
		var n int
		if err := rows.Scan(&id, &n); err != nil {
			return err
		}
		m[id] = n
		return nil
	}, q, args...)
	return m, err
}

// queryColumn reads a one-column result.
func queryColumn[T any](ctx context.Context, tx *sql.Tx, q string, args ...any) ([]T, error) {
	var out []T
	err := eachRow(ctx, tx, func(rows *sql.Rows) error {
		var v T
		if err := rows.Scan(&v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	}, q, args...)
	return out, err
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?, ", n), ", ")
}
