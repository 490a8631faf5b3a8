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
//  1. the first rules;
//  2. an agent's published chat message or logged call is a reply
//     (agentReply), not only an email.
const factsRevision = 2

// rederiveBatch bounds the conversations read at once while re-deriving.
const rederiveBatch = 500

// rederiveFacts brings the derived columns of every stored conversation up
// to factsRevision, in one transaction: a crash part-way leaves the old
// revision recorded and the next Open starts again. It returns how many
// rows changed. A file already at this revision, or derived by a newer
// binary, is left alone.
func rederiveFacts(ctx context.Context, db *sql.DB) (changed int, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, classify(err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var rev int
	if err := tx.QueryRowContext(ctx, "SELECT revision FROM facts_revision WHERE id = 1").Scan(&rev); err != nil {
		return 0, fmt.Errorf("read facts revision: %w", classify(err))
	}
	if rev >= factsRevision {
		return 0, nil
	}
	for after := int64(math.MinInt64); ; {
		rows, last, err := rederiveRows(ctx, tx, after)
		if err != nil {
			return changed, fmt.Errorf("re-derive conversations after id %d: %w", after, classify(err))
		}
		for _, r := range rows {
			if r.derived == r.stored {
				continue
			}
			if err := r.write(ctx, tx); err != nil {
				return changed, fmt.Errorf("re-derive conversation %d: %w", r.id, classify(err))
			}
			changed++
		}
		if len(rows) < rederiveBatch {
			break
		}
		after = last
	}
	if _, err := tx.ExecContext(ctx, "UPDATE facts_revision SET revision = ? WHERE id = 1", factsRevision); err != nil {
		return changed, fmt.Errorf("record facts revision: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return changed, classify(err)
	}
	return changed, nil
}

// rederiveRow is one conversation's derived columns as stored and as the
// current rules compute them.
type rederiveRow struct {
	id              int64
	stored, derived facts
}

// rederiveRows reads the next batch of conversations with id above after,
// with their threads, and derives their facts again. The previous assignee
// is kept as stored: it may rest on a reassignment seen between two syncs
// that no thread records, and no rule about it has changed.
func rederiveRows(ctx context.Context, tx *sql.Tx, after int64) ([]rederiveRow, int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT id, COALESCE(assignee_id, 0), status, COALESCE(closed_at, 0), latest_reply_from,
			COALESCE(latest_thread_at, 0), last_message_by, COALESCE(last_customer_at, 0),
			COALESCE(last_agent_activity_at, 0), COALESCE(first_reply_at, 0), COALESCE(first_reply_by, 0),
			COALESCE(resolved_at, 0), COALESCE(previous_assignee_id, 0)
		FROM conversations WHERE id > ? ORDER BY id LIMIT ?`, after, rederiveBatch)
	if err != nil {
		return nil, 0, err
	}
	var batch []rederiveRow
	var inputs []factsInput
	for rows.Next() {
		var r rederiveRow
		var in factsInput
		s := &r.stored
		if err := rows.Scan(&r.id, &in.assigneeID, &in.status, &in.closedAt, &in.latestReplyFrom,
			&s.latestThreadAt, &s.lastMessageBy, &s.lastCustomerAt, &s.lastAgentActivityAt,
			&s.firstReplyAt, &s.firstReplyBy, &s.resolvedAt, &s.previousAssigneeID); err != nil {
			rows.Close()
			return nil, 0, err
		}
		in.storedPrevious = s.previousAssigneeID
		batch, inputs = append(batch, r), append(inputs, in)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, 0, err
	}
	if len(batch) == 0 {
		return nil, after, nil
	}
	first, last := batch[0].id, batch[len(batch)-1].id
	trows, err := tx.QueryContext(ctx, "SELECT "+threadColumns+
		" FROM threads WHERE conversation_id BETWEEN ? AND ? ORDER BY conversation_id", first, last)
	if err != nil {
		return nil, 0, err
	}
	threads, err := scanThreads(trows)
	if err != nil {
		return nil, 0, err
	}
	byConv := make(map[int64][]Thread, len(batch))
	for _, t := range threads {
		byConv[t.ConversationID] = append(byConv[t.ConversationID], t)
	}
	for i := range batch {
		f := deriveFacts(inputs[i], byConv[batch[i].id])
		f.previousAssigneeID = batch[i].stored.previousAssigneeID
		batch[i].derived = f
	}
	return batch, last, nil
}

// write stores the re-derived columns. synced_at stays: nothing was read
// from Help Scout.
func (r rederiveRow) write(ctx context.Context, tx *sql.Tx) error {
	f := r.derived
	_, err := tx.ExecContext(ctx, `UPDATE conversations SET latest_thread_at = ?, last_message_by = ?,
			last_customer_at = ?, last_agent_activity_at = ?, first_reply_at = ?, first_reply_by = ?,
			resolved_at = ? WHERE id = ?`,
		msOrNil(f.latestThreadAt), f.lastMessageBy, msOrNil(f.lastCustomerAt), msOrNil(f.lastAgentActivityAt),
		msOrNil(f.firstReplyAt), id(f.firstReplyBy), msOrNil(f.resolvedAt), r.id)
	return err
}
