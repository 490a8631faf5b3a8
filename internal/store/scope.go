package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
)

// everyMailbox is mirror_scope's row for "every mailbox of the account".
const everyMailbox = 0

// MirrorScope is what the mirror was built for: the mailboxes whose whole
// history it holds (QW_MAILBOXES as it was when they were walked).
//
// Recorded is kept apart from the mailboxes (migration 0012): a switch
// from one mailbox to another narrows the scope to none before the new
// one is walked, and if that walk does not finish, the next start must
// find a recorded scope holding no mailbox, not an unrecorded one it
// would take as built for what it is started with.
type MirrorScope struct {
	// Recorded is false until a scope is first recorded: a new file, or
	// one from before the scope was kept. A recorded scope may hold no
	// mailbox.
	Recorded bool
	// All: every mailbox of the account (QW_MAILBOXES empty).
	All bool
	// Mailboxes, sorted, when not All.
	Mailboxes []int64
}

// MirrorScope reads the recorded scope.
func (db *DB) MirrorScope(ctx context.Context) (MirrorScope, error) {
	var s MirrorScope
	err := db.readTx(ctx, "read the mirrored scope", func(tx *sql.Tx) error {
		recorded, err := queryColumn[int64](ctx, tx, "SELECT id FROM mirror_scope_recorded")
		if err != nil || len(recorded) == 0 {
			return err
		}
		ids, err := queryColumn[int64](ctx, tx, "SELECT mailbox_id FROM mirror_scope ORDER BY mailbox_id")
		if err != nil {
			return err
		}
		s = scopeOf(ids)
		return nil
	})
	return s, err
}

// scopeOf is the recorded scope whose rows are ids.
func scopeOf(ids []int64) MirrorScope {
	if slices.Contains(ids, everyMailbox) {
		return MirrorScope{Recorded: true, All: true}
	}
	return MirrorScope{Recorded: true, Mailboxes: ids}
}

// markScopeRecorded says, in the transaction of every write of the scope,
// that it is recorded, whatever mailboxes it holds after.
func markScopeRecorded(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, "INSERT INTO mirror_scope_recorded (id) VALUES (1) ON CONFLICT DO NOTHING")
	return err
}

// SetMirrorScope records the scope: every mailbox when all is true, else
// exactly mailboxes (which must not be empty).
func (db *DB) SetMirrorScope(ctx context.Context, all bool, mailboxes []int64) error {
	if !all && len(mailboxes) == 0 {
		return fmt.Errorf("set the mirrored scope: no mailbox (an empty QW_MAILBOXES is every mailbox)")
	}
	return db.writeTx(ctx, "set the mirrored scope", func(tx *sql.Tx) error {
		if err := markScopeRecorded(ctx, tx); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM mirror_scope"); err != nil {
			return err
		}
		if all {
			mailboxes = []int64{everyMailbox}
		}
		return insertScope(ctx, tx, mailboxes)
	})
}

func insertScope(ctx context.Context, tx *sql.Tx, mailboxes []int64) error {
	for _, id := range mailboxes {
		if _, err := tx.ExecContext(ctx, "INSERT INTO mirror_scope (mailbox_id) VALUES (?) ON CONFLICT DO NOTHING", id); err != nil {
			return err
		}
	}
	return nil
}

