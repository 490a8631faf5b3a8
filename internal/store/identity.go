package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ApplicationID is the PRAGMA application_id of every queuewrangler
// database: "QWDB" in ASCII. SQLite keeps it at offset 68 of the file
// header, so `file`, a hex dump or another tool can tell the file apart
// from every other SQLite file, and Open can refuse a file that is not
// ours before changing anything in it.
const ApplicationID = 0x51574442

// sqliteMagic opens every SQLite database file.
const sqliteMagic = "SQLite format 3\x00"

// legacyTables are tables every queuewrangler schema has had since the
// first migration. With schema_version naming our migrations, they
// recognise a queuewrangler file written before ApplicationID was set.
var legacyTables = []string{"conversations", "proposals", "schema_version", "sync_cursors", "webhook_inbox"}

// fileIdentity is what inspect found in an existing file.
type fileIdentity struct {
	exists        bool // a file with content (an empty file is a new database)
	applicationID int32
	userVersion   int
	tables        []string
	// legacy: application_id 0, but the schema is queuewrangler's own.
	legacy bool
}

// inspect reads who wrote the file at path, changing nothing: the
// connection sets no journal mode and is query_only, so a foreign file
// keeps its journal mode, its header and its content. It fails with
// ErrForeignDatabase for a file that is not a queuewrangler database and
// ErrSchemaTooNew for one written by a newer queuewrangler.
func inspect(ctx context.Context, path string) (fileIdentity, error) {
	var id fileIdentity
	switch magic, err := readMagic(path); {
	case errors.Is(err, os.ErrNotExist):
		return id, nil
	case err != nil:
		return id, fmt.Errorf("read the file header: %w", err)
	case magic == "":
		return id, nil // empty: SQLite treats it as a new database
	case magic != sqliteMagic:
		return id, fmt.Errorf("%w: the file is not a SQLite database (it does not start with %q)",
			ErrForeignDatabase, strings.TrimSuffix(sqliteMagic, "\x00"))
	}
	id.exists = true

	// A rollback journal beside the file is another program's transaction
	// that never finished (queuewrangler's files are WAL), and the first
	// connection to read the file rolls it back into the file. That is the
	// other program's recovery to make, so the file is judged by its
	// header alone and refused before SQLite sees it. One exception: a
	// journal begun on an empty file, under a header that names nobody.
	// Its rollback only empties the file again, so nothing anybody
	// committed is at stake, and it is what queuewrangler's own first
	// Open leaves when killed as SQLite switches the new file to WAL (a
	// rollback-journal transaction, before claim stamps the header):
	// refused, that start would be refused for ever as another program's.
	switch app, pending, fromEmpty, err := pendingJournal(path); {
	case err != nil:
		return id, err
	case !pending, app == ApplicationID:
	case app == 0 && fromEmpty:
		// What the rollback leaves is an empty file: a new database. Said
		// from the header too, so that Inspect (check) leaves the journal
		// for the start to roll back, as it leaves every byte.
		return fileIdentity{}, nil
	default:
		return id, fmt.Errorf("%w: %s-journal beside it holds an unfinished transaction of another program (application_id %#08x), which opening the file would roll back",
			ErrForeignDatabase, filepath.Base(path), uint32(app))
	}

	conn, err := sql.Open("sqlite", readerDSN(path, readMode(path)))
	if err != nil {
		return id, err
	}
	defer conn.Close()
	conn.SetMaxOpenConns(1)
	if err := conn.QueryRowContext(ctx, "PRAGMA application_id").Scan(&id.applicationID); err != nil {
		return id, fmt.Errorf("read application_id: %w", classify(err))
	}
	if err := conn.QueryRowContext(ctx, "PRAGMA user_version").Scan(&id.userVersion); err != nil {
		return id, fmt.Errorf("read user_version: %w", classify(err))
	}
	rows, err := conn.QueryContext(ctx,
		"SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
	if err != nil {
		return id, fmt.Errorf("list tables: %w", classify(err))
	}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			rows.Close()
			return id, fmt.Errorf("list tables: %w", classify(err))
		}
		id.tables = append(id.tables, name)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return id, fmt.Errorf("list tables: %w", classify(err))
	}

	latest := LatestSchemaVersion()
	switch {
	case id.applicationID == ApplicationID:
		if slices.Contains(id.tables, "schema_version") && id.userVersion <= latest {
			if err := sameMigrations(ctx, conn); err != nil {
				return id, err
			}
		}
	case id.applicationID != 0:
		return id, fmt.Errorf("%w: its application_id is %#08x (queuewrangler's is %#08x); it belongs to another program",
			ErrForeignDatabase, uint32(id.applicationID), ApplicationID)
	case len(id.tables) == 0 && id.userVersion == 0:
		// A new database that nobody has written a table to yet.
	case len(id.tables) == 0 && id.userVersion > latest:
		// Nothing to recognise; the version alone says "not for this binary".
	case len(id.tables) == 0:
		return id, fmt.Errorf("%w: it has no tables but user_version %d", ErrForeignDatabase, id.userVersion)
	default:
		ok, err := ourMigrations(ctx, conn, id)
		if err != nil { // ErrSchemaMismatch: ours, from a different build
			return id, err
		}
		if !ok {
			return id, fmt.Errorf("%w: application_id 0 (queuewrangler's is %#08x), user_version %d, and tables %s that no queuewrangler migration made",
				ErrForeignDatabase, ApplicationID, id.userVersion, tableList(id.tables))
		}
		id.legacy = true
	}
	if id.userVersion > latest {
		return id, fmt.Errorf("%w: the file is at schema version %d, this binary knows up to %d",
			ErrSchemaTooNew, id.userVersion, latest)
	}
	return id, nil
}

