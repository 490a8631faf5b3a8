package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// busyTimeout is how long a connection waits for a lock held by another
// process (a second daemon, the sqlite3 shell) before failing with ErrBusy.
// Within one process the single writer connection already serialises writes.
const busyTimeout = 5 * time.Second

// DB is the store. It is safe for concurrent use; set Now before sharing it.
type DB struct {
	// Now is the clock for every time the store stamps itself. Open sets it
	// to time.Now; tests replace it.
	Now func() time.Time

	path  string
	write *sql.DB // exactly one connection; transactions BEGIN IMMEDIATE
	read  *sql.DB // read-only pool
	// readers lets every read transaction in and is held shut by
	// Checkpoint, which so finds no reader of this process in the log:
	// reads that overlap without pause would otherwise starve it as they
	// starve SQLite's own checkpoints.
	readers readGate
	conv    *convStmts
	lock    *Lock // held from OpenExclusive until Close

	// damaged: an operation met ErrCorrupt and the file has not passed a
	// check since (foundDamaged, DamageCleared).
	damaged atomic.Bool
	// damageCheckedAt is when DamageCleared last checked the file; the
	// mutex also keeps two callers from checking at once.
	damageCheck     sync.Mutex
	damageCheckedAt time.Time

	// migratedFrom and migratedTo are the schema versions Open found and
	// left when it migrated an existing file (Migrated).
	migratedFrom, migratedTo int
}

// Migrated says whether Open migrated an existing file, and from which
// schema version to which, for the caller to log: after it, an older
// binary refuses the file, so a rollback needs a copy from before. A file
// Open created is not counted.
func (db *DB) Migrated() (from, to int, ok bool) {
	return db.migratedFrom, db.migratedTo, db.migratedFrom > 0 && db.migratedTo > db.migratedFrom
}

// Open opens (creating if needed) the SQLite database at path, checks that
// it is in WAL mode, applies pending migrations, re-derives the conversations'
// derived columns if this binary's rules are newer than the file's
// (rederiveFacts) and returns the store.
//
// Before it changes anything, it checks who wrote the file: a file that is
// not a queuewrangler database (another program's application_id, or
// tables that no migration of ours made) fails with ErrForeignDatabase, and
// one written by a newer schema than this binary knows with
// ErrSchemaTooNew; either way the file keeps its journal mode, header and
// content. A queuewrangler file from before ApplicationID existed is
// recognised by its schema and stamped.
func Open(ctx context.Context, path string) (*DB, error) {
	path, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	if _, err := inspect(ctx, path); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, classifyOpen(err))
	}
	db := &DB{Now: time.Now, path: path}
	fail := func(err error) (*DB, error) {
		db.close(false) // leave a refused file exactly as it was
		return nil, fmt.Errorf("open store %s: %w", path, classifyOpen(err))
	}

	w, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return fail(err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db.write = w
	if err := checkWritable(ctx, w); err != nil {
		return fail(err)
	}
	if err := checkWAL(ctx, w); err != nil {
		return fail(err)
	}
	if err := claim(ctx, w); err != nil {
		return fail(err)
	}
	if db.migratedFrom, err = userVersion(ctx, w); err != nil {
		return fail(err)
	}
	if err := migrate(ctx, w, migrationFS, db.now); err != nil {
		return fail(err)
	}
	if db.migratedTo, err = userVersion(ctx, w); err != nil {
		return fail(err)
	}
	if _, err := rederiveFacts(ctx, w); err != nil {
		return fail(err)
	}
	// Refresh the planner's statistics where they are missing or stale, as
	// SQLite recommends when a long-lived connection opens; analysis_limit
	// keeps this quick on a large file.
	if _, err := w.ExecContext(ctx, "PRAGMA optimize = 0x10002"); err != nil {
		return fail(fmt.Errorf("optimize: %w", classify(err)))
	}
	if db.conv, err = prepareConvStmts(ctx, w); err != nil {
		return fail(err)
	}

	r, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return fail(err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.read = r
	if err := r.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("read pool: %w", classify(err)))
	}
	return db, nil
}

// OpenExclusive is Open for a process that writes to the database on its
// own (serve, sync): it first takes the database's Lock for command, and
// holds it until Close. A database another process holds fails with a
// *LockedError naming the holder, before the file is touched. Where the
// system has no flock (LocksSupported is false) it opens without a lock.
func OpenExclusive(ctx context.Context, path, command string) (*DB, error) {
	lock, err := AcquireLock(path, command)
	if err != nil && !errors.Is(err, ErrLockUnsupported) {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		lock.Release()
		return nil, err
	}
	db.lock = lock
	return db, nil
}

