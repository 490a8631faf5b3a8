package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Advise wraps an error of opening the database at path with what the
// operator can do about it: a mirror not synced yet, a file another
// queuewrangler holds, a schema written by a newer binary, a damaged file
// or a schema that does not match this build. The file is left as it was in
// every case.
func Advise(path string, err error) error {
	switch {
	case errors.Is(err, ErrNotFound): // only OpenReadOnly (plan) does not create
		return fmt.Errorf("no mirror at %s (QW_DB_PATH): run `queuewrangler sync` or `serve` first", path)
	case errors.Is(err, ErrLocked):
		return fmt.Errorf("%w (one queuewrangler writes to a database at a time: stop that one first; `plan` may run beside it)", err)
	case errors.Is(err, ErrSchemaTooNew):
		// err names the file already ("open store PATH: ..."). Moving the
		// file aside is said with what it loses, as for an unusable file.
		return fmt.Errorf("%w: run a queuewrangler at least as new as the one that migrated it, or restore the copy "+
			"of the file taken before that upgrade (moving the file aside instead starts afresh: the mirror re-syncs, "+
			"but the proposals' history and the steering records, which only this file held, start empty)", err)
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrSchemaMismatch):
		return fmt.Errorf("open database %s: %w; %s", path, err, unusableRemedy)
	}
	return fmt.Errorf("open database %s: %w", path, err)
}

// unusableRemedy is what the operator can do about a file that cannot be
// used as it is. What re-syncing loses is said, because it decides between
// the two.
const unusableRemedy = "it cannot be used as it is: restore it from a backup, or stop queuewrangler, move the file aside (with any -wal and -shm beside it) and start again to re-sync the mirror from Help Scout (the proposals' history and the steering records, which only this file held, start empty)"

// adviseDamaged wraps an error of a store found damaged while in use
// (ErrCorrupt) with the file and what to do, as Advise does at start.
func (db *DB) adviseDamaged(err error) error {
	return fmt.Errorf("database %s: %w; %s", db.path, err, unusableRemedy)
}

// foundDamaged records that an operation met ErrCorrupt and reports
// whether that is news: true for the first since the file was opened or
// last passed DamageCleared's check (SayFailure).
func (db *DB) foundDamaged() bool { return db.damaged.CompareAndSwap(false, true) }

// SayFailure hands a failure to say, the caller's way of logging it,
// unless it is a damaged file someone has already said: any other error
// as it is, ErrCorrupt only when it is news (foundDamaged), with the
// remedy (adviseDamaged). Every loop and request that may meet a damaged
// file logs through it (the mirror's loops, the webhook intake, the
// balancer's runs, own routing, steering, a scrape, a page view), so that
// the damage is said once between all of them, not at every turn of
// each: each would say the same until the operator acts.
func (db *DB) SayFailure(err error, say func(error)) {
	switch {
	case !errors.Is(err, ErrCorrupt):
		say(err)
	case db.foundDamaged():
		say(db.adviseDamaged(err))
	}
}

// FailureSayer is what LogFailure says a failure through: a *DB, or a
// stand-in that says every failure.
type FailureSayer interface {
	SayFailure(err error, say func(error))
}

// LogFailure logs a failure of work that is tried again later (a loop's
// pass, a request, a scrape) through f.SayFailure: any other error as msg
// at level, and a damaged database file only when it is news, at ERROR
// whatever level the caller's other failures take, as msg+": the
// database file is damaged" with the remedy. The mirror's loops, the
// balancer, own routing, steering and the scrape all log this way, so
// that the damage reads the same whichever meets it first.
func LogFailure(f FailureSayer, log *slog.Logger, level slog.Level, msg string, err error, attrs ...any) {
	f.SayFailure(err, func(err error) {
		if errors.Is(err, ErrCorrupt) {
			level, msg = slog.LevelError, msg+": "+ErrCorrupt.Error()
		}
		log.Log(context.Background(), level, msg, append(attrs, "err", err)...)
	})
}

