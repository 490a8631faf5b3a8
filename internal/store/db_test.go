package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// t0 is the tests' epoch; every time in the tests is whole seconds after it,
// so values survive the millisecond storage unchanged.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return t0.Add(d) }

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// openAt opens (or reopens) the store at path with a fixed clock and closes
// it when the test ends.
func openAt(t testing.TB, path string) (*DB, *clock) {
	t.Helper()
	db, err := Open(context.Background(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	c := &clock{now: t0}
	db.Now = c.Now
	t.Cleanup(func() { db.Close() })
	return db, c
}

func openTest(t testing.TB) (*DB, *clock) {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "qw.db"))
}

func TestOpenConfiguresConnections(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()

	pragma := func(pool *sql.DB, name string) string {
		t.Helper()
		var v string
		if err := pool.QueryRowContext(ctx, "PRAGMA "+name).Scan(&v); err != nil {
			t.Fatalf("PRAGMA %s: %v", name, err)
		}
		return v
	}
	got := map[string]string{
		"journal_mode": pragma(db.write, "journal_mode"),
		"foreign_keys": pragma(db.write, "foreign_keys"),
		"synchronous":  pragma(db.write, "synchronous"),
		"busy_timeout": pragma(db.write, "busy_timeout"),
		"reader busy":  pragma(db.read, "busy_timeout"),
		"reader query": pragma(db.read, "query_only"),
	}
	want := map[string]string{
		"journal_mode": "wal", "foreign_keys": "1", "synchronous": "1", // NORMAL
		"busy_timeout": "5000", "reader busy": "5000", "reader query": "1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("pragmas (-want +got):\n%s", diff)
	}
	if got, want := db.write.Stats().MaxOpenConnections, 1; got != want {
		t.Errorf("writer MaxOpenConnections = %d, want %d", got, want)
	}
	if err := db.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestDSNPutsBusyTimeoutFirst(t *testing.T) {
	t.Parallel()
	for _, readOnly := range []bool{false, true} {
		d := dsn("/data/q w.db", readOnly)
		_, q, _ := strings.Cut(d, "?")
		if !strings.HasPrefix(q, "_pragma=busy_timeout%285000%29&") {
			t.Errorf("dsn(readOnly=%v) = %q, want busy_timeout first", readOnly, d)
		}
		if readOnly != strings.Contains(q, "mode=ro") {
			t.Errorf("dsn(readOnly=%v) = %q, mode=ro present = %v", readOnly, d, !readOnly)
		}
		if !strings.HasPrefix(d, "file:///data/q%20w.db?") {
			t.Errorf("dsn(readOnly=%v) = %q, want an escaped absolute file URI", readOnly, d)
		}
	}
}

func TestReadPoolCannotWrite(t *testing.T) {
	t.Parallel()
	db, _ := openTest(t)
	ctx := context.Background()
	conn, err := db.read.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Lift query_only: mode=ro must still refuse.
	if _, err := conn.ExecContext(ctx, "PRAGMA query_only = 0"); err != nil {
		t.Fatal(err)
	}
	_, err = conn.ExecContext(ctx, "INSERT INTO mailboxes (id) VALUES (1)")
	if !errors.Is(classify(err), ErrReadOnly) {
		t.Errorf("write through the read pool: got %v, want ErrReadOnly", err)
	}
}

func TestCheckWAL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "rollback.db")
	raw, err := sql.Open("sqlite", "file://"+path+"?_pragma=journal_mode(DELETE)")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	err = checkWAL(ctx, raw)
	if err == nil || !strings.Contains(err.Error(), `"delete"`) {
		t.Errorf("checkWAL on a rollback-journal database = %v, want an error naming the mode", err)
	}
}

func TestOpenRejects(t *testing.T) {
	t.Parallel()
	for _, path := range []string{"", ":memory:", "file:x.db?mode=memory"} {
		t.Run(fmt.Sprintf("%q", path), func(t *testing.T) {
			if db, err := Open(context.Background(), path); err == nil {
				db.Close()
				t.Errorf("Open(%q) succeeded, want an error", path)
			}
		})
	}
}