// AddToMirrorScope records that the mirror now holds the whole history of
// mailbox (walked, and in the scope unless that is every mailbox already),
// and drops the cursor of the walk that read it, in one transaction: a
// crash before leaves the walk to resume from its cursor, and the mailbox
// unwalked.
func (db *DB) AddToMirrorScope(ctx context.Context, mailbox int64, cursor string) error {
	if mailbox <= 0 {
		return fmt.Errorf("add mailbox %d to the mirrored scope: not a mailbox id", mailbox)
	}
	return db.writeTx(ctx, fmt.Sprintf("add mailbox %d to the mirrored scope", mailbox), func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, "DELETE FROM sync_cursors WHERE name = ?", cursor); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO walked_mailboxes (mailbox_id, finished) VALUES (?, 1)
			ON CONFLICT (mailbox_id) DO UPDATE SET finished = 1`, mailbox); err != nil {
			return err
		}
		if err := markScopeRecorded(ctx, tx); err != nil {
			return err
		}
		ids, err := queryColumn[int64](ctx, tx, "SELECT mailbox_id FROM mirror_scope")
		if err != nil || scopeOf(ids).All {
			// Every mailbox's row stands for this one already; beside it,
			// a mailbox's own row would outlive a narrowing that keeps
			// the mailbox without its walk (NarrowMirrorScope rebuilds the
			// scope from the walked mailboxes instead).
			return err
		}
		return insertScope(ctx, tx, []int64{mailbox})
	})
}

// Walked says, for each mailbox a walk from the beginning of its history
// reads or has read, whether that walk has finished (its last page is
// stored). A mailbox without an entry needs a walk of its own: nothing
// read it from the beginning (the API user could not see it then, or
// QW_MAILBOXES did not name it).
func (db *DB) Walked(ctx context.Context) (map[int64]bool, error) {
	out := map[int64]bool{}
	err := db.readTx(ctx, "read the walked mailboxes", func(tx *sql.Tx) error {
		return eachRow(ctx, tx, func(rows *sql.Rows) error {
			var id int64
			var finished bool
			if err := rows.Scan(&id, &finished); err != nil {
				return err
			}
			out[id] = finished
			return nil
		}, "SELECT mailbox_id, finished FROM walked_mailboxes")
	})
	return out, err
}

// BeginPollWalk records mailboxes as read by the poll's walk from the
// beginning (unfinished), before that walk stores its first page: the
// poll's cursor resumes that walk, so they need no walk of their own. A
// mailbox already walked stays so.
func (db *DB) BeginPollWalk(ctx context.Context, mailboxes []int64) error {
	return db.writeTx(ctx, "record the mailboxes the first walk reads", func(tx *sql.Tx) error {
		for _, id := range mailboxes {
			if _, err := tx.ExecContext(ctx, "INSERT INTO walked_mailboxes (mailbox_id, finished) VALUES (?, 0) ON CONFLICT DO NOTHING", id); err != nil {
				return err
			}
		}
		return nil
	})
}

// FinishPollWalk records as walked the mailboxes BeginPollWalk recorded:
// the caller has stored the last page of a walk of the poll's listing
// that saw no shift, so everything of them up to its start is stored.
func (db *DB) FinishPollWalk(ctx context.Context) error {
	return db.writeTx(ctx, "record the first walk finished", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "UPDATE walked_mailboxes SET finished = 1 WHERE finished = 0")
		return err
	})
}

// HeldMailboxes lists, sorted, the mailboxes the stored conversations are
// in: beside the recorded scope, those of a walk that has not finished.
func (db *DB) HeldMailboxes(ctx context.Context) ([]int64, error) {
	var ids []int64
	err := db.readTx(ctx, "list the mailboxes held", func(tx *sql.Tx) error {
		var err error
		ids, err = queryColumn[int64](ctx, tx, "SELECT DISTINCT mailbox_id FROM conversations ORDER BY mailbox_id")
		return err
	})
	return ids, err
}

// NarrowMirrorScope leaves in the mirror only the conversations of the
// mailboxes in keep, and narrows the recorded scope to them, in one
// transaction. It returns how many conversations it removed, by mailbox.
// From every mailbox, only the kept ones a walk reads or has read from the
// beginning (Walked) are recorded whole: the others were never walked.
// The walks of the mailboxes left are forgotten with their conversations.
// The scope stays recorded when none of keep was in it: it then holds no
// mailbox until an added one's walk finishes (AddToMirrorScope).
//
// The cursors of unfinished walks of the mailboxes left, named
// walkCursorPrefix and the mailbox id (AddToMirrorScope's), go in the
// same transaction: resumed from such a cursor, a walk of the mailbox
// added again would skip what came before it, deleted here.
//
// Each removed conversation leaves a tombstone that keeps its observation
// marks and blocks no copy (its version is below every real one): if the
// mailbox comes back, its walk restores the conversation with the marks,
// so no first response or resolution is observed, nor backfilled, twice.
func (db *DB) NarrowMirrorScope(ctx context.Context, keep []int64, walkCursorPrefix string) (map[int64]int, error) {
	if len(keep) == 0 {
		return nil, fmt.Errorf("narrow the mirrored scope: no mailbox to keep")
	}
	if walkCursorPrefix == "" { // every cursor would go, the poll's too
		return nil, fmt.Errorf("narrow the mirrored scope: no name for the cursors of the walks of added mailboxes")
	}
	var removed map[int64]int
	outside := "mailbox_id NOT IN (" + placeholders(len(keep)) + ")"
	args := make([]any, len(keep))
	keptCursors := make([]any, len(keep))
	for i, id := range keep {
		args[i] = id
		keptCursors[i] = walkCursorPrefix + strconv.FormatInt(id, 10)
	}
	err := db.writeTx(ctx, "narrow the mirrored scope", func(tx *sql.Tx) error {
		var err error
		if removed, err = db.forgetConversations(ctx, tx, outside, args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM sync_cursors WHERE substr(name, 1, ?) = ? AND name NOT IN ("+placeholders(len(keep))+")",
			append([]any{len(walkCursorPrefix), walkCursorPrefix}, keptCursors...)...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM walked_mailboxes WHERE "+outside, args...); err != nil {
			return err
		}
		if err := markScopeRecorded(ctx, tx); err != nil {
			return err
		}
		ids, err := queryColumn[int64](ctx, tx, "SELECT mailbox_id FROM mirror_scope")
		if err != nil {
			return err
		}
		if !scopeOf(ids).All {
			_, err := tx.ExecContext(ctx, "DELETE FROM mirror_scope WHERE "+outside, args...)
			return err
		}
		// The walks of every mailbox read the mailboxes the account listed
		// when they began, and each one listed later had its own walk
		// once finished: those are walked. A kept one the account lists
		// now is not whole for that alone: if the API user gained access
		// to it since, only what changed after was polled, and recorded,
		// it would never be walked, since only mailboxes beyond the
		// recorded scope are. A kept one read by the poll's unfinished
		// first walk is recorded: the poll resumes that walk, with the
		// narrowed listing, from its cursor.
		if _, err := tx.ExecContext(ctx, "DELETE FROM mirror_scope"); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO mirror_scope (mailbox_id) SELECT mailbox_id FROM walked_mailboxes WHERE mailbox_id IN ("+placeholders(len(keep))+")", args...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return removed, nil
}

// forgetConversations removes the conversations matching where (a
// condition on the conversations table, with args) from the mirror, and
// returns how many it removed, by mailbox. Each leaves a tombstone that
// keeps its observation marks and blocks no copy (its version, -1, is
// below every real one), unlike a deletion's (DeleteConversation), which
// blocks the version removed: the mirror stops following these, Help
// Scout did not delete them, and a walk of their mailbox from the
// beginning, if it comes back, restores every one, unchanged since or
// not, with the marks, so that no first response or resolution is
// observed, nor backfilled, twice.
func (db *DB) forgetConversations(ctx context.Context, tx *sql.Tx, where string, args ...any) (map[int64]int, error) {
	removed, err := countsByID(ctx, tx, "SELECT mailbox_id, COUNT(*) FROM conversations WHERE "+where+" GROUP BY mailbox_id", args...)
	if err != nil || len(removed) == 0 {
		return removed, err
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO deleted_conversations
		(id, user_updated_at, latest_thread_at, thread_count, first_response_observed_at, resolution_observed_at,
		 first_response_live, resolution_live, deleted_at)
		SELECT id, -1, -1, 0, first_response_observed_at, resolution_observed_at, first_response_live, resolution_live, ?
		FROM conversations WHERE `+where+`
		ON CONFLICT (id) DO UPDATE SET
		  user_updated_at = -1, latest_thread_at = -1, thread_count = 0,
		  first_response_observed_at = excluded.first_response_observed_at,
		  resolution_observed_at = excluded.resolution_observed_at, first_response_live = excluded.first_response_live,
		  resolution_live = excluded.resolution_live, deleted_at = excluded.deleted_at`,
		append([]any{db.now().UnixMilli()}, args...)...); err != nil {
		return nil, err
	}
	_, err = tx.ExecContext(ctx, "DELETE FROM conversations WHERE "+where, args...)
	return removed, err
}

// ForgetConversation removes one conversation the mirror can no longer
// follow although Help Scout did not say it was deleted (its mailbox
// refused to this app), with forgetConversations' tombstone, which blocks
// no later copy: if the mailbox is given back, its walk from the
// beginning restores it. A conversation that is not stored gives
// ErrNotFound.
func (db *DB) ForgetConversation(ctx context.Context, id int64) error {
	return db.writeTx(ctx, fmt.Sprintf("forget conversation %d", id), func(tx *sql.Tx) error {
		removed, err := db.forgetConversations(ctx, tx, "id = ?", id)
		if err != nil {
			return err
		}
		if len(removed) == 0 {
			return ErrNotFound
		}
		return nil
	})
}