// OpenReadOnly opens an existing queuewrangler database for reading only:
// no migration, no re-derivation, no statistics, no write of any kind, so
// that it may run beside a daemon that holds the file (`plan`). The file
// must be at exactly this binary's schema version: an older one is
// upgraded by `sync` or `serve`, which hold the lock while they migrate.
// Every write method fails with ErrReadOnly. It leaves the files beside
// the database as it found them: no -wal or -shm of its own after Close,
// and a daemon's -wal, running or killed, untouched (readMode; a user who
// may only read the file is the exception).
func OpenReadOnly(ctx context.Context, path string) (*DB, error) {
	path, err := cleanPath(path)
	if err != nil {
		return nil, err
	}
	id, err := inspect(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, classifyOpen(err))
	}
	if !id.exists {
		return nil, fmt.Errorf("open store %s: %w", path, ErrNotFound)
	}
	if latest := LatestSchemaVersion(); id.userVersion != latest {
		return nil, fmt.Errorf("open store %s: the file is at schema version %d and this binary reads version %d; run `queuewrangler sync` (or serve) with this binary to upgrade it first",
			path, id.userVersion, latest)
	}
	db := &DB{Now: time.Now, path: path}
	// Read-write where no daemon holds the file, as inspect: the last of
	// these connections to close takes away the -wal and -shm they made,
	// which mode=ro leaves behind (readMode).
	r, err := sql.Open("sqlite", readerDSN(path, readMode(path)))
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	db.read = r
	if err := r.PingContext(ctx); err != nil {
		db.close(false)
		return nil, fmt.Errorf("open store %s: read pool: %w", path, classify(err))
	}
	return db, nil
}

// cleanPath refuses what cannot be a database file and makes path absolute,
// because a relative path in a file: URI would read as a host.
func cleanPath(path string) (string, error) {
	if path == "" {
		return "", errors.New("open store: empty path")
	}
	if strings.HasPrefix(path, ":memory:") || strings.HasPrefix(path, "file:") {
		// One writer plus a separate reader pool only works on a real file,
		// and a URI would bypass the DSN built here.
		return "", fmt.Errorf("open store %q: need a plain file path", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("open store %s: %w", path, err)
	}
	return abs, nil
}

// dsn builds the connection string of the writer, or with readOnly of a
// reader of the pool Open keeps beside its own writer (mode=ro,
// query_only). busy_timeout comes first so that the pragmas after it
// (journal_mode needs a lock) wait rather than fail. The file: URI form is
// what lets SQLite see mode=; unknown parameters such as _pragma are the
// driver's and SQLite ignores them.
func dsn(path string, readOnly bool) string {
	if readOnly {
		return readerDSN(path, "ro")
	}
	return fileURI(path, "_pragma=journal_mode(WAL)", "_pragma=foreign_keys(ON)",
		"_pragma=synchronous(NORMAL)", "_pragma=analysis_limit(1000)", "_txlock=immediate")
}

// readerDSN is the connection string of a query_only reader opened with
// mode ("ro" or "rw"; readMode says which leaves no file behind).
func readerDSN(path, mode string) string {
	return fileURI(path, "mode="+mode, "_pragma=query_only(1)")
}

// fileURI is the file: URI of path with busy_timeout and then params.
func fileURI(path string, params ...string) string {
	params = append([]string{fmt.Sprintf("_pragma=busy_timeout(%d)", busyTimeout.Milliseconds())}, params...)
	for i, p := range params {
		k, v, _ := strings.Cut(p, "=")
		params[i] = k + "=" + url.QueryEscape(v)
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: strings.Join(params, "&")}
	return u.String()
}

// checkWritable fails with ErrReadOnly when SQLite had to open the file
// read-only (file or directory permissions, a read-only mount): it does so
// silently, and the first write would otherwise fail much later.
func checkWritable(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return fmt.Errorf("connect: %w", classify(err))
	}
	defer conn.Close()
	var ro bool
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(interface{ IsReadOnly(string) (bool, error) })
		if !ok {
			return fmt.Errorf("driver connection %T cannot report read-only", dc)
		}
		ro, err = c.IsReadOnly("main")
		return err
	})
	if err != nil {
		return err
	}
	if ro {
		return fmt.Errorf("%w: cannot open the file for writing (check its permissions and the mount)", ErrReadOnly)
	}
	return nil
}