// readMode is the mode= of a query_only connection that must leave the
// files beside the database at path as it found them (inspect, and
// OpenReadOnly for plan and backfill). A -wal beside the file is a
// daemon's that runs, or one that ended without closing it (killed, a
// lost host): "ro" then, since the last connection to close a read-write
// file checkpoints that WAL into it and deletes it, writing the file
// before the daemon's next Open recovers it; query_only does not stop
// that. Read-only, the connection reads the WAL as it is and leaves it.
// Without one, "rw": read-only on a WAL file creates a -wal and a -shm and
// cannot delete them when it closes, so they stay (SQLite gives the ones
// root makes to the file's owner; another user's stay that user's, which
// the daemon's uid may then not open); a read-write connection's go again
// when the last one closes. query_only
// keeps either from writing a row.
//
// Where this user may not write the file (it may only read it, as plan
// and backfill need), SQLite opens a "rw" connection read-only by itself,
// as "ro" would: it cannot delete a -wal and -shm it creates either, so
// those are left, this user's, as before. That is the one case in which
// a reader leaves files behind.
func readMode(path string) string {
	if _, err := os.Lstat(path + "-wal"); err == nil {
		return "ro"
	}
	return "rw"
}

// File is what Inspect found at a database path.
type File struct {
	// Exists: the path holds a database. No file, or an empty one, is a
	// new database, which Open creates at start.
	Exists bool
	// SchemaVersion is the file's schema version (0 for a new database).
	// Inspect fails on one above LatestSchemaVersion; one below it is
	// migrated by the next Open.
	SchemaVersion int
}

// Inspect tells whether path would open as a queuewrangler database,
// without opening it as Open does: it never creates the file, takes no
// lock, and reads it over a query_only connection that sets no journal
// mode, so every byte stays as it was (the transient -wal and -shm of a
// WAL file no process holds go again when the connection closes; the
// -wal a killed daemon left is read as it is, read-only, and stays; a
// file beside another program's unfinished -journal is refused from its
// header, before a connection would roll the journal back). It
// reads the 16-byte SQLite header, then application_id, user_version and
// the schema history (inspect). A check before a start (`queuewrangler
// check`) calls it, so its error is the one Open gives for the same file,
// word for word: ErrForeignDatabase for another program's file or one
// that is not SQLite, ErrSchemaTooNew for a newer queuewrangler's,
// ErrSchemaMismatch for a different build's. It cannot see what only
// opening for writing does: a lock another process holds, damage past the
// schema, a file that cannot be written.
func Inspect(ctx context.Context, path string) (File, error) {
	path, err := cleanPath(path)
	if err != nil {
		return File{}, err
	}
	id, err := inspect(ctx, path)
	if err != nil {
		return File{}, fmt.Errorf("open store %s: %w", path, classifyOpen(err))
	}
	return File{Exists: id.exists, SchemaVersion: id.userVersion}, nil
}

