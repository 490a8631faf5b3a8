package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// LiveSeam is where the live histograms began (migration 10): Since is the
// moment the daemon's first sync with metrics began, HistoryUntil the
// newest first reply or resolution the mirror held then (zero for none).
// The zero LiveSeam means the daemon has never observed live.
type LiveSeam struct {
	Since        time.Time
	HistoryUntil time.Time
}

const (
	// newestEventQuery is the newest first reply or resolution that the
	// histograms count (the filters of the unobserved queries).
	newestEventQuery = `SELECT MAX(at) FROM (
		SELECT MAX(first_reply_at) AS at FROM conversations
		WHERE first_reply_at IS NOT NULL AND created_by_type = 'customer' AND status <> 'spam' AND state <> 'deleted'
		UNION ALL SELECT MAX(resolved_at) FROM conversations
		WHERE resolved_at IS NOT NULL AND status <> 'spam' AND state <> 'deleted')`

	// The history queries: events in [from, to) not observed live. With a
	// seam (? = 1), only events marked without an observation: one not
	// marked yet may still be observed live at the daemon's next pass, and
	// one whose flag is unknown (migration 10) may have been.
	historyFirstResponsesQuery = `SELECT id, mailbox_id, COALESCE(first_reply_by, 0), created_at, first_reply_at
		FROM conversations
		WHERE first_reply_at >= ? AND first_reply_at < ? AND created_at IS NOT NULL
		  AND created_by_type = 'customer' AND status <> 'spam' AND state <> 'deleted'
		  AND (first_response_live = 0 OR ? = 0 AND first_response_observed_at IS NULL)
		ORDER BY first_reply_at, id`

	historyResolutionsQuery = `SELECT id, mailbox_id, COALESCE(assignee_id, 0), created_at, resolved_at
		FROM conversations
		WHERE resolved_at >= ? AND resolved_at < ? AND created_at IS NOT NULL
		  AND status <> 'spam' AND state <> 'deleted'
		  AND (resolution_live = 0 OR ? = 0 AND resolution_observed_at IS NULL)
		ORDER BY resolved_at, id`
)

// BeginLiveObservation returns the seam, recording it at now on the first
// call in the file's life: the daemon calls it before its first sync with
// metrics, so that HistoryUntil is what the mirror held before the daemon
// added anything.
func (db *DB) BeginLiveObservation(ctx context.Context, now time.Time) (LiveSeam, error) {
	var seam LiveSeam
	err := db.writeTx(ctx, "begin live observation", func(tx *sql.Tx) error {
		var err error
		if seam, err = readSeam(ctx, tx); err != nil || !seam.Since.IsZero() {
			return err
		}
		var newest time.Time
		if err := tx.QueryRowContext(ctx, newestEventQuery).Scan(timeCol{&newest}); err != nil {
			return err
		}
		seam = LiveSeam{Since: now.UTC().Truncate(time.Millisecond), HistoryUntil: newest}
		_, err = tx.ExecContext(ctx, "INSERT INTO live_observation (id, since, history_until) VALUES (1, ?, ?)",
			seam.Since.UnixMilli(), ms(newest))
		return err
	})
	return seam, err
}

func readSeam(ctx context.Context, tx *sql.Tx) (LiveSeam, error) {
	var seam LiveSeam
	err := tx.QueryRowContext(ctx, "SELECT since, history_until FROM live_observation WHERE id = 1").
		Scan(timeCol{&seam.Since}, timeCol{&seam.HistoryUntil})
	if errors.Is(err, sql.ErrNoRows) {
		return LiveSeam{}, nil
	}
	return seam, err
}

// History is what the live histograms did not observe, read in one
// snapshot (History).
type History struct {
	// Seam is where live observation began; zero when the daemon has never
	// run on this file.
	Seam LiveSeam
	// End is where the history stops: Seam.Since, or without a seam just
	// after the newest first reply or resolution in the mirror (zero when
	// there is none), which the daemon's first pass will then never observe
	// (LiveSeam.HistoryUntil).
	End time.Time
	// FirstResponses and Resolutions in [from, End), oldest first.
	FirstResponses []Observation
	Resolutions    []Observation
}

// History reads the first responses and resolutions from from on that
// the live histograms did not observe and never will: with a seam, those
// before it whose mark was set without an observation; without one, every
// one in the mirror. Spam and deleted conversations are left out, as the
// live histograms leave them out.
func (db *DB) History(ctx context.Context, from time.Time) (History, error) {
	var h History
	err := db.readTx(ctx, "read history", func(tx *sql.Tx) error {
		var err error
		if h.Seam, err = readSeam(ctx, tx); err != nil {
			return err
		}
		markedOnly := 1
		h.End = h.Seam.Since
		if h.End.IsZero() {
			markedOnly = 0
			var newest time.Time
			if err := tx.QueryRowContext(ctx, newestEventQuery).Scan(timeCol{&newest}); err != nil {
				return err
			}
			if newest.IsZero() {
				return nil
			}
			h.End = newest.Add(time.Millisecond)
		}
		for _, q := range []struct {
			dst   *[]Observation
			query string
		}{{&h.FirstResponses, historyFirstResponsesQuery}, {&h.Resolutions, historyResolutionsQuery}} {
			err := eachRow(ctx, tx, func(rows *sql.Rows) error {
				var o Observation
				if err := rows.Scan(&o.ConversationID, &o.MailboxID, &o.AgentID, timeCol{&o.CreatedAt}, timeCol{&o.At}); err != nil {
					return err
				}
				*q.dst = append(*q.dst, o)
				return nil
			}, q.query, from.UnixMilli(), h.End.UnixMilli(), markedOnly)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return h, err
}
