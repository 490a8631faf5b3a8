package store

import (
	"context"
	"database/sql"
	"math"
	"strings"
	"time"
)

// Reads for the queue page (internal/httpapi's CustomerNames and
// FirstResponses). They sit apart from the read models the balancer and the
// metrics use, and change for the page's reasons.

const (
	// customerNamesChunk keeps each IN (...) list well under SQLite's bound
	// on variables.
	customerNamesChunk = 500

	// firstResponsesQuery uses the metrics' definition of a first
	// response (unobservedFirstResponsesQuery): customer-started, not spam,
	// not deleted. The covering index conversations_first_reply (migration
	// 2) makes it a range of the index: 0.7 ms instead of a 44 ms table scan
	// for 1,180 answers among 100,000 conversations.
	firstResponsesQuery = `SELECT created_at, first_reply_at FROM conversations
		WHERE first_reply_at >= ? AND first_reply_at < ? AND created_at IS NOT NULL
		  AND created_by_type = 'customer' AND status <> 'spam' AND state <> 'deleted'`
)

// CustomerNames returns the primary customer's name of each conversation
// found among ids, by conversation id: "First Last", or the email when
// Help Scout has no name. Conversations without either are left out.
func (db *DB) CustomerNames(ctx context.Context, conversationIDs []int64) (map[int64]string, error) {
	out := make(map[int64]string, len(conversationIDs))
	err := db.readTx(ctx, "read customer names", func(tx *sql.Tx) error {
		for start := 0; start < len(conversationIDs); start += customerNamesChunk {
			chunk := conversationIDs[start:min(start+customerNamesChunk, len(conversationIDs))]
			args := make([]any, len(chunk))
			for i, id := range chunk {
				args[i] = id
			}
			err := eachRow(ctx, tx, func(rows *sql.Rows) error {
				var id int64
				var first, last, email string
				if err := rows.Scan(&id, &first, &last, &email); err != nil {
					return err
				}
				if name := strings.TrimSpace(first + " " + last); name != "" {
					out[id] = name
				} else if email != "" {
					out[id] = email
				}
				return nil
			}, "SELECT id, customer_first, customer_last, customer_email FROM conversations WHERE id IN ("+
				placeholders(len(chunk))+")", args...)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// FirstResponseTimes lists the first response times (first agent reply
// minus creation) of customer-started conversations whose first reply was
// sent at or after since, in no particular order. A reply stamped before
// its conversation's creation counts as zero.
func (db *DB) FirstResponseTimes(ctx context.Context, since time.Time) ([]time.Duration, error) {
	spans, err := db.FirstResponsesBetween(ctx, since, time.UnixMilli(math.MaxInt64))
	if err != nil {
		return nil, err
	}
	var out []time.Duration
	for _, s := range spans {
		out = append(out, max(s.RepliedAt.Sub(s.CreatedAt), 0))
	}
	return out, nil
}

// FirstResponse is one first response by the metrics' definition: when
// the customer-started conversation was created and when the first agent
// reply was sent.
type FirstResponse struct {
	CreatedAt, RepliedAt time.Time
}

// FirstResponsesBetween lists the first responses sent in [from, to), in
// no particular order: the Slack digest's day (the office-hours time of
// each needs both ends, not only their difference).
func (db *DB) FirstResponsesBetween(ctx context.Context, from, to time.Time) ([]FirstResponse, error) {
	var out []FirstResponse
	err := db.readTx(ctx, "read first responses", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var r FirstResponse
			if err := rows.Scan(timeCol{&r.CreatedAt}, timeCol{&r.RepliedAt}); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		}, firstResponsesQuery, from.UnixMilli(), to.UnixMilli())
	})
	return out, err
}
