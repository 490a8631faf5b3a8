package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Who changed a steered rotation (RotationChange.By).
const (
	// RotationByQueuewrangler: queuewrangler wrote the rotation.
	RotationByQueuewrangler = "queuewrangler"
	// RotationByOther: someone else (an admin in Help Scout) changed it,
	// and queuewrangler adopted their set as the new ceiling.
	RotationByOther = "admin"
)

// SteeredRotation is what queuewrangler remembers of one inbox's routing
// rotation in steer mode (QW_ROUTING=steer).
type SteeredRotation struct {
	MailboxID int64
	// Ceiling is the admin's set: nobody outside it is ever added.
	Ceiling []int64
	// Written is the set queuewrangler last wrote, or last adopted: what
	// Help Scout serves unless someone else changed it since.
	Written   []int64
	UpdatedAt time.Time
}

// RotationChange is one entry of the steered rotations' audit log.
type RotationChange struct {
	ID        int64
	MailboxID int64
	At        time.Time
	Before    []int64
	After     []int64
	By        string // RotationByQueuewrangler or RotationByOther
	Why       string // who was left out and why, or what was adopted
}

// SteeredRotation returns the remembered rotation of mailboxID; ok is
// false when queuewrangler has never steered it.
func (db *DB) SteeredRotation(ctx context.Context, mailboxID int64) (r SteeredRotation, ok bool, err error) {
	err = db.readTx(ctx, fmt.Sprintf("read steered rotation of mailbox %d", mailboxID), func(tx *sql.Tx) error {
		var ceiling, written string
		var at int64
		err := tx.QueryRowContext(ctx, `SELECT ceiling, written, updated_at FROM steered_rotations WHERE mailbox_id = ?`,
			mailboxID).Scan(&ceiling, &written, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return err
		}
		r = SteeredRotation{MailboxID: mailboxID, UpdatedAt: fromMS(at)}
		if r.Ceiling, err = parseIDList(sql.NullString{String: ceiling, Valid: true}); err != nil {
			return fmt.Errorf("ceiling: %w", err)
		}
		if r.Written, err = parseIDList(sql.NullString{String: written, Valid: true}); err != nil {
			return fmt.Errorf("written: %w", err)
		}
		ok = true
		return nil
	})
	return r, ok, err
}

// SaveSteeredRotation stores r and, when change is not nil, appends it to
// the audit log, in one transaction: the memory and its log never
// disagree. Ids are stored sorted.
func (db *DB) SaveSteeredRotation(ctx context.Context, r SteeredRotation, change *RotationChange) error {
	return db.writeTx(ctx, fmt.Sprintf("save steered rotation of mailbox %d", r.MailboxID), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO steered_rotations (mailbox_id, ceiling, written, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (mailbox_id) DO UPDATE SET ceiling = excluded.ceiling, written = excluded.written, updated_at = excluded.updated_at`,
			r.MailboxID, idSet(r.Ceiling), idSet(r.Written), msInt(r.UpdatedAt)); err != nil {
			return err
		}
		if change == nil {
			return nil
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO rotation_changes (mailbox_id, at, before, after, by, why) VALUES (?, ?, ?, ?, ?, ?)`,
			r.MailboxID, msInt(change.At), idSet(change.Before), idSet(change.After), change.By, change.Why)
		return err
	})
}

// RotationChanges returns the latest limit changes of steered rotations,
// newest first; mailboxID 0 means every mailbox.
func (db *DB) RotationChanges(ctx context.Context, mailboxID int64, limit int) ([]RotationChange, error) {
	var out []RotationChange
	err := db.readTx(ctx, "read rotation changes", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var c RotationChange
			var at int64
			var before, after string
			if err := rows.Scan(&c.ID, &c.MailboxID, &at, &before, &after, &c.By, &c.Why); err != nil {
				return err
			}
			c.At = fromMS(at)
			var err error
			if c.Before, err = parseIDList(sql.NullString{String: before, Valid: true}); err != nil {
				return fmt.Errorf("rotation change %d: %w", c.ID, err)
			}
			if c.After, err = parseIDList(sql.NullString{String: after, Valid: true}); err != nil {
				return fmt.Errorf("rotation change %d: %w", c.ID, err)
			}
			out = append(out, c)
			return nil
		}, `SELECT id, mailbox_id, at, before, after, by, why FROM rotation_changes
			WHERE ? = 0 OR mailbox_id = ? ORDER BY at DESC, id DESC LIMIT ?`, mailboxID, mailboxID, limit)
	})
	return out, err
}

// LatestConversationID returns the highest conversation id in the mirror
// (0 when empty). Help Scout numbers new conversations upwards, so a
// higher id than last seen means a new conversation was mirrored.
func (db *DB) LatestConversationID(ctx context.Context) (int64, error) {
	var id sql.NullInt64
	err := db.readTx(ctx, "read latest conversation id", func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `SELECT MAX(id) FROM conversations`).Scan(&id)
	})
	return id.Int64, err
}

// idSet is the stored form of a set of user ids: idList's, sorted,
// never NULL.
func idSet(ids []int64) string {
	return idList(slices.Sorted(slices.Values(ids))).String
}
