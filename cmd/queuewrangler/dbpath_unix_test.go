//go:build unix

package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/queuewrangler/queuewrangler/internal/testkit"
)

// TestDatabaseNoWaitWouldFixIsAConfigError: a QW_DB_PATH that names a
// directory, or one this user may not write (a host directory
// bind-mounted at /data keeps the host's owner; the image runs as uid
// 65532), stops serve and sync at once with exit code 2 and the remedy,
// instead of a daemon that retries opening it for ever; plan, which only
// reads, is not refused for the permission.
func TestDatabaseNoWaitWouldFixIsAConfigError(t *testing.T) {
	dir, run := testkit.AsUnprivileged(t, func(dir string) {
		for _, err := range []error{os.Mkdir(filepath.Join(dir, "data"), 0o755), os.Chmod(filepath.Join(dir, "data"), 0o555)} {
			if err != nil {
				t.Fatal(err)
			}
		}
	})
	if !run {
		return
	}
	data := filepath.Join(dir, "data")
	tests := []struct {
		name, command, path, want string
	}{
		{"a directory/serve", "serve", data, "QW_DB_PATH: " + data + " is a directory: name the database file in it, such as " + filepath.Join(data, "queuewrangler.db")},
		{"a directory/sync", "sync", data, "QW_DB_PATH: " + data + " is a directory"},
		{"a directory/plan", "plan", data, "QW_DB_PATH: " + data + " is a directory"},
		{"not writable/serve", "serve", filepath.Join(data, "qw.db"), "QW_DB_PATH: this user (uid " + strconv.Itoa(os.Getuid()) + ") cannot create files in " + data},
		{"not writable/sync", "sync", filepath.Join(data, "qw.db"), "QW_DB_PATH: this user (uid " + strconv.Itoa(os.Getuid()) + ") cannot create files in " + data},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clearEnv(t)
			t.Setenv("QW_HELPSCOUT_CLIENT_ID", "id")
			t.Setenv("QW_HELPSCOUT_CLIENT_SECRET", "secret")
			t.Setenv("QW_HELPSCOUT_API_URL", "http://127.0.0.1:9") // never reached
			t.Setenv("QW_LISTEN_ADDR", "127.0.0.1:0")
			t.Setenv("QW_DB_PATH", tt.path)
			// A daemon that retries instead would run until the deadline.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			code := Main(ctx, []string{tt.command}, &stdout, &stderr)
			if code != exitUsage || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit code %d, stderr:\n%s\nwant %d and %q", code, stderr.String(), exitUsage, tt.want)
			}
		})
	}
	t.Run("plan only reads", func(t *testing.T) {
		clearEnv(t)
		t.Setenv("QW_DB_PATH", filepath.Join(data, "qw.db"))
		if code, _, stderr := runMain(t, "plan"); strings.Contains(stderr, "cannot create files") {
			t.Errorf("plan refused a directory it only reads (exit %d):\n%s", code, stderr)
		}
	})
}

// TestDatabaseFilesThisUserCannotOpen: a -wal or -shm beside QW_DB_PATH
// this user may not read or write (another user's sqlite3 session on the
// host leaves them so), or a .lock it may not write, kept serve from opening the
// database: it started, not ready, and retried for ever, while check said
// "unable to open database file" with exit code 1, or, for the lock, that
// all was well. Both now refuse it as they refuse a database file this
// user may not write: exit code 2, the file named, with the remedy, and
// listed with the other problems.
func TestDatabaseFilesThisUserCannotOpen(t *testing.T) {
	files := []struct {
		name, suffix string
		mode         os.FileMode
		want         string
	}{
		{"an unreadable -wal", "-wal", 0, "cannot read"},
		{"an unreadable -shm", "-shm", 0, "cannot read"},
		{"a .lock it may not write", ".lock", 0o444, "cannot write"},
	}
	dir, run := testkit.AsUnprivileged(t, func(dir string) {
		for _, f := range files {
			data := filepath.Join(dir, strings.Trim(f.suffix, "-."))
			db := filepath.Join(data, "qw.db")
			if err := os.Mkdir(data, 0o777); err != nil {
				t.Fatal(err)
			}
			testkit.OpenStoreAt(t, db).Close()
			// The directory and the database this user may write (the
			// configuration's own check passes): only the file beside it
			// is refused.
			for _, err := range []error{os.Chmod(data, 0o777), os.Chmod(db, 0o666),
				os.WriteFile(db+f.suffix, nil, 0o600), os.Chmod(db+f.suffix, f.mode)} {
				if err != nil {
					t.Fatal(err)
				}
			}
		}
	})
	if !run {
		return
	}
	env := func(t *testing.T, suffix string) string {
		t.Helper()
		clearEnv(t)
		db := filepath.Join(dir, strings.Trim(suffix, "-."), "qw.db")
		setEnv(t, map[string]string{"QW_HELPSCOUT_CLIENT_ID": "id", "QW_HELPSCOUT_CLIENT_SECRET": "secret",
			"QW_HELPSCOUT_API_URL": "http://127.0.0.1:9", "QW_LISTEN_ADDR": "127.0.0.1:0", "QW_LOG_FORMAT": "text", "QW_DB_PATH": db})
		return db
	}
	user := "this user (uid " + strconv.Itoa(os.Getuid()) + ")"
	for _, f := range files {
		for _, command := range []string{"check", "serve", "sync"} {
			t.Run(f.name+"/"+command, func(t *testing.T) {
				db := env(t, f.suffix)
				// A serve that retries instead would run until the deadline.
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				var stdout, stderr bytes.Buffer
				code := Main(ctx, []string{command}, &stdout, &stderr)
				want := "QW_DB_PATH: " + user + " " + f.want + " " + db + f.suffix + ": give this user"
				if code != exitUsage || !strings.Contains(stderr.String(), want) {
					t.Errorf("%s exits %d, stderr:\n%s\nwant %d and %q", command, code, stderr.String(), exitUsage, want)
				}
			})
		}
	}
	t.Run("with the other problems", func(t *testing.T) {
		db := env(t, "-wal")
		t.Setenv("QW_MODE", "yolo")
		for _, command := range []string{"check", "serve"} {
			code, _, stderr := runMain(t, command)
			if code != exitUsage || !strings.Contains(stderr, "- QW_MODE") || !strings.Contains(stderr, "- QW_DB_PATH: "+user+" cannot read "+db+"-wal") {
				t.Errorf("%s exits %d, stderr:\n%s\nwant %d, QW_MODE's problem and the -wal's", command, code, stderr, exitUsage)
			}
		}
	})
}