// HeldDamaged reports whether the file was found damaged and has not
// passed DamageCleared's check since: work that would only fail on the
// file again (a re-read from Help Scout) can wait for it.
func (db *DB) HeldDamaged() bool { return db.damaged.Load() }

// DamageCleared reports whether a file found damaged now passes SQLite's
// integrity check, and then holds it damaged no longer: the caller says
// once that it is usable again. It reports false when the file was not
// found damaged or still fails the check, and without checking when the
// last check was less than damageCheckEvery ago. A successful write alone
// would not do: the damage may sit in a table that write did not touch.
// Nor would the quick check, which does not compare an index's entries
// with its table: an index page left from before a change passes it, and
// the next read through the index meets the damage again. The full check
// reads every table and index, which is why it runs only while the file
// is held damaged, and at most once per damageCheckEvery. Only a check
// that ran counts as the last one, whether it found damage or not: one
// that ended with its context, or failed before it could read the file,
// says nothing of it, and the next call checks again.
func (db *DB) DamageCleared(ctx context.Context) bool {
	if !db.damaged.Load() {
		return false
	}
	db.damageCheck.Lock()
	defer db.damageCheck.Unlock()
	now := db.now()
	if !db.damageCheckedAt.IsZero() && now.Sub(db.damageCheckedAt) < damageCheckEvery {
		return false
	}
	var result string
	err := db.read.QueryRowContext(ctx, "PRAGMA integrity_check(1)").Scan(&result)
	if err != nil && !errors.Is(classify(err), ErrCorrupt) {
		return false
	}
	db.damageCheckedAt = now
	if err != nil || result != "ok" {
		return false
	}
	return db.damaged.CompareAndSwap(true, false)
}

// damageCheckEvery is how often, at most, DamageCleared checks a file held
// damaged. The check reads the whole file (1.5 s on 100,000
// conversations, BenchmarkDamageCleared), and the daemon asks after every
// successful sync, every 2 minutes by default, for as long as the damage
// lasts: hours, until an operator acts. Checking only after a sync that
// wrote would not be principled either: this process does not repair the
// file, and the repairs an operator may make beside it (a REINDEX in the
// sqlite3 shell) are tied to no sync of ours. A repaired file is said
// usable again up to 10 minutes later; meanwhile it is only held
// damaged: new damage is not said, and re-reads that met the damage wait
// (HeldDamaged).
const damageCheckEvery = 10 * time.Minute

// ErrCorruptReason is the readiness reason for a database found damaged
// while in use. The daemon keeps serving what it can read; the log holds
// the detail and the remedy at length.
const ErrCorruptReason = "the database file is damaged: restore a backup or move it aside to re-sync; see the log"

// NoSyncSinceRestartReason begins the readiness reason of a daemon whose
// database holds a completed sync of an earlier process and that has
// completed none of its own yet: the queue is whole as of that sync. The
// mirror says it; the page, which adds the restart to its banner only
// when the reason does not say it, looks for it. One string for both, so
// that the words cannot drift apart.
const NoSyncSinceRestartReason = "no sync has completed since the restart"

// ErrCannotWriteReason is the readiness reason for a database that cannot take
// writes. /readyz is unauthenticated: the reason names the kind of problem
// and the log holds the detail.
const ErrCannotWriteReason = "the database cannot take writes (disk full or read-only); see the log"

// CannotWrite reports whether err means the database cannot take writes (a
// full or read-only disk): the daemon then serves stale data and must say
// so until a write succeeds.
func CannotWrite(err error) bool {
	return errors.Is(err, ErrFull) || errors.Is(err, ErrReadOnly)
}

// OpenFailedReason is the readiness reason while the database cannot be
// opened: ErrCannotWriteReason for a full or read-only disk, else a
// pointer to the log, which holds the detail (/readyz is unauthenticated).
func OpenFailedReason(err error) string {
	if CannotWrite(err) {
		return ErrCannotWriteReason
	}
	return "the database cannot be opened; see the log"
}
