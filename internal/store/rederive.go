package store

import (
	"context"
	"database/sql"
	"fmt"
	"math"
)

// factsRevision numbers the rules of deriveFacts. The derived columns are
// written only when a conversation changes, so a corrected rule would never
// reach a conversation that stays as it is (a chat closed last month, or an
// open ticket waiting on its customer). The facts_revision table remembers
// which rules the stored columns follow, and Open re-derives every row when
// this binary's rules are newer.
//
//  1. the first rules (no first_answer_at; for a while, chat and phone
//     answers counted as the metrics' first reply);
//  2. first_answer_at, any channel's answer, for the balancer (agentAnswer),
//     and the first reply is the email reply again (agentReply);
//     assigned_at, when the current assignee got the ticket;
//  3. reassigned_at, when the current assignee got the ticket from another
//     person (a reassignment, by hand or by an applied move), which the
//     balancer holds a hand move by;
//  4. a change of owner an automatic Help Scout workflow made is no
//     reassignment (threads.workflow, migration 0018). Threads stored
//     before 0018 have no workflow mark, so the rule changes nothing on
//     them until the mirror reads their conversation again (at any
//     version: applyEqual takes a mark a stored thread lacks).
const factsRevision = 4

// rederiveBatch is how many conversations one re-derive transaction reads.
// Each batch commits on its own so that the write lock is held for
// milliseconds at a time, not for the whole file.
const rederiveBatch = 500

// rederiveFacts brings the derived columns of every stored conversation up
// to factsRevision and returns how many rows changed. Re-deriving is
// idempotent, so a crash part-way is harmless: the revision is recorded
// only after the last batch, and the next Open starts again, rewriting
// only the rows still stale.
//
// A file marked by a newer binary is not re-derived, but its mark is
// lowered to this binary's revision: the rows this binary writes follow its
// older rules, and the newer binary must re-derive them when it next opens
// the file.
func rederiveFacts(ctx context.Context, db *sql.DB) (changed int, err error) {
	var rev int
	if err := db.QueryRowContext(ctx, "SELECT revision FROM facts_revision WHERE id = 1").Scan(&rev); err != nil {
		return 0, fmt.Errorf("read facts revision: %w", classify(err))
	}
	switch {
	case rev == factsRevision:
		return 0, nil
	case rev > factsRevision:
		if _, err := db.ExecContext(ctx, "UPDATE facts_revision SET revision = ? WHERE id = 1", factsRevision); err != nil {
			return 0, fmt.Errorf("lower facts revision %d to %d: %w", rev, factsRevision, classify(err))
		}
		return 0, nil
	}
	for after := int64(math.MinInt64); ; {
		n, last, err := rederiveNext(ctx, db, after)
		changed += n
		if err != nil {
			return changed, fmt.Errorf("re-derive conversations after id %d: %w", after, err)
		}
		if last == after {
			break
		}
		after = last
	}
	if _, err := db.ExecContext(ctx, "UPDATE facts_revision SET revision = ? WHERE id = 1", factsRevision); err != nil {
		return changed, fmt.Errorf("record facts revision: %w", classify(err))
	}
	return changed, nil
}

// rederiveNext re-derives, in one transaction, the batch of conversations
// with ids above after. It returns how many rows it rewrote and the last id
// it read (after itself when there were none left).
func rederiveNext(ctx context.Context, db *sql.DB, after int64) (changed int, last int64, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, after, classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	rows, err := rederiveRows(ctx, tx, after)
	if err != nil || len(rows) == 0 {
		return 0, after, classify(err)
	}
	for _, r := range rows {
		if r.derived == r.stored {
			continue
		}
		if err := r.write(ctx, tx); err != nil {
			return 0, after, fmt.Errorf("conversation %d: %w", r.id, classify(err))
		}
		changed++
	}
	if err := tx.Commit(); err != nil {
		return 0, after, classify(err)
	}
	return changed, rows[len(rows)-1].id, nil
}

