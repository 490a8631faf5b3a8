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
// (ro) and a writable one holding a file nobody may write (rw/qw.db).
func unwritableDatabases(t *testing.T) func(dir string) {
	return func(dir string) {
		ro, rw := filepath.Join(dir, "ro"), filepath.Join(dir, "rw")
		for _, err := range []error{os.Mkdir(ro, 0o755), os.Mkdir(rw, 0o755), os.Chmod(ro, 0o555), os.Chmod(rw, 0o777),
			os.WriteFile(filepath.Join(rw, "qw.db"), nil, 0o444)} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}
