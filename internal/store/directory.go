package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// The directory (mailboxes, users, teams, statuses) is small and refreshed
// whole on a slow cadence, so each Replace call takes the complete list:
// rows in it are upserted, rows missing from it are deleted, in one
// transaction.

// ReplaceMailboxes makes the stored mailboxes exactly ms, and forgets
// what the store held of each mailbox it listed and ms does not
// (ReplaceMailboxesLeaving), the cursors of their walks excepted: callers
// without walks of their own.
func (db *DB) ReplaceMailboxes(ctx context.Context, ms []Mailbox) error {
	_, err := db.ReplaceMailboxesLeaving(ctx, ms, "")
	return err
}

// ReplaceMailboxesLeaving makes the stored mailboxes exactly ms and, in
// the same transaction, forgets each mailbox the store listed and ms does
// not (deleted, or hidden from the API user): its conversations leave the
// mirror as NarrowMirrorScope's do, with tombstones that block no later
// copy, its walk from the beginning is forgotten (walked_mailboxes), and
// so is the cursor of a walk of it left unfinished, named
// walkCursorPrefix and the mailbox id ("" names none). It returns how
// many conversations it removed, by mailbox.
//
// Forgotten rather than kept for Help Scout to say of each that it is
// gone: the reconcile's deletion walk would find every one of them
// missing from the listing and read each on its own, a request per
// conversation (hours for a large mailbox, holding the sync), or, with no
// mailbox left to list, never look at them at all. And a mailbox that is
// not polled meanwhile must be read again from the beginning if it comes
// back: what changed while it was away was never read. One transaction,
// so that a failure (a full disk) leaves the mailbox listed with all of
// it, and a refresh that drops it drops all of it: resumed from a stale
// cursor, the walk of a mailbox listed again would never read what came
// before it, removed here.
func (db *DB) ReplaceMailboxesLeaving(ctx context.Context, ms []Mailbox, walkCursorPrefix string) (map[int64]int, error) {
	var removed map[int64]int
	err := db.writeTx(ctx, "replace mailboxes", func(tx *sql.Tx) error {
		ids := make([]int64, len(ms))
		for i, m := range ms {
			ids[i] = m.ID
		}
		listed, err := json.Marshal(ids) // never nil: "[]" for none
		if err != nil {
			return err
		}
		gone, err := queryColumn[int64](ctx, tx, "SELECT id FROM mailboxes WHERE id NOT IN (SELECT value FROM json_each(?)) ORDER BY id", string(listed))
		if err != nil {
			return err
		}
		for _, m := range ms {
			if _, err := tx.ExecContext(ctx, `INSERT INTO mailboxes (id, name, email, slug) VALUES (?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, email = excluded.email, slug = excluded.slug`,
				m.ID, m.Name, m.Email, m.Slug); err != nil {
				return fmt.Errorf("mailbox %d: %w", m.ID, err)
			}
		}
		if err := deleteMissing(ctx, tx, "mailboxes", "id", ids); err != nil {
			return err
		}
		if len(gone) > 0 {
			if removed, err = db.forgetConversations(ctx, tx, "mailbox_id IN ("+placeholders(len(gone))+")", anys(gone)...); err != nil {
				return err
			}
		}
		for _, id := range gone {
			if walkCursorPrefix == "" {
				break
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM sync_cursors WHERE name = ?", walkCursorPrefix+strconv.FormatInt(id, 10)); err != nil {
				return err
			}
		}
		_, err = tx.ExecContext(ctx, "DELETE FROM walked_mailboxes WHERE mailbox_id NOT IN (SELECT id FROM mailboxes)")
		return err
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// anys converts ids for a statement's arguments.
func anys(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

// ReplaceUsers makes the stored users (and teams listed among them) exactly
// us. An empty Type is stored as UserTypeUser.
func (db *DB) ReplaceUsers(ctx context.Context, us []User) error {
	return db.writeTx(ctx, "replace users", func(tx *sql.Tx) error {
		ids := make([]int64, len(us))
		for i, u := range us {
			ids[i] = u.ID
			typ := u.Type
			if typ == "" {
				typ = UserTypeUser
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO users
				(id, first_name, last_name, email, role, timezone, type, updated_at, out_of_scope, mailboxes)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, last_name = excluded.last_name,
				  email = excluded.email, role = excluded.role, timezone = excluded.timezone, type = excluded.type,
				  updated_at = excluded.updated_at, out_of_scope = excluded.out_of_scope, mailboxes = excluded.mailboxes`,
				u.ID, u.First, u.Last, u.Email, u.Role, u.Timezone, typ, ms(u.UpdatedAt), u.OutOfScope, idList(u.Mailboxes)); err != nil {
				return fmt.Errorf("user %d: %w", u.ID, err)
			}
		}
		return deleteMissing(ctx, tx, "users", "id", ids)
	})
}

// ReplaceTeams makes the stored teams and their members exactly ts.
func (db *DB) ReplaceTeams(ctx context.Context, ts []Team) error {
	return db.writeTx(ctx, "replace teams", func(tx *sql.Tx) error {
		ids := make([]int64, len(ts))
		for i, t := range ts {
			ids[i] = t.ID
			if _, err := tx.ExecContext(ctx, `INSERT INTO teams (id, name, timezone, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET name = excluded.name, timezone = excluded.timezone,
				  updated_at = excluded.updated_at`,
				t.ID, t.Name, t.Timezone, ms(t.UpdatedAt)); err != nil {
				return fmt.Errorf("team %d: %w", t.ID, err)
			}
			if _, err := tx.ExecContext(ctx, "DELETE FROM team_members WHERE team_id = ?", t.ID); err != nil {
				return fmt.Errorf("team %d: %w", t.ID, err)
			}
			for _, m := range t.Members {
				if _, err := tx.ExecContext(ctx, `INSERT INTO team_members (team_id, user_id) VALUES (?, ?)
					ON CONFLICT DO NOTHING`, t.ID, m); err != nil {
					return fmt.Errorf("team %d member %d: %w", t.ID, m, err)
				}
			}
		}
		// Members of deleted teams go with them (ON DELETE CASCADE).
		return deleteMissing(ctx, tx, "teams", "id", ids)
	})
}

// ReplaceUserStatuses makes the stored statuses exactly ss.
func (db *DB) ReplaceUserStatuses(ctx context.Context, ss []UserStatus) error {
	return db.writeTx(ctx, "replace user statuses", func(tx *sql.Tx) error {
		ids := make([]int64, len(ss))
		for i, s := range ss {
			ids[i] = s.UserID
			if _, err := tx.ExecContext(ctx, `INSERT INTO user_statuses (user_id, status, updated_at, source)
				VALUES (?, ?, ?, ?)
				ON CONFLICT (user_id) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at,
				  source = excluded.source`,
				s.UserID, s.Status, ms(s.UpdatedAt), s.Source); err != nil {
				return fmt.Errorf("status of user %d: %w", s.UserID, err)
			}
		}
		return deleteMissing(ctx, tx, "user_statuses", "user_id", ids)
	})
}

// deleteMissing deletes the rows of table whose key is not in keep. The ids
// travel as one JSON array, so the statement is the same for any count.
// table and key are constants of this file, never caller input.
func deleteMissing(ctx context.Context, tx *sql.Tx, table, key string, keep []int64) error {
	if keep == nil {
		keep = []int64{}
	}
	js, err := json.Marshal(keep)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM "+table+" WHERE "+key+" NOT IN (SELECT value FROM json_each(?))", string(js))
	if err != nil {
		return fmt.Errorf("delete missing %s: %w", table, err)
	}
	return nil
}

// Mailboxes lists the stored mailboxes by id.
func (db *DB) Mailboxes(ctx context.Context) ([]Mailbox, error) {
	var out []Mailbox
	err := db.readTx(ctx, "read mailboxes", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var m Mailbox
			if err := rows.Scan(&m.ID, &m.Name, &m.Email, &m.Slug); err != nil {
				return err
			}
			out = append(out, m)
			return nil
		}, "SELECT id, name, email, slug FROM mailboxes ORDER BY id")
	})
	return out, err
}

// Users lists the stored users and teams-as-users by id.
func (db *DB) Users(ctx context.Context) ([]User, error) {
	var out []User
	err := db.readTx(ctx, "read users", func(tx *sql.Tx) error {
		var err error
		out, err = users(ctx, tx)
		return err
	})
	return out, err
}

func users(ctx context.Context, tx *sql.Tx) ([]User, error) {
	var out []User
	err := eachRow(ctx, tx, func(rows *sql.Rows) error {
		var u User
		var mailboxes sql.NullString
		if err := rows.Scan(&u.ID, &u.First, &u.Last, &u.Email, &u.Role, &u.Timezone, &u.Type, timeCol{&u.UpdatedAt}, &u.OutOfScope, &mailboxes); err != nil {
			return err
		}
		var err error
		if u.Mailboxes, err = parseIDList(mailboxes); err != nil {
			return fmt.Errorf("user %d: mailboxes: %w", u.ID, err)
		}
		out = append(out, u)
		return nil
	}, "SELECT id, first_name, last_name, email, role, timezone, type, updated_at, out_of_scope, mailboxes FROM users ORDER BY id")
	return out, err
}

// idList encodes ids for a nullable TEXT column: NULL for nil, empty for
// none, "1,2" otherwise.
func idList(ids []int64) sql.NullString {
	if ids == nil {
		return sql.NullString{}
	}
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = strconv.FormatInt(id, 10)
	}
	return sql.NullString{String: strings.Join(parts, ","), Valid: true}
}

// parseIDList decodes idList's encoding.
func parseIDList(s sql.NullString) ([]int64, error) {
	if !s.Valid {
		return nil, nil
	}
	out := []int64{}
	if s.String == "" {
		return out, nil
	}
	for _, part := range strings.Split(s.String, ",") {
		id, err := strconv.ParseInt(part, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, nil
}

// Teams lists the stored teams by id, each with its members.
func (db *DB) Teams(ctx context.Context) ([]Team, error) {
	var out []Team
	err := db.readTx(ctx, "read teams", func(tx *sql.Tx) error {
		if err := eachRow(ctx, tx, func(rows *sql.Rows) error {
			var t Team
			if err := rows.Scan(&t.ID, &t.Name, &t.Timezone, timeCol{&t.UpdatedAt}); err != nil {
				return err
			}
			out = append(out, t)
			return nil
		}, "SELECT id, name, timezone, updated_at FROM teams ORDER BY id"); err != nil {
			return err
		}
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var team, user int64
			if err := rows.Scan(&team, &user); err != nil {
				return err
			}
			i, ok := slices.BinarySearchFunc(out, team, func(t Team, id int64) int {
				return cmpInt(t.ID, id)
			})
			if ok {
				out[i].Members = append(out[i].Members, user)
			}
			return nil
		}, "SELECT team_id, user_id FROM team_members ORDER BY team_id, user_id")
	})
	return out, err
}

// UserStatuses lists the stored statuses by user id.
func (db *DB) UserStatuses(ctx context.Context) ([]UserStatus, error) {
	var out []UserStatus
	err := db.readTx(ctx, "read user statuses", func(tx *sql.Tx) error {
		var err error
		out, err = userStatuses(ctx, tx)
		return err
	})
	return out, err
}

func userStatuses(ctx context.Context, tx *sql.Tx) ([]UserStatus, error) {
	var out []UserStatus
	err := eachRow(ctx, tx, func(rows *sql.Rows) error {
		var s UserStatus
		if err := rows.Scan(&s.UserID, &s.Status, timeCol{&s.UpdatedAt}, &s.Source); err != nil {
			return err
		}
		out = append(out, s)
		return nil
	}, "SELECT user_id, status, updated_at, source FROM user_statuses ORDER BY user_id")
	return out, err
}
