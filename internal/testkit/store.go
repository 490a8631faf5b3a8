package testkit

import (
	"context"
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
