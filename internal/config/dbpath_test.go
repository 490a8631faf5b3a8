package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDBPathProblems: what no retry of opening the database would fix is a
// configuration problem, and a path that will do is not.
func TestDBPathProblems(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "qw.db")
	if err := os.WriteFile(existing, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	isDir := dir + " is a directory: name the database file in it, such as " + filepath.Join(dir, "queuewrangler.db")
	tests := []struct {
		name   string
		path   string
		writes bool
		want   string
	}{
		{"a new file in a writable directory", filepath.Join(dir, "new.db"), true, ""},
		{"an existing file", existing, true, ""},
		{"the directory itself, to read", dir, false, isDir},
		{"the directory itself, to write", dir, true, isDir},
		{"a missing directory", filepath.Join(dir, "no-such-dir", "qw.db"), true,
			"the directory " + filepath.Join(dir, "no-such-dir") + " does not exist (create it, or mount the volume there)"},
		{"a file where the directory should be", filepath.Join(existing, "qw.db"), false, existing + " is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dbPathProblem(tt.path, tt.writes); got != tt.want {
				t.Errorf("dbPathProblem(%q, %v) = %q, want %q", tt.path, tt.writes, got, tt.want)
			}
		})
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".queuewrangler-write-check") {
			t.Errorf("the write check left %s behind", e.Name())
		}
	}
}

func TestValidateNamesADirectoryAsTheDatabase(t *testing.T) {
	dir := t.TempDir()
	c := load(t, map[string]string{"QW_DB_PATH": dir})
	err := c.Validate(0)
	if err == nil || !strings.Contains(err.Error(), "QW_DB_PATH: "+dir+" is a directory") {
		t.Errorf("Validate = %v, want QW_DB_PATH named as a directory", err)
	}
}

// TestReadOnlyFileSystemIsAProblemForCheckOnly: a QW_DB_PATH on a file
// system mounted read-only passed check (exit code 0), and serve then
// retried "read-only file system" for ever. check names it; serve itself
// still waits for a remount, which Validate without WritableNow leaves to
// it. The mount is faked here (readOnlyFS); TestCheckRefusesAReadOnlyMount
// in cmd/queuewrangler mounts one where it may.
func TestReadOnlyFileSystemIsAProblemForCheckOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "qw.db")
	readOnly := map[string]bool{dir: true}
	orig := readOnlyFS
	readOnlyFS = func(d string) bool { return readOnly[d] }
	t.Cleanup(func() { readOnlyFS = orig })

	const want = "is on a file system mounted read-only: serve would wait for it to be remounted read-write"
	tests := []struct {
		name     string
		path     string
		need     Requirement
		wantText string
	}{
		{"check", path, NeedsHelpScout | WritesDB | WritableNow, "QW_DB_PATH: the directory " + dir + " " + want},
		{"serve waits", path, NeedsHelpScout | WritesDB, ""},
		{"a read-only command", path, 0, ""},
		{"check, on a writable file system", filepath.Join(t.TempDir(), "qw.db"), NeedsHelpScout | WritesDB | WritableNow, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := load(t, map[string]string{"QW_DB_PATH": tt.path})
			err := c.Validate(tt.need)
			gotProblem := err != nil && strings.Contains(err.Error(), "QW_DB_PATH")
			if tt.wantText == "" && gotProblem {
				t.Errorf("Validate = %v, want no QW_DB_PATH problem", err)
			}
			if tt.wantText != "" && (err == nil || !strings.Contains(err.Error(), tt.wantText)) {
				t.Errorf("Validate = %v, want %q", err, tt.wantText)
			}
		})
	}
}

// TestReadOnlyFSOfThisMachine: the statfs behind readOnlyFS says a
// writable temporary directory is writable (where it can tell at all).
func TestReadOnlyFSOfThisMachine(t *testing.T) {
	if readOnlyFS(t.TempDir()) {
		t.Errorf("readOnlyFS(a temporary directory) = true, want false")
	}
}