func TestReopenKeepsData(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qw.db")
	ctx := context.Background()
	db, _ := openAt(t, path)
	c := conv(1, at(time.Hour))
	if _, err := db.ApplyConversation(ctx, ConversationUpdate{Conversation: c, Threads: threads(1, 3), ThreadsComplete: true}); err != nil {
		t.Fatal(err)
	}
	if err := db.SetCursor(ctx, "conversations", at(2*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db2, _ := openAt(t, path)
	got, gotThreads, err := db2.Conversation(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	if got.Subject != c.Subject || len(gotThreads) != 3 {
		t.Errorf("after reopen: subject %q with %d threads, want %q with 3", got.Subject, len(gotThreads), c.Subject)
	}
	cur, err := db2.Cursor(ctx, "conversations")
	if err != nil {
		t.Fatal(err)
	}
	if !cur.Value.Equal(at(2 * time.Hour)) {
		t.Errorf("cursor after reopen = %v, want %v", cur.Value, at(2*time.Hour))
	}
}

func TestSchemaTooNewIsRefused(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qw.db")
	db, _ := openAt(t, path)
	latest := LatestSchemaVersion()
	if _, err := db.write.Exec(fmt.Sprintf("PRAGMA user_version = %d", latest+1)); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db2, err := Open(context.Background(), path)
	if err == nil {
		db2.Close()
		t.Fatal("Open of a newer schema succeeded")
	}
	if !errors.Is(err, ErrSchemaTooNew) {
		t.Errorf("Open error = %v, want ErrSchemaTooNew", err)
	}
	for _, v := range []int{latest + 1, latest} {
		if !strings.Contains(err.Error(), fmt.Sprint(v)) {
			t.Errorf("error %q does not name version %d", err, v)
		}
	}
}

func TestMigrationsAreIdempotent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "qw.db")
	ctx := context.Background()
	db, _ := openAt(t, path)
	if err := migrate(ctx, db.write, migrationFS, db.now); err != nil {
		t.Fatalf("second migrate on the same handle: %v", err)
	}
	db.Close()
	db2, _ := openAt(t, path)
	v, err := db2.SchemaVersion(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := v, LatestSchemaVersion(); got != want || want < 1 {
		t.Errorf("schema version = %d, want %d (>= 1)", got, want)
	}
	var n int
	if err := db2.read.QueryRow("SELECT COUNT(*) FROM schema_version").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != LatestSchemaVersion() {
		t.Errorf("schema_version has %d rows, want %d", n, LatestSchemaVersion())
	}
}

func TestMigrate(t *testing.T) {
	t.Parallel()
	mig := func(files map[string]string) fstest.MapFS {
		fs := fstest.MapFS{}
		for name, body := range files {
			fs["migrations/"+name] = &fstest.MapFile{Data: []byte(body)}
		}
		return fs
	}
	v1 := map[string]string{"0001_a.sql": "CREATE TABLE a (x INTEGER);"}
	v2 := map[string]string{"0001_a.sql": "CREATE TABLE a (x INTEGER);", "0002_b.sql": "CREATE TABLE b (y INTEGER);"}
	broken := map[string]string{"0001_a.sql": "CREATE TABLE a (x INTEGER);", "0002_b.sql": "CREATE TABLE b (y INTEGER); NOT SQL;"}

	tests := []struct {
		name        string
		first, then map[string]string
		wantVersion int
		wantErr     string
		wantTables  []string
	}{
		{name: "forward one step", first: v1, then: v2, wantVersion: 2, wantTables: []string{"a", "b"}},
		{name: "nothing new", first: v2, then: v2, wantVersion: 2, wantTables: []string{"a", "b"}},
		{name: "failed migration rolls back", first: v1, then: broken, wantVersion: 1, wantErr: "0002_b.sql",
			wantTables: []string{"a"}},
		{name: "older binary refuses", first: v2, then: v1, wantVersion: 2, wantErr: "schema version 2, this binary knows up to 1",
			wantTables: []string{"a", "b"}},
		{name: "gap", first: v1, then: map[string]string{"0001_a.sql": "", "0003_c.sql": ""}, wantVersion: 1,
			wantErr: "expected version 2", wantTables: []string{"a"}},
		{name: "bad name", first: v1, then: map[string]string{"0001_a.sql": "", "two.sql": ""}, wantVersion: 1,
			wantErr: "NNNN_name.sql", wantTables: []string{"a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			raw, err := sql.Open("sqlite", dsn(filepath.Join(t.TempDir(), "m.db"), false))
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			raw.SetMaxOpenConns(1)
			if err := migrate(ctx, raw, mig(tt.first), time.Now); err != nil {
				t.Fatalf("first migrate: %v", err)
			}
			err = migrate(ctx, raw, mig(tt.then), time.Now)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("migrate: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("migrate error = %v, want one containing %q", err, tt.wantErr)
			}
			v, err := userVersion(ctx, raw)
			if err != nil {
				t.Fatal(err)
			}
			if v != tt.wantVersion {
				t.Errorf("user_version = %d, want %d", v, tt.wantVersion)
			}
			rows, err := raw.Query("SELECT name FROM sqlite_schema WHERE type = 'table' AND name IN ('a', 'b', 'c') ORDER BY name")
			if err != nil {
				t.Fatal(err)
			}
			var tables []string
			for rows.Next() {
				var n string
				rows.Scan(&n)
				tables = append(tables, n)
			}
			rows.Close()
			if diff := cmp.Diff(tt.wantTables, tables); diff != "" {
				t.Errorf("tables (-want +got):\n%s", diff)
			}
		})
	}
}

func TestEmbeddedMigrationsLoad(t *testing.T) {
	t.Parallel()
	ms, err := loadMigrations(migrationFS)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 || ms[0].name != "0001_init.sql" {
		t.Errorf("embedded migrations = %v, want 0001_init.sql first", ms)
	}
}

func TestOpenReadOnlyFile(t *testing.T) {
	t.Parallel()
	if os.Geteuid() == 0 {
		t.Skip("root ignores file permissions; TestReadPoolCannotWrite covers ErrReadOnly")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "qw.db")
	db, _ := openAt(t, path)
	db.Close()
	if err := os.Chmod(path, 0o444); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, 0o644) })
	db2, err := Open(context.Background(), path)
	if err == nil {
		db2.Close()
		t.Fatal("Open of a read-only file succeeded")
	}
	if !errors.Is(err, ErrReadOnly) || !strings.Contains(err.Error(), "permissions") {
		t.Errorf("Open of a read-only file: %v, want ErrReadOnly saying why", err)
	}
}
