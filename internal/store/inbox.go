package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// ReplayWindow is how long an identical delivery (the same event name and
// body) is recognised as one already received. Help Scout signs without a
// timestamp, so a captured body stays valid for ever and can be replayed
// at will; within the window a replay is acknowledged and does nothing.
// A legitimate delivery identical to an earlier one (tags added and taken
// off again within the window) is healed by the next poll, which is the
// source of truth.
const ReplayWindow = 24 * time.Hour

// Bounds of the sample of rejected deliveries: the newest are kept up to
// this total of body bytes and this many rows (the newest one always), and
// none longer than the rest of the inbox (PruneWebhooks). Every rejection
// is counted in webhook_rejections whether or not its body is kept.
const (
	RejectedSampleBytes = 4 << 20
	RejectedSampleRows  = 200
)

// InsertWebhook stores a webhook delivery durably and returns its id; the
// HTTP handler answers 200 only after this returns. Only SignatureOK events
// are ever handed out for processing. e.Status may be empty (pending) or
// WebhookRejected; e.ReceivedAt defaults to Now. The ID, Attempts and
// ProcessedAt fields are ignored. It stores every delivery as it comes;
// AddWebhook and RejectWebhook are the deduplicating, bounded ways in.
func (db *DB) InsertWebhook(ctx context.Context, e WebhookEvent) (int64, error) {
	e, err := normalizeWebhook(e, db.now())
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.writeTx(ctx, "insert webhook "+e.Event, func(tx *sql.Tx) error {
		id, err = insertWebhook(ctx, tx, e)
		return err
	})
	return id, err
}

func normalizeWebhook(e WebhookEvent, now time.Time) (WebhookEvent, error) {
	switch e.Status {
	case "":
		e.Status = WebhookPending
	case WebhookPending, WebhookRejected:
	default:
		return e, fmt.Errorf("insert webhook: cannot insert with status %q", e.Status)
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = now
	}
	if e.Body == nil {
		e.Body = []byte{} // the column is NOT NULL; an empty body is still a delivery
	}
	return e, nil
}

func insertWebhook(ctx context.Context, tx *sql.Tx, e WebhookEvent) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO webhook_inbox
		(received_at, event, body, signature_ok, status, last_error, digest) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		e.ReceivedAt.UnixMilli(), e.Event, e.Body, e.SignatureOK, string(e.Status), e.LastError,
		webhookDigest(e.Event, e.Body)).Scan(&id)
	return id, err
}

// webhookDigest identifies a delivery by its event name and raw body.
func webhookDigest(event string, body []byte) []byte {
	h := sha256.New()
	h.Write([]byte(event))
	h.Write([]byte{0})
	h.Write(body)
	return h.Sum(nil)
}

const seenWebhookQuery = `SELECT id FROM webhook_inbox WHERE digest = ? AND received_at >= ?
	ORDER BY id DESC LIMIT 1`