// ourMigrations reports whether a file without an application_id has
// queuewrangler's schema: our tables, and a schema_version history numbered
// 1 to user_version. If one of those migrations is not this binary's, the
// file is still ours, and the error (ErrSchemaMismatch) says which.
func ourMigrations(ctx context.Context, conn *sql.DB, id fileIdentity) (bool, error) {
	for _, t := range legacyTables {
		if !slices.Contains(id.tables, t) {
			return false, nil
		}
	}
	known, err := loadMigrations(migrationFS)
	if err != nil {
		return false, err
	}
	rows, err := conn.QueryContext(ctx, "SELECT version, name FROM schema_version ORDER BY version")
	if err != nil {
		return false, nil // a table of that name but another shape: not ours
	}
	defer rows.Close()
	want := 1
	var otherBuild error
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return false, nil
		}
		if v != want {
			return false, nil
		}
		if v <= len(known) && known[v-1].name != name && otherBuild == nil {
			otherBuild = differentBuild(v, name, known[v-1].name)
		}
		want++
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("read schema_version: %w", classify(err))
	}
	if want-1 != id.userVersion || id.userVersion == 0 {
		return false, nil
	}
	// Our tables and an unbroken history of migrations: the file is
	// queuewrangler's, even if one of them is not this build's.
	return true, otherBuild
}

