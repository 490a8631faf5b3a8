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
