package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// InsertWebhook stores a webhook delivery durably and returns its id; the
// HTTP handler answers 200 only after this returns. Only SignatureOK events
// are ever handed out for processing. e.Status may be empty (pending) or
// WebhookRejected; e.ReceivedAt defaults to Now. The ID, Attempts and
// ProcessedAt fields are ignored.
func (db *DB) InsertWebhook(ctx context.Context, e WebhookEvent) (int64, error) {
	switch e.Status {
	case "":
		e.Status = WebhookPending
	case WebhookPending, WebhookRejected:
	default:
		return 0, fmt.Errorf("insert webhook: cannot insert with status %q", e.Status)
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = db.now()
	}
	if e.Body == nil {
		e.Body = []byte{} // the column is NOT NULL; an empty body is still a delivery
	}
	var id int64
	err := db.writeTx(ctx, "insert webhook "+e.Event, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO webhook_inbox
			(received_at, event, body, signature_ok, status, last_error) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			e.ReceivedAt.UnixMilli(), e.Event, e.Body, e.SignatureOK, string(e.Status), e.LastError).Scan(&id)
	})
	return id, err
}

// AddWebhook stores a verified event for processing (httpapi.Inbox).
func (db *DB) AddWebhook(ctx context.Context, event string, body []byte, receivedAt time.Time) (int64, error) {
	return db.InsertWebhook(ctx, WebhookEvent{Event: event, Body: body, ReceivedAt: receivedAt, SignatureOK: true})
}

// RejectWebhook records a verified event that could not be parsed, with the
// reason, so an operator can see it; it is never processed (httpapi.Inbox).
func (db *DB) RejectWebhook(ctx context.Context, event string, body []byte, receivedAt time.Time, reason string) (int64, error) {
	return db.InsertWebhook(ctx, WebhookEvent{Event: event, Body: body, ReceivedAt: receivedAt, SignatureOK: true,
		Status: WebhookRejected, LastError: reason})
}

const webhookColumns = `id, received_at, event, body, signature_ok, status, attempts, last_error, processed_at`

func scanWebhook(rows interface{ Scan(...any) error }) (WebhookEvent, error) {
	var e WebhookEvent
	var status string
	err := rows.Scan(&e.ID, timeCol{&e.ReceivedAt}, &e.Event, &e.Body, &e.SignatureOK, &status, &e.Attempts,
		&e.LastError, timeCol{&e.ProcessedAt})
	e.Status = WebhookStatus(status)
	if e.Body == nil {
		e.Body = []byte{}
	}
	return e, err
}

const pendingWebhooksQuery = `SELECT ` + webhookColumns + ` FROM webhook_inbox
	WHERE status IN ('pending', 'failed') AND signature_ok = 1 AND (status = 'pending' OR ? <= 0 OR attempts < ?)
	ORDER BY id`

// PendingWebhooks lists verified events to process, oldest first: pending
// ones, and failed ones with fewer than maxAttempts attempts (maxAttempts <=
// 0: no cap). limit <= 0 means no limit. Failed events past the cap stay in
// the inbox with their error for an operator.
func (db *DB) PendingWebhooks(ctx context.Context, maxAttempts, limit int) ([]WebhookEvent, error) {
	q := pendingWebhooksQuery
	args := []any{maxAttempts, maxAttempts}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	var out []WebhookEvent
	err := db.readTx(ctx, "list pending webhooks", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			e, err := scanWebhook(rows)
			if err != nil {
				return err
			}
			out = append(out, e)
			return nil
		}, q, args...)
	})
	return out, err
}

// Webhook returns one inbox entry, or ErrNotFound.
func (db *DB) Webhook(ctx context.Context, id int64) (WebhookEvent, error) {
	var e WebhookEvent
	err := db.readTx(ctx, fmt.Sprintf("read webhook %d", id), func(tx *sql.Tx) error {
		var err error
		e, err = scanWebhook(tx.QueryRowContext(ctx, "SELECT "+webhookColumns+" FROM webhook_inbox WHERE id = ?", id))
		return err
	})
	return e, err
}

// MarkWebhookDone records a successful processing attempt. Marking a done
// event again is a no-op; a rejected one gives ErrConflict.
func (db *DB) MarkWebhookDone(ctx context.Context, id int64) error {
	return db.writeTx(ctx, fmt.Sprintf("mark webhook %d done", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_inbox SET status = 'done', attempts = attempts + 1,
			last_error = '', processed_at = ? WHERE id = ? AND status IN ('pending', 'failed')`,
			db.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		switch st, err := webhookStatus(ctx, tx, id); {
		case err != nil:
			return err
		case st == WebhookDone:
			return nil
		default:
			return fmt.Errorf("%w: webhook is %s", ErrConflict, st)
		}
	})
}

// MarkWebhookFailed records a failed processing attempt with its error; the
// event stays retriable (PendingWebhooks) until maxAttempts. A done or
// rejected event gives ErrConflict.
func (db *DB) MarkWebhookFailed(ctx context.Context, id int64, msg string) error {
	return db.writeTx(ctx, fmt.Sprintf("mark webhook %d failed", id), func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE webhook_inbox SET status = 'failed', attempts = attempts + 1,
			last_error = ?, processed_at = ? WHERE id = ? AND status IN ('pending', 'failed')`,
			msg, db.now().UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		st, err := webhookStatus(ctx, tx, id)
		if err != nil {
			return err
		}
		return fmt.Errorf("%w: webhook is %s", ErrConflict, st)
	})
}

func webhookStatus(ctx context.Context, tx *sql.Tx, id int64) (WebhookStatus, error) {
	var st string
	err := tx.QueryRowContext(ctx, "SELECT status FROM webhook_inbox WHERE id = ?", id).Scan(&st)
	if errors.Is(err, sql.ErrNoRows) {
		return "", ErrNotFound
	}
	return WebhookStatus(st), err
}

// PruneWebhooks deletes events processed successfully before the given time
// and returns how many went. Failed and rejected events stay.
func (db *DB) PruneWebhooks(ctx context.Context, doneBefore time.Time) (int, error) {
	var n int64
	err := db.writeTx(ctx, "prune webhooks", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, "DELETE FROM webhook_inbox WHERE status = 'done' AND processed_at < ?",
			doneBefore.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return int(n), err
}
