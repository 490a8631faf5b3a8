//go:build unix

package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/store"
	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestOpenReadOnlyByAUserWhoMayOnlyRead: plan and backfill need only to
// read QW_DB_PATH's files (the configuration refuses no more for them),
// so a user who may read the database but not write it must still open
// it: with the file alone, where its directory does or does not take
// new files, beside a running daemon, and beside the -wal a killed daemon
// left. OpenReadOnly now asks for a read-write connection where no -wal
// is present; SQLite falls back to read-only for such a user, as mode=ro
// did. Only there may a -wal and -shm be left, and they are this user's.
// Where the directory takes no new file and no -wal is there, SQLite
// cannot read the WAL file at all, before as now.
func TestOpenReadOnlyByAUserWhoMayOnlyRead(t *testing.T) {
	cursor := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	ctx := context.Background()
	cases := []string{"file alone, directory open", "file alone", "beside a running daemon", "a killed daemon's"}
	dir, run := testkit.AsUnprivileged(t, func(dir string) {
		for _, name := range cases {
			data := filepath.Join(dir, name)
			if err := os.Mkdir(data, 0o755); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(data, "qw.db")
			db := testkit.OpenStoreAt(t, path)
			if err := db.SetCursor(ctx, "conversations", cursor); err != nil {
				t.Fatal(err)
			}
			switch name {
			case "beside a running daemon":
				// Held open until the test ends, past the copy's run.
			case "a killed daemon's":
				// The files as a kill leaves them: copied while it holds them.
				killed := filepath.Join(dir, name+" copy")
				if err := os.Mkdir(killed, 0o755); err != nil {
					t.Fatal(err)
				}
				for _, suffix := range []string{"", "-wal", "-shm"} {
					b, err := os.ReadFile(path + suffix)
					if err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(filepath.Join(killed, "qw.db"+suffix), b, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			default:
				if err := db.Close(); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			if name == "file alone, directory open" {
				if err := os.Chmod(data, 0o777); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if !run {
		return
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			data := filepath.Join(dir, name)
			if name == "a killed daemon's" {
				data += " copy"
			}
			path := filepath.Join(data, "qw.db")
			if f, err := os.OpenFile(path, os.O_RDWR, 0); err == nil {
				f.Close()
				t.Fatalf("this user may write %s: no test of a reader", path)
			}
			before := names(t, data)
			r, err := store.OpenReadOnly(ctx, path)
			if name == "file alone" {
				// SQLite reads a WAL file only through a -wal and -shm,
				// which it may neither open nor create here: refused, as
				// it was before OpenReadOnly asked for read-write, and
				// with nothing made.
				if err == nil {
					r.Close()
					t.Fatal("OpenReadOnly read a WAL file with no -wal in a directory it may not write to")
				}
				t.Logf("refused: %v", err)
				if after := names(t, data); !slices.Equal(after, before) {
					t.Errorf("files %v before, %v after", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("OpenReadOnly: %v", err)
			}
			if got, err := r.Cursor(ctx, "conversations"); err != nil || !got.Value.Equal(cursor) {
				t.Errorf("Cursor = %+v, %v; want %v", got, err, cursor)
			}
			if err := r.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			for _, name := range names(t, data) {
				if slices.Contains(before, name) {
					continue
				}
				fi, err := os.Stat(filepath.Join(data, name))
				if err != nil {
					t.Fatal(err)
				}
				if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != os.Getuid() {
					t.Errorf("%s left behind, not this user's", name)
				}
				t.Logf("%s left behind, this user's", name)
			}
		})
	}
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}
