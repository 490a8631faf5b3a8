package store

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"
)

// foreignFile writes another program's SQLite file: rollback journal, a
// table of its own, and the given header fields.
func foreignFile(t *testing.T, userVersion int, applicationID int32, tables ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "other.db")
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	stmts := []string{"PRAGMA journal_mode = DELETE"}
	for _, tbl := range tables {
		stmts = append(stmts, fmt.Sprintf("CREATE TABLE %s (id INTEGER PRIMARY KEY, v TEXT)", tbl),
			fmt.Sprintf("INSERT INTO %s (v) VALUES ('keep me')", tbl))
	}
	stmts = append(stmts, fmt.Sprintf("PRAGMA user_version = %d", userVersion),
		fmt.Sprintf("PRAGMA application_id = %d", applicationID))
	for _, s := range stmts {
		if _, err := raw.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return path
}

// dirState is every file beside the database with its content: a refused
// file must leave it all exactly as it was (no -wal, no -shm, no header
// change).
func dirState(t *testing.T, path string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(path), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// pragmaAt reads one PRAGMA of the file at path over a read-only
// connection.
func pragmaAt(t *testing.T, path, name string) string {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var v string
	if err := raw.QueryRow("PRAGMA " + name).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestForeignDatabaseIsLeftUntouched is issue 17 rows 10 and 11: QW_DB_PATH
// pointing at another application's SQLite file. Before, the file got our
// tables, WAL and a user_version (row 10), or was refused only after its
// journal mode had been switched to WAL (row 11). Now Open refuses it
// before changing a byte, with an error naming what it found.
func TestForeignDatabaseIsLeftUntouched(t *testing.T) {
	t.Parallel()
	notSQLite := func(t *testing.T) string {
		path := filepath.Join(t.TempDir(), "notes.txt")
		if err := os.WriteFile(path, []byte("shopping list: milk, eggs\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	tests := []struct {
		name string
		file func(t *testing.T) string
		want []string // in the error message
	}{
		{"row 10: user_version 0 with tables", func(t *testing.T) string { return foreignFile(t, 0, 0, "invoices", "customers") },
			[]string{"application_id 0", "user_version 0", "customers, invoices"}},
		{"row 11: user_version 7 with tables", func(t *testing.T) string { return foreignFile(t, 7, 0, "notes") },
			[]string{"user_version 7", "notes"}},
		{"user_version beyond ours with tables", func(t *testing.T) string { return foreignFile(t, 9999, 0, "notes") },
			[]string{"user_version 9999", "notes"}},
		{"another program's application_id", func(t *testing.T) string { return foreignFile(t, 3, 0x47504B47, "gpkg_contents") },
			[]string{"0x47504b47", "another program"}},
		{"a version but no tables", func(t *testing.T) string { return foreignFile(t, 2, 0) },
			[]string{"no tables", "user_version 2"}},
		{"our table names without our history", func(t *testing.T) string {
			return foreignFile(t, 1, 0, "conversations", "proposals", "schema_version", "sync_cursors", "webhook_inbox")
		}, []string{"no queuewrangler migration"}},
		{"not SQLite at all", notSQLite, []string{"not a SQLite database"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.file(t)
			before := dirState(t, path)
			for _, open := range []struct {
				name string
				fn   func(context.Context, string) (*DB, error)
			}{{"Open", Open}, {"OpenReadOnly", OpenReadOnly}} {
				db, err := open.fn(context.Background(), path)
				if err == nil {
					db.Close()
					t.Fatalf("%s of a foreign file succeeded", open.name)
				}
				if !errors.Is(err, ErrForeignDatabase) {
					t.Errorf("%s: %v, want ErrForeignDatabase", open.name, err)
				}
				for _, w := range append([]string{path}, tt.want...) {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("%s error %q does not say %q", open.name, err, w)
					}
				}
			}
			after := dirState(t, path)
			if len(after) != len(before) {
				t.Errorf("files beside the database: %d before, %d after (%v)", len(before), len(after), keys(after))
			}
			for name, b := range before {
				if !bytes.Equal(after[name], b) {
					t.Errorf("%s changed", name)
				}
			}
			if strings.HasSuffix(path, ".db") {
				if mode := pragmaAt(t, path, "journal_mode"); mode != "delete" {
					t.Errorf("journal mode after the refusal = %s, want delete (untouched)", mode)
				}
			}
		})
	}
}

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func applicationID(t *testing.T, db *sql.DB) int32 {
	t.Helper()
	var id int32
	if err := db.QueryRow("PRAGMA application_id").Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestNewDatabaseIsStamped(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	if got := applicationID(t, db.read); got != ApplicationID {
		t.Errorf("application_id = %#x, want %#x", got, ApplicationID)
	}
	// An empty file (touched by a volume setup script) is a new database.
	path := filepath.Join(t.TempDir(), "empty.db")
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	db2, _ := openAt(t, path)
	if got := applicationID(t, db2.read); got != ApplicationID {
		t.Errorf("empty file: application_id = %#x, want %#x", got, ApplicationID)
	}
}

// migrationsUpTo is the embedded history cut at version n: what an older
// binary shipped.
func migrationsUpTo(t *testing.T, n int) fs.FS {
	t.Helper()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	out := fstest.MapFS{}
	for _, m := range ms[:n] {
		out["migrations/"+m.name] = &fstest.MapFile{Data: []byte(m.sql)}
	}
	return out
}

// rawAtVersion creates at path a database migrated up to version n, as an
// older binary left it, over a plain connection the caller closes.
func rawAtVersion(t *testing.T, path string, n int) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	raw.SetMaxOpenConns(1)
	if err := migrate(context.Background(), raw, migrationsUpTo(t, n), time.Now); err != nil {
		t.Fatal(err)
	}
	return raw
}

// TestDatabaseFromBeforeApplicationIDOpens: a queuewrangler file written
// before this check existed (application_id 0, version 7, our tables) is
// recognised by its schema history, keeps its data, is migrated and gets
// the id.
func TestDatabaseFromBeforeApplicationIDOpens(t *testing.T) {
	t.Parallel()
	const before = 7 // the last schema without the id
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	raw := rawAtVersion(t, path, before)
	if _, err := raw.Exec(`INSERT INTO sync_cursors (name, value, updated_at) VALUES ('conversations', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	if got := applicationID(t, raw); got != 0 {
		t.Fatalf("the old schema set application_id %#x; the test needs 0", got)
	}
	raw.Close()

	db, _ := openAt(t, path)
	if got := applicationID(t, db.read); got != ApplicationID {
		t.Errorf("application_id after opening = %#x, want %#x", got, ApplicationID)
	}
	if v, err := db.SchemaVersion(ctx); err != nil || v != LatestSchemaVersion() {
		t.Errorf("schema version = %d, %v; want %d", v, err, LatestSchemaVersion())
	}
	cur, err := db.Cursor(ctx, "conversations")
	if err != nil || cur.Value.UnixMilli() != 1 {
		t.Errorf("cursor kept through the upgrade = %+v, %v", cur, err)
	}
}

// TestOpenReadOnly: plan's way in. It reads beside a writer, writes
// nothing, and refuses a file this binary would have to migrate.
func TestOpenReadOnly(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	w, _ := openAt(t, path)
	if err := w.SetCursor(ctx, "conversations", at(time.Hour)); err != nil {
		t.Fatal(err)
	}

	r, err := OpenReadOnly(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if cur, err := r.Cursor(ctx, "conversations"); err != nil || !cur.Value.Equal(at(time.Hour)) {
		t.Errorf("read beside the writer: %+v, %v", cur, err)
	}
	if err := r.SetCursor(ctx, "conversations", at(2*time.Hour)); !errors.Is(err, ErrReadOnly) {
		t.Errorf("write through OpenReadOnly: %v, want ErrReadOnly", err)
	}
	if err := r.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}

	if _, err := OpenReadOnly(ctx, filepath.Join(t.TempDir(), "missing.db")); !errors.Is(err, ErrNotFound) {
		t.Errorf("OpenReadOnly of a missing file: %v, want ErrNotFound", err)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	rawAtVersion(t, old, 1).Close()
	_, err = OpenReadOnly(ctx, old)
	if err == nil || !strings.Contains(err.Error(), "queuewrangler sync") {
		t.Errorf("OpenReadOnly of an older schema: %v, want advice to run sync", err)
	}
	if v := pragmaAt(t, old, "user_version"); v != "1" {
		t.Errorf("OpenReadOnly migrated the file to %s", v)
	}
}

// TestOpenReadOnlyLeavesTheFilesAsItFoundThem: plan and backfill open
// the database with OpenReadOnly. Its mode=ro connections, on a file no
// daemon held (no -wal), created a -wal and a -shm and, read-only, could
// not delete them when they closed: run as root (docker exec -u 0), they
// left a 0-byte -wal and a -shm of root's that serve, as uid 65532, then
// refused to start with. Now the directory holds after Close exactly what
// it held before, byte for byte; beside a running daemon the reader still
// reads what it commits; and a killed daemon's -wal is read as it is and
// left byte for byte, as Inspect leaves it.
func TestOpenReadOnlyLeavesTheFilesAsItFoundThem(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	mailboxes := func(t *testing.T, db *DB) int {
		t.Helper()
		var n int
		if err := db.read.QueryRowContext(ctx, "SELECT count(*) FROM mailboxes").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	t.Run("closed cleanly", func(t *testing.T) {
		t.Parallel()
		path := goodFile(t)
		before := dirState(t, path)
		r, err := OpenReadOnly(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if n := mailboxes(t, r); n != 400 {
			t.Errorf("read %d mailboxes, want 400", n)
		}
		if err := r.SetCursor(ctx, "conversations", at(time.Hour)); !errors.Is(err, ErrReadOnly) {
			t.Errorf("write through OpenReadOnly: %v, want ErrReadOnly", err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		after := dirState(t, path)
		if len(after) != len(before) {
			t.Errorf("files beside the database: %v before, %v after", keys(before), keys(after))
		}
		for name, b := range before {
			if !bytes.Equal(after[name], b) {
				t.Errorf("%s changed", name)
			}
		}
	})

	t.Run("beside a running daemon", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "qw.db")
		w, _ := openAt(t, path)
		insert := func(id int) {
			t.Helper()
			if _, err := w.write.Exec("INSERT INTO mailboxes (id, name) VALUES (?, ?)", id, "x"); err != nil {
				t.Fatal(err)
			}
		}
		insert(1)
		r, err := OpenReadOnly(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		insert(2)
		if n := mailboxes(t, r); n != 2 {
			t.Errorf("read %d mailboxes beside the daemon, want the 2 it committed", n)
		}
		if err := r.SetCursor(ctx, "conversations", at(time.Hour)); !errors.Is(err, ErrReadOnly) {
			t.Errorf("write through OpenReadOnly: %v, want ErrReadOnly", err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		// The daemon's files are the daemon's: still there, and it writes on.
		if _, err := os.Stat(path + "-wal"); err != nil {
			t.Errorf("the daemon's -wal after the reader closed: %v", err)
		}
		insert(3)
		if n := mailboxes(t, w); n != 3 {
			t.Errorf("the daemon reads %d mailboxes after the reader closed, want 3", n)
		}
	})

	t.Run("a daemon starts while it reads", func(t *testing.T) {
		t.Parallel()
		path := goodFile(t)
		before := dirState(t, path)
		r, err := OpenReadOnly(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		w, err := Open(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.write.Exec("DELETE FROM mailboxes WHERE id > 100"); err != nil {
			t.Fatal(err)
		}
		if n := mailboxes(t, r); n != 100 {
			t.Errorf("read %d mailboxes after the daemon's delete, want 100", n)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		after := dirState(t, path)
		if len(after) != len(before) {
			t.Errorf("files beside the database: %v before, %v after", keys(before), keys(after))
		}
		reopened, _ := openAt(t, path)
		if n := mailboxes(t, reopened); n != 100 {
			t.Errorf("reopened, %d mailboxes, want the daemon's 100", n)
		}
	})

	t.Run("a killed daemon's WAL", func(t *testing.T) {
		t.Parallel()
		path := killedDaemonsFiles(t)
		before := dirState(t, path)
		r, err := OpenReadOnly(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if n := mailboxes(t, r); n != 5 {
			t.Errorf("read %d mailboxes, want the 5 the WAL holds", n)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		after := dirState(t, path)
		for _, name := range []string{"qw.db", "qw.db-wal"} {
			if _, ok := after[name]; !ok {
				t.Errorf("%s is gone", name)
			} else if !bytes.Equal(after[name], before[name]) {
				t.Errorf("%s changed (%d bytes before, %d after)", name, len(before[name]), len(after[name]))
			}
		}
	})
}

// RequireNew tells a path that holds no database yet from one that holds
// something, reading only: the file, or a -wal beside it that SQLite would
// replay into a new file.
func TestRequireNew(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("orphan.db-wal", "frames")
	write("emptywal.db-wal", "")
	used := filepath.Join(dir, "used.db")
	db, err := Open(context.Background(), used)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, path, wantErr string
	}{
		{"no path", "", ""},
		{"no file", filepath.Join(dir, "none.db"), ""},
		{"an empty file", write("empty.db", ""), ""},
		{"an empty -wal beside no file", filepath.Join(dir, "emptywal.db"), ""},
		{"a queuewrangler database", used, used + " is not empty ("},
		{"another file", write("notes.txt", "hello"), filepath.Join(dir, "notes.txt") + " is not empty (5 bytes)"},
		{"a -wal beside no file", filepath.Join(dir, "orphan.db"), "write-ahead log beside it that SQLite would replay into it (" + filepath.Join(dir, "orphan.db-wal") + ", 6 bytes)"},
		{"a directory", dir, dir + " is not a regular file"},
		{"in a directory that does not exist", filepath.Join(dir, "not-yet", "demo.db"), "directory " + filepath.Join(dir, "not-yet") + " does not exist"},
		{"in a file, not a directory", filepath.Join(dir, "notes.txt", "demo.db"), filepath.Join(dir, "notes.txt") + " is not a directory"},
	} {
		err := RequireNew(tc.path)
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: %v, want nil", tc.name, err)
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.wantErr)
		}
		// Only data already there is ErrNotNew: the demo's remedy (remove
		// it, or name a new file) fits that alone.
		holdsData := strings.Contains(tc.wantErr, "not empty") || strings.Contains(tc.wantErr, "write-ahead log")
		if errors.Is(err, ErrNotNew) != holdsData {
			t.Errorf("%s: errors.Is(%v, ErrNotNew) = %v, want %v", tc.name, err, !holdsData, holdsData)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RequireNew created the file it was asked about: %v", err)
	}
}

// TestInspectChangesNothing: Inspect tells a new database, ours at this
// or an older version, and what Open refuses, without creating the file
// or changing a byte beside it (no -wal or -shm left, no migration, no
// stamp), and refuses with Open's very words, so that a check before a
// start says what the start would.
func TestInspectChangesNothing(t *testing.T) {
	t.Parallel()
	latest := LatestSchemaVersion()
	tests := []struct {
		name    string
		file    func(t *testing.T) string
		want    File
		wantErr error
	}{
		{"no file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "qw.db") }, File{}, nil},
		{"an empty file", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "qw.db")
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, File{}, nil},
		{"this binary's", goodFile, File{Exists: true, SchemaVersion: latest}, nil},
		{"an older queuewrangler's", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "qw.db")
			rawAtVersion(t, path, 7).Close()
			return path
		}, File{Exists: true, SchemaVersion: 7}, nil},
		{"a newer queuewrangler's", func(t *testing.T) string {
			path := goodFile(t)
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			if _, err := raw.Exec(fmt.Sprintf("PRAGMA user_version = %d", latest+1)); err != nil {
				t.Fatal(err)
			}
			return path
		}, File{}, ErrSchemaTooNew},
		{"another program's", func(t *testing.T) string { return foreignFile(t, 3, 0, "contacts") }, File{}, ErrForeignDatabase},
		{"not SQLite", func(t *testing.T) string {
			path := filepath.Join(t.TempDir(), "qw.db")
			if err := os.WriteFile(path, []byte("shopping list: milk, eggs\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return path
		}, File{}, ErrForeignDatabase},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := tt.file(t)
			before := dirState(t, path)
			got, err := Inspect(context.Background(), path)
			if !errors.Is(err, tt.wantErr) || (err != nil) != (tt.wantErr != nil) {
				t.Fatalf("Inspect() error = %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("Inspect() = %+v, want %+v", got, tt.want)
			}
			after := dirState(t, path)
			if len(after) != len(before) {
				t.Errorf("files beside the database: %v before, %v after", keys(before), keys(after))
			}
			for name, b := range before {
				if !bytes.Equal(after[name], b) {
					t.Errorf("%s changed", name)
				}
			}
			if err == nil {
				return
			}
			db, openErr := Open(context.Background(), path)
			if openErr == nil {
				db.Close()
				t.Fatal("Open succeeded where Inspect failed")
			}
			if err.Error() != openErr.Error() {
				t.Errorf("Inspect and Open say different things:\nInspect: %v\nOpen:    %v", err, openErr)
			}
		})
	}
}

// killedDaemonsFiles is a database as a daemon killed (SIGKILL, OOM, a
// lost host) leaves it: the file, and its -wal and -shm holding five
// mailboxes committed since the last checkpoint.
func killedDaemonsFiles(t *testing.T) string {
	t.Helper()
	live := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, live)
	for i := range 5 {
		if _, err := db.write.Exec("INSERT INTO mailboxes (id, name) VALUES (?, ?)", i+1, "x"); err != nil {
			t.Fatal(err)
		}
	}
	// The files as a kill leaves them: copied while the daemon holds them.
	path := copyAsKilled(t, live, "qw.db", "-wal", "-shm")
	if fi, err := os.Stat(path + "-wal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no WAL to leave: %v", err)
	}
	return path
}

// TestInspectLeavesAKilledDaemonsWAL: a daemon killed (SIGKILL, OOM, a
// lost host) leaves its -wal beside the file, holding what it committed
// since the last checkpoint. Inspect's read-write connection, the last to
// close, checkpointed that WAL into the file and deleted it: check, said
// to change nothing, rewrote the database. It now reads it read-only: the
// file and its -wal stay byte for byte (the -shm is SQLite's index of the
// WAL, rebuilt by any reader), and the next Open still finds the rows the
// WAL holds.
func TestInspectLeavesAKilledDaemonsWAL(t *testing.T) {
	t.Parallel()
	path := killedDaemonsFiles(t)
	before := dirState(t, path)
	got, err := Inspect(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	if want := (File{Exists: true, SchemaVersion: LatestSchemaVersion()}); got != want {
		t.Errorf("Inspect() = %+v, want %+v", got, want)
	}
	after := dirState(t, path)
	for _, name := range []string{"qw.db", "qw.db-wal"} {
		if _, ok := after[name]; !ok {
			t.Errorf("%s is gone", name)
		} else if !bytes.Equal(after[name], before[name]) {
			t.Errorf("%s changed (%d bytes before, %d after)", name, len(before[name]), len(after[name]))
		}
	}
	reopened, _ := openAt(t, path)
	var n int
	if err := reopened.write.QueryRow("SELECT count(*) FROM mailboxes").Scan(&n); err != nil || n != 5 {
		t.Errorf("after Inspect, Open finds %d mailboxes (%v), want the 5 the WAL held", n, err)
	}
}

// copyAsKilled copies the database file at src, and the files beside it
// with the given suffixes, to a new directory as name there: the files as
// a kill leaves them, taken while their program still holds them open.
func copyAsKilled(t *testing.T, src, name string, beside ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	for _, suffix := range append([]string{""}, beside...) {
		b, err := os.ReadFile(src + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path+suffix, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// killedMidWrite is another program's rollback-journal file as that
// program leaves it when killed inside a write transaction big enough to
// have spilled into the file: the file half-written and its -journal
// holding the pages to restore.
func killedMidWrite(t *testing.T, applicationID int32) string {
	t.Helper()
	src := foreignFile(t, 3, applicationID, "notes")
	raw, err := sql.Open("sqlite", src)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	ctx := context.Background()
	conn, err := raw.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// A cache of two pages spills the transaction into the file early.
	for _, s := range []string{"PRAGMA cache_size = 2", "BEGIN IMMEDIATE"} {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for range 500 {
		if _, err := conn.ExecContext(ctx, "INSERT INTO notes (v) VALUES (?)", strings.Repeat("x", 500)); err != nil {
			t.Fatal(err)
		}
	}
	path := copyAsKilled(t, src, "other.db", "-journal")
	if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path + "-journal"); err != nil || fi.Size() == 0 {
		t.Fatalf("no journal to leave: %v", err)
	}
	return path
}

// TestForeignTransactionIsLeftToItsProgram: QW_DB_PATH pointing at another
// program's file that it left with an unfinished transaction. Any SQLite
// connection that reads the file, Inspect's query_only one included,
// rolls the -journal back into it, so `check`, said to change nothing,
// rewrote another program's file (258,048 bytes back to 8,192 and the
// journal emptied, in this test) before refusing it. Now every way in
// refuses it from the header alone, both files stay byte for byte, and
// the program that wrote it still finds its own rows when it recovers.
func TestForeignTransactionIsLeftToItsProgram(t *testing.T) {
	t.Parallel()
	for _, app := range []int32{0x47504B47, 0} {
		t.Run(fmt.Sprintf("application_id %#x", app), func(t *testing.T) {
			t.Parallel()
			path := killedMidWrite(t, app)
			before := dirState(t, path)
			ctx := context.Background()
			_, inspectErr := Inspect(ctx, path)
			errs := map[string]error{"Inspect": inspectErr}
			for name, open := range map[string]func(context.Context, string) (*DB, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
				db, err := open(ctx, path)
				if err == nil {
					db.Close()
				}
				errs[name] = err
			}
			for name, err := range errs {
				if !errors.Is(err, ErrForeignDatabase) {
					t.Errorf("%s: %v, want ErrForeignDatabase", name, err)
				} else if !strings.Contains(err.Error(), "other.db-journal") {
					t.Errorf("%s error %q does not name the journal", name, err)
				}
			}
			after := dirState(t, path)
			for name, b := range before {
				if !bytes.Equal(after[name], b) {
					t.Errorf("%s changed (%d bytes before, %d after)", name, len(b), len(after[name]))
				}
			}
			raw, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			var rows int
			if err := raw.QueryRow("SELECT count(*) FROM notes").Scan(&rows); err != nil || rows != 1 {
				t.Errorf("the program's own recovery finds %d rows (%v), want its 1 committed row", rows, err)
			}
		})
	}
}

// killedAtFirstOpen is the file queuewrangler's own first Open leaves when
// it is killed inside the switch of a new, empty file to WAL: SQLite makes
// that switch as a rollback-journal transaction, so it writes a -journal
// (only its header: the file had no pages to save), then page 1 into the
// file (application_id still 0: claim comes after the switch), then
// deletes the journal. Traced with strace on a new file: header pwrite,
// fsync, page 1 pwrite, fsync, unlink. A kill between the last two leaves
// what this returns.
func killedAtFirstOpen(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "qw.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if err := raw.Ping(); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("the WAL switch wrote no page 1: %v", err)
	}
	// The journal header as SQLite wrote it (journal.c's format): magic,
	// no page records, a nonce, the file's size before the transaction (0
	// pages), the sector size and the page size, padded to a sector.
	hdr := make([]byte, 512)
	copy(hdr, []byte{0xd9, 0xd5, 0x05, 0xf9, 0x20, 0xa1, 0x63, 0xd7})
	binary.BigEndian.PutUint32(hdr[12:], 0xc69f8fa2)
	binary.BigEndian.PutUint32(hdr[20:], 512)
	binary.BigEndian.PutUint32(hdr[24:], 4096)
	if err := os.WriteFile(path+"-journal", hdr, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestOwnFirstOpenKilledMidSwitchOpens: a first start killed while SQLite
// switched the new file to WAL leaves a -journal beside a file whose
// application_id is still 0. Taken for another program's unfinished
// transaction, it was refused at every start after ("another program
// (application_id 0x00000000)"), though the journal's rollback only
// empties the file again: nothing anybody committed is in it. Open now
// lets SQLite finish its own recovery and makes the new database, and
// Inspect (check) says it is a new one, changing nothing. A foreign file's journal from an
// empty start keeps being refused when its header names its program.
func TestOwnFirstOpenKilledMidSwitchOpens(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := killedAtFirstOpen(t)
	before := dirState(t, path)
	if f, err := Inspect(ctx, path); err != nil || f.Exists {
		t.Errorf("Inspect: %+v, %v; want a new database", f, err)
	}
	after := dirState(t, path)
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("Inspect changed %s (%d bytes before, %d after)", name, len(b), len(after[name]))
		}
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if got := applicationID(t, db.read); got != ApplicationID {
		t.Errorf("application_id = %#x, want %#x", got, ApplicationID)
	}
	if fi, err := os.Stat(path + "-journal"); err == nil && fi.Size() > 0 {
		t.Errorf("the -journal is still there (%d bytes)", fi.Size())
	}

	t.Run("another program's", func(t *testing.T) {
		t.Parallel()
		path := killedAtFirstOpen(t)
		// Stamp the header as the other program's first transaction would,
		// without SQLite seeing the journal: the header's field at 68.
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		binary.BigEndian.PutUint32(b[68:], 0x47504B47)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Open(ctx, path); !errors.Is(err, ErrForeignDatabase) {
			t.Errorf("Open: %v, want ErrForeignDatabase", err)
		}
	})
}

// TestOpenSaysWhenItMigrated: Open of an older queuewrangler's file says
// which versions it migrated between, for the daemon's log line (an
// upgrade left no trace, and after it an older binary refuses the file);
// a file it creates, or one already current, is no migration.
func TestOpenSaysWhenItMigrated(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "qw.db")
	if err := rawAtVersion(t, path, 14).Close(); err != nil {
		t.Fatal(err)
	}
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if from, to, ok := db.Migrated(); !ok || from != 14 || to != LatestSchemaVersion() {
		t.Errorf("Migrated() = %d, %d, %t; want 14, %d, true", from, to, ok, LatestSchemaVersion())
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if from, to, ok := db.Migrated(); ok {
		t.Errorf("reopened at the latest version: Migrated() = %d, %d, true", from, to)
	}
	fresh, err := Open(ctx, filepath.Join(t.TempDir(), "new.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer fresh.Close()
	if from, to, ok := fresh.Migrated(); ok {
		t.Errorf("a new file: Migrated() = %d, %d, true", from, to)
	}
}