// checkWAL fails unless the database really is in WAL mode: SQLite silently
// keeps the old journal mode where WAL is impossible (some network file
// systems, an in-memory database), and the reader pool depends on it.
func checkWAL(ctx context.Context, db *sql.DB) error {
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("read journal mode: %w", classify(err))
	}
	if !strings.EqualFold(mode, "wal") {
		return fmt.Errorf("journal mode is %q, not WAL: the file system must support WAL (shared memory and locks)", mode)
	}
	return nil
}

// Close closes both pools. It does not wait for nor cancel running calls;
// stop the callers first.
func (db *DB) Close() error {
	return db.close(true)
}

// CloseWithoutOptimize is Close without its PRAGMA optimize, which on a
// large file may take seconds: for a stopping daemon whose budget is
// already spent, where the next start's scheduled Optimize does it.
func (db *DB) CloseWithoutOptimize() error {
	return db.close(false)
}

func (db *DB) close(optimize bool) error {
	var errs []error
	if db.read != nil {
		errs = append(errs, db.read.Close())
	}
	if db.conv != nil {
		db.conv.close()
	}
	if db.write != nil {
		if optimize {
			// Keep the planner's statistics fresh, as SQLite recommends
			// before closing a long-lived connection.
			_, _ = db.write.Exec("PRAGMA optimize")
		}
		errs = append(errs, db.write.Close())
	}
	// After the connections: the next holder must find the file closed.
	errs = append(errs, db.lock.Release())
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

// Optimize refreshes the query planner's statistics (PRAGMA optimize). The
// daemon calls it after the first full sync and then every few hours; the
// read models' plans depend on it once the mirror is large.
func (db *DB) Optimize(ctx context.Context) error {
	if db.write == nil {
		return fmt.Errorf("optimize store: %w: opened with OpenReadOnly", ErrReadOnly)
	}
	if _, err := db.write.ExecContext(ctx, "PRAGMA optimize"); err != nil {
		return fmt.Errorf("optimize store: %w", classify(err))
	}
	return nil
}

// Checkpoint copies every transaction in the write-ahead log into the
// database file and truncates the log to nothing (PRAGMA
// wal_checkpoint(TRUNCATE)). SQLite's automatic checkpoints copy the log
// but start it again from the beginning only at a moment when no reader
// is using it; with reads that overlap without pause (the page, the API
// and the scrape beside a sync) that moment never comes and the -wal
// file grows with every write: TestWALStaysBounded measured 4.4 MiB per
// poll, 523 MiB after 120. Such readers starve a TRUNCATE checkpoint
// too, so Checkpoint first waits for this process's read transactions
// to end and holds new ones back until it is done: in the soak on a
// loaded machine, waiting for the reads in flight included, 40 ms on
// average (137 ms at most) on 1,000 conversations and 111 ms (1.2 s at
// most) over the day on 100,000. A read held back waits no longer than
// its context allows (readGate). The daemon calls it after every poll.
//
// Only a reader of another process (plan, the sqlite3 shell, a backup
// tool such as Litestream that keeps a read open) can then keep the log,
// and no wait of ours ends its read: Checkpoint waits for it only
// checkpointBusyTimeout, not busyTimeout, and fails with ErrBusy. With
// the usual 5 s every poll beside such a reader stopped this process's
// reads and writes (the page, the API, the scrape, the webhook intake)
// for 5 s. The log keeps its frames until the next call.
func (db *DB) Checkpoint(ctx context.Context) (err error) {
	if db.write == nil {
		return fmt.Errorf("checkpoint store: %w: opened with OpenReadOnly", ErrReadOnly)
	}
	// The writer first: readers are held back only while the log is
	// copied, not while a long write transaction finishes.
	conn, err := db.write.Conn(ctx)
	if err != nil {
		return fmt.Errorf("checkpoint store: %w", classify(err))
	}
	defer conn.Close()
	if err := setBusyTimeout(ctx, conn, checkpointBusyTimeout); err != nil {
		return fmt.Errorf("checkpoint store: %w", err)
	}
	defer func() {
		// Even when ctx has ended: the connection is the only writer.
		if rerr := setBusyTimeout(context.WithoutCancel(ctx), conn, busyTimeout); rerr != nil {
			// A writer that gives up after 200 ms would fail writes a
			// second process delays; a fresh connection takes its place.
			_ = conn.Raw(func(any) error { return driver.ErrBadConn })
			err = errors.Join(err, fmt.Errorf("checkpoint store: %w", rerr))
		}
	}()
	if err := db.readers.close(ctx); err != nil {
		return fmt.Errorf("checkpoint store: wait for this process's reads: %w", err)
	}
	defer db.readers.reopen()
	var busy, logPages, copied int
	if err := conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)").Scan(&busy, &logPages, &copied); err != nil {
		return fmt.Errorf("checkpoint store: %w", classify(err))
	}
	if busy != 0 {
		return fmt.Errorf("checkpoint store: %w: another process's reader (plan, the sqlite3 shell, a backup tool) kept the log past %v (%d of %d pages copied)",
			ErrBusy, checkpointBusyTimeout, copied, logPages)
	}
	return nil
}