// rederiveRow is one conversation's derived columns as stored and as the
// current rules compute them.
type rederiveRow struct {
	id              int64
	stored, derived facts
}

// rederiveRows reads the next batch of conversations with id above after,
// with their threads, and derives their facts again. Two columns keep their
// stored value. latest_thread_at is part of the row's version (never
// regress, conversations.go): threads a merge took away could lower it, and
// a replayed older copy of the conversation would then look newer. The
// previous assignee may rest on a reassignment seen between two syncs that
// no thread records. No rule about either has changed.
func rederiveRows(ctx context.Context, tx *sql.Tx, after int64) ([]rederiveRow, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, COALESCE(assignee_id, 0), status, COALESCE(closed_at, 0), latest_reply_from,
			COALESCE(latest_thread_at, 0), last_message_by, COALESCE(last_customer_at, 0),
			COALESCE(last_agent_activity_at, 0), COALESCE(first_reply_at, 0), COALESCE(first_reply_by, 0),
			COALESCE(resolved_at, 0), COALESCE(previous_assignee_id, 0), COALESCE(first_answer_at, 0),
			COALESCE(assigned_at, 0), COALESCE(reassigned_at, 0)
		FROM conversations WHERE id > ? ORDER BY id LIMIT ?`, after, rederiveBatch)
	if err != nil {
		return nil, err
	}
	var batch []rederiveRow
	var inputs []factsInput
	for rows.Next() {
		var r rederiveRow
		var in factsInput
		s := &r.stored
		if err := rows.Scan(&r.id, &in.assigneeID, &in.status, &in.closedAt, &in.latestReplyFrom,
			&s.latestThreadAt, &s.lastMessageBy, &s.lastCustomerAt, &s.lastAgentActivityAt,
			&s.firstReplyAt, &s.firstReplyBy, &s.resolvedAt, &s.previousAssigneeID, &s.firstAnswerAt, &s.assignedAt,
			&s.reassignedAt); err != nil {
			rows.Close()
			return nil, err
		}
		in.storedPrevious, in.storedAssignedAt, in.storedReassignedAt = s.previousAssigneeID, s.assignedAt, s.reassignedAt
		batch, inputs = append(batch, r), append(inputs, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(batch) == 0 {
		return nil, err
	}
	trows, err := tx.QueryContext(ctx, "SELECT "+threadColumns+
		" FROM threads WHERE conversation_id BETWEEN ? AND ? ORDER BY conversation_id",
		batch[0].id, batch[len(batch)-1].id)
	if err != nil {
		return nil, err
	}
	threads, err := scanThreads(trows)
	if err != nil {
		return nil, err
	}
	byConv := make(map[int64][]Thread, len(batch))
	for _, t := range threads {
		byConv[t.ConversationID] = append(byConv[t.ConversationID], t)
	}
	for i := range batch {
		f := deriveFacts(inputs[i], byConv[batch[i].id])
		f.latestThreadAt = batch[i].stored.latestThreadAt
		f.previousAssigneeID = batch[i].stored.previousAssigneeID
		batch[i].derived = f
	}
	return batch, nil
}

// write stores the re-derived columns. synced_at stays: nothing was read
// from Help Scout.
func (r rederiveRow) write(ctx context.Context, tx *sql.Tx) error {
	f := r.derived
	_, err := tx.ExecContext(ctx, `UPDATE conversations SET last_message_by = ?, last_customer_at = ?,
			last_agent_activity_at = ?, first_reply_at = ?, first_reply_by = ?, resolved_at = ?, first_answer_at = ?,
			assigned_at = ?, reassigned_at = ? WHERE id = ?`,
		f.lastMessageBy, msOrNil(f.lastCustomerAt), msOrNil(f.lastAgentActivityAt),
		msOrNil(f.firstReplyAt), id(f.firstReplyBy), msOrNil(f.resolvedAt), msOrNil(f.firstAnswerAt),
		msOrNil(f.assignedAt), msOrNil(f.reassignedAt), r.id)
	return err
}
