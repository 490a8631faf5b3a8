package store

import (
	"database/sql"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Sentinel errors. Every error the store returns that falls in one of these
// classes wraps the sentinel, so callers branch with errors.Is and never on
// message text.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a constraint was violated, or a state transition is no
	// longer allowed (a proposal that is not pending any more).
	ErrConflict = errors.New("conflict")
	// ErrBusy: the database stayed locked beyond busy_timeout.
	ErrBusy = errors.New("database busy")
	// ErrReadOnly: the database (or the connection) cannot be written.
	ErrReadOnly = errors.New("database is read-only")
	// ErrFull: the disk (or the database's page limit) is full.
	ErrFull = errors.New("database or disk is full")
	// ErrSchemaTooNew: the file was migrated by a newer queuewrangler; this
	// binary must not touch it.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrForeignDatabase: the file is not a queuewrangler database (another
	// program's SQLite file, or not SQLite at all); Open leaves it exactly
	// as it was.
	ErrForeignDatabase = errors.New("not a queuewrangler database")
	// ErrLocked: another process holds the database's lock file (Lock).
	ErrLocked = errors.New("database is in use by another queuewrangler")
	// ErrCorrupt: SQLite found the file damaged (SQLITE_CORRUPT) or not a
	// database past its header (SQLITE_NOTADB): a torn copy, a truncated
	// file, a failing disk. No wait repairs it.
	ErrCorrupt = errors.New("the database file is damaged")
	// ErrSchemaMismatch: the file's tables are not the ones its schema
	// version says (a column missing, a migration this build does not
	// have): it was made by a different build of queuewrangler, or edited
	// by hand. No wait repairs it either.
	ErrSchemaMismatch = errors.New("the database schema does not match this build of queuewrangler")
	// ErrNotNew is RequireNew's answer for a path that already holds a
	// database, or a write-ahead log SQLite would replay into one.
	ErrNotNew = errors.New("holds data already")
)

// classify maps a driver error onto the sentinels by SQLite result code. The
// original error stays in the chain, so errors.As(err, *sqlite.Error) still
// works and the message keeps SQLite's own text.
func classify(err error) error {
	if err == nil || alreadyClassified(err) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return err
	}
	// Extended result codes carry the primary code in the low byte.
	switch se.Code() & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
		return fmt.Errorf("%w: %w", ErrBusy, err)
	case sqlite3.SQLITE_CONSTRAINT:
		return fmt.Errorf("%w: %w", ErrConflict, err)
	case sqlite3.SQLITE_READONLY:
		return fmt.Errorf("%w: %w", ErrReadOnly, err)
	case sqlite3.SQLITE_FULL:
		return fmt.Errorf("%w: %w", ErrFull, err)
	case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
		return fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	return err
}

// classifyOpen is classify for what Open meets before the store is in use.
// There, a plain SQL error (no such column, no such table) can only mean
// that the file's schema is not the one its version promises, since every
// statement Open runs is this build's own: it is ErrSchemaMismatch, which
// no retry fixes, instead of an error the daemon would retry for ever.
func classifyOpen(err error) error {
	err = classify(err)
	if err == nil || alreadyClassified(err) {
		return err
	}
	var se *sqlite.Error
	if errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_ERROR {
		return fmt.Errorf("%w: %w", ErrSchemaMismatch, err)
	}
	return err
}

func alreadyClassified(err error) bool {
	for _, s := range []error{ErrNotFound, ErrConflict, ErrBusy, ErrReadOnly, ErrFull, ErrSchemaTooNew, ErrForeignDatabase, ErrLocked, ErrCorrupt, ErrSchemaMismatch} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