// seenWebhook returns the newest delivery identical to this one received
// within ReplayWindow before receivedAt (or after it: clocks and retries
// do not arrive in order), or 0.
func seenWebhook(ctx context.Context, tx *sql.Tx, digest []byte, receivedAt time.Time) (int64, error) {
	var id int64
	err := tx.QueryRowContext(ctx, seenWebhookQuery, digest, receivedAt.Add(-ReplayWindow).UnixMilli()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return id, err
}

// AddWebhook stores a verified event for processing (httpapi.Inbox) and
// returns its id. A delivery identical to one received within ReplayWindow
// (a replay, or Help Scout delivering again) is not stored a second time:
// AddWebhook returns the earlier event's id and duplicate true, and the
// event has no second effect.
func (db *DB) AddWebhook(ctx context.Context, event string, body []byte, receivedAt time.Time) (id int64, duplicate bool, err error) {
	e, err := normalizeWebhook(WebhookEvent{Event: event, Body: body, ReceivedAt: receivedAt, SignatureOK: true}, db.now())
	if err != nil {
		return 0, false, err
	}
	err = db.writeTx(ctx, "insert webhook "+e.Event, func(tx *sql.Tx) error {
		if id, err = seenWebhook(ctx, tx, webhookDigest(e.Event, e.Body), e.ReceivedAt); err != nil || id != 0 {
			duplicate = id != 0
			return err
		}
		id, err = insertWebhook(ctx, tx, e)
		return err
	})
	return id, duplicate, err
}

// RejectWebhook records a verified event that could not be parsed, with the
// reason, so an operator can see it; it is never processed (httpapi.Inbox).
// Every rejection is counted (WebhookRejections), but only a bounded sample
// of bodies is kept: an identical body already kept within ReplayWindow is
// not kept again, and the oldest samples go beyond RejectedSampleBytes or
// RejectedSampleRows. It returns the id of the sample that holds the body.
func (db *DB) RejectWebhook(ctx context.Context, event string, body []byte, receivedAt time.Time, reason string) (int64, error) {
	e, err := normalizeWebhook(WebhookEvent{Event: event, Body: body, ReceivedAt: receivedAt, SignatureOK: true,
		Status: WebhookRejected, LastError: reason}, db.now())
	if err != nil {
		return 0, err
	}
	var id int64
	err = db.writeTx(ctx, "reject webhook "+e.Event, func(tx *sql.Tx) error {
		at := e.ReceivedAt.UnixMilli()
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhook_rejections (event, count, first_at, last_at) VALUES (?, 1, ?, ?)
			ON CONFLICT (event) DO UPDATE SET count = count + 1, first_at = MIN(first_at, excluded.first_at),
			last_at = MAX(last_at, excluded.last_at)`, e.Event, at, at); err != nil {
			return err
		}
		if id, err = seenWebhook(ctx, tx, webhookDigest(e.Event, e.Body), e.ReceivedAt); err != nil || id != 0 {
			return err
		}
		if id, err = insertWebhook(ctx, tx, e); err != nil {
			return err
		}
		_, err = boundRejected(ctx, tx)
		return err
	})
	return id, err
}

// boundRejected deletes the oldest rejected samples beyond the size and
// row bounds, keeping the newest one whatever its size.
func boundRejected(ctx context.Context, tx *sql.Tx) (int64, error) {
	res, err := tx.ExecContext(ctx, `DELETE FROM webhook_inbox WHERE status = 'rejected' AND id NOT IN (
		SELECT id FROM (
			SELECT id, SUM(LENGTH(body)) OVER newest AS total, ROW_NUMBER() OVER newest AS n
			FROM webhook_inbox WHERE status = 'rejected'
			WINDOW newest AS (ORDER BY id DESC))
		WHERE (total <= ? OR n = 1) AND n <= ?)`, RejectedSampleBytes, RejectedSampleRows)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// WebhookRejection counts the rejected deliveries of one event name.
type WebhookRejection struct {
	Event           string
	Count           int64
	FirstAt, LastAt time.Time
}

// WebhookRejections lists how many deliveries of each event were rejected
// since the count began, whether or not their bodies are still kept.
func (db *DB) WebhookRejections(ctx context.Context) ([]WebhookRejection, error) {
	var out []WebhookRejection
	err := db.readTx(ctx, "count rejected webhooks", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var r WebhookRejection
			if err := rows.Scan(&r.Event, &r.Count, timeCol{&r.FirstAt}, timeCol{&r.LastAt}); err != nil {
				return err
			}
			out = append(out, r)
			return nil
		}, "SELECT event, count, first_at, last_at FROM webhook_rejections ORDER BY event")
	})
	return out, err
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
	AND id > ? ORDER BY id`

// PendingWebhooks lists verified events to process, oldest first: pending
// ones, and failed ones with fewer than maxAttempts attempts (maxAttempts <=
// 0: no cap). limit <= 0 means no limit. Failed events past the cap stay in
// the inbox with their error until PruneWebhooks removes them.
func (db *DB) PendingWebhooks(ctx context.Context, maxAttempts, limit int) ([]WebhookEvent, error) {
	return db.PendingWebhooksAfter(ctx, 0, maxAttempts, limit)
}

// PendingWebhooksAfter is PendingWebhooks for the events after the one
// with id afterID: a processor that has worked through the inbox up to
// there takes only what arrived since.
func (db *DB) PendingWebhooksAfter(ctx context.Context, afterID int64, maxAttempts, limit int) ([]WebhookEvent, error) {
	q := pendingWebhooksQuery
	args := []any{maxAttempts, maxAttempts, afterID}
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

// PruneWebhooks deletes what the inbox no longer needs from before the
// given time: events processed successfully and rejected samples received
// then (their count stays in webhook_rejections), and failed events that
// used up their maxAttempts (the poll has healed the mirror by then; 0
// means no cap, as in PendingWebhooks, so none is given up). It
// trims the rejected samples to their bounds, and returns how many rows
// went and, of them, how many were given-up failures. Failed events still
// being retried stay.
func (db *DB) PruneWebhooks(ctx context.Context, before time.Time, maxAttempts int) (pruned, gaveUp int, err error) {
	var n, failed int64
	err = db.writeTx(ctx, "prune webhooks", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM webhook_inbox
			WHERE status = 'failed' AND ? > 0 AND attempts >= ? AND processed_at < ?`,
			maxAttempts, maxAttempts, before.UnixMilli())
		if err != nil {
			return err
		}
		if failed, err = res.RowsAffected(); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM webhook_inbox
			WHERE status = 'done' AND processed_at < ? OR status = 'rejected' AND received_at < ?`,
			before.UnixMilli(), before.UnixMilli())
		if err != nil {
			return err
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		bounded, err := boundRejected(ctx, tx)
		n += bounded + failed
		return err
	})
	return int(n), int(failed), err
}
