package testkit

import (
	"bytes"
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/store"
)

// OpenStore opens a fresh store in a file under tb.TempDir() (style.md: test
// databases are files, never :memory:, so WAL and the one-writer rule are the
// production ones) and closes it when the test ends.
func OpenStore(tb testing.TB) *store.DB {
	tb.Helper()
	return OpenStoreAt(tb, filepath.Join(tb.TempDir(), "qw.db"))
}

// OpenStoreAt opens (or reopens) the store at path and closes it when the
// test ends, for tests that reopen one file.
func OpenStoreAt(tb testing.TB, path string) *store.DB {
	tb.Helper()
	db, err := store.Open(context.Background(), path)
	if err != nil {
		tb.Fatalf("open store %s: %v", path, err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// DamageTable overwrites the root page of table in the store file at path,
// as a failing disk would, so that every statement reading the table meets
// the damage (store.ErrCorrupt). It returns what puts the page back.
func DamageTable(tb testing.TB, path, table string) (repair func()) {
	tb.Helper()
	return DamagePage(tb, path, "SELECT rootpage FROM sqlite_schema WHERE type = 'table' AND name = ?", table)
}

// DamagePage overwrites the page of the store file at path whose number
// pageQuery selects (from sqlite_schema, or dbstat for a page below a
// table's root), as a failing disk would, through SQLite's own page table,
// so that every connection of a store holding the file open meets the
// damage at once (store.ErrCorrupt). It returns what puts the page back.
func DamagePage(tb testing.TB, path, pageQuery string, args ...any) (repair func()) {
	tb.Helper()
	// The driver is the one the store registers.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		tb.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	tb.Cleanup(func() { db.Close() })
	var pgno int64
	var good []byte
	if err := db.QueryRow(pageQuery, args...).Scan(&pgno); err != nil {
		tb.Fatalf("find the page to damage (%s %v): %v", pageQuery, args, err)
	}
	if err := db.QueryRow("SELECT data FROM sqlite_dbpage WHERE pgno = ?", pgno).Scan(&good); err != nil {
		tb.Fatalf("read page %d: %v", pgno, err)
	}
	write := func(data []byte) {
		tb.Helper()
		if _, err := db.Exec("UPDATE sqlite_dbpage SET data = ? WHERE pgno = ?", data, pgno); err != nil {
			tb.Fatalf("write page %d: %v", pgno, err)
		}
	}
	write(bytes.Repeat([]byte{0xff}, len(good)))
	return func() { write(good) }
}
