//go:build unix

package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestDBPathThisUserCannotWrite: a database directory or file the daemon's
// user may not write (a host directory bind-mounted at /data keeps the
// host's owner, and the image runs as uid 65532) is a configuration
// problem for the commands that write, named with the remedy, and none
// for those that only read.
func TestDBPathThisUserCannotWrite(t *testing.T) {
	base, run := testkit.AsUnprivileged(t, unwritableDatabases(t))
	if !run {
		return
	}
	readOnlyDir, lockedFile := filepath.Join(base, "ro"), filepath.Join(base, "rw", "qw.db")
	// beside is the database of the directory whose file beside it, named
	// by suffix, this user may not open.
	beside := func(suffix string) string { return filepath.Join(base, strings.Trim(suffix, "-."), "qw.db") }
	tests := []struct {
		name   string
		path   string
		writes bool
		want   string
	}{
		{"a directory it cannot write", filepath.Join(readOnlyDir, "qw.db"), true,
			"cannot create files in " + readOnlyDir + " (the database, its .lock, -wal and -shm files go there): give this user the directory"},
		{"a file it cannot write", lockedFile, true, "cannot write " + lockedFile + ": give this user the directory and the files in it (the container runs as uid 65532"},
		{"a directory it cannot write, to read", filepath.Join(readOnlyDir, "qw.db"), false, ""},
		{"a file it cannot write, to read", lockedFile, false, ""},
		{"a WAL file, no -wal, in a directory it cannot write, to read", filepath.Join(base, "walro", "qw.db"), false,
			"cannot create files in " + filepath.Join(base, "walro") + ", where SQLite puts the -wal and -shm it reads a WAL database through while the daemon is stopped"},
		{"a WAL file beside a running daemon's -wal, in a directory it cannot write, to read", filepath.Join(base, "walrun", "qw.db"), false, ""},
		{"a file it cannot read", filepath.Join(base, "noread", "qw.db"), true, "cannot read " + filepath.Join(base, "noread", "qw.db") + ": give this user"},
		// plan reads the file: unreadable, it is the same problem as an
		// unreadable -wal, not a bare "permission denied" with exit code 1.
		{"a file it cannot read, to read", filepath.Join(base, "noread", "qw.db"), false, "cannot read " + filepath.Join(base, "noread", "qw.db") + ": give this user"},
		{"a -wal it cannot read", beside("-wal"), true, "cannot read " + beside("-wal") + "-wal: give this user"},
		{"a -wal it cannot read, to read", beside("-wal"), false, "cannot read " + beside("-wal") + "-wal"},
		{"a -shm it cannot read", beside("-shm"), true, "cannot read " + beside("-shm") + "-shm: give this user"},
		{"a .lock it cannot write", beside(".lock"), true, "cannot write " + beside(".lock") + ".lock: give this user"},
		{"a .lock it cannot write, to read", beside(".lock"), false, ""},
		// plan and backfill never open the .lock (store.OpenReadOnly takes
		// no lock): one they may not even read is no problem of theirs.
		{"a .lock it cannot read, to read", filepath.Join(base, "lock0", "qw.db"), false, ""},
		{"a .lock it cannot read", filepath.Join(base, "lock0", "qw.db"), true, "cannot read " + filepath.Join(base, "lock0", "qw.db") + ".lock: give this user"},
		// A directory it may not enter was named by its first missing
		// file: "cannot read .../qw.db-wal", a file that is not there.
		{"a directory it cannot enter", filepath.Join(base, "closed", "qw.db"), true,
			"cannot enter " + filepath.Join(base, "closed") + ", so cannot open the database or any file beside it: give this user"},
		{"a directory it cannot enter, to read", filepath.Join(base, "closed", "qw.db"), false,
			"cannot enter " + filepath.Join(base, "closed") + ", so cannot open the database or any file beside it: give this user"},
		// ... and one below it was named as the one it could not enter.
		{"a directory below one it cannot enter", filepath.Join(base, "closed", "sub", "qw.db"), true,
			"cannot reach " + filepath.Join(base, "closed", "sub") + " (a directory on the way keeps this user out): give this user"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := dbPathProblem(tt.path, tt.writes)
			if tt.want == "" && got != "" || !strings.Contains(got, tt.want) {
				t.Errorf("dbPathProblem(%q, %v) = %q, want %q", tt.path, tt.writes, got, tt.want)
			}
		})
	}
}

// unwritableDatabases makes a directory nobody but the superuser may write
// (ro), one nobody else may even enter (closed), a writable one holding a file nobody may write (rw/qw.db), one
// holding a file nobody may read (noread/qw.db), and, beside writable
// databases, a -wal and a -shm nobody may read, a .lock nobody may write
// (wal/, shm/, lock/), as another user's sqlite3 session leaves them, and a
// .lock nobody may read (lock0/: a sync run as root with umask 077).
func unwritableDatabases(t *testing.T) func(dir string) {
	return func(dir string) {
		ro, rw, closed := filepath.Join(dir, "ro"), filepath.Join(dir, "rw"), filepath.Join(dir, "closed")
		for _, err := range []error{os.Mkdir(ro, 0o755), os.Mkdir(rw, 0o755), os.Chmod(ro, 0o555), os.Chmod(rw, 0o777),
			os.WriteFile(filepath.Join(rw, "qw.db"), nil, 0o444), os.Mkdir(closed, 0o700), os.Mkdir(filepath.Join(closed, "sub"), 0o777), os.Chmod(closed, 0o700)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, f := range []struct {
			dir, beside string
			mode        os.FileMode
		}{{"noread", "", 0}, {"wal", "-wal", 0}, {"shm", "-shm", 0}, {"lock", ".lock", 0o444}, {"lock0", ".lock", 0}} {
			d := filepath.Join(dir, f.dir)
			db := filepath.Join(d, "qw.db")
			errs := []error{os.Mkdir(d, 0o777), os.Chmod(d, 0o777), os.WriteFile(db, nil, 0o666), os.Chmod(db, 0o666)}
			if f.beside == "" {
				errs = append(errs, os.Chmod(db, f.mode))
			} else {
				errs = append(errs, os.WriteFile(db+f.beside, nil, 0o600), os.Chmod(db+f.beside, f.mode))
			}
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
		// A WAL database this user may read, in a directory it may not
		// write (walro/), and the same with a running daemon's -wal beside
		// it (walrun/).
		header := append([]byte("SQLite format 3\x00\x10\x00\x02\x02"), make([]byte, 80)...)
		for _, f := range []struct {
			dir string
			wal bool
		}{{"walro", false}, {"walrun", true}} {
			d := filepath.Join(dir, f.dir)
			db := filepath.Join(d, "qw.db")
			errs := []error{os.Mkdir(d, 0o755), os.WriteFile(db, header, 0o644)}
			if f.wal {
				errs = append(errs, os.WriteFile(db+"-wal", nil, 0o644), os.WriteFile(db+"-shm", nil, 0o644))
			}
			for _, err := range append(errs, os.Chmod(d, 0o555)) {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}