// checkpointBusyTimeout is how long Checkpoint waits for another process's
// reader, holding this process's reads and writes back meanwhile.
const checkpointBusyTimeout = 200 * time.Millisecond

// setBusyTimeout sets conn's busy timeout.
func setBusyTimeout(ctx context.Context, conn *sql.Conn, d time.Duration) error {
	if _, err := conn.ExecContext(ctx, fmt.Sprintf("PRAGMA busy_timeout = %d", d.Milliseconds())); err != nil {
		return fmt.Errorf("set busy_timeout: %w", classify(err))
	}
	return nil
}

// Ping checks that both the writer and a reader answer; /readyz uses it.
func (db *DB) Ping(ctx context.Context) error {
	if db.write != nil { // nil after OpenReadOnly
		if err := db.write.PingContext(ctx); err != nil {
			return fmt.Errorf("ping store writer: %w", classify(err))
		}
	}
	if err := db.read.PingContext(ctx); err != nil {
		return fmt.Errorf("ping store reader: %w", classify(err))
	}
	return nil
}

func (db *DB) now() time.Time { return db.Now().UTC() }

// writeTx runs fn in one IMMEDIATE transaction on the writer connection and
// commits it if fn returns nil. op names the operation in the error.
func (db *DB) writeTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if db.write == nil {
		return fmt.Errorf("%s: %w: opened with OpenReadOnly", op, ErrReadOnly)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", op, classify(err))
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("%s: commit: %w", op, classify(err))
	}
	return nil
}

// readTx runs fn in one read transaction on the read pool, so a read model
// made of several queries sees one consistent state. While a checkpoint
// holds reads back it waits, but no longer than ctx allows. fn must not
// call readTx: a checkpoint waiting between the two would wait for the
// outer read while the inner waits for it.
func (db *DB) readTx(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	if err := db.readers.enter(ctx); err != nil {
		return fmt.Errorf("%s: wait for the checkpoint: %w", op, err)
	}
	defer db.readers.leave()
	tx, err := db.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("%s: begin: %w", op, classify(err))
	}
	defer tx.Rollback() //nolint:errcheck // read-only: nothing to keep
	if err := fn(tx); err != nil {
		return fmt.Errorf("%s: %w", op, classify(err))
	}
	return nil
}

// ms converts a time to its stored form: milliseconds since the epoch, or
// NULL for the zero time.
func ms(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}

// msInt is ms for comparisons: zero for the zero time.
func msInt(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// stored returns t as it reads back from the database.
func stored(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return fromMS(t.UnixMilli())
}

func fromMS(v int64) time.Time {
	return time.UnixMilli(v).UTC()
}

// id converts an optional id to its stored form: NULL for zero.
func id(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// timeCol scans a nullable millisecond column into a time.Time.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.t = time.Time{}
	case int64:
		*c.t = fromMS(v)
	default:
		return fmt.Errorf("scan time: unexpected %T", v)
	}
	return nil
}

// idCol scans a nullable INTEGER column into an int64, NULL as zero.
type idCol struct{ p *int64 }

func (c idCol) Scan(v any) error {
	switch v := v.(type) {
	case nil:
		*c.p = 0
	case int64:
		*c.p = v
	default:
		return fmt.Errorf("scan id: unexpected %T", v)
	}
	return nil
}

var (
	_ sql.Scanner = timeCol{}
	_ sql.Scanner = idCol{}
)