// sameMigrations fails with ErrSchemaMismatch when the schema_version
// history of a file stamped as ours names a migration this build does not
// have: one was renamed or replaced after the file was made.
func sameMigrations(ctx context.Context, conn *sql.DB) error {
	known, err := loadMigrations(migrationFS)
	if err != nil {
		return err
	}
	rows, err := conn.QueryContext(ctx, "SELECT version, name FROM schema_version ORDER BY version")
	if err != nil {
		return fmt.Errorf("read schema_version: %w", classify(err))
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		var name string
		if err := rows.Scan(&v, &name); err != nil {
			return fmt.Errorf("read schema_version: %w", classify(err))
		}
		if v >= 1 && v <= len(known) && known[v-1].name != name {
			return differentBuild(v, name, known[v-1].name)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read schema_version: %w", classify(err))
	}
	return nil
}

// differentBuild is the error for a file whose migration v is not this
// build's: it is our own file, from a build whose history differs (a
// migration edited or replaced after it was released), not another
// program's.
func differentBuild(v int, theirs, ours string) error {
	return fmt.Errorf("%w: the file was created by a different build of queuewrangler: its migration %d is %s, which this build does not have (this build's is %s)",
		ErrSchemaMismatch, v, theirs, ours)
}

// tableList names up to five tables for an error message.
func tableList(tables []string) string {
	if len(tables) <= 5 {
		return strings.Join(tables, ", ")
	}
	return fmt.Sprintf("%s and %d more", strings.Join(tables[:5], ", "), len(tables)-5)
}

func readMagic(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	buf := make([]byte, len(sqliteMagic))
	n, err := io.ReadFull(f, buf)
	switch {
	case n == 0 && (err == io.EOF || err == nil):
		return "", nil
	case errors.Is(err, io.ErrUnexpectedEOF):
		return string(buf[:n]), nil
	case err != nil:
		return "", err
	}
	return string(buf), nil
}

// pendingJournal reports whether a rollback journal with content lies
// beside the SQLite file at path, the application_id the file's header
// holds (bytes 68-71, big-endian), and whether the journal's header says
// the file had no pages when its transaction began (fromEmpty: bytes
// 16-19 of a journal that starts with SQLite's journal magic), read
// without SQLite.
func pendingJournal(path string) (applicationID int32, pending, fromEmpty bool, err error) {
	fi, err := os.Stat(path + "-journal")
	if errors.Is(err, os.ErrNotExist) || err == nil && fi.Size() == 0 {
		return 0, false, false, nil
	}
	if err != nil {
		return 0, false, false, fmt.Errorf("look for a journal beside the file: %w", err)
	}
	if j, err := os.Open(path + "-journal"); err == nil {
		var hdr [20]byte
		_, rerr := j.ReadAt(hdr[:], 0)
		j.Close()
		fromEmpty = rerr == nil && string(hdr[:8]) == journalMagic && binary.BigEndian.Uint32(hdr[16:]) == 0
	}
	f, err := os.Open(path)
	if err != nil {
		return 0, false, false, fmt.Errorf("read the file header: %w", err)
	}
	defer f.Close()
	var field [4]byte
	if _, err := f.ReadAt(field[:], 68); err != nil {
		return 0, true, fromEmpty, nil // too short to hold an application_id: none
	}
	return int32(binary.BigEndian.Uint32(field[:])), true, fromEmpty, nil
}

// journalMagic opens the header of every SQLite rollback journal that
// holds a transaction to roll back.
const journalMagic = "\xd9\xd5\x05\xf9\x20\xa1\x63\xd7"

// claim marks the file as queuewrangler's (PRAGMA application_id) in a
// write transaction of its own, before any migration: a new file, or one
// recognised as ours by its schema (inspect). The header field changes
// atomically with the transaction.
func claim(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("claim: begin: %w", classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	var cur int32
	if err := tx.QueryRowContext(ctx, "PRAGMA application_id").Scan(&cur); err != nil {
		return fmt.Errorf("claim: read application_id: %w", classify(err))
	}
	if cur == ApplicationID {
		return nil
	}
	if cur != 0 {
		// Another program stamped the file between inspect and now.
		return fmt.Errorf("%w: its application_id is %#08x", ErrForeignDatabase, uint32(cur))
	}
	// PRAGMA takes no bound parameters; the value is our constant.
	if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA application_id = %d", ApplicationID)); err != nil {
		return fmt.Errorf("claim: set application_id: %w", classify(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("claim: commit: %w", classify(err))
	}
	return nil
}

// RequireNew returns nil when path can hold a new database: its
// directory exists, and there is no file there, or an empty one (SQLite
// takes it for a new database), and no -wal file beside it, whose frames
// SQLite would replay into the new file. A file or log that holds data is
// ErrNotNew, named; any other problem names what is wrong with the path.
// It opens nothing and changes nothing. An empty path names no file. A
// caller whose data cannot continue what a file holds calls it before Open
// (the demo: its account is new at every run).
func RequireNew(path string) error {
	if path == "" {
		return nil
	}
	switch fi, err := os.Stat(filepath.Dir(path)); {
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("directory %s does not exist", filepath.Dir(path))
	case err != nil:
		return err // the os error names the directory
	case !fi.IsDir():
		return fmt.Errorf("%s is not a directory", filepath.Dir(path))
	}
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, os.ErrNotExist):
		case err != nil:
			return err // the os error names p
		case !fi.Mode().IsRegular():
			return fmt.Errorf("%s is not a regular file", p)
		case fi.Size() > 0 && p == path:
			return notNew(fmt.Sprintf("%s is not empty (%d bytes)", path, fi.Size()))
		case fi.Size() > 0:
			return notNew(fmt.Sprintf("%s has a write-ahead log beside it that SQLite would replay into it (%s, %d bytes)", path, p, fi.Size()))
		}
	}
	return nil
}

// notNew is RequireNew's ErrNotNew, worded for the path it found.
type notNew string

func (e notNew) Error() string      { return string(e) }
func (notNew) Is(target error) bool { return target == ErrNotNew }
